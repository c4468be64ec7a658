//! An SQS batch of S3 notifications (a trail's bucket notifying a queue the function reads):
//! with partial batch responses on, a message whose log file S3 cannot give now is the only one
//! SQS delivers again; without them, the whole batch is.

use super::harness::*;
use crate::lambda_runtime::LambdaRuntime;
use crate::moto::Moto;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A front for moto's S3 (the function's `AWS_ENDPOINT_URL_S3`) that fails to give the object
/// `flaky` (`503 SlowDown`, as S3 answers under load) while the flag it returns is set.
fn flaky_s3(moto: &Moto, flaky: &str) -> (String, Arc<AtomicBool>) {
    let failing = Arc::new(AtomicBool::new(true));
    let fails = Arc::clone(&failing);
    let object = format!("/trail/{flaky}");
    let endpoint = crate::front::start(&moto.endpoint, move |head, _| {
        let path = head.split(' ').nth(1)?.split('?').next()?;
        (path == object && fails.load(Ordering::SeqCst)).then(|| {
            let body = "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            format!(
                "HTTP/1.1 503 Slow Down\r\nContent-Length: {}\r\nContent-Type: application/xml\r\nConnection: close\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        })
    });
    (endpoint, failing)
}

/// An SQS message whose body is S3's notification of `key` in the bucket `trail`.
fn notice_message(id: &str, key: &str) -> Value {
    let notification = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "trail"}, "object": {"key": key, "size": 1}},
    }]});
    json!({
        "messageId": id, "receiptHandle": format!("handle-{id}"),
        "body": notification.to_string(), "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {}, "md5OfBody": "x", "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:111122223333:trail-files",
        "awsRegion": "us-east-1",
    })
}

