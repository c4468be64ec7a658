//! `iamwatch lambda`, the function of the serverless deployment, run as Lambda runs a custom
//! runtime (the binary started as `bootstrap`, invocations from the runtime API) with its AWS
//! services in a moto server (DynamoDB for incidents and connections, SQS for dead letters, S3
//! for log files) and API Gateway's management API standing in on this machine.

mod correlate;
mod harness;
mod notify;
mod permissions;
mod secrets;
mod sqs_batch;
mod threshold;

use crate::lambda_runtime::{start_websocket_api, LambdaRuntime};
use crate::moto::Moto;
use crate::s3_follow::aws_env;
use harness::*;
use serde_json::{json, Value};
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_stores_broadcasts_to_live_connections_and_keeps_what_it_cannot_read() {
    let moto = Moto::start_serial();
    let sdk = moto.sdk_config();
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    create_connections_table(&dynamodb).await;
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = dead_letter_queue(&sqs).await;
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("trail").send().await.unwrap();
    let (endpoint, posted) = start_websocket_api(&["gone-1"]).await;
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let function = start_function(
        &dir,
        &runtime,
        &moto,
        &[
            ("IAMWATCH_CONNECTIONS_TABLE", CONNECTIONS.to_string()),
            ("IAMWATCH_WEBSOCKET_ENDPOINT", endpoint),
            ("IAMWATCH_DEAD_LETTER_QUEUE", queue.clone()),
        ],
    );

    // Clients connect through API Gateway's $connect route: only with the token.
    let refused = runtime
        .invoke(&websocket("CONNECT", "intruder", Some("wrong")))
        .await;
    assert_eq!(
        refused,
        Ok(json!({"statusCode": 401, "body": "a valid token is required"})),
        "{}",
        function.log()
    );
    let refused = runtime
        .invoke(&websocket("CONNECT", "intruder", None))
        .await;
    assert_eq!(refused.unwrap()["statusCode"], 401);
    for connection in ["live-1", "live=2", "gone-1"] {
        let accepted = runtime
            .invoke(&websocket("CONNECT", connection, Some(TOKEN)))
            .await;
        assert_eq!(
            accepted,
            Ok(json!({"statusCode": 200})),
            "{}",
            function.log()
        );
    }
    assert_eq!(connections(&dynamodb).await, ["gone-1", "live-1", "live=2"]);

    // An EventBridge event: stored, pushed to every live connection, the gone one forgotten.
    let delete_key = seed_record(4);
    let answer = runtime.invoke(&eventbridge(&delete_key)).await;
    let summary = answer.unwrap_or_else(|error| panic!("{error}\n{}", function.log()));
    assert_eq!(summary["accepted"], 1, "{summary}");
    assert_eq!(summary["incidents"], 1, "{summary}");
    assert_eq!(
        summary["broadcast"],
        json!({"delivered": 2, "gone": 1, "failed": 0})
    );
    let first = summary["incident_ids"][0].as_str().unwrap().to_string();
    assert_eq!(posted_incidents(&posted, "live-1"), [first.as_str()]);
    assert_eq!(posted_incidents(&posted, "live=2"), [first.as_str()]);
    assert_eq!(connections(&dynamodb).await, ["live-1", "live=2"]);
    let incidents = stored(&dir, &moto);
    assert_eq!(incidents.len(), 1);
    assert_eq!(incidents[0]["incident_id"], first.as_str());
    assert_eq!(incidents[0]["event_id"], delete_key["eventID"]);
    assert_eq!(incidents[0]["event_name"], "DeleteAccessKey");

    // Delivered again (EventBridge delivers at least once): one incident, nothing pushed.
    let again = runtime.invoke(&eventbridge(&delete_key)).await.unwrap();
    assert_eq!(
        (again["incidents"].clone(), again["duplicates"].clone()),
        (json!(0), json!(1))
    );
    assert_eq!(again["incident_ids"], json!([first.clone()]));
    assert_eq!(posted_incidents(&posted, "live-1").len(), 1);

    // An SQS batch, one message unreadable: the other stored, the bad one kept. The user it
    // creates was created in 2024 and has no MFA device since: by the clock, its grace period
    // is over, and the stateful detection says so at once.
    let create_user = seed_record(22);
    let batch = json!({"Records": [
        {"messageId": "m-1", "eventSource": "aws:sqs", "body": eventbridge(&create_user)},
        {"messageId": "m-2", "eventSource": "aws:sqs", "body": "{\"detail\": {\"eventName\": "},
    ]});
    let summary = runtime.invoke(&batch.to_string()).await.unwrap();
    assert_eq!(
        (
            summary["accepted"].clone(),
            summary["incidents"].clone(),
            summary["rejected"].clone()
        ),
        (json!(1), json!(2), json!(1)),
        "{summary}"
    );
    let rules: Vec<Value> = stored(&dir, &moto)
        .iter()
        .map(|incident| incident["rule_id"].clone())
        .collect();
    assert!(
        rules.contains(&json!("correlate.user_without_mfa")),
        "{rules:?}"
    );
    let kept = dead_letters(&sqs, &queue).await;
    assert_eq!(kept.len(), 1, "{kept:?}");
    assert!(
        kept[0]["source"]
            .as_str()
            .unwrap()
            .starts_with("lambda invocation request-"),
        "{kept:?}"
    );
    assert_eq!(kept[0]["record"], 1, "the second message: {kept:?}");
    assert!(
        kept[0]["raw"].as_str().unwrap().contains("\"eventName\": "),
        "{kept:?}"
    );
    assert_eq!(posted_incidents(&posted, "live-1").len(), 3);

    // CloudTrail delivering a log file to S3 and S3 notifying the function: the file is read.
    let key = put_log_file(&s3, "20240601T0905Z_a", &[7, 24, 27]).await;
    let key = key.as_str();
    let notification = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "trail"}, "object": {"key": key, "size": 1}},
    }]});
    let summary = runtime.invoke(&notification.to_string()).await.unwrap();
    assert_eq!(summary["s3_objects"], 1, "{summary}\n{}", function.log());
    assert_eq!(summary["accepted"], 3, "{summary}");
    assert_eq!(summary["incidents"], 3, "{summary}");
    assert_eq!(posted_incidents(&posted, "live=2").len(), 6);
    let names: std::collections::BTreeSet<String> = stored(&dir, &moto)
        .iter()
        .map(|incident| incident["event_name"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "AttachUserPolicy",
            "CreateUser",
            "DeactivateMFADevice",
            "DeleteAccessKey",
            "DeleteUser"
        ]
    );

    // An organisation trail's SNS topic announcing a file, as Lambda delivers SNS messages (the
    // way for a bucket in another region): the file is read too.
    let key = put_log_file(&s3, "20240601T0910Z_b", &[16, 19]).await;
    let key = key.as_str();
    let announced = json!({"Records": [{
        "EventSource": "aws:sns", "EventVersion": "1.0",
        "EventSubscriptionArn": "arn:aws:sns:eu-west-1:111122223333:trail:5f1c",
        "Sns": {
            "Type": "Notification", "MessageId": "9a1e", "Subject": null,
            "TopicArn": "arn:aws:sns:eu-west-1:111122223333:trail",
            "Message": json!({"s3Bucket": "trail", "s3ObjectKey": [key]}).to_string(),
            "Timestamp": "2024-06-01T09:10:01.000Z", "SignatureVersion": "1", "Signature": "x",
            "SigningCertUrl": "https://x", "UnsubscribeUrl": "https://x", "MessageAttributes": {},
        },
    }]});
    let summary = runtime.invoke(&announced.to_string()).await.unwrap();
    assert_eq!(
        (
            summary["s3_objects"].clone(),
            summary["accepted"].clone(),
            summary["incidents"].clone()
        ),
        (json!(1), json!(2), json!(2)),
        "{summary}\n{}",
        function.log()
    );
    assert_eq!(posted_incidents(&posted, "live=2").len(), 8);

    // Nothing readable at all: the whole invocation is kept, and answered.
    let summary = runtime.invoke("\"not an event\"").await.unwrap();
    assert_eq!(summary["accepted"], 0, "{summary}");
    let kept = dead_letters(&sqs, &queue).await;
    assert!(
        kept.iter()
            .any(|record| record["raw"] == "\"not an event\""),
        "{kept:?}"
    );

    // A client's message is answered; a closing connection is forgotten; a schedule ticks.
    let answer = runtime.invoke(&websocket("MESSAGE", "live-1", None)).await;
    assert_eq!(answer, Ok(json!({"statusCode": 200})));
    let answer = runtime
        .invoke(&websocket("DISCONNECT", "live-1", None))
        .await;
    assert_eq!(answer, Ok(json!({"statusCode": 200})));
    assert_eq!(connections(&dynamodb).await, ["live=2"]);
    let tick = json!({"version": "0", "id": "t", "detail-type": "Scheduled Event", "source": "aws.events", "account": "111122223333", "time": "2024-06-01T10:00:00Z", "region": "us-east-1", "resources": [], "detail": {}});
    let summary = runtime.invoke(&tick.to_string()).await.unwrap();
    assert_eq!(summary["incidents"], 0, "{summary}");
    assert_eq!(stored(&dir, &moto).len(), 8);
    let log = function.log();
    assert!(!log.contains(TOKEN), "the token is never logged:\n{log}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_a_dead_letter_queue_or_a_store_the_invocation_fails_for_lambda_to_retry() {
    let moto = Moto::start_serial();
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let function = start_function(&dir, &runtime, &moto, &[]);

    // Nothing readable and nowhere to keep it: Lambda's retries and failure destination keep it.
    let error = runtime.invoke("{\"Records\": 7}").await.unwrap_err();
    assert_eq!(
        error["errorType"],
        "UnreadableInput",
        "{error}\n{}",
        function.log()
    );
    assert!(
        error["errorMessage"]
            .as_str()
            .unwrap()
            .starts_with("nothing in the invocation could be read as CloudTrail"),
        "{error}"
    );
    // Without a connections table a client cannot connect (and nothing is broadcast).
    let answer = runtime
        .invoke(&websocket("CONNECT", "c", Some(TOKEN)))
        .await;
    assert_eq!(answer.unwrap()["statusCode"], 503);
    let summary = runtime.invoke(&eventbridge(&seed_record(4))).await.unwrap();
    assert_eq!(summary["incidents"], 1, "{summary}");

    // The store gone: the invocation fails (Lambda delivers it again), the function lives on.
    drop(moto);
    let error = runtime
        .invoke(&eventbridge(&seed_record(24)))
        .await
        .unwrap_err();
    assert_eq!(error["errorType"], "StoreUnavailable", "{error}");
    let answer = runtime.invoke(&websocket("MESSAGE", "c", None)).await;
    assert_eq!(answer, Ok(json!({"statusCode": 200})), "{}", function.log());
}

