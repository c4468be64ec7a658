//! SQLite: the embedded default. One file, WAL so readers never wait for the writer, and
//! `synchronous=FULL` so that a batch reported stored survives a `kill -9` or a power cut.
//! A bulk load ([`SqliteStore::open_bulk`]) syncs as it goes and once at the end instead; into
//! an empty store it writes through a rollback journal (`journal.rs`), where a reader waits
//! for each commit.
//!
//! rusqlite is synchronous; each call runs on tokio's blocking pool behind a mutex, one
//! connection for writes and one for reads.

mod checkpoint;
mod counts;
mod indexes;
mod insert;
mod journal;
mod list;
mod raw_codec;
mod rows;
mod runbooks;

use checkpoint::{CheckpointPolicy, Checkpointer};
use list::{list_sql, ListSql};
use raw_codec::RawCodec;

use crate::model::{applied_change, page};
use crate::{
    HistoryEntry, IncidentChange, IncidentPage, IncidentQuery, IncidentStore, StoreError, Stored,
};
use async_trait::async_trait;
use iamwatch_core::{Incident, KeptCount};
use rusqlite::{params, Connection};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/sqlite/0001_incidents.sql"),
    ),
    (
        2,
        include_str!("../../migrations/sqlite/0002_event_id_not_indexed.sql"),
    ),
    (
        3,
        include_str!("../../migrations/sqlite/0003_raw_dictionaries.sql"),
    ),
    (
        4,
        include_str!("../../migrations/sqlite/0004_status_index_in_listing_order.sql"),
    ),
    (
        5,
        include_str!("../../migrations/sqlite/0005_raw_blocks.sql"),
    ),
    (6, include_str!("../../migrations/sqlite/0006_runbooks.sql")),
    (7, include_str!("../../migrations/sqlite/0007_counts.sql")),
];

