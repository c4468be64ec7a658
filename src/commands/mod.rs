pub mod incidents;
pub mod lambda;
pub mod notify;
pub mod pattern;
pub mod posture;
pub mod respond;
pub mod rules;
pub mod scan;
pub mod serve;

use anyhow::{bail, Context};
use iamwatch_store::{DynamoStore, IncidentStore, PostgresStore, SqliteStore, StoreLocation};
use std::sync::Arc;
use tokio::runtime::Runtime;

/// Options every command that touches the store shares.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    /// SQLite database file, a PostgreSQL URL (postgres://user@host:5432/database; the
    /// password is best kept in PGPASSWORD), or a DynamoDB table (dynamodb://TABLE, with the
    /// AWS environment's credentials and region, or ?region=REGION)
    // Global: `incidents --db F list` and `incidents list --db F` both read F (global has
    // no effect on a command without subcommands).
    #[arg(
        long,
        env = "IAMWATCH_DB",
        default_value = "iamwatch.db",
        global = true
    )]
    pub db: StoreLocation,
}

impl StoreArgs {
    /// The store of a command that works on incidents already stored (`incidents …`).
    pub fn open_existing(&self, runtime: &Runtime) -> anyhow::Result<Store> {
        Store::open(&self.db, Opening::Existing, runtime)
    }

    /// For a bulk load: call [`Store::sync`] when it is done.
    pub fn open_bulk(&self, runtime: &Runtime) -> anyhow::Result<Store> {
        Store::open(&self.db, Opening::Bulk, runtime)
    }
}

/// What a command opens a store for.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Opening {
    /// Incidents already stored (`incidents …`): a path with no database is an error rather
    /// than a new, empty store (a mistyped `--db` listed no incidents, as if there were none,
    /// and left an empty database behind); a PostgreSQL database without iamwatch's tables, or
    /// a DynamoDB table that is not there, is refused the same way.
    Existing,
    /// A bulk load (`scan`).
    Bulk,
    /// The live server, creating the store if needed.
    Live,
}

/// An opened incident store, of whichever kind `--db` named.
pub enum Store {
    Sqlite(SqliteStore),
    Postgres(PostgresStore),
    DynamoDb(DynamoStore),
}

impl Store {
    pub fn open(
        location: &StoreLocation,
        opening: Opening,
        runtime: &Runtime,
    ) -> anyhow::Result<Self> {
        let store = match location {
            StoreLocation::Sqlite(path) => {
                if opening == Opening::Existing && !path.exists() {
                    bail!(
                        "no incident store at {}: `iamwatch scan` and `iamwatch serve` create one; --db or IAMWATCH_DB names it",
                        path.display()
                    );
                }
                match opening {
                    Opening::Bulk => SqliteStore::open_bulk(path),
                    Opening::Existing | Opening::Live => SqliteStore::open(path),
                }
                .map(Self::Sqlite)
            }
            StoreLocation::Postgres(url) => runtime
                .block_on(async {
                    match opening {
                        Opening::Existing => PostgresStore::connect_existing(url).await,
                        Opening::Bulk | Opening::Live => PostgresStore::connect(url).await,
                    }
                })
                .map(Self::Postgres),
            StoreLocation::DynamoDb(table) => runtime
                .block_on(async {
                    let shared = iamwatch_aws::sdk_config_from_env().await;
                    let client = table.client(&shared);
                    match opening {
                        Opening::Existing => {
                            DynamoStore::connect_existing(client, table.clone()).await
                        }
                        Opening::Bulk => DynamoStore::connect(client, table.clone()).await,
                        // The live server follows the table's stream, for what other servers
                        // sharing it store.
                        Opening::Live => DynamoStore::connect(client, table.clone())
                            .await
                            .map(|store| store.with_stream(table.stream_client(&shared))),
                    }
                })
                .map(Self::DynamoDb),
        };
        store.with_context(|| format!("cannot open the incident store {location}"))
    }

    pub fn incidents(&self) -> &dyn IncidentStore {
        match self {
            Self::Sqlite(store) => store,
            Self::Postgres(store) => store,
            Self::DynamoDb(store) => store,
        }
    }

    pub fn shared(self) -> Arc<dyn IncidentStore> {
        match self {
            Self::Sqlite(store) => Arc::new(store),
            Self::Postgres(store) => Arc::new(store),
            Self::DynamoDb(store) => Arc::new(store),
        }
    }

    /// Ends a bulk load: SQLite syncs what its load left to the OS and builds its indexes;
    /// PostgreSQL and DynamoDB have committed every batch already.
    pub fn sync(&self) -> anyhow::Result<()> {
        match self {
            Self::Sqlite(store) => store.sync().context("cannot sync the incident store"),
            Self::Postgres(_) | Self::DynamoDb(_) => Ok(()),
        }
    }
}

pub fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .max_blocking_threads(4)
        .enable_all()
        .build()
        .context("cannot start the async runtime")
}

/// The variables read before the environment's: those of the Secrets Manager secret
/// `IAMWATCH_SECRETS` names, then `IAMWATCH_*_FILE` files' (Docker's and Kubernetes' secrets).
pub fn secret_variables(
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<iamwatch_aws::SecretVariables> {
    runtime.block_on(read_secret_variables())
}

/// [`secret_variables`], inside the runtime (`serve` reads them again on SIGHUP).
pub async fn read_secret_variables() -> anyhow::Result<iamwatch_aws::SecretVariables> {
    let secrets = match std::env::var("IAMWATCH_SECRETS")
        .ok()
        .filter(|id| !id.is_empty())
    {
        Some(id) => iamwatch_aws::SecretVariables::read(&id).await?,
        None => iamwatch_aws::SecretVariables::default(),
    };
    // Variables that are not Unicode are no iamwatch variables (and `env::vars` would panic).
    let environment = std::env::vars_os()
        .filter_map(|(name, value)| Some((name.into_string().ok()?, value.into_string().ok()?)));
    let files =
        iamwatch_core::secret::variables_from_files(environment).map_err(anyhow::Error::msg)?;
    Ok(secrets.with_files(files))
}
