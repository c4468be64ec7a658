//! Against the PostgreSQL server of this machine (`IAMWATCH_TEST_POSTGRES`, by default the
//! `test` database on 127.0.0.1:5432), each test in a schema of its own.

use super::scratch::ScratchSchema;
use super::*;
use crate::contract::{self, next_change, sample_incident, sample_incident_for};
use crate::location::StoreLocation;
use iamwatch_core::Severity;

async fn store_in(schema: &ScratchSchema) -> PostgresStore {
    let StoreLocation::Postgres(url) = schema.location() else {
        panic!("not a PostgreSQL URL: {}", schema.url());
    };
    PostgresStore::connect(&url).await.expect("connects")
}

#[tokio::test]
async fn keeps_the_contract() {
    let schema = ScratchSchema::create().await.unwrap();
    let store = store_in(&schema).await;
    contract::run_all(&store).await;
    // Again on the same tables, as a second process would find them.
    contract::run_all(&store_in(&schema).await).await;
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn stores_started_together_on_a_new_database_migrate_once() {
    let schema = ScratchSchema::create().await.unwrap();
    let stores = tokio::join!(
        store_in(&schema),
        store_in(&schema),
        store_in(&schema),
        store_in(&schema)
    );
    let client = stores.0.client().await.unwrap();
    let versions: i64 = client
        .query_one("SELECT count(*) FROM iamwatch_migrations", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(versions, MIGRATIONS.len() as i64);
    drop(client);
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn a_large_batch_goes_in_once_and_a_second_time_creates_nothing() {
    let schema = ScratchSchema::create().await.unwrap();
    let store = store_in(&schema).await;
    // More rows than one statement's 65,535 parameters would allow as VALUES lists, one event
    // twice.
    let mut batch: Vec<Incident> = (0..5_000).map(sample_incident).collect();
    batch.push(sample_incident(17));
    let stored = store.insert_batch(batch.clone()).await.unwrap();
    let created: Vec<bool> = stored.iter().map(|entry| entry.created).collect();
    let mut expected = vec![true; 5_000];
    expected.push(false);
    assert_eq!(created, expected);
    assert_eq!(
        stored[5_000].incident.incident_id,
        stored[17].incident.incident_id
    );
    let again = store.insert_batch(batch.clone()).await.unwrap();
    assert!(again.iter().all(|entry| !entry.created));
    for (entry, incident) in again.iter().zip(&batch) {
        assert_eq!(&entry.incident, incident);
    }
    let count: i64 = store
        .client()
        .await
        .unwrap()
        .query_one("SELECT count(*) FROM incidents", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(count, 5_000);
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn two_stores_inserting_the_same_events_at_once_make_one_incident_each() {
    // Two `serve` instances behind one load balancer, given the same delivery.
    let schema = ScratchSchema::create().await.unwrap();
    let (first, second) = (store_in(&schema).await, store_in(&schema).await);
    let batch: Vec<Incident> = (0..500).map(sample_incident).collect();
    let (one, two) = tokio::join!(
        first.insert_batch(batch.clone()),
        second.insert_batch(batch.clone())
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    for ((a, b), incident) in one.iter().zip(&two).zip(&batch) {
        assert!(a.created != b.created, "{}", incident.event_id);
        assert_eq!(a.incident.incident_id, b.incident.incident_id);
    }
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn a_nul_character_in_an_event_does_not_fail_its_batch() {
    let schema = ScratchSchema::create().await.unwrap();
    let store = store_in(&schema).await;
    let mut incident = sample_incident_for("evt-nul", 1_717_200_000_000, Severity::High, "1");
    incident.resource = "alice\0admin".into();
    incident.title.en = "Delete access key: alice\0admin".into();
    incident.meta.device.ua = "curl\0/8".into();
    incident.raw = Some(r#"{"eventID":"evt-nul","userName":"alice\u0000admin"}"#.into());
    let other = sample_incident(1);
    let stored = store
        .insert_batch(vec![incident.clone(), other.clone()])
        .await
        .unwrap();
    assert!(stored.iter().all(|entry| entry.created));
    let found = store.get(&incident.incident_id).await.unwrap().unwrap();
    assert_eq!(found.resource, "alice\u{FFFD}admin");
    assert_eq!(found.title.en, "Delete access key: alice\u{FFFD}admin");
    // JSON text keeps it escaped, as it came.
    assert_eq!(found.meta.device.ua, "curl\0/8");
    assert_eq!(found.raw, incident.raw);
    assert_eq!(store.get(&other.incident_id).await.unwrap(), Some(other));
    let page = store
        .list(&IncidentQuery {
            text: Some("alice\0admin".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.incidents.len(), 1);
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn an_empty_schema_is_not_an_existing_store() {
    let schema = ScratchSchema::create().await.unwrap();
    let StoreLocation::Postgres(url) = schema.location() else {
        unreachable!()
    };
    let error = PostgresStore::connect_existing(&url).await.unwrap_err();
    assert_eq!(error.kind(), crate::StoreErrorKind::NotFound);
    assert!(
        error.to_string().contains("no incidents there yet"),
        "{error}"
    );
    // Nothing was created by asking.
    assert_eq!(schema.tables().await.unwrap(), Vec::<String>::new());
    store_in(&schema).await;
    PostgresStore::connect_existing(&url).await.unwrap();
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn a_server_out_of_reach_is_said_without_the_password() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let location: StoreLocation = format!("postgres://alice:hunter2@127.0.0.1:{port}/incidents")
        .parse()
        .unwrap();
    let StoreLocation::Postgres(url) = location else {
        unreachable!()
    };
    let error = PostgresStore::connect(&url).await.unwrap_err();
    assert_eq!(error.kind(), crate::StoreErrorKind::Unavailable);
    let chain = chain(&error);
    assert!(
        chain.starts_with(&format!(
            "cannot connect to postgres://alice@127.0.0.1:{port}/incidents"
        )),
        "{chain}"
    );
    assert!(!chain.contains("hunter2"), "{chain}");
}

/// This machine's server, over TLS: its own certificate (Debian's, made for `localhost`) is
/// the CA the test names.
#[tokio::test]
async fn tls_is_used_and_the_servers_certificate_checked_when_the_url_asks() {
    let schema = ScratchSchema::create().await.unwrap();
    let unencrypted = store_in(&schema).await;
    let client = unencrypted.client().await.unwrap();
    let ssl: String = client.query_one("SHOW ssl", &[]).await.unwrap().get(0);
    assert_eq!(ssl, "on", "the test needs the server's ssl on");
    let certificate: String = client
        .query_one("SHOW ssl_cert_file", &[])
        .await
        .unwrap()
        .get(0);
    assert!(!encrypted(plain(&client)).await, "plain by default");
    drop(client);

    let by_name = schema.url().replacen("@127.0.0.1:", "@localhost:", 1);
    assert_ne!(
        by_name,
        schema.url(),
        "the test needs the server at 127.0.0.1"
    );
    let connect = |query: String| {
        let text = format!("{by_name}&{query}");
        async move {
            let StoreLocation::Postgres(url) = text.parse().unwrap() else {
                unreachable!()
            };
            PostgresStore::connect(&url).await
        }
    };
    let verified = connect(format!("sslmode=verify-full&sslrootcert={certificate}"))
        .await
        .expect("connects over TLS");
    contract::inserted_incident_reads_back_unchanged(&verified).await;
    let client = verified.client().await.unwrap();
    assert!(encrypted(plain(&client)).await, "encrypted");
    drop(client);

    // Checked against other CAs than its own (Mozilla's, as Debian's ca-certificates keeps
    // them; the system store here also trusts this certificate, by a link beside them).
    let error = connect("sslmode=require&sslrootcert=/etc/ssl/certs/ca-certificates.crt".into())
        .await
        .unwrap_err();
    assert!(chain(&error).contains("certificate"), "{}", chain(&error));
    // Checked against its CA, but not the name it was made for.
    let StoreLocation::Postgres(url) = format!(
        "{}&sslmode=verify-full&sslrootcert={certificate}",
        schema.url()
    )
    .parse()
    .unwrap() else {
        unreachable!()
    };
    let error = PostgresStore::connect(&url).await.unwrap_err();
    assert!(chain(&error).contains("certificate"), "{}", chain(&error));
    schema.drop_schema().await.unwrap();
}

/// Whether the connection `client` holds is encrypted, as the server sees it.
async fn encrypted(client: &tokio_postgres::Client) -> bool {
    client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .unwrap()
        .get(0)
}

/// An error and its sources, as the command line prints them.
fn chain(error: &StoreError) -> String {
    let mut text = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    text
}

#[tokio::test]
async fn stores_asked_for_changes_hear_what_the_others_commit_and_not_their_own() {
    let schema = ScratchSchema::create().await.unwrap();
    let (a, b) = (store_in(&schema).await, store_in(&schema).await);
    // More ids than one notification holds.
    let (_, mut heard_by_b) = contract::followers_hear_each_others_changes(&a, &b, 600).await;

    // b's listening connection cut (as a server restart or a network cut would): the feed says
    // changes may have been missed, and goes on.
    let origin = b.announcing.get().unwrap();
    let cut: i64 = b
        .client()
        .await
        .unwrap()
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            &[&changes::listener_name(origin)],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(cut, 1);
    assert_eq!(next_change(&mut heard_by_b).await, StoreChange::Missed);
    let later = a.insert_batch(vec![sample_incident(1_000)]).await.unwrap();
    assert_eq!(
        next_change(&mut heard_by_b).await,
        StoreChange::Created(vec![later[0].incident.incident_id.clone()])
    );
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn a_store_not_asked_for_changes_announces_nothing() {
    // `scan` into a shared store: its incidents are not pushed to every dashboard.
    let schema = ScratchSchema::create().await.unwrap();
    let (quiet, listening) = (store_in(&schema).await, store_in(&schema).await);
    let third = store_in(&schema).await;
    contract::quiet_writes_and_own_are_not_heard(&quiet, &listening, &third).await;
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn a_store_asked_to_announce_is_heard_without_following() {
    // The serverless function on a team's PostgreSQL: every `serve` shows its incidents.
    let schema = ScratchSchema::create().await.unwrap();
    let (announcing, listening) = (store_in(&schema).await, store_in(&schema).await);
    contract::an_announcing_writer_is_heard(&announcing, &listening).await;
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn long_values_are_compressed_with_lz4_where_the_server_has_it() {
    let schema = ScratchSchema::create().await.unwrap();
    let store = store_in(&schema).await;
    let client = store.client().await.unwrap();
    // This machine's server is built with lz4 (Debian's PostgreSQL 15).
    let methods: Vec<(String, String)> = client
        .query(
            "SELECT attname::text, attcompression::text FROM pg_attribute \
             WHERE attrelid = 'incidents'::regclass AND attname IN ('raw', 'meta', 'search_text', 'runbook') \
             ORDER BY attname",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect();
    let expected: Vec<(String, String)> = ["meta", "raw", "runbook", "search_text"]
        .iter()
        .map(|name| (name.to_string(), "l".to_string()))
        .collect();
    assert_eq!(methods, expected);
    drop(client);
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn incidents_looked_up_first_are_reported_as_the_insert_would_report_them() {
    // What a batch reported, in order: (incident id, created, status, raw event).
    type Reported = Vec<(String, bool, iamwatch_core::IncidentStatus, Option<String>)>;
    let mut reports: Vec<Reported> = Vec::new();
    let mut schemas = Vec::new();
    for look_up_first in [true, false] {
        let schema = ScratchSchema::create().await.unwrap();
        let store = store_in(&schema).await;
        let first: Vec<Incident> = (0..20).map(sample_incident).collect();
        let stored = store.insert_batch(first).await.unwrap();
        // One of them acknowledged since: reported as stored, not as scanned.
        store
            .update(
                &stored[3].incident.incident_id,
                IncidentChange {
                    status: Some(iamwatch_core::IncidentStatus::Acknowledged),
                    actor: "alice".into(),
                    at_ms: 1,
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        // Twenty stored, ten new, and a new one twice in the batch.
        let mut batch: Vec<Incident> = (0..30).map(sample_incident).collect();
        batch.push(sample_incident(25));
        let mut client = store.client().await.unwrap();
        let reported = insert::insert_all(plain_mut(&mut client), batch, None, look_up_first)
            .await
            .unwrap();
        reports.push(
            reported
                .iter()
                .map(|entry| {
                    let incident = &entry.incident;
                    (
                        incident.incident_id.clone(),
                        entry.created,
                        incident.status,
                        incident.raw.clone(),
                    )
                })
                .collect(),
        );
        drop(client);
        schemas.push(schema);
    }
    assert_eq!(reports[0], reports[1]);
    let created: Vec<bool> = reports[0].iter().map(|entry| entry.1).collect();
    let expected: Vec<bool> = (0..31).map(|index| (20..30).contains(&index)).collect();
    assert_eq!(created, expected);
    assert_eq!(reports[0][3].2, iamwatch_core::IncidentStatus::Acknowledged);
    for schema in schemas {
        schema.drop_schema().await.unwrap();
    }
}

#[tokio::test]
async fn stores_in_other_schemas_of_the_database_are_not_heard() {
    // Notifications are per database: two deployments (or tests) in two schemas of one
    // database each hear only their own.
    let (here, there) = (
        ScratchSchema::create().await.unwrap(),
        ScratchSchema::create().await.unwrap(),
    );
    let listening = store_in(&here).await;
    let mut heard = listening.changes().await.unwrap().unwrap();
    let elsewhere = store_in(&there).await;
    let _its_feed = elsewhere.changes().await.unwrap().unwrap();
    elsewhere
        .insert_batch(vec![sample_incident(1)])
        .await
        .unwrap();
    let neighbour = store_in(&here).await;
    let _its_feed = neighbour.changes().await.unwrap().unwrap();
    let stored = neighbour
        .insert_batch(vec![sample_incident(2)])
        .await
        .unwrap();
    assert_eq!(
        next_change(&mut heard).await,
        StoreChange::Created(vec![stored[0].incident.incident_id.clone()]),
        "the first thing heard: the same schema's incident, not the other schema's"
    );
    here.drop_schema().await.unwrap();
    there.drop_schema().await.unwrap();
}
