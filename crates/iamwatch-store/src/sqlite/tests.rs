use super::*;
use iamwatch_core::IncidentStatus;
use rusqlite::types::ValueRef;
use std::path::PathBuf;

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
            crate::model::CREATOR,
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
    let reader = reopened.reader.lock().unwrap();
    assert_eq!(pragma(&reader, "journal_mode"), "wal");
    assert_eq!(
        pragma(&reader, "wal_autocheckpoint"),
        "4000",
        "a checkpoint every 1,000 pages copied the indexes four times as often"
    );
    assert_eq!(
        pragma(&reader, "page_size"),
        "32768",
        "incidents are about 3 KB: small pages would hold one each"
    );
    assert_eq!(pragma(&reader, "synchronous"), "2", "FULL");
}

pub(super) fn pragma(connection: &Connection, name: &str) -> String {
    connection
        .query_row(&format!("PRAGMA {name}"), [], |row| {
            row.get::<_, rusqlite::types::Value>(0)
        })
        .map(|value| match value {
            rusqlite::types::Value::Text(text) => text,
            rusqlite::types::Value::Integer(number) => number.to_string(),
            other => format!("{other:?}"),
        })
        .unwrap()
}

/// Unique indexes on `incidents` that cover `event_id`.
fn unique_event_id_indexes(connection: &Connection) -> i64 {
    connection
        .query_row(
            "SELECT count(*) FROM pragma_index_list('incidents') AS list, \
             pragma_index_info(list.name) AS info WHERE list.\"unique\" = 1 AND info.name = 'event_id'",
            [],
            |row| row.get(0),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_version_one_database_loses_its_event_id_index_and_keeps_its_incidents() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("v1.db");
    let incident = crate::contract::sample_incident(7);
    let id = incident.incident_id.clone();
    {
        // As version 1 left it: an incident, acknowledged, so with a history row.
        let connection = Connection::open(&path).unwrap();
        configure(&connection, true).unwrap();
        connection
            .execute_batch(&format!(
                "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL); \
                 {} INSERT INTO schema_migrations VALUES (1, 0);",
                MIGRATIONS[0].1
            ))
            .unwrap();
        let raw = incident
            .raw
            .as_deref()
            .map(|raw| ValueRef::Text(raw.as_bytes()));
        insert_as_before_0006(&connection, &incident, raw);
        connection
            .execute(
                "INSERT INTO incident_history (incident_id, at_ms, actor, from_status, to_status) \
                 VALUES (?1, 1, 'alice', 'NEW', 'ACKNOWLEDGED')",
                [&id],
            )
            .unwrap();
        connection
            .execute(
                "UPDATE incidents SET status = 'ACKNOWLEDGED' WHERE incident_id = ?1",
                [&id],
            )
            .unwrap();
        assert_eq!(unique_event_id_indexes(&connection), 1);
    }
    let store = SqliteStore::open(&path).unwrap();
    {
        let writer = store.writer.lock().unwrap();
        assert_eq!(unique_event_id_indexes(&writer), 0);
        assert_eq!(pragma(&writer, "foreign_keys"), "1", "switched back on");
        let versions: Vec<i64> = writer
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .unwrap()
            .query_map([], |row| row.get(0))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        let all: Vec<i64> = MIGRATIONS.iter().map(|(version, _)| *version).collect();
        assert_eq!(versions, all, "every migration applied once, in order");
        assert_eq!(versions[..2], [1, 2]);
    }
    let found = store.get(&id).await.unwrap().unwrap();
    assert_eq!(found.status, IncidentStatus::Acknowledged);
    assert_eq!(
        found.meta, incident.meta,
        "the runbook inside the meta reads back"
    );
    let shown = found.meta_json.full_text(&found.meta);
    assert_eq!(shown.matches("\"runbook\"").count(), 1, "{shown}");
    assert_eq!(store.history(&id).await.unwrap().len(), 2);
    // The event is still known: delivered again, it is the stored incident.
    let again = store.insert_batch(vec![incident]).await.unwrap();
    assert!(!again[0].created);
    assert_eq!(again[0].incident.status, IncidentStatus::Acknowledged);
    drop(store);
    assert!(SqliteStore::open(&path).is_ok(), "migrations run once");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_runbook_is_kept_once_and_metas_without_it() {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(directory.path().join("runbooks.db")).unwrap();
    let shared = std::sync::Arc::new(crate::contract::sample_runbook("Deactivate the key"));
    for batch in 0..3u64 {
        let incidents = (0..50)
            .map(|n| {
                let mut incident = crate::contract::sample_incident(batch * 100 + n);
                incident.meta.runbook = Some(std::sync::Arc::clone(&shared));
                incident
            })
            .collect();
        store.insert_batch(incidents).await.unwrap();
    }
    // Text search still looks in the runbook, as it did when the runbook was in the meta.
    let search = |text: &str| crate::IncidentQuery {
        text: Some(text.to_string()),
        limit: 1000,
        ..crate::IncidentQuery::default()
    };
    assert_eq!(
        store
            .list(&search("DEACTIVATE the key"))
            .await
            .unwrap()
            .incidents
            .len(),
        150
    );
    assert_eq!(
        store
            .list(&search("KEY (확인합니다)"))
            .await
            .unwrap()
            .incidents
            .len(),
        150
    );
    assert!(store
        .list(&search("no such step"))
        .await
        .unwrap()
        .incidents
        .is_empty());
    let writer = store.writer.lock().unwrap();
    let count = |sql: &str| -> i64 { writer.query_row(sql, [], |row| row.get(0)).unwrap() };
    assert_eq!(count("SELECT count(*) FROM incidents"), 150);
    assert_eq!(count("SELECT count(*) FROM runbooks"), 1);
    assert_eq!(count("SELECT count(DISTINCT runbook_id) FROM incidents"), 1);
    assert_eq!(
        count("SELECT count(*) FROM incidents WHERE meta LIKE '%runbook%'"),
        0
    );
}

/// Inserts `incident` as binaries before migration 0006 did: its meta's text whole, the
/// runbook inside it, and no runbook reference.
fn insert_as_before_0006(connection: &Connection, incident: &Incident, raw: Option<ValueRef<'_>>) {
    let meta = serde_json::to_string(&incident.meta).unwrap();
    assert!(meta.contains("\"runbook\""), "{meta}");
    let sql = format!(
        "INSERT INTO incidents ({}, severity_rank) VALUES ({})",
        rows::COLUMNS,
        rows::placeholders(rows::VALUES)
    );
    let values = rows::values(incident, &meta, raw).unwrap();
    let inserted = connection
        .execute(&sql, rusqlite::params_from_iter(values.iter()))
        .unwrap();
    assert_eq!(inserted, 1);
}

/// `batches` commits of `per_batch` new incidents each, numbered from `first`.
pub(super) async fn load(store: &SqliteStore, first: u64, batches: u64, per_batch: u64) {
    for batch in 0..batches {
        let start = first + batch * per_batch;
        let incidents = (start..start + per_batch)
            .map(crate::contract::sample_incident)
            .collect();
        let stored = store.insert_batch(incidents).await.unwrap();
        assert!(stored.iter().all(|entry| entry.created));
    }
}

pub(super) fn file_len(path: &Path) -> u64 {
    std::fs::metadata(path).map_or(0, |metadata| metadata.len())
}

pub(super) fn wal_of(path: &Path) -> PathBuf {
    PathBuf::from(format!("{}-wal", path.display()))
}

/// How many incidents the store at `path` holds, once reopened; its integrity checked first.
pub(super) fn stored_count(path: &Path) -> i64 {
    let store = SqliteStore::open(path).unwrap();
    let reader = store.reader.lock().unwrap();
    assert_eq!(pragma(&reader, "integrity_check"), "ok");
    reader
        .query_row("SELECT count(*) FROM incidents", [], |row| row.get(0))
        .unwrap()
}

/// A store holding one incident (id 1,000,000): a bulk load into it keeps the WAL (see
/// `journal.rs`), as a load into a store in use does.
async fn holding_one_incident(path: &Path) {
    load(&SqliteStore::open(path).unwrap(), 1_000_000, 1, 1).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_load_is_checkpointed_by_its_own_thread_and_synced_at_the_end() {
    let directory = tempfile::tempdir().unwrap();
    let often = CheckpointPolicy {
        every_incidents: 50,
        wal_cap_frames: i64::MAX,
    };
    let never = CheckpointPolicy {
        every_incidents: usize::MAX,
        ..often
    };
    let mut database_grew = Vec::new();
    for (name, policy) in [("often.db", often), ("never.db", never)] {
        let path = directory.path().join(name);
        holding_one_incident(&path).await;
        let store = SqliteStore::open_with(&path, Some(policy)).unwrap();
        {
            let writer = store.writer.lock().unwrap();
            assert_eq!(pragma(&writer, "journal_mode"), "wal");
            assert_eq!(pragma(&writer, "synchronous"), "1", "NORMAL");
            assert_eq!(pragma(&writer, "wal_autocheckpoint"), "0");
        }
        let before = file_len(&path);
        load(&store, 0, 20, 50).await;
        // Waits until the thread has dealt with every commit.
        store.checkpointer.as_ref().unwrap().stop();
        // The writer never checkpoints: only the thread can have copied pages into the file.
        database_grew.push(file_len(&path) > before);
        store.sync().unwrap();
        assert_eq!(file_len(&wal_of(&path)), 0, "{name}: the WAL is emptied");
        {
            let writer = store.writer.lock().unwrap();
            assert_eq!(pragma(&writer, "synchronous"), "2", "{name}: FULL again");
            assert_eq!(pragma(&writer, "wal_autocheckpoint"), "4000");
        }
        drop(store);
        assert_eq!(stored_count(&path), 1001, "{name}");
    }
    assert_eq!(database_grew, vec![true, false]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_checkpoint_that_catches_up_starts_the_wal_again() {
    let directory = tempfile::tempdir().unwrap();
    let never = CheckpointPolicy {
        every_incidents: usize::MAX,
        wal_cap_frames: i64::MAX,
    };
    let mut frames_in_wal = Vec::new();
    for caught_up in [true, false] {
        let path = directory.path().join(format!("caught-up-{caught_up}.db"));
        // The store's own thread never checkpoints here; the test does, with the writer idle.
        holding_one_incident(&path).await;
        let store = SqliteStore::open_with(&path, Some(never)).unwrap();
        load(&store, 0, 30, 100).await;
        if caught_up {
            let connection = Connection::open(&path).unwrap();
            configure(&connection, true).unwrap();
            let policy = CheckpointPolicy {
                every_incidents: 1,
                wal_cap_frames: 8,
            };
            let frames = checkpoint::catch_up(&connection, policy).unwrap();
            assert_eq!(frames.copied, frames.in_wal, "everything copied");
        }
        load(&store, 10_000, 1, 100).await;
        // Frames written since the WAL last started from its beginning.
        let frames = checkpoint::checkpoint(&store.reader.lock().unwrap(), "PASSIVE").unwrap();
        frames_in_wal.push(frames.in_wal);
    }
    let (caught_up, never) = (frames_in_wal[0], frames_in_wal[1]);
    assert!(
        caught_up * 10 < never,
        "{caught_up} frames in the WAL after a catch-up, {never} without"
    );
}

/// The listing indexes on `incidents` (see `indexes.rs`).
fn listing_indexes(connection: &Connection) -> i64 {
    connection
        .query_row(
            "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'incidents_by_%'",
            [],
            |row| row.get(0),
        )
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bulk_load_into_an_empty_store_builds_its_indexes_at_its_end_or_at_the_next_open() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("bulk.db");
    let store = SqliteStore::open_bulk(&path).unwrap();
    assert_eq!(listing_indexes(&store.reader.lock().unwrap()), 0);
    load(&store, 0, 3, 100).await;
    // What a `kill -9` here would leave on the disk: the database, and its journal or WAL.
    let killed = directory.path().join("killed.db");
    std::fs::copy(&path, &killed).unwrap();
    for suffix in ["-journal", "-wal"] {
        let beside = |path: &Path| PathBuf::from(format!("{}{suffix}", path.display()));
        if beside(&path).exists() {
            std::fs::copy(beside(&path), beside(&killed)).unwrap();
        }
    }
    store.sync().unwrap();
    assert_eq!(listing_indexes(&store.reader.lock().unwrap()), 3);
    drop(store);
    let reopened = SqliteStore::open(&killed).unwrap();
    assert_eq!(listing_indexes(&reopened.reader.lock().unwrap()), 3);
    let all = IncidentQuery {
        limit: IncidentQuery::MAX_LIMIT,
        ..Default::default()
    };
    assert_eq!(reopened.list(&all).await.unwrap().incidents.len(), 300);
    let steps = plan(&reopened.reader.lock().unwrap(), &all);
    assert!(steps.contains("incidents_by_time"), "{steps}");
    // The indexes built at the open hold every incident: a listing by the update index finds
    // them all, and SQLite finds each index whole.
    let changed = IncidentQuery {
        since_ms: Some(0),
        ..all.clone()
    };
    assert_eq!(reopened.list(&changed).await.unwrap().incidents.len(), 300);
    let steps = plan(&reopened.reader.lock().unwrap(), &changed);
    assert!(steps.contains("incidents_by_updated"), "{steps}");
    let integrity: String = (reopened.reader.lock().unwrap())
        .query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .unwrap();
    assert_eq!(integrity, "ok");
    // Into a store holding incidents, a bulk load keeps them.
    let again = SqliteStore::open_bulk(&path).unwrap();
    assert_eq!(listing_indexes(&again.reader.lock().unwrap()), 3);
}

/// The plan SQLite picks for a listing's statement, a step per line.
fn plan(connection: &Connection, query: &IncidentQuery) -> String {
    let ListSql { sql, values } = list_sql(query).unwrap();
    let mut statement = connection
        .prepare(&format!("EXPLAIN QUERY PLAN {sql}"))
        .unwrap();
    let steps = statement
        .query_map(rusqlite::params_from_iter(values), |row| {
            row.get::<_, String>(3)
        })
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    steps.join("\n")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn listings_by_status_or_by_recent_change_read_an_index_not_the_whole_table() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("plans.db");
    let store = SqliteStore::open(&path).unwrap();
    load(&store, 0, 1, 20).await;
    let connection = Connection::open(&path).unwrap();
    let new = || IncidentQuery {
        statuses: vec![IncidentStatus::New],
        ..Default::default()
    };
    // A page of one status, the first and a later one: read in listing order, not sorted.
    for query in [
        new(),
        IncidentQuery {
            cursor: Some(crate::model::encode_cursor(
                1_717_200_000_000,
                "inc-20240601-000000-AAAAAA",
            )),
            ..new()
        },
    ] {
        let steps = plan(&connection, &query);
        assert!(
            steps.contains("incidents_by_status") && !steps.contains("TEMP B-TREE"),
            "{steps}"
        );
    }
    // A live stream's resync: what changed since a moment, found by the update index.
    let steps = plan(
        &connection,
        &IncidentQuery {
            since_ms: Some(1_717_200_000_000),
            ..Default::default()
        },
    );
    assert!(steps.contains("incidents_by_updated"), "{steps}");
}

/// Stores opened at once on a file none has created yet (two scans started together) all
/// open: switching the new file to WAL answered "database is locked" without waiting as the
/// busy timeout does.
#[test]
fn stores_opened_at_once_on_a_new_file_all_open() {
    const AT_ONCE: usize = 6;
    for round in 0..20 {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("iamwatch.db");
        let barrier = std::sync::Barrier::new(AT_ONCE);
        std::thread::scope(|scope| {
            let opening: Vec<_> = (0..AT_ONCE)
                .map(|_| {
                    scope.spawn(|| {
                        barrier.wait();
                        SqliteStore::open_bulk(&path).map(drop)
                    })
                })
                .collect();
            for opened in opening {
                let opened = opened.join().unwrap();
                assert!(opened.is_ok(), "round {round}: {opened:?}");
            }
        });
    }
}

/// A store that found its last batch mostly stored (a re-scan) looks the next one up first:
/// stored again, a batch already stored writes nothing, not even a block deleted at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_batch_mostly_stored_the_next_is_looked_up_first() {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(directory.path().join("iamwatch.db")).unwrap();
    let batch = || (0..20).map(crate::contract::sample_incident).collect();
    let changes = || store.writer.lock().unwrap().total_changes();
    store.insert_batch(batch()).await.unwrap();
    let before = changes();
    let tried = store.insert_batch(batch()).await.unwrap();
    assert_eq!(changes() - before, 2, "a block written, then deleted");
    let before = changes();
    let found = store.insert_batch(batch()).await.unwrap();
    assert_eq!(changes() - before, 0);
    assert!(found.iter().all(|entry| !entry.created));
    let ids = |stored: &[Stored]| -> Vec<String> {
        let ids = stored
            .iter()
            .map(|entry| entry.incident.incident_id.clone());
        ids.collect()
    };
    assert_eq!(ids(&found), ids(&tried));
}
