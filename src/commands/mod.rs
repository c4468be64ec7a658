pub mod incidents;
pub mod pattern;
pub mod rules;
pub mod scan;
pub mod serve;

use anyhow::{bail, Context};
use std::path::PathBuf;

/// Options every command that touches the store shares.
#[derive(clap::Args, Debug, Clone)]
pub struct StoreArgs {
    /// SQLite database file
    // Global: `incidents --db F list` and `incidents list --db F` both read F (global has
    // no effect on a command without subcommands).
    #[arg(
        long,
        env = "IAMWATCH_DB",
        default_value = "iamwatch.db",
        global = true
    )]
    pub db: PathBuf,
}

impl StoreArgs {
    /// The store of a command that works on incidents already stored (`incidents …`). A path
    /// with no database is an error rather than a new, empty store: a mistyped `--db` listed
    /// no incidents, as if there were none, and left an empty database behind.
    pub fn open_existing(&self) -> anyhow::Result<iamwatch_store::SqliteStore> {
        if !self.db.exists() {
            bail!(
                "no incident store at {}: `iamwatch scan` and `iamwatch serve` create one; --db or IAMWATCH_DB names it",
                self.db.display()
            );
        }
        iamwatch_store::SqliteStore::open(&self.db)
            .with_context(|| format!("cannot open the incident store {}", self.db.display()))
    }

    /// For a bulk load: call `sync` on the store when it is done.
    pub fn open_bulk(&self) -> anyhow::Result<iamwatch_store::SqliteStore> {
        iamwatch_store::SqliteStore::open_bulk(&self.db)
            .with_context(|| format!("cannot open the incident store {}", self.db.display()))
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
