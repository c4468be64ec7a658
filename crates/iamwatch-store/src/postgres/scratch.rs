//! A schema of its own for each test that stores incidents in PostgreSQL, so that tests run side
//! by side (and runs one after another) never see each other's incidents.

use crate::location::StoreLocation;
use crate::StoreError;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio_postgres::NoTls;

/// The variable naming the database tests use.
pub const TEST_DATABASE_VARIABLE: &str = "IAMWATCH_TEST_POSTGRES";
/// The server every machine of this project runs (trust authentication, database `test`).
pub const DEFAULT_TEST_DATABASE: &str = "postgres://postgres@127.0.0.1:5432/test";
/// Schemas tests left behind (a test killed before its end) are dropped after this long.
const LEFTOVER_SECONDS: u64 = 3600;
const PREFIX: &str = "iamwatch_test_";

static SCHEMAS: AtomicU64 = AtomicU64::new(0);

/// A fresh, empty schema; [`ScratchSchema::url`] is the test database's URL with that schema
/// first in its search path, where a store creates its tables.
pub struct ScratchSchema {
    base: String,
    name: String,
}

impl ScratchSchema {
    /// # Errors
    /// [`StoreError`] naming the URL and [`TEST_DATABASE_VARIABLE`] when the server is out of reach.
    pub async fn create() -> Result<Self, StoreError> {
        let base = test_database();
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |elapsed| elapsed.as_secs());
        let name = format!(
            "{PREFIX}{now}_{}_{}",
            std::process::id(),
            SCHEMAS.fetch_add(1, Ordering::Relaxed)
        );
        let client = connect(&base).await?;
        let leftovers = client
            .query(
                "SELECT nspname FROM pg_namespace WHERE nspname LIKE 'iamwatch\\_test\\_%'",
                &[],
            )
            .await
            .map_err(|error| StoreError::backend("cannot list test schemas", error))?;
        for row in leftovers {
            let leftover: String = row.get(0);
            let created = leftover
                .strip_prefix(PREFIX)
                .and_then(|rest| rest.split('_').next())
                .and_then(|seconds| seconds.parse::<u64>().ok());
            if created.is_some_and(|created| created + LEFTOVER_SECONDS < now) {
                // Another run may be dropping it too.
                let _ = client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS {leftover} CASCADE"))
                    .await;
            }
        }
        client
            .batch_execute(&format!("CREATE SCHEMA {name}"))
            .await
            .map_err(|error| StoreError::backend(format!("cannot create schema {name}"), error))?;
        Ok(Self { base, name })
    }

    /// A connection to the test database itself (its `public` schema), for what a test does
    /// as the server's administrator (ending connections, reading `pg_stat_activity`).
    ///
    /// # Errors
    /// As [`ScratchSchema::create`].
    pub async fn admin() -> Result<tokio_postgres::Client, StoreError> {
        connect(&test_database()).await
    }

    /// As [`ScratchSchema::create`], from a test that is not async.
    ///
    /// # Errors
    /// As [`ScratchSchema::create`].
    pub fn create_blocking() -> Result<Self, StoreError> {
        blocking(Self::create())
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The test database's URL, its search path set to this schema.
    pub fn url(&self) -> String {
        let separator = if self.base.contains('?') { '&' } else { '?' };
        format!(
            "{}{separator}options=-c%20search_path%3D{}",
            self.base, self.name
        )
    }

    pub fn location(&self) -> StoreLocation {
        self.url().parse().expect("the test database's URL parses")
    }

    /// The names of the tables in the schema, sorted.
    ///
    /// # Errors
    /// [`StoreError`] when the server is out of reach.
    pub async fn tables(&self) -> Result<Vec<String>, StoreError> {
        let rows = connect(&self.base)
            .await?
            .query(
                "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY 1",
                &[&self.name],
            )
            .await
            .map_err(|error| StoreError::backend("cannot list tables", error))?;
        Ok(rows.iter().map(|row| row.get(0)).collect())
    }

    /// Drops the schema and all it holds.
    ///
    /// # Errors
    /// [`StoreError`] when the server is out of reach.
    pub async fn drop_schema(self) -> Result<(), StoreError> {
        connect(&self.base)
            .await?
            .batch_execute(&format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name))
            .await
            .map_err(|error| {
                StoreError::backend(format!("cannot drop schema {}", self.name), error)
            })
    }

    /// As [`ScratchSchema::drop_schema`], from a test that is not async.
    ///
    /// # Errors
    /// As [`ScratchSchema::drop_schema`].
    pub fn drop_blocking(self) -> Result<(), StoreError> {
        blocking(self.drop_schema())
    }
}

fn test_database() -> String {
    std::env::var(TEST_DATABASE_VARIABLE).unwrap_or_else(|_| DEFAULT_TEST_DATABASE.to_string())
}

fn blocking<T>(
    work: impl std::future::Future<Output = Result<T, StoreError>>,
) -> Result<T, StoreError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|error| StoreError::backend("cannot start a runtime", error))?
        .block_on(work)
}

async fn connect(url: &str) -> Result<tokio_postgres::Client, StoreError> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await.map_err(|error| {
        StoreError::backend(
            format!(
                "cannot reach the test database {url} (set {TEST_DATABASE_VARIABLE} to another)"
            ),
            error,
        )
    })?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(client)
}
