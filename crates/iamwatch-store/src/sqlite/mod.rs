//! SQLite: the embedded default. One file, WAL so readers never wait for the writer, and
//! `synchronous=FULL` so that a batch reported stored survives a `kill -9` or a power cut.
//!
//! rusqlite is synchronous; each call runs on tokio's blocking pool behind a mutex, one
//! connection for writes and one for reads.

mod rows;

use crate::model::{decode_cursor, encode_cursor};
use crate::{
    HistoryEntry, IncidentChange, IncidentPage, IncidentQuery, IncidentStore, StoreError, Stored,
};
use async_trait::async_trait;
use iamwatch_core::{Incident, IncidentStatus};
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

const MIGRATIONS: &[(i64, &str)] = &[(
    1,
    include_str!("../../migrations/sqlite/0001_incidents.sql"),
)];
/// Attempts at a fresh incident id when one collides with a stored incident of another event.
const ID_ATTEMPTS: u32 = 16;

#[derive(Clone)]
pub struct SqliteStore {
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("path", &self.path)
            .finish()
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database at `path` and applies pending migrations.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened or migrated.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref().to_path_buf();
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                StoreError::backend(format!("cannot create {}", parent.display()), error)
            })?;
        }
        let context = format!("cannot open SQLite database {}", path.display());
        let writer =
            Connection::open(&path).map_err(|error| StoreError::backend(context.clone(), error))?;
        configure(&writer).map_err(|error| StoreError::backend(context.clone(), error))?;
        migrate(&writer).map_err(|error| {
            StoreError::backend(format!("cannot migrate {}", path.display()), error)
        })?;
        let reader =
            Connection::open(&path).map_err(|error| StoreError::backend(context.clone(), error))?;
        configure(&reader).map_err(|error| StoreError::backend(context, error))?;
        Ok(Self {
            path,
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    async fn with_writer<T: Send + 'static>(
        &self,
        work: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connection = Arc::clone(&self.writer);
        run_blocking(move || {
            let mut guard = connection.lock().map_err(|_| poisoned())?;
            work(&mut guard)
        })
        .await
    }

    async fn with_reader<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let connection = Arc::clone(&self.reader);
        run_blocking(move || {
            let guard = connection.lock().map_err(|_| poisoned())?;
            work(&guard)
        })
        .await
    }
}

async fn run_blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|error| StoreError::backend("store task failed", error))?
}

fn poisoned() -> StoreError {
    StoreError::Conflict("store connection poisoned by an earlier panic".to_string())
}

fn configure(connection: &Connection) -> rusqlite::Result<()> {
    connection.busy_timeout(std::time::Duration::from_secs(10))?;
    // Page size counts only when the file is created (before WAL is on). A stored incident is
    // about 3 KB (raw event and meta); at the default 4 KB page two do not fit, so each took a
    // page of its own and a third of the file was empty space. At 32 KB they pack densely and
    // a batch is written with a tenth of the system calls.
    //
    // A bulk scan is bound by the bytes it writes (on a 2-core VM the disk took 250 MB/s and
    // the cores waited): every commit writes each page it dirtied to the WAL again, and the
    // event-id index, where each insert lands at a random place, dirties most of its pages in
    // every batch. A checkpoint then copies each of those pages into the database once. At
    // SQLite's default of a checkpoint every 1,000 pages (32 MB here) the scan of a million
    // records wrote 1.3 GB for a 354 MB database; every 4,000 pages (125 MB of WAL at most)
    // each index page is copied a quarter as often, and the scan took a quarter less time
    // (with the cache below). An 8 MB page cache instead of 16 MB wrote the same bytes (a
    // replay of the scan's inserts) and held the peak RSS of a re-scan at 77 to 80 MB instead
    // of 90; a page it lacks is read from the OS's cache.
    connection.execute_batch(
        "PRAGMA page_size = 32768; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
         PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192; PRAGMA wal_autocheckpoint = 4000;",
    )
}

fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    for (version, sql) in MIGRATIONS {
        let applied: bool = connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |row| row.get(0),
        )?;
        if !applied {
            let transaction = connection.unchecked_transaction()?;
            transaction.execute_batch(sql)?;
            transaction.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, iamwatch_core::time::now_ms()],
            )?;
            transaction.commit()?;
        }
    }
    Ok(())
}

fn sql_error(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |error| StoreError::backend(context, error)
}

fn insert_all(
    connection: &mut Connection,
    incidents: Vec<Incident>,
) -> Result<Vec<Stored>, StoreError> {
    let transaction = connection
        .transaction()
        .map_err(sql_error("cannot begin transaction"))?;
    let mut stored = Vec::with_capacity(incidents.len());
    for incident in incidents {
        stored.push(insert_one(&transaction, incident)?);
    }
    transaction
        .commit()
        .map_err(sql_error("cannot commit incidents"))?;
    Ok(stored)
}

fn insert_one(
    transaction: &rusqlite::Transaction<'_>,
    mut incident: Incident,
) -> Result<Stored, StoreError> {
    for salt in 0..ID_ATTEMPTS {
        if salt > 0 {
            incident.incident_id =
                Incident::make_id(incident.event_time_ms, &incident.event_id, salt);
        }
        let inserted =
            rows::insert(transaction, &incident).map_err(sql_error("cannot insert incident"))?;
        if inserted {
            // (Creation needs no history row: `rows::history` derives it from the incident.)
            return Ok(Stored {
                incident,
                created: true,
            });
        }
        if let Some(existing) = rows::by_event_id(transaction, &incident.event_id)
            .map_err(sql_error("cannot read incident"))?
        {
            return Ok(Stored {
                incident: existing,
                created: false,
            });
        }
        // Same incident id, different event: try the next salt.
    }
    Err(StoreError::Conflict(format!(
        "no free incident id for event {} after {ID_ATTEMPTS} attempts",
        incident.event_id
    )))
}

fn apply_change(
    connection: &mut Connection,
    incident_id: &str,
    change: IncidentChange,
) -> Result<Incident, StoreError> {
    let transaction = connection
        .transaction()
        .map_err(sql_error("cannot begin transaction"))?;
    let mut incident = rows::by_id(&transaction, incident_id)
        .map_err(sql_error("cannot read incident"))?
        .ok_or_else(|| StoreError::NotFound(incident_id.to_string()))?;
    let from_status = incident.status;
    let mut to_status: Option<IncidentStatus> = None;
    if let Some(status) = change.status {
        incident.status = from_status
            .transition(status)
            .map_err(|error| StoreError::Conflict(error.to_string()))?;
        to_status = Some(status);
    }
    if let Some(assignee) = &change.assignee {
        incident.assignee.clone_from(assignee);
    }
    incident.updated_at = change.at_ms.max(incident.updated_at);
    transaction
        .execute(
            "UPDATE incidents SET status = ?1, assignee = ?2, updated_at = ?3 WHERE incident_id = ?4",
            params![incident.status.as_str(), incident.assignee, incident.updated_at, incident_id],
        )
        .map_err(sql_error("cannot update incident"))?;
    transaction
        .execute(
            "INSERT INTO incident_history (incident_id, at_ms, actor, from_status, to_status, assignee, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                incident_id,
                change.at_ms,
                change.actor,
                to_status.map(|_| from_status.as_str()),
                to_status.map(IncidentStatus::as_str),
                change.assignee.flatten(),
                change.note,
            ],
        )
        .map_err(sql_error("cannot record incident history"))?;
    transaction
        .commit()
        .map_err(sql_error("cannot commit incident change"))?;
    Ok(incident)
}

