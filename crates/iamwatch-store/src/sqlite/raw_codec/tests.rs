//! Raw events stored a batch at a time, read back as they came.

use super::*;
use crate::sqlite::SqliteStore;
use crate::{IncidentQuery, IncidentStore};
use iamwatch_core::Incident;
use rusqlite::params;
use std::path::Path;

/// A CloudTrail record as a trail writes it, different in each field an incident's records
/// differ in (user, key, address, agent, ids).
fn cloudtrail_record(number: u64, event_id: &str) -> String {
    let user = number % 37;
    let names = [
        "CreateUser",
        "AttachUserPolicy",
        "DeleteAccessKey",
        "PutUserPolicy",
    ];
    let name = names[(number % 4) as usize];
    format!(
        r#"{{"eventVersion":"1.09","userIdentity":{{"type":"IAMUser","principalId":"AIDA{number:016X}","arn":"arn:aws:iam::123456789012:user/user-{user}","accountId":"123456789012","accessKeyId":"AKIA{:016X}","userName":"user-{user}"}},"eventTime":"2024-06-01T{:02}:{:02}:{:02}Z","eventSource":"iam.amazonaws.com","eventName":"{name}","awsRegion":"us-east-1","sourceIPAddress":"203.0.{}.{}","userAgent":"aws-cli/2.15.{} Python/3.11.8 Linux/6.3.0-1061-aws exe/x86_64.ubuntu.22 prompt/off command/iam.{name}","requestParameters":{{"userName":"user-{}"}},"responseElements":null,"requestID":"{:08x}-6f1e-4d3b-9a52-{number:012x}","eventID":"{event_id}","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management","tlsDetails":{{"tlsVersion":"TLSv1.3","cipherSuite":"TLS_AES_128_GCM_SHA256","clientProvidedHostHeader":"iam.amazonaws.com"}}}}"#,
        number.wrapping_mul(0x9E37_79B9_7F4A_7C15),
        number / 3600 % 24,
        number / 60 % 60,
        number % 60,
        number % 256,
        number * 7 % 256,
        number % 40,
        (number + 1) % 37,
        number.wrapping_mul(2_654_435_761) as u32,
    )
}

/// Incidents numbered from `first`, each with a realistic raw record.
fn with_records(first: u64, count: u64) -> Vec<Incident> {
    (first..first + count)
        .map(|number| {
            let mut incident = crate::contract::sample_incident(number);
            incident.raw = Some(cloudtrail_record(number, &incident.event_id));
            incident
        })
        .collect()
}

/// (rows whose raw is a BLOB, rows whose raw is text, blocks stored)
fn raw_storage(path: &Path) -> (i64, i64, i64) {
    let connection = Connection::open(path).unwrap();
    let count = |sql: &str| -> i64 { connection.query_row(sql, [], |row| row.get(0)).unwrap() };
    (
        count("SELECT count(*) FROM incidents WHERE typeof(raw) = 'blob'"),
        count("SELECT count(*) FROM incidents WHERE typeof(raw) = 'text'"),
        count("SELECT count(*) FROM raw_blocks"),
    )
}

/// A store in a database of its own (kept while the directory lives).
fn fresh_store() -> (tempfile::TempDir, std::path::PathBuf, SqliteStore) {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("raw.db");
    let store = SqliteStore::open(&path).unwrap();
    (directory, path, store)
}

/// Every incident of `incidents`, read back from `store`, holds its raw event as it came.
async fn reads_back(store: &SqliteStore, incidents: &[Incident]) {
    for incident in incidents {
        let read = store.get(&incident.incident_id).await.unwrap().unwrap();
        assert_eq!(read.raw, incident.raw, "{}", incident.incident_id);
    }
}

