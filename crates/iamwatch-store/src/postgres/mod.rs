//! PostgreSQL: one store a team shares (several `serve` instances, everyone's `incidents`
//! commands, a `scan` of last month's trail), where SQLite is one machine's file. It keeps the
//! same contract (`contract.rs`, run against the server in the tests); how its tables differ is
//! said in its migration.
//!
//! Connections come from a small pool. A batch is one transaction whose new incidents go in with
//! one statement (`insert.rs`): a scan's commit is a round trip or two, not one per incident.
//! Every change is committed before it is reported, as PostgreSQL syncs its log at each commit.

mod changes;
mod counts;
mod insert;
mod list;
mod rows;
pub mod scratch;
mod tls;

use crate::location::{PostgresTls, PostgresUrl};
use crate::model::{applied_change, mostly_stored, page, process_origin, with_creation};
use crate::{
    HistoryEntry, IncidentChange, IncidentPage, IncidentQuery, IncidentStore, StoreChange,
    StoreError, Stored,
};
use async_trait::async_trait;
use deadpool_postgres::{Manager, ManagerConfig, Object, Pool, RecyclingMethod, Runtime};
use iamwatch_core::{Incident, KeptCount};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio_postgres::{GenericClient, NoTls};
use tokio_postgres_rustls::MakeRustlsConnect;

const MIGRATIONS: &[(i64, &str)] = &[
    (
        1,
        include_str!("../../migrations/postgres/0001_incidents.sql"),
    ),
    (
        2,
        include_str!("../../migrations/postgres/0002_lz4_compression.sql"),
    ),
    (3, include_str!("../../migrations/postgres/0003_counts.sql")),
];

/// Connections held at most: `serve` commits one batch at a time, and its API and live streams'
/// reads share the rest.
const POOL_SIZE: usize = 8;
/// How long to wait for a connection (made or from the pool) before saying the server is out of
/// reach, unless the URL sets its own `connect_timeout`.
const TIMEOUT: Duration = Duration::from_secs(10);

/// How this store's connections are made: the URL's settings with iamwatch's defaults, and the
/// TLS connector (its CA certificates read once) when the URL asks for TLS. The pool and the
/// listening connection (`changes.rs`) both connect with it.
#[derive(Clone)]
struct Connecting {
    config: tokio_postgres::Config,
    tls: Option<MakeRustlsConnect>,
}

impl Connecting {
    fn of(url: &PostgresUrl) -> Result<Self, StoreError> {
        let mut config = url.config().clone();
        // How iamwatch's connections show in `pg_stat_activity`, unless the URL names them.
        if config.get_application_name().is_none() {
            config.application_name("iamwatch");
        }
        if config.get_connect_timeout().is_none() {
            config.connect_timeout(TIMEOUT);
        }
        let tls = match url.tls() {
            PostgresTls::Plain => None,
            PostgresTls::Verified { root_file } => Some(tls::connector(root_file.as_deref())?),
        };
        Ok(Self { config, tls })
    }
}

#[derive(Clone)]
pub struct PostgresStore {
    pool: Pool,
    url: PostgresUrl,
    /// Shared by the store's clones (its config is large).
    connecting: Arc<Connecting>,
    /// This process's name in the changes it announces, once asked to (see `changes.rs`).
    announcing: Arc<OnceLock<String>>,
    /// The last batch was mostly stored already (a re-scan): the next one looks its incidents
    /// up first (`insert.rs`).
    look_up_first: Arc<AtomicBool>,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore")
            .field("url", &self.url)
            .finish()
    }
}

impl PostgresStore {
    /// Connects and applies pending migrations (creating the tables in a new database, or in
    /// the schema the URL's `search_path` names). Two processes starting together on a new
    /// database take turns.
    ///
    /// # Errors
    /// [`StoreError`] when the server is out of reach, refuses the login, or the migration fails.
    pub async fn connect(url: &PostgresUrl) -> Result<Self, StoreError> {
        let store = Self::pool(url)?;
        store.migrate().await?;
        Ok(store)
    }

    /// Connects to a database iamwatch has already stored incidents in, without creating
    /// anything: a mistyped URL or schema is an error rather than an empty store.
    ///
    /// # Errors
    /// As [`PostgresStore::connect`], and [`StoreError::NotFound`] when no incident table is there.
    pub async fn connect_existing(url: &PostgresUrl) -> Result<Self, StoreError> {
        let store = Self::pool(url)?;
        let migrated: bool = store
            .client()
            .await?
            .query_one("SELECT to_regclass('iamwatch_migrations') IS NOT NULL", &[])
            .await
            .and_then(|row| row.try_get(0))
            .map_err(pg_error(format!("cannot read {url}")))?;
        if !migrated {
            return Err(StoreError::NotFound(format!(
                "store at {url}: no incidents there yet (`iamwatch scan` and `iamwatch serve` create the tables)"
            )));
        }
        // Migrations a newer iamwatch brings are applied as by `connect`.
        store.migrate().await?;
        Ok(store)
    }

