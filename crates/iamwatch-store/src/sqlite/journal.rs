//! A bulk load into an empty store writes each page once: in a rollback journal, not the WAL.
//!
//! In WAL mode every page a load writes goes to the disk twice, once into the WAL at its
//! commit and once into the database when a checkpoint copies it (for a million records,
//! 238 MB of WAL for a 179 MB database), and the checkpoint thread spends CPU time reading the
//! WAL back. A rollback journal holds only the pages a transaction changes that were in the
//! database when it began; a load into an empty store mostly appends pages, which are written
//! straight into the database and never journaled. Measured on that load (2-core VM, store on
//! its disk, four alternating pairs): 470–471 MB written instead of 623–624 MB (JSON lines
//! included), system CPU time 0.31–0.42 s instead of 0.52–0.68 s, and the scan 0.01–0.13 s
//! faster in every pair (2.07–2.21 s against 2.14–2.25 s); its JSON lines are the same.
//!
//! Commits stay as safe as the WAL's: `synchronous=NORMAL` syncs the journal before the
//! database is overwritten and the database at each commit, so a `kill -9` or a power cut
//! leaves the commits made and the next open rolls back the one in flight.
//!
//! Another process may open the store meanwhile and, as every connection does (`configure`),
//! put it back in WAL mode between two commits; the writer then follows it there, and the
//! checkpoint thread, started either way, copies the WAL as it does for any bulk load. Only
//! into an empty store, as with the indexes built at the end (`indexes.rs`): with a rollback
//! journal a reader waits for each commit, and a store in use keeps its WAL so that its readers
//! never do. The store is put back in WAL mode at the end of the load ([`back_to_wal`]), or by
//! the next open if the load never ends.

use super::{is_busy, BUSY_TIMEOUT};
use rusqlite::Connection;

/// Switches the writer's store from the WAL to a rollback journal; false when it cannot, because
/// another connection has the store open (it does not wait for that one to close).
pub(super) fn leave_wal(connection: &Connection) -> rusqlite::Result<bool> {
    connection.busy_timeout(std::time::Duration::ZERO)?;
    let mode = connection.query_row("PRAGMA journal_mode = TRUNCATE", [], |row| {
        row.get::<_, String>(0)
    });
    connection.busy_timeout(BUSY_TIMEOUT)?;
    match mode {
        Ok(mode) => Ok(mode.eq_ignore_ascii_case("truncate")),
        Err(error) if is_busy(&error) => Ok(false),
        Err(error) => Err(error),
    }
}

/// Puts the store back in WAL mode, waiting for readers up to the busy timeout. A store still
/// busy then is left as it is: its commits are on the disk already, and the next connection to
/// open it switches it ([`super::configure`]).
pub(super) fn back_to_wal(connection: &Connection) -> rusqlite::Result<()> {
    match connection.execute_batch("PRAGMA journal_mode = WAL") {
        // The first statement after the switch opens the WAL, in a read transaction of its
        // own: a checkpoint as that statement answered "database table is locked". A read
        // opens it here.
        Ok(()) => connection
            .query_row("SELECT count(*) FROM sqlite_schema", [], |row| {
                row.get::<_, i64>(0)
            })
            .map(drop),
        Err(error) if is_busy(&error) => Ok(()),
        Err(error) => Err(error),
    }
}

#[cfg(test)]
mod tests {
    use super::super::tests::{file_len, load, pragma, stored_count, wal_of};
    use super::super::{configure, SqliteStore};
    use rusqlite::Connection;
    use std::path::Path;

    fn mode(store: &SqliteStore) -> String {
        pragma(&store.writer.lock().unwrap(), "journal_mode")
    }

    /// Another process's connection, configured as every connection is.
    fn other_connection(path: &Path) -> Connection {
        let connection = Connection::open(path).unwrap();
        configure(&connection, true).unwrap();
        connection
            .query_row("SELECT count(*) FROM incidents", [], |row| {
                row.get::<_, i64>(0)
            })
            .unwrap();
        connection
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_load_into_an_empty_store_writes_no_wal_and_ends_in_wal_mode() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("empty.db");
        let store = SqliteStore::open_bulk(&path).unwrap();
        assert_eq!(mode(&store), "truncate");
        load(&store, 0, 4, 100).await;
        assert_eq!(file_len(&wal_of(&path)), 0, "no page went through the WAL");
        store.sync().unwrap();
        assert_eq!(mode(&store), "wal");
        drop(store);
        assert_eq!(stored_count(&path), 400);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_store_another_connection_has_open_keeps_its_wal() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("shared.db");
        drop(SqliteStore::open(&path).unwrap());
        let other = other_connection(&path);
        let store = SqliteStore::open_bulk(&path).unwrap();
        assert_eq!(mode(&store), "wal");
        load(&store, 0, 2, 100).await;
        store.sync().unwrap();
        drop((store, other));
        assert_eq!(stored_count(&path), 200);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_load_another_connection_puts_back_in_wal_mode_goes_on_there() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("switched.db");
        let store = SqliteStore::open_bulk(&path).unwrap();
        load(&store, 0, 2, 100).await;
        assert_eq!(mode(&store), "truncate");
        let other = other_connection(&path);
        load(&store, 200, 2, 100).await;
        assert_eq!(mode(&store), "wal");
        assert!(file_len(&wal_of(&path)) > 0);
        store.sync().unwrap();
        assert!(wal_of(&path).exists());
        assert_eq!(file_len(&wal_of(&path)), 0);
        drop((store, other));
        assert_eq!(stored_count(&path), 400);
    }
}
