//! `[sqs] queues`: `serve` reading an SQS queue of the moto server through the AWS SDK, as a
//! deployment that takes CloudTrail from a queue does; each message deleted once its incidents
//! are stored or it is kept as a dead letter, and left for SQS to deliver again otherwise.

use crate::moto::Bucket;
use crate::s3_follow::{aws_env, dead_letters, trail_notice};
use crate::server::{
    self, eventbridge_event, log_file, sns_notification, start_with_env, wait_for_metric, Server,
};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A queue in the bucket's moto server, and a client to fill and watch it.
struct Queue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl Queue {
    fn new(bucket: &Bucket, name: &str, visibility_secs: u32) -> Self {
        let client = aws_sdk_sqs::Client::new(&bucket.moto.sdk_config());
        let created = bucket
            .runtime
            .block_on(
                client
                    .create_queue()
                    .queue_name(name)
                    .attributes(
                        QueueAttributeName::VisibilityTimeout,
                        visibility_secs.to_string(),
                    )
                    .send(),
            )
            .expect("create queue");
        let url = created.queue_url().expect("a queue url").to_string();
        Self { client, url }
    }

    fn send(&self, bucket: &Bucket, body: &str) {
        let request = self
            .client
            .send_message()
            .queue_url(&self.url)
            .message_body(body);
        bucket
            .runtime
            .block_on(request.send())
            .expect("send message");
    }

