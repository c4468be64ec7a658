//! The incident id is how a store knows an event it has seen (the SQLite store keeps no index
//! on event ids): whenever and however often an event is processed, it gets the same id.

use iamwatch_core::Incident;
use iamwatch_detect::Detector;
use iamwatch_pipeline::{process_record, Outcome};
use iamwatch_sources::{visit_document, Item};
use serde_json::{json, Value};

fn incident_of(detector: &Detector, record: &Value, now_ms: i64) -> Incident {
    let bytes = record.to_string();
    let mut incident = None;
    visit_document(bytes.as_bytes(), false, &mut |item| {
        if let Item::Record(record) = item {
            if let Outcome::Incident(found) = process_record(&record, detector, now_ms) {
                incident = Some(*found);
            }
        }
    });
    incident.unwrap_or_else(|| panic!("no incident for {record}"))
}

fn delete_user(event_id: &str) -> Value {
    json!({
        "eventVersion": "1.09", "eventTime": "2024-06-01T00:00:05Z",
        "eventSource": "iam.amazonaws.com", "eventName": "DeleteUser", "awsRegion": "us-east-1",
        "eventID": event_id, "recipientAccountId": "111122223333",
        "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.17.0 Python/3.11 Linux/6.1",
        "userIdentity": {"type": "IAMUser", "userName": "alice", "accountId": "111122223333"},
        "requestParameters": {"userName": "bob"}
    })
}

const SCANNED_ONCE: i64 = 1_800_000_000_000;
const SCANNED_A_DAY_LATER: i64 = SCANNED_ONCE + 86_400_000;

#[test]
fn an_event_gets_the_same_incident_id_at_every_scan() {
    let detector = Detector::default();
    let record = delete_user("e-timed");
    let first = incident_of(&detector, &record, SCANNED_ONCE);
    let again = incident_of(&detector, &record, SCANNED_A_DAY_LATER);
    assert_eq!(first.incident_id, again.incident_id);
    assert!(
        first.incident_id.starts_with("inc-20240601-000005-"),
        "{}",
        first.incident_id
    );
    assert_eq!(first.event_time_ms, 1_717_200_005_000);
}

#[test]
fn an_event_without_a_time_gets_the_same_incident_id_at_every_scan() {
    let detector = Detector::default();
    let mut record = delete_user("e-untimed");
    record.as_object_mut().unwrap().remove("eventTime");
    let first = incident_of(&detector, &record, SCANNED_ONCE);
    let again = incident_of(&detector, &record, SCANNED_A_DAY_LATER);
    // The incident shows when it was read, and says so...
    assert_eq!(
        (first.event_time_ms, again.event_time_ms),
        (SCANNED_ONCE, SCANNED_A_DAY_LATER)
    );
    assert!(first
        .meta
        .notes
        .iter()
        .any(|note| note.contains("ingestion time used")));
    // ...but its id does not depend on it: a re-scan finds the incident stored the first time.
    assert_eq!(first.incident_id, again.incident_id);
    assert!(
        first.incident_id.starts_with("inc-19700101-000000-"),
        "{}",
        first.incident_id
    );
}
