//! Against a real DynamoDB API: the moto server, through the AWS SDK the store uses.

#[path = "../../../../tests/shared/moto.rs"]
#[allow(dead_code)] // its S3 bucket is for other crates' tests
mod moto;

use super::items::{self, claim_key};
use super::*;
use crate::contract::{self, next_change, sample_incident, sample_incident_for};
use crate::StoreErrorKind;
use iamwatch_core::{IncidentStatus, Severity};
use moto::Moto;

fn client(endpoint: &str) -> Client {
    let config = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::from_static("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    Client::from_conf(config)
}

fn stream_client(endpoint: &str) -> aws_sdk_dynamodbstreams::Client {
    let config = aws_sdk_dynamodbstreams::Config::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::from_static("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodbstreams::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .http_client(aws_smithy_http_client::Builder::new().build_http())
        .build();
    aws_sdk_dynamodbstreams::Client::from_conf(config)
}

/// A store that can follow its table's stream, as `serve`'s.
async fn following(moto: &Moto, name: &str) -> DynamoStore {
    store(moto, name)
        .await
        .with_stream(stream_client(&moto.endpoint))
}

fn table(name: &str) -> DynamoTable {
    DynamoTable::parse(name).expect("a table name")
}

async fn store(moto: &Moto, name: &str) -> DynamoStore {
    DynamoStore::connect(client(&moto.endpoint), table(name))
        .await
        .expect("connects")
}

/// How many items of each kind the table holds: (incidents, claims, history entries).
async fn counts(store: &DynamoStore) -> (usize, usize, usize) {
    let mut counts = (0, 0, 0);
    let mut start = None;
    loop {
        let output = store
            .client
            .scan()
            .table_name(store.table.name())
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .unwrap();
        for item in output.items() {
            match items::text_of(item, SK).unwrap() {
                INCIDENT_SK => counts.0 += 1,
                items::CLAIM_SK => counts.1 += 1,
                _ => counts.2 += 1,
            }
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            return counts;
        }
    }
}

#[tokio::test]
async fn keeps_the_contract() {
    let moto = Moto::start_serial();
    contract::run_all(&store(&moto, "incidents").await).await;
    // Again on the same table, as a second process would find it.
    contract::run_all(&store(&moto, "incidents").await).await;
}

#[tokio::test]
async fn a_batch_of_many_transactions_goes_in_once_and_a_second_time_creates_nothing() {
    let moto = Moto::start_serial();
    let store = store(&moto, "incidents").await;
    // Several transactions of 50 and reads of 100; one event twice.
    let mut batch: Vec<Incident> = (0..420).map(sample_incident).collect();
    batch.push(sample_incident(17));
    let stored = store.insert_batch(batch.clone()).await.unwrap();
    let created: Vec<bool> = stored.iter().map(|entry| entry.created).collect();
    let mut expected = vec![true; 420];
    expected.push(false);
    assert_eq!(created, expected);
    assert_eq!(stored[420].incident, stored[17].incident);
    let again = store.insert_batch(batch.clone()).await.unwrap();
    assert!(again.iter().all(|entry| !entry.created));
    for (entry, incident) in again.iter().zip(&batch) {
        assert_eq!(&entry.incident, incident);
    }
    assert_eq!(counts(&store).await, (420, 420, 0));
    let listed = store
        .list(&IncidentQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.incidents.len(), 420);
    assert!(listed
        .incidents
        .windows(2)
        .all(|pair| pair[0].event_time_ms > pair[1].event_time_ms));
}

#[tokio::test]
async fn notifications_owed_are_found_until_notified_and_listed_nowhere() {
    let moto = Moto::start_serial();
    let store = store(&moto, "incidents").await;
    let stored = store
        .insert_batch((0..60).map(sample_incident).collect())
        .await
        .unwrap();
    let ids: Vec<String> = stored
        .iter()
        .map(|entry| entry.incident.incident_id.clone())
        .collect();
    // Sixty: three of DynamoDB's batch writes.
    store.owe_notifications(&ids).await.unwrap();
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    let mut asked = ids.clone();
    asked.push("inc-never-owed".to_string());
    let owed = store.owed_notifications(&asked).await.unwrap();
    assert_eq!(sorted(owed), sorted(ids.clone()));
    store.notified(&ids[..45]).await.unwrap();
    let left = store.owed_notifications(&ids).await.unwrap();
    assert_eq!(sorted(left), sorted(ids[45..].to_vec()));
    // Not incidents: listings and reads see the sixty incidents only.
    let listed = store
        .list(&IncidentQuery {
            limit: 1000,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(listed.incidents.len(), 60);
    assert_eq!(store.get_many(&ids).await.unwrap().len(), 60);
}

#[tokio::test]
async fn stores_inserting_the_same_events_at_once_create_each_once() {
    let moto = Moto::start_serial();
    let first = store(&moto, "incidents").await;
    let second = store(&moto, "incidents").await;
    let batch: Vec<Incident> = (0..150).map(sample_incident).collect();
    let (one, two) = tokio::join!(
        first.insert_batch(batch.clone()),
        second.insert_batch(batch.clone())
    );
    let (one, two) = (one.unwrap(), two.unwrap());
    for (n, (a, b)) in one.iter().zip(&two).enumerate() {
        assert!(a.created != b.created, "event {n} created by exactly one");
        assert_eq!(a.incident.incident_id, b.incident.incident_id);
    }
    assert_eq!(counts(&first).await, (150, 150, 0));
}

#[tokio::test]
async fn an_incident_id_another_event_holds_is_drawn_again_and_found_again() {
    let moto = Moto::start_serial();
    let store = store(&moto, "incidents").await;
    let first = sample_incident_for("evt-a", 1_717_200_000_000, Severity::High, "1");
    store.insert_batch(vec![first.clone()]).await.unwrap();
    // Another event with the same id, in a later batch (the contract checks it within one).
    let mut second = sample_incident_for("evt-b", 1_717_200_000_000, Severity::High, "1");
    second.incident_id = first.incident_id.clone();
    let stored = store.insert_batch(vec![second.clone()]).await.unwrap();
    assert!(stored[0].created);
    let moved = &stored[0].incident.incident_id;
    assert_eq!(
        moved,
        &Incident::resalted_id(&first.incident_id, "evt-b", 1),
        "the first id the other stores would draw"
    );
    let again = store.insert_batch(vec![second]).await.unwrap();
    assert_eq!(
        (&again[0].incident.incident_id, again[0].created),
        (moved, false)
    );
    let claim = insert::read(&store, vec![claim_key("evt-b")])
        .await
        .unwrap();
    assert_eq!(
        items::text_of(&claim[0], "incident_id").unwrap(),
        moved.as_str()
    );
}

#[tokio::test]
async fn a_transaction_sent_again_after_its_answer_was_lost_is_reported_created() {
    let moto = Moto::start_serial();
    let store = store(&moto, "incidents").await;
    let batch: Vec<Incident> = (0..60).map(sample_incident).collect();
    // The first attempt's transactions reach the table, and their answer is lost.
    let candidates = batch.clone();
    for (_, writes) in insert::transactions(&store, (0..60).collect(), &candidates, "lost").unwrap()
    {
        assert!(insert::commit(&store, writes).await.unwrap());
    }
    // The same batch goes on: its claims are there, written by itself.
    let stored = insert::insert_batch_as(&store, batch.clone(), "lost")
        .await
        .unwrap();
    assert!(
        stored.iter().all(|stored| stored.created),
        "its own writes, found again, are new incidents"
    );
    let ids: Vec<&str> = stored
        .iter()
        .map(|s| s.incident.incident_id.as_str())
        .collect();
    let expected: Vec<&str> = batch.iter().map(|i| i.incident_id.as_str()).collect();
    assert_eq!(ids, expected);
    // Another batch of the same events finds them stored already.
    let again = store.insert_batch(batch).await.unwrap();
    assert!(again.iter().all(|stored| !stored.created));
    assert_eq!(counts(&store).await, (60, 60, 0));
}

#[test]
fn a_batch_is_cut_into_transactions_within_dynamodbs_limits() {
    let store = DynamoStore::new(client("http://127.0.0.1:9"), table("incidents"));
    // 40 incidents whose raw events compress little (about 180 KB each), then 120 small ones.
    let mut state: u64 = 0x2545_F491_4F6C_DD1D;
    let mut noise = |length: usize| -> String {
        (0..length)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect()
    };
    let candidates: Vec<Incident> = (0..160)
        .map(|n| {
            let mut incident = sample_incident(n);
            if n < 40 {
                incident.raw = Some(noise(300_000));
            }
            incident
        })
        .collect();
    let transactions =
        insert::transactions(&store, (0..160).collect(), &candidates, "batch-1").unwrap();
    let mut written = Vec::new();
    for (chunk, writes) in &transactions {
        assert_eq!(
            writes.len(),
            chunk.len() * 2,
            "an incident and its claim each"
        );
        assert!(writes.len() <= 100);
        let bytes: usize = writes
            .iter()
            .map(|write| items::size(write.put().unwrap().item()))
            .sum();
        assert!(bytes <= 4 * 1024 * 1024, "{bytes} bytes in one transaction");
        written.extend(chunk.iter().copied());
    }
    assert_eq!(
        written,
        (0..160).collect::<Vec<usize>>(),
        "each once, in order"
    );
    let sizes: Vec<usize> = transactions.iter().map(|(chunk, _)| chunk.len()).collect();
    assert!(sizes[0] < 50, "cut by size among the large: {sizes:?}");
    assert!(
        sizes.contains(&50),
        "cut by count among the small: {sizes:?}"
    );
}

#[tokio::test]
async fn an_event_id_shaped_like_a_claim_is_found_again() {
    let moto = Moto::start_serial();
    let store = store(&moto, "incidents").await;
    let batch: Vec<Incident> = ["event#x", "event#event#x", "x"]
        .iter()
        .enumerate()
        .map(|(n, event_id)| {
            sample_incident_for(event_id, 1_717_200_000_000 + n as i64, Severity::Low, "1")
        })
        .collect();
    let first = store.insert_batch(batch.clone()).await.unwrap();
    assert!(first.iter().all(|entry| entry.created));
    let again = store.insert_batch(batch.clone()).await.unwrap();
    for (entry, incident) in again.iter().zip(&batch) {
        assert!(!entry.created, "{}", incident.event_id);
        assert_eq!(&entry.incident, incident);
    }
}

#[tokio::test]
async fn a_raw_event_larger_than_an_item_is_kept_compressed() {
    let moto = Moto::start_serial();
    let store = store(&moto, "incidents").await;
    let mut incident = sample_incident(1);
    // Over 600 KB of a policy document: over DynamoDB's 400 KB for an item.
    let statements: Vec<String> = (0..8_000)
        .map(|n| format!(r#"{{"Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket-{n}/*"}}"#))
        .collect();
    incident.raw = Some(format!(
        r#"{{"eventID":"evt-1","policy":[{}]}}"#,
        statements.join(",")
    ));
    assert!(incident.raw.as_ref().unwrap().len() > 600_000);
    store.insert_batch(vec![incident.clone()]).await.unwrap();
    assert_eq!(
        store.get(&incident.incident_id).await.unwrap(),
        Some(incident)
    );
}

#[tokio::test]
async fn changes_at_once_to_one_incident_are_each_recorded() {
    let moto = Moto::start_serial();
    let first = store(&moto, "incidents").await;
    let second = store(&moto, "incidents").await;
    let incident = sample_incident(3);
    let id = incident.incident_id.clone();
    first.insert_batch(vec![incident]).await.unwrap();
    let note = |n: usize| IncidentChange {
        note: Some(format!("note {n}")),
        actor: format!("analyst {n}"),
        at_ms: 1_800_000_000_000 + n as i64,
        ..Default::default()
    };
    let (a, b, c, d) = tokio::join!(
        first.update(&id, note(0)),
        second.update(&id, note(1)),
        first.update(&id, note(2)),
        second.update(&id, note(3)),
    );
    for result in [a, b, c, d] {
        result.unwrap();
    }
    let acknowledged = first
        .update(
            &id,
            IncidentChange {
                status: Some(IncidentStatus::Acknowledged),
                assignee: Some(Some("bob".into())),
                actor: "bob".into(),
                at_ms: 1_800_000_000_100,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(acknowledged.assignee.as_deref(), Some("bob"));
    let history = second.history(&id).await.unwrap();
    let mut notes: Vec<&str> = history
        .iter()
        .filter_map(|entry| entry.note.as_deref())
        .collect();
    notes.sort_unstable();
    assert_eq!(notes, ["note 0", "note 1", "note 2", "note 3"]);
    assert_eq!(
        contract::status_moves(&history).last(),
        Some(&(
            Some(IncidentStatus::New),
            Some(IncidentStatus::Acknowledged)
        ))
    );
    assert_eq!(
        history.len(),
        6,
        "creation, four notes, the acknowledgement"
    );
    // Cleared again.
    let cleared = second
        .update(
            &id,
            IncidentChange {
                assignee: Some(None),
                actor: "bob".into(),
                at_ms: 1_800_000_000_200,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(cleared.assignee, None);
    assert_eq!(first.get(&id).await.unwrap().unwrap().assignee, None);
}

#[tokio::test]
async fn a_missing_table_is_not_an_existing_store_and_another_tables_shape_is_refused() {
    let moto = Moto::start_serial();
    let missing = DynamoStore::connect_existing(client(&moto.endpoint), table("no-such-table"))
        .await
        .unwrap_err();
    assert_eq!(missing.kind(), StoreErrorKind::NotFound);
    assert!(
        missing
            .to_string()
            .contains("dynamodb://no-such-table: no such table"),
        "{missing}"
    );
    // Asking created nothing.
    let tables = client(&moto.endpoint).list_tables().send().await.unwrap();
    assert!(tables.table_names().is_empty());

    let other = client(&moto.endpoint);
    other
        .create_table()
        .table_name("orders")
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("order_id")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("order_id")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
    for result in [
        DynamoStore::connect(client(&moto.endpoint), table("orders")).await,
        DynamoStore::connect_existing(client(&moto.endpoint), table("orders")).await,
    ] {
        let error = result.unwrap_err();
        assert_eq!(error.kind(), StoreErrorKind::Invalid);
        assert!(
            error.to_string().contains("not an iamwatch table"),
            "{error}"
        );
    }
}

#[tokio::test]
async fn dynamodb_out_of_reach_is_unavailable_with_the_reason() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let error = DynamoStore::connect(
        client(&format!("http://127.0.0.1:{port}")),
        table("incidents"),
    )
    .await
    .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Unavailable);
    let chain = format!("{error}: {}", std::error::Error::source(&error).unwrap());
    assert!(
        chain.starts_with("cannot read the table dynamodb://incidents: "),
        "{chain}"
    );
    assert!(chain.to_lowercase().contains("connect"), "{chain}");
}

#[tokio::test]
async fn stores_following_the_stream_hear_what_the_others_write_and_not_their_own() {
    let moto = Moto::start_serial();
    let (a, b) = (
        following(&moto, "incidents").await,
        following(&moto, "incidents").await,
    );
    let (_, mut heard_by_b) = contract::followers_hear_each_others_changes(&a, &b, 120).await;
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(1500), heard_by_b.recv())
            .await
            .is_err(),
        "b's own change was not heard by b"
    );
}

#[tokio::test]
async fn what_a_process_not_following_writes_is_not_relayed() {
    // `scan` and `incidents` into a shared table: not pushed to every dashboard.
    let moto = Moto::start_serial();
    let quiet = store(&moto, "incidents").await;
    let listening = following(&moto, "incidents").await;
    let third = following(&moto, "incidents").await;
    contract::quiet_writes_and_own_are_not_heard(&quiet, &listening, &third).await;
    // A store that cannot follow (no stream client) has no feed.
    assert!(quiet.changes().await.unwrap().is_none());
}

#[tokio::test]
async fn what_a_process_announcing_writes_is_relayed() {
    // The serverless function: it does not follow the table, but every `serve` shows its
    // incidents.
    let moto = Moto::start_serial();
    let announcing = store(&moto, "incidents").await;
    let listening = following(&moto, "incidents").await;
    contract::an_announcing_writer_is_heard(&announcing, &listening).await;
}

#[tokio::test]
async fn a_stream_that_cannot_be_read_is_followed_again_and_said_missed() {
    let moto = Moto::start_serial();
    let writer = following(&moto, "incidents").await;
    writer.changes().await.unwrap().unwrap();
    let reader = following(&moto, "incidents").await;
    let arn = table::describe(&reader)
        .await
        .unwrap()
        .unwrap()
        .latest_stream_arn
        .unwrap();
    let mut follower =
        stream::Follower::following(stream_client(&moto.endpoint), arn, "reader".into())
            .await
            .unwrap();
    // Its iterators refused, as expired ones are.
    for iterator in follower.iterators.values_mut() {
        *iterator = "expired".into();
    }
    let (sender, mut feed) = tokio::sync::mpsc::channel(16);
    tokio::spawn(follower.run(sender));
    assert_eq!(next_change(&mut feed).await, StoreChange::Missed);
    let stored = writer.insert_batch(vec![sample_incident(5)]).await.unwrap();
    assert_eq!(
        next_change(&mut feed).await,
        StoreChange::Created(vec![stored[0].incident.incident_id.clone()])
    );
}

#[test]
fn table_locations_parse_and_show() {
    let table = DynamoTable::parse("iamwatch-incidents?region=eu-west-1").unwrap();
    assert_eq!(
        (table.name(), table.region()),
        ("iamwatch-incidents", Some("eu-west-1"))
    );
    assert_eq!(
        table.to_string(),
        "dynamodb://iamwatch-incidents?region=eu-west-1"
    );
    assert_eq!(
        DynamoTable::parse("t.1_x-y/").unwrap().to_string(),
        "dynamodb://t.1_x-y"
    );
    for (text, said) in [
        ("ab", "not a DynamoDB table name"),
        ("a b c", "not a DynamoDB table name"),
        ("", "not a DynamoDB table name"),
        ("incidents?endpoint=http://x", "unknown parameter"),
        ("incidents?region=", "is not a region"),
        ("incidents?region=evil.example/x", "is not a region"),
        ("incidents?region=EU-WEST-1", "is not a region"),
    ] {
        let error = DynamoTable::parse(text).unwrap_err();
        assert!(error.contains(said), "{text:?}: {error}");
    }
}