#[derive(Clone)]
pub struct SqliteStore {
    /// Bulk loads only. First, so that the thread ends before the connections close.
    checkpointer: Option<Arc<Checkpointer>>,
    path: PathBuf,
    writer: Arc<Mutex<Connection>>,
    reader: Arc<Mutex<Connection>>,
    raw_codec: Arc<RawCodec>,
    /// The last batch was mostly stored already (a re-scan): the next one looks its incidents
    /// up before compressing their raw events (`insert.rs`).
    look_up_first: Arc<AtomicBool>,
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
        Self::open_with(path.as_ref(), None)
    }

    /// Opens the store for a bulk load such as `iamwatch scan`: commits are not synced one by
    /// one and a thread of its own copies the WAL into the database as the load goes (see
    /// `checkpoint.rs`); into an empty store, the listing indexes are built at the end (see
    /// `indexes.rs`). Call [`SqliteStore::sync`] at the end; dropping the store syncs too,
    /// without reporting a failure, and the next open builds the indexes.
    ///
    /// # Errors
    /// [`StoreError`] when the file cannot be opened or migrated, or the thread not started.
    pub fn open_bulk(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path.as_ref(), Some(CheckpointPolicy::default()))
    }

    fn open_with(path: &Path, bulk: Option<CheckpointPolicy>) -> Result<Self, StoreError> {
        let path = path.to_path_buf();
        if let Some(parent) = path
            .parent()
            .filter(|parent| !parent.as_os_str().is_empty())
        {
            std::fs::create_dir_all(parent).map_err(|error| {
                StoreError::backend(format!("cannot create {}", parent.display()), error)
            })?;
        }
        // Each connection opened and configured the same way; `wal` false leaves the journal
        // mode as the store has it (a bulk load's rollback journal, see `journal.rs`).
        let connect = |wal: bool| {
            Connection::open(&path)
                .and_then(|connection| configure(&connection, wal).map(|()| connection))
                .map_err(|error| {
                    StoreError::backend(
                        format!("cannot open SQLite database {}", path.display()),
                        error,
                    )
                })
        };
        let mut writer = connect(true)?;
        let mut rollback = false;
        migrate(&writer)
            .and_then(|()| {
                // Into an empty store a bulk load builds the listing indexes at its end, and
                // writes its pages once.
                if bulk.is_some() && indexes::drop_if_empty(&mut writer)? {
                    rollback = journal::leave_wal(&writer)?;
                    return Ok(());
                }
                indexes::ensure(&mut writer)
            })
            .map_err(|error| {
                StoreError::backend(format!("cannot migrate {}", path.display()), error)
            })?;
        let reader = connect(!rollback)?;
        let checkpointer = match bulk {
            None => None,
            Some(policy) => {
                writer.execute_batch(BULK_WRITER).map_err(|error| {
                    StoreError::backend(
                        format!("cannot open SQLite database {}", path.display()),
                        error,
                    )
                })?;
                let checkpointer =
                    Checkpointer::start(connect(!rollback)?, policy).map_err(|error| {
                        StoreError::backend("cannot start the checkpoint thread", error)
                    })?;
                Some(Arc::new(checkpointer))
            }
        };
        Ok(Self {
            checkpointer,
            path,
            writer: Arc::new(Mutex::new(writer)),
            reader: Arc::new(Mutex::new(reader)),
            raw_codec: Arc::new(RawCodec::default()),
            look_up_first: Arc::new(AtomicBool::new(false)),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Ends a bulk load: stops the checkpoint thread, builds the indexes a load into an empty
    /// store left out (see `indexes.rs`), puts the store back in WAL mode (see `journal.rs`),
    /// copies what is left of the WAL into the database and syncs it, and gives the writer back
    /// SQLite's own checkpoints and synced commits. Blocks; for a store not opened for bulk it
    /// only checkpoints.
    ///
    /// # Errors
    /// [`StoreError`] when the checkpoint fails.
    pub fn sync(&self) -> Result<(), StoreError> {
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.stop();
        }
        let mut writer = self.writer.lock().map_err(|_| poisoned())?;
        // TRUNCATE waits for readers (up to the busy timeout), copies every frame, syncs the
        // database and empties the WAL file.
        indexes::ensure(&mut writer)
            .and_then(|()| journal::back_to_wal(&writer))
            .and_then(|()| checkpoint::checkpoint(&writer, "TRUNCATE"))
            .and_then(|_| writer.execute_batch(SYNCED_WRITER))
            .map_err(|error| {
                StoreError::backend(format!("cannot sync {}", self.path.display()), error)
            })
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

/// How long a connection waits for another's lock: SQLite's busy timeout, and the retries of
/// what its busy handler does not wait for.
const BUSY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

fn configure(connection: &Connection, wal: bool) -> rusqlite::Result<()> {
    connection.busy_timeout(BUSY_TIMEOUT)?;
    // Page size counts only when the file is created (before WAL is on). A stored incident is
    // about 3 KB (raw event and meta); at the default 4 KB page two do not fit, so each took a
    // page of its own and a third of the file was empty space. At 32 KB they pack densely and
    // a batch is written with a tenth of the system calls.
    //
    // A bulk scan is bound by the bytes it writes (on a 2-core VM the disk took 250 to
    // 400 MB/s and the cores waited): every commit writes each page it dirtied to the WAL
    // again, and a checkpoint then copies each of those pages into the database once. (An
    // index on the random event ids dirtied most of its pages in every batch; migration 2
    // dropped it. The listing indexes are built at the end of a load into an empty store:
    // indexes.rs.) At SQLite's default of a checkpoint every 1,000 pages (32 MB here) the scan
    // of a million records wrote 1.3 GB for a 354 MB database; every 4,000 pages (125 MB of WAL
    // at most) each index page is copied a quarter as often, and the scan took a quarter less
    // time (with the cache below). An 8 MB page cache instead of 16 MB wrote the same bytes (a
    // replay of the scan's inserts) and held the peak RSS of a re-scan at 77 to 80 MB instead
    // of 90; a page it lacks is read from the OS's cache.
    //
    // Two processes opening a database neither has yet created (two scans started together)
    // race for it: switching the new file to WAL answered "database is locked" at once, without
    // waiting as the busy timeout does (seen: 8 of 120 scans started four at a time). It is
    // retried as the timeout would wait.
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    let journal = if wal {
        "PRAGMA journal_mode = WAL;"
    } else {
        ""
    };
    loop {
        let configured = connection.execute_batch(&format!(
            "PRAGMA page_size = 32768; {journal} PRAGMA foreign_keys = ON; PRAGMA cache_size = -8192;"
        ));
        match configured {
            Err(error) if is_busy(&error) && std::time::Instant::now() < deadline => {
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            other => break other?,
        }
    }
    connection.execute_batch(SYNCED_WRITER)
}

/// Whether `error` is another connection's lock in the way.
fn is_busy(error: &rusqlite::Error) -> bool {
    matches!(
        error.sqlite_error_code(),
        Some(rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked)
    )
}

/// A bulk writer: in WAL mode commits reach the OS, not the disk, and the checkpoint thread
/// copies the WAL; with a rollback journal (a load into an empty store) each commit is synced.
const BULK_WRITER: &str = "PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0;";
/// Every connection's, and the writer's again after a bulk load.
const SYNCED_WRITER: &str = "PRAGMA synchronous = FULL; PRAGMA wal_autocheckpoint = 4000;";

fn migrate(connection: &Connection) -> rusqlite::Result<()> {
    connection.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)",
    )?;
    let applied = |version: i64| -> rusqlite::Result<bool> {
        connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM schema_migrations WHERE version = ?1)",
            [version],
            |row| row.get(0),
        )
    };
    for (version, sql) in MIGRATIONS {
        if applied(*version)? {
            continue;
        }
        // A table rebuild drops the old table, which foreign keys would refuse; they can only
        // be switched outside a transaction, and are checked before the migration commits.
        connection.execute_batch("PRAGMA foreign_keys = OFF; BEGIN IMMEDIATE;")?;
        // Another process may have migrated while this one waited for the write lock.
        let outcome = applied(*version).and_then(|done| {
            if done {
                return Ok(());
            }
            connection.execute_batch(sql)?;
            let violations: i64 = connection.query_row(
                "SELECT count(*) FROM pragma_foreign_key_check",
                [],
                |row| row.get(0),
            )?;
            if violations > 0 {
                return Err(rusqlite::Error::SqliteFailure(
                    rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY),
                    Some(format!(
                        "migration {version} would leave {violations} rows without their incident"
                    )),
                ));
            }
            connection.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, ?2)",
                params![version, iamwatch_core::time::now_ms()],
            )?;
            Ok(())
        });
        let finished = match outcome {
            Ok(()) => connection.execute_batch("COMMIT"),
            Err(error) => {
                let _ = connection.execute_batch("ROLLBACK");
                Err(error)
            }
        };
        connection.execute_batch("PRAGMA foreign_keys = ON")?;
        finished?;
    }
    Ok(())
}