/// The error reading `incident_id` gives, and its source.
async fn read_error(store: &SqliteStore, incident_id: &str) -> (String, String) {
    let error = store.get(incident_id).await.unwrap_err();
    let source = std::error::Error::source(&error)
        .map(ToString::to_string)
        .unwrap_or_default();
    (error.to_string(), source)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_is_stored_as_one_block_and_its_raw_events_read_back_as_they_came() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("raw.db");
    let first = with_records(0, 300);
    let raw_bytes: usize = first
        .iter()
        .map(|incident| incident.raw.as_ref().unwrap().len())
        .sum();
    {
        let store = SqliteStore::open(&path).unwrap();
        store.insert_batch(first.clone()).await.unwrap();
        assert_eq!(
            raw_storage(&path),
            (300, 0, 1),
            "one block, referred to by all"
        );
        let stored_bytes: i64 = Connection::open(&path)
            .unwrap()
            .query_row(
                "SELECT (SELECT sum(length(raw)) FROM incidents) + (SELECT sum(length(data)) FROM raw_blocks)",
                [],
                |row| row.get(0),
            )
            .unwrap();
        assert!(
            usize::try_from(stored_bytes).unwrap() * 4 < raw_bytes,
            "{stored_bytes} bytes stored for {raw_bytes} of raw events"
        );
        reads_back(&store, &first).await;
    }
    // A new process reads the blocks from the database. Listings leave the raw events out
    // (the contract's listing check): not one block is read for them.
    let store = SqliteStore::open(&path).unwrap();
    let listed = store
        .list(&IncidentQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.incidents.len(), 300);
    assert!(listed
        .incidents
        .iter()
        .all(|incident| incident.raw.is_none()));
    reads_back(&store, &first).await;
    let later = with_records(300, 20);
    store.insert_batch(later.clone()).await.unwrap();
    assert_eq!(raw_storage(&path), (320, 0, 2), "a block per batch");
    reads_back(&store, &later).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_events_of_a_batch_too_small_for_a_block_stay_text() {
    let (_directory, path, store) = fresh_store();
    let few = with_records(0, MIN_BLOCK_EVENTS as u64 - 1);
    store.insert_batch(few.clone()).await.unwrap();
    let below = MIN_BLOCK_EVENTS as i64 - 1;
    assert_eq!(raw_storage(&path), (0, below, 0));
    let enough = with_records(1000, MIN_BLOCK_EVENTS as u64);
    store.insert_batch(enough.clone()).await.unwrap();
    assert_eq!(raw_storage(&path), (MIN_BLOCK_EVENTS as i64, below, 1));
    reads_back(&store, &few).await;
    reads_back(&store, &enough).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_storing_nothing_new_leaves_no_block_behind() {
    let (_directory, path, store) = fresh_store();
    let incidents = with_records(0, 50);
    store.insert_batch(incidents.clone()).await.unwrap();
    // A re-scan: every incident already stored.
    let again = store.insert_batch(incidents.clone()).await.unwrap();
    assert!(again.iter().all(|entry| !entry.created));
    assert_eq!(raw_storage(&path), (50, 0, 1));
    for (entry, incident) in again.iter().zip(&incidents) {
        assert_eq!(
            entry.incident.raw, incident.raw,
            "the stored incident, raw included"
        );
    }
    // Partly new: the block is kept for the new ones.
    let mixed = with_records(40, 20);
    let stored = store.insert_batch(mixed.clone()).await.unwrap();
    assert_eq!(stored.iter().filter(|entry| entry.created).count(), 10);
    assert_eq!(raw_storage(&path), (60, 0, 2));
    reads_back(&store, &mixed).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_raw_events_are_spread_over_blocks_of_bounded_size() {
    let (_directory, path, store) = fresh_store();
    // A record is about a kilobyte: three such events fit a block, four do not.
    let padding = "x".repeat(MAX_BLOCK_BYTES / 3 - 4096);
    let incidents: Vec<Incident> = with_records(0, 10)
        .into_iter()
        .map(|mut incident| {
            let raw = incident.raw.take().unwrap();
            incident.raw = Some(raw.replacen('{', &format!("{{\"padding\":\"{padding}\","), 1));
            incident
        })
        .collect();
    store.insert_batch(incidents.clone()).await.unwrap();
    let (blobs, texts, blocks) = raw_storage(&path);
    assert_eq!((blobs, texts), (10, 0));
    assert_eq!(
        blocks, 4,
        "10 events of a third of the bound each: 3 + 3 + 3 + 1"
    );
    let most: i64 = Connection::open(&path)
        .unwrap()
        .query_row("SELECT max(events) FROM raw_blocks", [], |row| row.get(0))
        .unwrap();
    assert_eq!(most, 3);
    reads_back(&store, &incidents).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_missing_block_or_a_damaged_reference_is_an_error_not_a_panic() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("raw.db");
    let incidents = with_records(0, 20);
    SqliteStore::open(&path)
        .unwrap()
        .insert_batch(incidents.clone())
        .await
        .unwrap();
    let connection = Connection::open(&path).unwrap();
    connection
        .execute(
            "UPDATE incidents SET raw = substr(raw, 1, 10) WHERE incident_id = ?1",
            [&incidents[1].incident_id],
        )
        .unwrap();
    connection.execute("DELETE FROM raw_blocks", []).unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let (error, source) = read_error(&store, &incidents[0].incident_id).await;
    assert!(error.contains("cannot read incident"), "{error}");
    assert!(source.contains("is not in the database"), "{source}");
    let (_, source) = read_error(&store, &incidents[1].incident_id).await;
    assert!(source.contains("block reference is malformed"), "{source}");
}

/// A database written before blocks: raw events as zstd frames made with a dictionary kept in
/// `raw_dictionaries`, the frame's header naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frames_made_with_a_dictionary_before_blocks_still_read() {
    let directory = tempfile::tempdir().unwrap();
    let path = directory.path().join("raw.db");
    let incidents = with_records(0, 300);
    let store = SqliteStore::open(&path).unwrap();
    store.insert_batch(incidents.clone()).await.unwrap();
    let samples: Vec<&[u8]> = incidents
        .iter()
        .map(|incident| incident.raw.as_deref().unwrap().as_bytes())
        .collect();
    let dictionary = zstd::dict::from_samples(&samples, 32 * 1024).unwrap();
    let id = zstd::zstd_safe::get_dict_id_from_dict(&dictionary)
        .unwrap()
        .get();
    let mut compressor = zstd::bulk::Compressor::with_dictionary(1, &dictionary).unwrap();
    {
        let connection = Connection::open(&path).unwrap();
        connection
            .execute(
                "INSERT INTO raw_dictionaries (id, dictionary, samples, created_at) VALUES (?1, ?2, 300, 0)",
                params![i64::from(id), dictionary],
            )
            .unwrap();
        for incident in &incidents {
            let frame = compressor
                .compress(incident.raw.as_deref().unwrap().as_bytes())
                .unwrap();
            connection
                .execute(
                    "UPDATE incidents SET raw = ?1 WHERE incident_id = ?2",
                    params![frame, incident.incident_id],
                )
                .unwrap();
        }
        connection.execute("DELETE FROM raw_blocks", []).unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    reads_back(&store, &incidents).await;
    drop(store);
    Connection::open(&path)
        .unwrap()
        .execute("DELETE FROM raw_dictionaries", [])
        .unwrap();
    let store = SqliteStore::open(&path).unwrap();
    let (error, source) = read_error(&store, &incidents[0].incident_id).await;
    assert!(error.contains("cannot read incident"), "{error}");
    assert!(source.contains("raw dictionary"), "{source}");
    assert!(source.contains("is not in the database"), "{source}");
}

#[test]
fn a_reference_names_its_block_offset_and_length_in_ascii() {
    let written = reference("IWRB -7 ", 123_456, 789);
    assert_eq!(written, "IWRB -7 123456 789");
    assert_eq!(reference("IWRB 5 ", 0, u32::MAX), "IWRB 5 0 4294967295");
    assert_eq!(
        parse_reference(written.as_bytes()),
        Some((-7, 123_456, 789))
    );
    for damaged in [
        "IWRB 1 2",
        "IWRB 1 2 3 4",
        "IWRB x 2 3",
        "IWRB 1 2 -3",
        "IWRB  1 2 3",
    ] {
        assert_eq!(parse_reference(damaged.as_bytes()), None, "{damaged}");
    }
    assert_ne!(random_id(), random_id());
    assert!(random_id() >= 0);
}