#[test]
fn outside_lambda_the_command_says_what_it_needs() {
    let output = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .arg("lambda")
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("iamwatch lambda runs inside AWS Lambda")
            && stderr.contains("AWS_LAMBDA_RUNTIME_API"),
        "{stderr}"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .arg("lambda")
        .env("AWS_LAMBDA_RUNTIME_API", "127.0.0.1:9")
        .env("AWS_LAMBDA_FUNCTION_NAME", "iamwatch")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("IAMWATCH_DB", "/tmp/iamwatch-lambda-test.db")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("IAMWATCH_DB to dynamodb://"), "{stderr}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_enabled_playbook_has_run_and_is_recorded_when_the_invocation_answers() {
    let moto = Moto::start_serial();
    let sdk = moto.sdk_config();
    let iam = aws_sdk_iam::Client::new(&sdk);
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    create_connections_table(&dynamodb).await;
    let (endpoint, posted) = start_websocket_api(&[]).await;
    let key = crate::respond::user_with_key(&iam, "lambda-live").await;
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        &dir,
        "[respond]\nenabled = true\ndry_run = false\n\n[[respond.auto]]\nrule = \"iam.access_key_change\"\nplaybook = \"deactivate-key\"\n",
    );
    let function = start_function(
        &dir,
        &runtime,
        &moto,
        &[
            config,
            ("IAMWATCH_CONNECTIONS_TABLE", CONNECTIONS.to_string()),
            ("IAMWATCH_WEBSOCKET_ENDPOINT", endpoint),
        ],
    );
    let connected = runtime
        .invoke(&websocket("CONNECT", "watcher", Some(TOKEN)))
        .await;
    assert_eq!(
        connected,
        Ok(json!({"statusCode": 200})),
        "{}",
        function.log()
    );

    let record = crate::respond::key_reactivated("lambda-live", &key, "lambda-auto-1");
    let summary = runtime
        .invoke(&eventbridge(&record))
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", function.log()));
    assert_eq!(summary["incidents"], 1, "{summary}");
    let id = summary["incident_ids"][0].as_str().unwrap();
    // Done before the answer: the key is inactive, the history says so, the client heard it.
    assert_eq!(
        crate::respond::key_status(&iam, "lambda-live").await,
        "Inactive"
    );
    let output = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .args(["incidents", "show", id, "--db", INCIDENTS])
        .env_remove("IAMWATCH_DB")
        .envs(aws_env(dir.path(), &moto.endpoint, "us-east-1"))
        .output()
        .unwrap();
    let shown: Value = serde_json::from_slice(&output.stdout)
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&output.stderr)));
    let notes: Vec<&str> = shown["history"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|entry| entry["actor"] == "auto-response")
        .map(|entry| entry["note"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        [format!(
            "automatic response deactivate-key executed: done: UpdateAccessKey: access key {key} of user lambda-live → Inactive: {key} is inactive"
        )]
    );
    let kinds: Vec<String> = posted
        .lock()
        .unwrap()
        .iter()
        .filter(|(_, message)| message["incident"]["incident_id"] == id)
        .map(|(_, message)| message["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(kinds, ["incident.created", "incident.updated"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dashboard_of_serve_on_the_functions_table_shows_its_incidents_live() {
    let moto = Moto::start_serial();
    let dir = tempfile::tempdir().unwrap();
    let serve_dir = dir.path().join("serve");
    std::fs::create_dir_all(&serve_dir).unwrap();
    // `serve` first: it makes the table, with its stream, and follows it.
    let server = crate::server::start_with_env(
        &serve_dir,
        "",
        &["--db", INCIDENTS],
        &aws_env(&serve_dir, &moto.endpoint, "us-east-1"),
    );
    let mut socket = crate::server::connect(&server).await;
    let mut runtime = LambdaRuntime::start().await;
    let function = start_function(&dir, &runtime, &moto, &[]);

    let summary = runtime
        .invoke(&eventbridge(&seed_record(22)))
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", function.log()));
    let id = summary["incident_ids"][0].as_str().unwrap().to_string();
    let mut heard = Vec::new();
    while !heard.contains(&id) {
        let message = crate::server::next_json(&mut socket)
            .await
            .unwrap_or_else(|| panic!("the dashboard heard {heard:?}\n{}", server.log()));
        assert_eq!(message["type"], "incident.created", "{message}");
        heard.push(
            message["incident"]["incident_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
}