    async fn migrate(&self) -> Result<(), StoreError> {
        let mut client = self.client().await?;
        migrate(plain_mut(&mut client))
            .await
            .map_err(pg_error(format!("cannot migrate {}", self.url)))
    }

    fn pool(url: &PostgresUrl) -> Result<Self, StoreError> {
        let connecting = Connecting::of(url)?;
        let manager_config = ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        };
        let config = connecting.config.clone();
        let manager = match &connecting.tls {
            None => Manager::from_config(config, NoTls, manager_config),
            Some(connector) => Manager::from_config(config, connector.clone(), manager_config),
        };
        let pool = Pool::builder(manager)
            .max_size(POOL_SIZE)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(TIMEOUT))
            .create_timeout(Some(TIMEOUT))
            .build()
            .map_err(|error| StoreError::backend(format!("cannot connect to {url}"), error))?;
        Ok(Self {
            pool,
            url: url.clone(),
            connecting: Arc::new(connecting),
            announcing: Arc::default(),
            look_up_first: Arc::default(),
        })
    }

    async fn client(&self) -> Result<Object, StoreError> {
        let context = || format!("cannot connect to {}", self.url);
        self.pool.get().await.map_err(|error| match error {
            // The server's own answer, without the pool's "Error occurred while creating a new
            // object" before it.
            deadpool_postgres::PoolError::Backend(error) => StoreError::backend(context(), error),
            other => StoreError::backend(context(), other),
        })
    }
}

/// The pooled connection as tokio-postgres's own client (whose transactions are what this
/// module's functions take), not the pool's wrapper of it.
fn plain(client: &Object) -> &tokio_postgres::Client {
    client
}

fn plain_mut(client: &mut Object) -> &mut tokio_postgres::Client {
    client
}

async fn migrate(client: &mut tokio_postgres::Client) -> Result<(), tokio_postgres::Error> {
    let transaction = client.transaction().await?;
    // Held until the commit: a second process starting on the same new database waits here,
    // then finds the migrations applied.
    transaction
        .execute(
            "SELECT pg_advisory_xact_lock(hashtext('iamwatch migrations'))",
            &[],
        )
        .await?;
    transaction
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS iamwatch_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
        )
        .await?;
    let applied: Vec<i64> = transaction
        .query("SELECT version FROM iamwatch_migrations", &[])
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    for (version, sql) in MIGRATIONS {
        if applied.contains(version) {
            continue;
        }
        transaction.batch_execute(sql).await?;
        transaction
            .execute(
                "INSERT INTO iamwatch_migrations (version, applied_at) VALUES ($1, $2)",
                &[version, &iamwatch_core::time::now_ms()],
            )
            .await?;
    }
    transaction.commit().await
}

