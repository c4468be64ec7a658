//! The function needs nothing its role in the template does not grant. moto checks each request
//! against IAM once told to ([`Moto::check_iam`]): the function runs with the keys of a user
//! holding the role's policy, and stores, notifies, counts, recalls, dead-letters, pushes to
//! WebSocket clients, reads its secret and the trail's log files, and runs a response playbook
//! with them.
//! Resources are left open (`*`): what is checked is the actions the template names, which AWS
//! answers `AccessDenied` for when one is missing and moto (without the check) never does.

use super::harness::*;
use crate::iam_account;
use crate::lambda_runtime::{start_websocket_api, LambdaRuntime};
use crate::moto::Moto;
use crate::receiver::{self, posted_to};
use crate::respond::{key_reactivated, key_status, user_with_key};
use crate::threshold::{archived_minutes_ago, rule_config};
use serde_json::{json, Value};

/// The statements of the function role's policy in the template, each condition's statement
/// taken (`Fn::If`: the optional parts switched on), every resource `*`.
fn role_statements() -> Vec<Value> {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/serverless/template.yaml");
    let template: Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).expect("plain YAML");
    let policies = template["Resources"]["FunctionRole"]["Properties"]["Policies"]
        .as_array()
        .expect("the role's policies");
    policies
        .iter()
        .flat_map(|policy| {
            policy["PolicyDocument"]["Statement"]
                .as_array()
                .unwrap()
                .clone()
        })
        .map(|statement| match statement.get("Fn::If") {
            Some(condition) => condition[1].clone(),
            None => statement,
        })
        .map(|mut statement| {
            statement["Resource"] = json!("*");
            statement
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_does_its_work_with_only_what_its_role_grants() {
    let moto = Moto::start_serial();
    let sdk = moto.sdk_config();
    let dir = tempfile::tempdir().unwrap();
    // What the template makes beside the role: the tables, the queue, the bucket, the secret.
    let dynamodb = aws_sdk_dynamodb::Client::new(&sdk);
    let table =
        iamwatch_store::DynamoTable::parse(INCIDENTS.trim_start_matches("dynamodb://")).unwrap();
    iamwatch_store::DynamoStore::connect(dynamodb.clone(), table)
        .await
        .unwrap();
    create_connections_table(&dynamodb).await;
    // API Gateway's side of the WebSocket API: one connection gone (410), one live.
    let (endpoint, posted) = start_websocket_api(&["gone-1"]).await;
    // The trail's bucket, one log file in it; the function's secret.
    let s3 = aws_sdk_s3::Client::from_conf(
        aws_sdk_s3::config::Builder::from(&sdk)
            .force_path_style(true)
            .build(),
    );
    s3.create_bucket().bucket("trail").send().await.unwrap();
    let log_file = put_log_file(&s3, "20240601T0905Z_a", &[7, 24, 27]).await;
    let secret = aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name("iamwatch/function")
        .secret_string(json!({ "IAMWATCH_TOKEN": TOKEN }).to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = dead_letter_queue(&sqs).await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let key = iam_account::user_holding(&iam, "iamwatch-function", role_statements()).await;

    // A key a playbook turns off (ResponsePermissions=true grants its calls).
    let held = user_with_key(&iam, "keyholder").await;

    let (base, received) = receiver::start().await;
    let env = [
        config(
            &dir,
            &format!(
                "{}[[notify]]\nkind = \"webhook\"\nname = \"hook\"\nmin_severity = \"LOW\"\nurl = \"{base}/hook\"\n\
                 [respond]\nenabled = true\ndry_run = false\n\
                 [[respond.auto]]\nrule = \"iam.access_key_change\"\nplaybook = \"deactivate-key\"\n",
                rule_config(dir.path())
            ),
        ),
        ("IAMWATCH_DEAD_LETTER_QUEUE", queue.clone()),
        ("IAMWATCH_SECRETS", secret),
        ("IAMWATCH_CONNECTIONS_TABLE", CONNECTIONS.to_string()),
        ("IAMWATCH_WEBSOCKET_ENDPOINT", endpoint),
        ("AWS_ACCESS_KEY_ID", key.access_key_id.clone()),
        ("AWS_SECRET_ACCESS_KEY", key.secret_access_key.clone()),
    ];
    moto.check_iam(true);
    let mut runtime = LambdaRuntime::start().await;

    let first = start_function(&dir, &runtime, &moto, &env);
    for connection in ["live-1", "gone-1"] {
        let answer = runtime
            .invoke(&websocket("CONNECT", connection, Some(TOKEN)))
            .await;
        assert_eq!(answer, Ok(json!({"statusCode": 200})), "{}", first.log());
    }
    // An incident stored and notified (owed in the table, then cleared), two calls counted.
    let summary = runtime
        .invoke(&eventbridge(&seed_record(4)))
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", first.log()));
    assert_eq!(summary["incidents"], 1, "{summary}\n{}", first.log());
    for (id, minutes) in [("a0", 8), ("a1", 7)] {
        let summary = runtime
            .invoke(&archived_minutes_ago(id, minutes, "198.51.100.1").to_string())
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", first.log()));
        assert_eq!(summary["incidents"], 0, "{summary}");
    }
    // Unreadable input kept in the dead-letter queue.
    let unreadable = json!({"Records": [
        {"messageId": "m-1", "eventSource": "aws:sqs", "body": "{\"detail\": {\"eventName\": "},
    ]});
    let summary = runtime
        .invoke(&unreadable.to_string())
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", first.log()));
    assert_eq!(summary["rejected"], 1, "{summary}\n{}", first.log());
    // S3 notifying a log file of the trail's bucket: read from it.
    let notification = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "trail"}, "object": {"key": log_file, "size": 1}},
    }]});
    let summary = runtime
        .invoke(&notification.to_string())
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", first.log()));
    assert_eq!(summary["accepted"], 3, "{summary}\n{}", first.log());
    let from_s3 = summary["incidents"].as_u64().unwrap() as usize;
    assert!(from_s3 >= 3, "{summary}");
    // A key turned back on: the playbook turns it off.
    let reactivated = key_reactivated("keyholder", &held, "auto-1");
    let summary = runtime
        .invoke(&eventbridge(&reactivated))
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", first.log()));
    assert_eq!(summary["incidents"], 1, "{summary}\n{}", first.log());
    drop(first);

    // A new instance recalls the incidents and the counts, and goes on.
    let second = start_function(&dir, &runtime, &moto, &env);
    let summary = runtime
        .invoke(&archived_minutes_ago("a2", 6, "198.51.100.1").to_string())
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", second.log()));
    assert_eq!(summary["incidents"], 1, "{summary}\n{}", second.log());
    let log = second.log();
    assert!(
        log.contains("and 2 counts of rules with a threshold"),
        "{log}"
    );
    assert!(!log.contains("AccessDenied"), "{log}");

    moto.check_iam(false);
    let ids: Vec<String> = stored(&dir, &moto)
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(ids.len(), 3 + from_s3, "{ids:?}");
    assert!(
        ids.contains(&"a2/test.macie_evasion".to_string()),
        "{ids:?}"
    );
    assert_eq!(
        posted_to(&received, "/hook").len(),
        3 + from_s3,
        "each notified"
    );
    assert_eq!(key_status(&iam, "keyholder").await, "Inactive");
    // Pushed to the live connection; the one gone forgotten.
    let created = posted
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, message)| id == "live-1" && message["type"] == "incident.created")
        .count();
    assert_eq!(created, 3 + from_s3);
    assert_eq!(connections(&dynamodb).await, ["live-1"]);
    let kept = dead_letters(&sqs, &queue).await;
    // The message, and the invocation of which nothing could be read.
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert_eq!(kept[0]["raw"], "{\"detail\": {\"eventName\": ", "{kept:?}");
}