fn list_page(connection: &Connection, query: &IncidentQuery) -> Result<IncidentPage, StoreError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let bind =
        |clause: &str, value: rusqlite::types::Value, values: &mut Vec<rusqlite::types::Value>| {
            values.push(value);
            clause.replace('?', &format!("?{}", values.len()))
        };
    if !query.severities.is_empty() {
        let placeholders: Vec<String> = query
            .severities
            .iter()
            .map(|severity| bind("?", severity.as_str().to_string().into(), &mut values))
            .collect();
        clauses.push(format!("severity IN ({})", placeholders.join(", ")));
    }
    if !query.statuses.is_empty() {
        let placeholders: Vec<String> = query
            .statuses
            .iter()
            .map(|status| bind("?", status.as_str().to_string().into(), &mut values))
            .collect();
        clauses.push(format!("status IN ({})", placeholders.join(", ")));
    }
    if let Some(account) = &query.account {
        clauses.push(bind("account = ?", account.clone().into(), &mut values));
    }
    if let Some(rule_id) = &query.rule_id {
        clauses.push(bind("rule_id = ?", rule_id.clone().into(), &mut values));
    }
    if let Some(text) = query.text.as_ref().filter(|text| !text.is_empty()) {
        clauses.push(bind(
            "instr(lower(title_en || ' ' || title_ko || ' ' || resource || ' ' || event_name || ' ' || meta), lower(?)) > 0",
            text.clone().into(),
            &mut values,
        ));
    }
    if let Some(since_ms) = query.since_ms {
        clauses.push(bind("updated_at >= ?", since_ms.into(), &mut values));
    }
    if let Some(cursor) = &query.cursor {
        let (time, id) = decode_cursor(cursor)
            .ok_or_else(|| StoreError::Invalid(format!("malformed cursor {cursor:?}")))?;
        let time_placeholder = bind("?", time.into(), &mut values);
        let id_placeholder = bind("?", id.to_string().into(), &mut values);
        clauses.push(format!(
            "(event_time_ms < {time_placeholder} OR (event_time_ms = {time_placeholder} AND incident_id < {id_placeholder}))"
        ));
    }
    let limit = query.effective_limit();
    let where_clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {} FROM incidents {where_clause} ORDER BY event_time_ms DESC, incident_id DESC LIMIT {}",
        rows::COLUMNS,
        limit + 1
    );
    let mut statement = connection
        .prepare_cached(&sql)
        .map_err(sql_error("cannot list incidents"))?;
    let mut incidents = statement
        .query_map(rusqlite::params_from_iter(values), rows::from_row)
        .and_then(|mapped| mapped.collect::<Result<Vec<_>, _>>())
        .map_err(sql_error("cannot list incidents"))?;
    let next_cursor = if incidents.len() > limit {
        incidents.truncate(limit);
        incidents
            .last()
            .map(|last| encode_cursor(last.event_time_ms, &last.incident_id))
    } else {
        None
    };
    Ok(IncidentPage {
        incidents,
        next_cursor,
    })
}

#[async_trait]
impl IncidentStore for SqliteStore {
    async fn insert_batch(&self, incidents: Vec<Incident>) -> Result<Vec<Stored>, StoreError> {
        if incidents.is_empty() {
            return Ok(Vec::new());
        }
        self.with_writer(move |connection| insert_all(connection, incidents))
            .await
    }

    async fn get(&self, incident_id: &str) -> Result<Option<Incident>, StoreError> {
        let incident_id = incident_id.to_string();
        self.with_reader(move |connection| {
            rows::by_id(connection, &incident_id).map_err(sql_error("cannot read incident"))
        })
        .await
    }

    async fn list(&self, query: &IncidentQuery) -> Result<IncidentPage, StoreError> {
        let query = query.clone();
        self.with_reader(move |connection| list_page(connection, &query))
            .await
    }

    async fn update(
        &self,
        incident_id: &str,
        change: IncidentChange,
    ) -> Result<Incident, StoreError> {
        let incident_id = incident_id.to_string();
        self.with_writer(move |connection| apply_change(connection, &incident_id, change))
            .await
    }

    async fn history(&self, incident_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let incident_id = incident_id.to_string();
        self.with_reader(move |connection| {
            rows::history(connection, &incident_id).map_err(sql_error("cannot read history"))
        })
        .await
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.with_reader(|connection| {
            connection
                .query_row("SELECT 1", [], |_| Ok(()))
                .map_err(sql_error("SQLite does not answer"))
        })
        .await
    }
}