    /// Messages waiting, and messages received and not yet deleted.
    fn held(&self, bucket: &Bucket) -> (u64, u64) {
        let request = self
            .client
            .get_queue_attributes()
            .queue_url(&self.url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible);
        let answer = bucket.runtime.block_on(request.send()).expect("attributes");
        let count = |name: QueueAttributeName| {
            answer
                .attributes()
                .and_then(|attributes| attributes.get(&name))
                .and_then(|count| count.parse().ok())
                .unwrap_or(u64::MAX)
        };
        (
            count(QueueAttributeName::ApproximateNumberOfMessages),
            count(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        )
    }
}

/// `serve` reading `queue` and following the bucket, `sqs` the rest of its `[sqs]` table.
fn serve_reading(
    dir: &Path,
    bucket: &Bucket,
    queue: &Queue,
    sqs: &str,
    env: &[(&'static str, String)],
) -> Server {
    let config = format!(
        "[s3]\nfollow = [\"{}\"]\n[sqs]\nqueues = [\"{}\"]\n{sqs}",
        bucket.name, queue.url
    );
    let mut all = aws_env(dir, &bucket.moto.endpoint, "us-east-1");
    all.extend_from_slice(env);
    start_with_env(dir, &config, &[], &all)
}

fn event_ids(bucket: &Bucket, server: &Server) -> Vec<String> {
    let (status, listed) = bucket
        .runtime
        .block_on(server::get(server, "/v1/incidents?limit=50"));
    assert_eq!(status, 200);
    let mut ids: Vec<String> = listed["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort_unstable();
    ids
}

/// Polls `/metrics` until `name` reads `value` or more; fails after 30 s (a queue's visibility
/// timeout passes between deliveries).
fn wait_until_at_least(bucket: &Bucket, server: &Server, name: &str, value: f64) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while bucket.runtime.block_on(server::metric(server, name)) < value {
        assert!(
            Instant::now() < deadline,
            "{name} never reached {value}\n{}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

const LOG_KEY: &str = "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2026/12/06/q.json";

#[test]
fn messages_are_read_stored_broadcast_and_then_deleted() {
    let bucket = Bucket::new();
    bucket.put(LOG_KEY, log_file("s3", 2).as_bytes());
    let queue = Queue::new(&bucket, "trail-events", 30);
    let direct = eventbridge_event("eb-1", "DeleteUser", "alice").to_string();
    // What reaches a queue: an EventBridge rule's event; an SNS topic's notification (raw
    // delivery off) of an event and of CloudTrail's notice of a log file; S3's test event;
    // something that is not JSON; the first event again (delivered at least once); and a
    // message of nothing but a space (SQS allows it).
    let wrapped = sns_notification("n-1", &eventbridge_event("sns-1", "DeleteUser", "bob"));
    let notice: Value = serde_json::from_str(&trail_notice(bucket.name, &[LOG_KEY])).unwrap();
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-06T09:00:00.000Z","Bucket":"trail-bucket","RequestId":"R","HostId":"H"}"#;
    for body in [
        direct.as_str(),
        &wrapped.to_string(),
        &notice.to_string(),
        test_event,
        "not json at all",
        direct.as_str(),
        " ",
    ] {
        queue.send(&bucket, body);
    }
    let dir = tempfile::tempdir().unwrap();
    // A receive waits the default 20 s for messages to come.
    let server = serve_reading(dir.path(), &bucket, &queue, "", &[]);
    let mut live = bucket.runtime.block_on(server::connect(&server));

    bucket.runtime.block_on(wait_for_metric(
        &server,
        "iamwatch_sqs_messages_deleted_total",
        7.0,
    ));
    assert_eq!(
        event_ids(&bucket, &server),
        ["eb-1", "s3-0", "s3-1", "sns-1"]
    );
    let message = bucket
        .runtime
        .block_on(server::next_json(&mut live))
        .expect("an incident message");
    assert_eq!(message["type"], "incident.created");
    assert_eq!(queue.held(&bucket), (0, 0), "every message deleted");
    // The one that could not be read is kept whole (as a posted body is: what was wrong at
    // its line, and the message), named by its queue and message.
    // Messages of one receive are read together: their dead letters come in any order. One
    // message's lines are written together (each line names its message).
    let kept = dead_letters(dir.path());
    let mut seen: Vec<(String, String, String)> = kept
        .iter()
        .map(|bad| {
            let source = bad["source"].as_str().unwrap();
            assert!(source.starts_with("SQS trail-events message "), "{source}");
            let text = |field: &str| bad[field].as_str().unwrap_or_default().to_string();
            (source.to_string(), text("reason"), text("raw"))
        })
        .collect();
    seen.sort_by(|one, other| one.1.cmp(&other.1));
    let reasons: Vec<&str> = seen.iter().map(|(_, reason, _)| reason.as_str()).collect();
    assert_eq!(
        reasons,
        [
            "an empty message",
            "not JSON: \"not json at all\"",
            "request rejected: nothing in it could be read",
        ]
    );
    assert_eq!(seen[1].0, seen[2].0, "one message, kept whole as well");
    assert_ne!(seen[0].0, seen[1].0);
    assert_eq!(seen[2].2, "not json at all");
    let metric = |name| bucket.runtime.block_on(server::metric(&server, name));
    assert_eq!(metric("iamwatch_sqs_messages_received_total"), 7.0);
    assert_eq!(metric("iamwatch_sqs_failures_total"), 0.0);
    assert_eq!(metric("iamwatch_duplicates_total"), 1.0);

    // The queue empty, a receive is waiting: shutting down does not wait for its 20 s.
    std::thread::sleep(Duration::from_millis(500));
    let asked = Instant::now();
    let status = server.terminate();
    assert!(status.success());
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "{:?}",
        asked.elapsed()
    );
}

#[test]
fn a_message_that_cannot_be_read_now_stays_for_sqs_to_deliver_again() {
    let bucket = Bucket::new();
    bucket.put(LOG_KEY, log_file("s3", 2).as_bytes());
    // Received again a second after each failed read.
    let queue = Queue::new(&bucket, "trail-events", 1);
    queue.send(&bucket, &trail_notice(bucket.name, &[LOG_KEY]));
    let dir = tempfile::tempdir().unwrap();
    // SQS answers, S3 does not: the notice's log file cannot be read for now.
    let nowhere = ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9".to_string());
    let server = serve_reading(dir.path(), &bucket, &queue, "", &[nowhere]);

    // A second time: the message came again.
    wait_until_at_least(&bucket, &server, "iamwatch_sqs_failures_total", 2.0);
    let metric = |name| bucket.runtime.block_on(server::metric(&server, name));
    assert!(metric("iamwatch_sqs_messages_received_total") >= 2.0);
    assert_eq!(metric("iamwatch_sqs_messages_deleted_total"), 0.0);
    assert!(event_ids(&bucket, &server).is_empty());
    assert!(
        dead_letters(dir.path()).is_empty(),
        "not a dead letter: it may pass"
    );
    let (waiting, in_flight) = queue.held(&bucket);
    assert_eq!(waiting + in_flight, 1, "still in the queue");

    let (status, log) = server.terminate_keeping_log();
    assert!(status.success(), "{log}");
    assert!(log.contains("left in its queue"), "{log}");
}

/// A front for moto's SQS that fails every entry of every `DeleteMessageBatch`, as SQS does an
/// entry whose receipt handle has expired; the number of entries failed.
fn failing_deletes(moto: &str) -> (String, Arc<AtomicUsize>) {
    let failed = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&failed);
    let endpoint = crate::front::start(moto, move |head, body| {
        let deleting = head
            .to_ascii_lowercase()
            .contains("x-amz-target: amazonsqs.deletemessagebatch");
        if !deleting {
            return None;
        }
        let request: Value = serde_json::from_slice(body).ok()?;
        let entries: Vec<Value> = request["Entries"]
            .as_array()?
            .iter()
            .map(|entry| {
                serde_json::json!({"Id": entry["Id"], "SenderFault": true,
                    "Code": "ReceiptHandleIsInvalid", "Message": "The receipt handle has expired."})
            })
            .collect();
        counted.fetch_add(entries.len(), Ordering::SeqCst);
        let answer = serde_json::json!({"Successful": [], "Failed": entries}).to_string();
        Some(
            format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.0\r\n\
                 Content-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            )
            .into_bytes(),
        )
    });
    (endpoint, failed)
}

#[test]
fn a_message_not_deleted_comes_again_and_makes_no_second_incident() {
    let bucket = Bucket::new();
    // Received again a second after each read.
    let queue = Queue::new(&bucket, "trail-events", 1);
    queue.send(
        &bucket,
        &eventbridge_event("once", "DeleteUser", "alice").to_string(),
    );
    let (front, failed) = failing_deletes(&bucket.moto.endpoint);
    let dir = tempfile::tempdir().unwrap();
    let server = serve_reading(
        dir.path(),
        &bucket,
        &queue,
        "",
        &[("AWS_ENDPOINT_URL_SQS", front)],
    );

    // A second time: the message came again.
    wait_until_at_least(&bucket, &server, "iamwatch_duplicates_total", 2.0);
    let metric = |name| bucket.runtime.block_on(server::metric(&server, name));
    assert_eq!(event_ids(&bucket, &server), ["once"]);
    assert_eq!(metric("iamwatch_sqs_messages_deleted_total"), 0.0);
    assert!(metric("iamwatch_sqs_failures_total") >= 2.0);
    assert!(failed.load(Ordering::SeqCst) >= 2);
    let (status, log) = server.terminate_keeping_log();
    assert!(status.success(), "{log}");
    assert!(log.contains("ReceiptHandleIsInvalid"), "{log}");
}
