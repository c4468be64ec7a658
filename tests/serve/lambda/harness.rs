//! What the serverless function's tests share: the function started as Lambda starts it, the
//! invocations AWS sends it, and reads of what it stored, kept and posted.

use crate::lambda_runtime::{LambdaRuntime, Posted};
use crate::moto::Moto;
use crate::s3_follow::aws_env;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, KeySchemaElement, KeyType, ScalarAttributeType,
};
use serde_json::{json, Value};
use std::io::Write;
use std::process::{Child, Command, Stdio};
use tempfile::TempDir;

pub const TOKEN: &str = "lambda-test-token";
pub const INCIDENTS: &str = "dynamodb://iamwatch-incidents";
pub const CONNECTIONS: &str = "iamwatch-connections";

/// The seed fixture's record on `line` (1-based).
pub fn seed_record(line: usize) -> Value {
    let text = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed_events.jsonl"),
    )
    .unwrap();
    serde_json::from_str(text.lines().nth(line - 1).unwrap()).unwrap()
}

/// A record as EventBridge invokes a function with it.
pub fn eventbridge(record: &Value) -> String {
    json!({
        "version": "0",
        "id": format!("eb-{}", record["eventID"].as_str().unwrap()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": "111122223333",
        "time": record["eventTime"],
        "region": "us-east-1",
        "resources": [],
        "detail": record,
    })
    .to_string()
}

/// The seed fixture's failed console sign-in (line 44) as event `event_id` at `at` (RFC 3339),
/// as EventBridge invokes a function with a sign-in event.
pub fn failed_sign_in(event_id: &str, at: &str) -> String {
    let mut record = seed_record(44);
    assert_eq!(record["responseElements"]["ConsoleLogin"], "Failure");
    record["eventID"] = json!(event_id);
    record["eventTime"] = json!(at);
    let mut event: Value = serde_json::from_str(&eventbridge(&record)).unwrap();
    event["detail-type"] = json!("AWS Console Sign In via CloudTrail");
    event["source"] = json!("aws.signin");
    event.to_string()
}

pub fn websocket(event_type: &str, connection: &str, token: Option<&str>) -> String {
    let route = match event_type {
        "CONNECT" => "$connect",
        "DISCONNECT" => "$disconnect",
        _ => "$default",
    };
    json!({
        "requestContext": {
            "routeKey": route,
            "eventType": event_type,
            "connectionId": connection,
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com",
            "stage": "prod",
        },
        "queryStringParameters": token.map(|token| json!({ "token": token })),
        "isBase64Encoded": false,
    })
    .to_string()
}

/// Writes `text` as the function's `iamwatch.toml` in `dir`; the variable naming it, for
/// [`start_function`].
pub fn config(dir: &TempDir, text: &str) -> (&'static str, String) {
    let path = dir.path().join("iamwatch.toml");
    std::fs::write(&path, text).unwrap();
    ("IAMWATCH_CONFIG", path.display().to_string())
}

/// The function's process, killed when dropped.
pub struct Function(Child, std::path::PathBuf);

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Function {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.1).unwrap_or_default()
    }

    /// How the process ended, if it ends within `timeout`.
    pub fn exit_within(
        &mut self,
        timeout: std::time::Duration,
    ) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Some(status) = self.0.try_wait().unwrap() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        None
    }
}

/// Starts the binary as Lambda would: under the name `bootstrap`, no arguments, the runtime's
/// variables and the function's own set.
pub fn start_function(
    dir: &TempDir,
    runtime: &LambdaRuntime,
    moto: &Moto,
    extra: &[(&str, String)],
) -> Function {
    let bootstrap = dir.path().join("bootstrap");
    if !bootstrap.exists() {
        std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_iamwatch"), &bootstrap).unwrap();
    }
    let log = dir.path().join("function.log");
    let child = Command::new(&bootstrap)
        .current_dir(dir.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", &runtime.address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "iamwatch")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("IAMWATCH_DB", INCIDENTS)
        .env("IAMWATCH_TOKEN", TOKEN)
        .envs(aws_env(dir.path(), &moto.endpoint, "us-east-1"))
        .envs(extra.iter().map(|(name, value)| (*name, value.as_str())))
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    Function(child, log)
}

pub async fn create_connections_table(client: &aws_sdk_dynamodb::Client) {
    client
        .create_table()
        .table_name(CONNECTIONS)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("connection_id")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("connection_id")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .billing_mode(BillingMode::PayPerRequest)
        .send()
        .await
        .unwrap();
}

/// The SQS queue the function keeps unreadable input in (`IAMWATCH_DEAD_LETTER_QUEUE`); its URL.
pub async fn dead_letter_queue(sqs: &aws_sdk_sqs::Client) -> String {
    sqs.create_queue()
        .queue_name("iamwatch-dead-letters")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap()
}

pub async fn connections(client: &aws_sdk_dynamodb::Client) -> Vec<String> {
    let scanned = client.scan().table_name(CONNECTIONS).send().await.unwrap();
    let mut ids: Vec<String> = scanned
        .items()
        .iter()
        .map(|item| item["connection_id"].as_s().unwrap().clone())
        .collect();
    ids.sort();
    ids
}

pub async fn dead_letters(client: &aws_sdk_sqs::Client, queue: &str) -> Vec<Value> {
    crate::server::drain_queue(client, queue)
        .await
        .iter()
        .map(|body| serde_json::from_str(body).unwrap())
        .collect()
}

pub fn posted_incidents(posted: &Posted, connection: &str) -> Vec<String> {
    posted
        .lock()
        .unwrap()
        .iter()
        .filter(|(id, _)| id == connection)
        .map(|(_, message)| {
            assert_eq!(message["type"], "incident.created", "{message}");
            assert!(message["incident"].get("raw").is_none(), "{message}");
            message["incident"]["incident_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// A CloudTrail log file of the seed records on `lines`, gzipped into the bucket `trail` under a
/// key as CloudTrail names its files (`stamp` makes it unique); the key.
pub async fn put_log_file(s3: &aws_sdk_s3::Client, stamp: &str, lines: &[usize]) -> String {
    let records: Vec<Value> = lines.iter().map(|line| seed_record(*line)).collect();
    let key = format!(
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/06/01/111122223333_CloudTrail_us-east-1_{stamp}.json.gz"
    );
    s3.put_object()
        .bucket("trail")
        .key(&key)
        .body(gzip(&json!({"Records": records}).to_string()).into())
        .send()
        .await
        .unwrap();
    key
}

pub fn gzip(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

/// The incidents stored in the table, read by `iamwatch incidents list` (jsonl).
pub fn stored(dir: &TempDir, moto: &Moto) -> Vec<Value> {
    let output = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .args([
            "incidents",
            "list",
            "--all",
            "--format",
            "jsonl",
            "--db",
            INCIDENTS,
        ])
        .env_remove("IAMWATCH_DB")
        .envs(aws_env(dir.path(), &moto.endpoint, "us-east-1"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}
