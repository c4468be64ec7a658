//! Damaged bodies at the ingest endpoint: each gets 202 or 400, never a 5xx; everything that
//! could not be read is kept in the dead-letter file; every incident answered as created is
//! stored, once.

use crate::damage::{damage, gzip, Random};
use crate::server::{eventbridge_event, get, log_file, metric, post, sns_notification, start};

/// Damaged bodies posted: each is one request, a millisecond or two.
const VARIANTS: u64 = 60;

/// The shapes AWS delivers, a few of each, as the ingest endpoint receives them: an EventBridge
/// event (API destination), an SNS notification of one, and a CloudTrail log file.
fn shapes() -> Vec<Vec<u8>> {
    (0..4)
        .flat_map(|n| {
            let event = eventbridge_event(&format!("dmg-eb-{n}"), "DeleteUser", "bob");
            let notification = sns_notification(
                &format!("m-{n}"),
                &eventbridge_event(&format!("dmg-sns-{n}"), "DeleteLoginProfile", "carol"),
            );
            [
                event.to_string().into_bytes(),
                notification.to_string().into_bytes(),
                log_file(&format!("dmg-log-{n}"), 5).into_bytes(),
            ]
        })
        .collect()
}

#[tokio::test]
async fn damaged_bodies_get_202_or_400_and_every_unread_piece_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let shapes = shapes();
    let mut random = Random(0xb0d1e5);
    // Bodies nothing could be read from: each is also kept whole, beside its pieces.
    let mut kept_whole = 0;
    let mut created = 0;
    let mut answered = [0; 2];
    for variant in 0..VARIANTS {
        let shape = &shapes[random.below(shapes.len())];
        // A body is a kilobyte or a few: a few pieces of damage leave parts of some readable.
        let mut body = damage(shape, 3, &mut random);
        if variant % 4 == 0 {
            body = gzip(&body, variant % 8 == 0, &mut random);
        }
        let context = format!("variant {variant}: {}", String::from_utf8_lossy(&body));
        let (status, answer) = post(&server, body).await;
        match status {
            202 => {
                answered[0] += 1;
                created += answer["incidents"].as_u64().expect("incidents");
                // Each record rejected is named (the first 20 of them; no list when none).
                let rejected = answer["rejected"].as_u64().expect("rejected");
                let named = answer["errors"].as_array().map_or(0, Vec::len);
                assert_eq!(named as u64, rejected.min(20), "{context}\n{answer}");
            }
            400 => {
                answered[1] += 1;
                if answer["errors"].is_array() {
                    kept_whole += 1;
                }
            }
            other => panic!("{other}: {answer}\n{context}"),
        }
    }
    // The damage is real, and left some bodies readable.
    assert!(answered[0] > 0 && answered[1] > 0, "{answered:?}");

    let bad_records = metric(&server, "iamwatch_bad_records_total").await as usize;
    assert!(bad_records > 0);
    let kept = std::fs::read_to_string(dir.path().join("deadletter.jsonl")).unwrap();
    assert_eq!(kept.lines().count(), bad_records + kept_whole);
    assert!(kept
        .lines()
        .all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()));

    // Still serving; what it said it created is what it stored.
    let (status, listed) = get(&server, "/v1/incidents?limit=1000").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(
        listed["incidents"].as_array().expect("incidents").len() as u64,
        created
    );
}