fn pg_error(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> StoreError {
    let context = context.into();
    move |error| StoreError::backend(context, error)
}

async fn by_id(
    client: &impl GenericClient,
    incident_id: &str,
    lock: bool,
) -> Result<Option<Incident>, StoreError> {
    let sql = if lock {
        rows::SELECT_BY_ID_FOR_UPDATE
    } else {
        rows::SELECT_BY_ID
    };
    let row = client
        .query_opt(sql, &[&incident_id])
        .await
        .map_err(pg_error("cannot read incident"))?;
    row.as_ref().map(rows::from_row).transpose()
}

#[async_trait]
impl IncidentStore for PostgresStore {
    async fn insert_batch(&self, incidents: Vec<Incident>) -> Result<Vec<Stored>, StoreError> {
        if incidents.is_empty() {
            return Ok(Vec::new());
        }
        let mut client = self.client().await?;
        let announce = self.announcing.get().map(String::as_str);
        let look_up_first = self.look_up_first.load(Ordering::Relaxed);
        let stored =
            insert::insert_all(plain_mut(&mut client), incidents, announce, look_up_first).await?;
        self.look_up_first
            .store(mostly_stored(&stored), Ordering::Relaxed);
        Ok(stored)
    }

    async fn get(&self, incident_id: &str) -> Result<Option<Incident>, StoreError> {
        let client = self.client().await?;
        by_id(plain(&client), incident_id, false).await
    }

    async fn get_many(&self, incident_ids: &[String]) -> Result<Vec<Incident>, StoreError> {
        let client = self.client().await?;
        client
            .query(rows::SELECT_BY_IDS, &[&incident_ids])
            .await
            .map_err(pg_error("cannot read incidents"))?
            .iter()
            .map(rows::from_row)
            .collect()
    }

    async fn list(&self, query: &IncidentQuery) -> Result<IncidentPage, StoreError> {
        let limit = query.effective_limit();
        let list = list::list_sql(query)?;
        let client = self.client().await?;
        let found = client
            .query(&list.sql, &list.params())
            .await
            .map_err(pg_error("cannot list incidents"))?;
        let incidents = found
            .iter()
            .map(rows::from_row)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(page(incidents, limit))
    }

    async fn recall(
        &self,
        since_ms: i64,
        after: Option<(i64, String)>,
        limit: usize,
    ) -> Result<Vec<Incident>, StoreError> {
        let (time, id) = crate::model::recall_start(since_ms, after);
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let client = self.client().await?;
        client
            .query(rows::RECALL, &[&time, &rows::text(&id).as_ref(), &limit])
            .await
            .map_err(pg_error("cannot recall incidents"))?
            .iter()
            .map(rows::from_row)
            .collect()
    }

    async fn keep_counts(&self, counts: Vec<KeptCount>, now_ms: i64) -> Result<(), StoreError> {
        if counts.is_empty() {
            return Ok(());
        }
        let mut client = self.client().await?;
        counts::keep(plain_mut(&mut client), &counts, now_ms).await
    }

    async fn recall_counts(
        &self,
        since_ms: i64,
        after: Option<KeptCount>,
        limit: usize,
    ) -> Result<Vec<KeptCount>, StoreError> {
        let start = crate::model::count_start(since_ms, after);
        let client = self.client().await?;
        counts::recall(&client, start, limit).await
    }

    async fn update(
        &self,
        incident_id: &str,
        change: IncidentChange,
    ) -> Result<Incident, StoreError> {
        let mut client = self.client().await?;
        let transaction = plain_mut(&mut client)
            .transaction()
            .await
            .map_err(pg_error("cannot begin transaction"))?;
        // Locked until the commit: two analysts acknowledging at once are applied one after the
        // other, the second checked against the first's status.
        let mut incident = by_id(&transaction, incident_id, true)
            .await?
            .ok_or_else(|| StoreError::NotFound(incident_id.to_string()))?;
        let moved = applied_change(&mut incident, &change)?;
        transaction
            .execute(
                "UPDATE incidents SET status = $1, assignee = $2, updated_at = $3 WHERE incident_id = $4",
                &[
                    &incident.status.as_str(),
                    &incident.assignee.as_deref().map(rows::text),
                    &incident.updated_at,
                    &incident_id,
                ],
            )
            .await
            .map_err(pg_error("cannot update incident"))?;
        transaction
            .execute(
                "INSERT INTO incident_history (incident_id, at_ms, actor, from_status, to_status, assignee, note) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &incident_id,
                    &change.at_ms,
                    &rows::text(&change.actor),
                    &moved.map(|(from, _)| from.as_str()),
                    &moved.map(|(_, to)| to.as_str()),
                    &change.assignee.flatten().as_deref().map(rows::text),
                    &change.note.as_deref().map(rows::text),
                ],
            )
            .await
            .map_err(pg_error("cannot record incident history"))?;
        if let Some(origin) = self.announcing.get() {
            changes::announce(&transaction, &changes::updated_payload(origin, incident_id)).await?;
        }
        transaction
            .commit()
            .await
            .map_err(pg_error("cannot commit incident change"))?;
        Ok(incident)
    }

    async fn history(&self, incident_id: &str) -> Result<Vec<HistoryEntry>, StoreError> {
        let client = self.client().await?;
        let changes = client
            .query(
                "SELECT at_ms, actor, from_status, to_status, assignee, note FROM incident_history WHERE incident_id = $1 ORDER BY id",
                &[&incident_id],
            )
            .await
            .map_err(pg_error("cannot read history"))?
            .iter()
            .map(rows::history_entry)
            .collect::<Result<Vec<_>, _>>()?;
        let created = client
            .query_opt(
                "SELECT created_at, status FROM incidents WHERE incident_id = $1",
                &[&incident_id],
            )
            .await
            .map_err(pg_error("cannot read history"))?;
        let created = created
            .map(|row| -> Result<(i64, String), StoreError> {
                Ok((rows::column(&row, 0)?, rows::column(&row, 1)?))
            })
            .transpose()?;
        Ok(with_creation(changes, created))
    }

    async fn changes(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<StoreChange>>, StoreError> {
        let origin = self.announcing.get_or_init(process_origin);
        changes::listen(&self.connecting, &self.url, origin.clone())
            .await
            .map(Some)
    }

    fn announce(&self) {
        self.announcing.get_or_init(process_origin);
    }

    async fn check(&self) -> Result<(), StoreError> {
        self.client()
            .await?
            .query_one("SELECT 1", &[])
            .await
            .map(drop)
            .map_err(pg_error(format!(
                "PostgreSQL at {} does not answer",
                self.url
            )))
    }
}

#[cfg(test)]
mod tests;