fn event_ids(dir: &tempfile::TempDir, moto: &Moto) -> Vec<String> {
    let mut ids: Vec<String> = stored(dir, moto)
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

fn seed_event_ids(lines: &[usize]) -> Vec<String> {
    let mut ids: Vec<String> = lines
        .iter()
        .map(|line| seed_record(*line)["eventID"].as_str().unwrap().to_string())
        .collect();
    ids.sort();
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_s3_cannot_give_now_is_the_only_one_delivered_again() {
    let moto = Moto::start_serial();
    let sdk = moto.sdk_config();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = dead_letter_queue(&sqs).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("trail").send().await.unwrap();
    let good = put_log_file(&s3, "20240601T0905Z_a", &[7, 24]).await;
    let flaky = put_log_file(&s3, "20240601T0910Z_b", &[16, 19]).await;
    let (s3_endpoint, failing) = flaky_s3(&moto, &flaky);
    let batch = json!({"Records": [
        notice_message("m-good", &good),
        notice_message("m-flaky", &flaky),
        {"messageId": "m-bad", "eventSource": "aws:sqs", "body": "{\"detail\": {\"eventName\": "},
        {"messageId": "m-event", "eventSource": "aws:sqs", "body": eventbridge(&seed_record(27))},
        notice_message("m-missing", "AWSLogs/no-such-file.json.gz"),
    ]})
    .to_string();

    // Without partial batch responses: the whole batch fails, for Lambda to deliver it again.
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let whole = start_function(
        &dir,
        &runtime,
        &moto,
        &[
            ("AWS_ENDPOINT_URL_S3", s3_endpoint.clone()),
            ("IAMWATCH_DEAD_LETTER_QUEUE", queue.clone()),
        ],
    );
    let error = runtime.invoke(&batch).await.unwrap_err();
    assert_eq!(
        error["errorType"],
        "S3Unavailable",
        "{error}\n{}",
        whole.log()
    );
    assert!(event_ids(&dir, &moto).is_empty());
    drop(whole);

    // With them: the other messages are read and stored, the bad one kept, the flaky one named.
    let mut runtime = LambdaRuntime::start().await;
    let function = start_function(
        &dir,
        &runtime,
        &moto,
        &[
            ("AWS_ENDPOINT_URL_S3", s3_endpoint.clone()),
            ("IAMWATCH_DEAD_LETTER_QUEUE", queue.clone()),
            ("IAMWATCH_SQS_PARTIAL_BATCH", "true".to_string()),
        ],
    );
    let summary = runtime
        .invoke(&batch)
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", function.log()));
    assert_eq!(
        summary["batchItemFailures"],
        json!([{"itemIdentifier": "m-flaky"}]),
        "{summary}\n{}",
        function.log()
    );
    assert_eq!(
        (summary["s3_objects"].clone(), summary["accepted"].clone()),
        (json!(1), json!(3)),
        "{summary}"
    );
    assert_eq!(event_ids(&dir, &moto), seed_event_ids(&[7, 24, 27]));
    // Kept: the unreadable message (third), and the notice of a file S3 refuses (fifth).
    let kept = dead_letters(&sqs, &queue).await;
    let mut places: Vec<(String, u64)> = kept
        .iter()
        .map(|record| {
            let source = record["source"].as_str().unwrap();
            assert!(source.starts_with("lambda invocation request-"), "{kept:?}");
            let message = source.rsplit(" message ").next().unwrap().to_string();
            (message, record["record"].as_u64().unwrap())
        })
        .collect();
    places.sort();
    places.dedup();
    assert_eq!(
        places,
        [("m-bad".to_string(), 2), ("m-missing".to_string(), 4)],
        "{kept:?}"
    );
    assert!(
        function.log().contains("m-flaky"),
        "the message left is logged:\n{}",
        function.log()
    );

    // SQS delivers the message again once S3 answers: its file is read, nothing is left.
    failing.store(false, Ordering::SeqCst);
    let again = json!({"Records": [notice_message("m-flaky", &flaky)]}).to_string();
    let summary = runtime.invoke(&again).await.unwrap();
    assert!(summary.get("batchItemFailures").is_none(), "{summary}");
    assert_eq!(summary["incidents"], 2, "{summary}");
    assert_eq!(event_ids(&dir, &moto), seed_event_ids(&[7, 16, 19, 24, 27]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreadable_message_without_a_dead_letter_queue_is_left_to_sqs() {
    let moto = Moto::start_serial();
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let function = start_function(
        &dir,
        &runtime,
        &moto,
        &[("IAMWATCH_SQS_PARTIAL_BATCH", "true".to_string())],
    );
    // SQS keeps it, and moves it to the queue's own dead-letter queue after its redrive count.
    let batch = json!({"Records": [
        {"messageId": "m-event", "eventSource": "aws:sqs", "body": eventbridge(&seed_record(4))},
        {"messageId": "m-bad", "eventSource": "aws:sqs", "body": "not CloudTrail"},
    ]});
    let summary = runtime
        .invoke(&batch.to_string())
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", function.log()));
    assert_eq!(
        summary["batchItemFailures"],
        json!([{"itemIdentifier": "m-bad"}]),
        "{summary}"
    );
    assert_eq!(summary["incidents"], 1, "{summary}");
    assert_eq!(event_ids(&dir, &moto), seed_event_ids(&[4]));
}

#[test]
fn a_partial_batch_setting_other_than_true_or_false_stops_the_function() {
    let moto = Moto::start_serial();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let lambda = runtime.block_on(LambdaRuntime::start());
    let dir = tempfile::tempdir().unwrap();
    let mut function = start_function(
        &dir,
        &lambda,
        &moto,
        &[("IAMWATCH_SQS_PARTIAL_BATCH", "yes".to_string())],
    );
    let status = function
        .exit_within(std::time::Duration::from_secs(20))
        .expect("the function stops");
    assert!(!status.success());
    assert!(
        function
            .log()
            .contains("IAMWATCH_SQS_PARTIAL_BATCH is \"yes\""),
        "{}",
        function.log()
    );
}