impl SqliteStore {
    /// Looks an incident up by its event, for callers that only know the CloudTrail eventID.
    ///
    /// # Errors
    /// [`StoreError`] when the read fails.
    pub async fn get_by_event_id(&self, event_id: &str) -> Result<Option<Incident>, StoreError> {
        let event_id = event_id.to_string();
        self.with_reader(move |connection| {
            rows::by_event_id(connection, &event_id).map_err(sql_error("cannot read incident"))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite_store_keeps_the_incident_store_contract() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(directory.path().join("nested/iamwatch.db")).unwrap();
        crate::contract::run_all(&store).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn creation_is_derived_once_and_a_stored_creation_row_is_not_repeated() {
        let directory = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(directory.path().join("iamwatch.db")).unwrap();
        let stored = store
            .insert_batch(vec![
                crate::contract::sample_incident(1),
                crate::contract::sample_incident(2),
            ])
            .await
            .unwrap();
        let (derived, legacy) = (&stored[0].incident, &stored[1].incident);
        let rows: i64 = store
            .writer
            .lock()
            .unwrap()
            .query_row("SELECT count(*) FROM incident_history", [], |row| {
                row.get(0)
            })
            .unwrap();
        assert_eq!(rows, 0, "creating an incident writes no history row");
        let history = store.history(&derived.incident_id).await.unwrap();
        assert_eq!(history.len(), 1);
        assert_eq!(
            (
                history[0].at_ms,
                history[0].actor.as_str(),
                history[0].from_status,
                history[0].to_status
            ),
            (
                derived.created_at,
                rows::CREATOR,
                None,
                Some(IncidentStatus::New)
            )
        );
        // A database from before kept creation as a row.
        store
            .writer
            .lock()
            .unwrap()
            .execute(
                "INSERT INTO incident_history (incident_id, at_ms, actor, from_status, to_status) VALUES (?1, ?2, 'iamwatch', NULL, 'NEW')",
                params![legacy.incident_id, legacy.created_at],
            )
            .unwrap();
        let change = IncidentChange {
            status: Some(IncidentStatus::Acknowledged),
            actor: "alice".into(),
            at_ms: legacy.created_at + 1,
            ..IncidentChange::default()
        };
        store.update(&legacy.incident_id, change).await.unwrap();
        assert_eq!(
            crate::contract::status_moves(&store.history(&legacy.incident_id).await.unwrap()),
            vec![
                (None, Some(IncidentStatus::New)),
                (
                    Some(IncidentStatus::New),
                    Some(IncidentStatus::Acknowledged)
                )
            ]
        );
        assert!(store
            .history("inc-19700101-000000-NOPE00")
            .await
            .unwrap()
            .is_empty());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn incidents_survive_reopening_and_migrations_run_once() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("iamwatch.db");
        let store = SqliteStore::open(&path).unwrap();
        let stored = store
            .insert_batch(vec![crate::contract::sample_incident(1)])
            .await
            .unwrap();
        drop(store);
        let reopened = SqliteStore::open(&path).unwrap();
        let found = reopened.get(&stored[0].incident.incident_id).await.unwrap();
        assert_eq!(found.as_ref(), Some(&stored[0].incident));
        let pragma = |name: &str| -> String {
            reopened
                .reader
                .lock()
                .unwrap()
                .query_row(&format!("PRAGMA {name}"), [], |row| {
                    row.get::<_, rusqlite::types::Value>(0)
                })
                .map(|value| match value {
                    rusqlite::types::Value::Text(text) => text,
                    rusqlite::types::Value::Integer(number) => number.to_string(),
                    other => format!("{other:?}"),
                })
                .unwrap()
        };
        assert_eq!(pragma("journal_mode"), "wal");
        assert_eq!(
            pragma("wal_autocheckpoint"),
            "4000",
            "a checkpoint every 1,000 pages rewrote the event-id index four times as often"
        );
        assert_eq!(
            pragma("page_size"),
            "32768",
            "incidents are about 3 KB: small pages would hold one each"
        );
    }
}