fn sql_error(context: &'static str) -> impl Fn(rusqlite::Error) -> StoreError {
    move |error| StoreError::backend(context, error)
}

fn apply_change(
    connection: &mut Connection,
    codec: &RawCodec,
    incident_id: &str,
    change: IncidentChange,
) -> Result<Incident, StoreError> {
    let transaction = connection
        .transaction()
        .map_err(sql_error("cannot begin transaction"))?;
    let mut incident = rows::by_id(&transaction, codec, incident_id)
        .map_err(sql_error("cannot read incident"))?
        .ok_or_else(|| StoreError::NotFound(incident_id.to_string()))?;
    let moved = applied_change(&mut incident, &change)?;
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
                moved.map(|(from, _)| from.as_str()),
                moved.map(|(_, to)| to.as_str()),
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

fn list_page(
    connection: &Connection,
    codec: &RawCodec,
    query: &IncidentQuery,
) -> Result<IncidentPage, StoreError> {
    let limit = query.effective_limit();
    let ListSql { sql, values } = list_sql(query)?;
    let mut statement = connection
        .prepare_cached(&sql)
        .map_err(sql_error("cannot list incidents"))?;
    let incidents = statement
        .query_map(rusqlite::params_from_iter(values), |row| {
            rows::from_row(row, codec, connection)
        })
        .and_then(|mapped| mapped.collect::<Result<Vec<_>, _>>())
        .map_err(sql_error("cannot list incidents"))?;
    Ok(page(incidents, limit))
}

/// A recall's page (see [`IncidentStore::recall`]), from just after `(time, id)`.
fn recall_page(
    connection: &Connection,
    codec: &RawCodec,
    (time, id): (i64, String),
    limit: usize,
) -> Result<Vec<Incident>, StoreError> {
    let mut statement = connection
        .prepare_cached(rows::RECALL)
        .map_err(sql_error("cannot recall incidents"))?;
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    statement
        .query_map(rusqlite::params![time, id, limit], |row| {
            rows::from_row(row, codec, connection)
        })
        .and_then(|mapped| mapped.collect::<Result<Vec<_>, _>>())
        .map_err(sql_error("cannot recall incidents"))
}

#[async_trait]
impl IncidentStore for SqliteStore {
    async fn insert_batch(&self, incidents: Vec<Incident>) -> Result<Vec<Stored>, StoreError> {
        if incidents.is_empty() {
            return Ok(Vec::new());
        }
        let codec = Arc::clone(&self.raw_codec);
        let look_up_first = Arc::clone(&self.look_up_first);
        let stored = self
            .with_writer(move |connection| {
                let first = look_up_first.load(Ordering::Relaxed);
                let stored = insert::insert_all(connection, &codec, incidents, first)?;
                look_up_first.store(crate::model::mostly_stored(&stored), Ordering::Relaxed);
                Ok(stored)
            })
            .await?;
        if let Some(checkpointer) = &self.checkpointer {
            checkpointer.committed(stored.iter().filter(|entry| entry.created).count());
        }
        Ok(stored)
    }

    async fn get(&self, incident_id: &str) -> Result<Option<Incident>, StoreError> {
        let incident_id = incident_id.to_string();
        let codec = Arc::clone(&self.raw_codec);
        self.with_reader(move |connection| {
            rows::by_id(connection, &codec, &incident_id).map_err(sql_error("cannot read incident"))
        })
        .await
    }

    async fn list(&self, query: &IncidentQuery) -> Result<IncidentPage, StoreError> {
        let query = query.clone();
        let codec = Arc::clone(&self.raw_codec);
        self.with_reader(move |connection| list_page(connection, &codec, &query))
            .await
    }

    async fn recall(
        &self,
        since_ms: i64,
        after: Option<(i64, String)>,
        limit: usize,
    ) -> Result<Vec<Incident>, StoreError> {
        let start = crate::model::recall_start(since_ms, after);
        let codec = Arc::clone(&self.raw_codec);
        self.with_reader(move |connection| recall_page(connection, &codec, start, limit))
            .await
    }

    async fn keep_counts(&self, counts: Vec<KeptCount>, now_ms: i64) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        self.with_writer(move |connection| counts::keep(connection, &counts, now_ms))
            .await
    }

    async fn recall_counts(
        &self,
        since_ms: i64,
        after: Option<KeptCount>,
        limit: usize,
    ) -> Result<Vec<KeptCount>, StoreError> {
        let start = crate::model::count_start(since_ms, after);
        self.with_reader(move |connection| counts::recall(connection, start, limit))
            .await
    }

    async fn update(
        &self,
        incident_id: &str,
        change: IncidentChange,
    ) -> Result<Incident, StoreError> {
        let incident_id = incident_id.to_string();
        let codec = Arc::clone(&self.raw_codec);
        self.with_writer(move |connection| apply_change(connection, &codec, &incident_id, change))
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

#[cfg(test)]
mod tests;
