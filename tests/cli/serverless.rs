//! `deploy/serverless`: the CloudFormation template (valid by cfn-lint, its incidents table the
//! one the store makes, its EventBridge rule sending every event that makes an incident, its
//! variables the ones the function reads) and `package.sh`.

use crate::helpers::*;
use crate::moto::Moto;
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::process::Command;

fn template_path() -> std::path::PathBuf {
    repo_root().join("deploy/serverless/template.yaml")
}

pub fn forwarder_path() -> std::path::PathBuf {
    repo_root().join("deploy/serverless/forwarder.yaml")
}

/// The template as JSON (it is written without YAML tags, so any reader reads it).
pub fn template() -> Value {
    let text = std::fs::read_to_string(template_path()).unwrap();
    serde_yaml_ng::from_str(&text).expect("the template is plain YAML")
}

#[test]
fn the_templates_pass_cfn_lint() {
    for template in [template_path(), forwarder_path()] {
        let output = Command::new("cfn-lint")
            .arg(&template)
            .output()
            .expect("cfn-lint runs (pip install cfn-lint)");
        assert!(
            output.status.success(),
            "{}: {}{}",
            template.display(),
            stdout(&output),
            stderr(&output)
        );
    }
}

/// An index: its name, key schema, projection type and projected attributes.
type Index = (String, Vec<(String, String)>, String, BTreeSet<String>);

#[test]
fn the_templates_incidents_table_is_the_one_the_store_makes() {
    let moto = Moto::start_serial();
    let workspace = Workspace::new();
    let mut command = iamwatch();
    command
        .args(["scan", "--db", "dynamodb://made-by-the-store"])
        .arg(fixture("seed_events.jsonl"));
    let output = workspace
        .with_aws(&mut command, &moto.endpoint, "us-east-1")
        .output()
        .unwrap();
    assert_success(&output);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = aws_sdk_dynamodb::Client::new(&moto.sdk_config());
    let table = runtime
        .block_on(
            client
                .describe_table()
                .table_name("made-by-the-store")
                .send(),
        )
        .unwrap()
        .table
        .unwrap();

    let defined = &template()["Resources"]["IncidentsTable"]["Properties"];
    let attributes = |pairs: Vec<(String, String)>| pairs.into_iter().collect::<BTreeSet<_>>();
    assert_eq!(
        attributes(
            defined["AttributeDefinitions"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| (
                    a["AttributeName"].as_str().unwrap().to_string(),
                    a["AttributeType"].as_str().unwrap().to_string()
                ))
                .collect()
        ),
        attributes(
            table
                .attribute_definitions()
                .iter()
                .map(|a| (
                    a.attribute_name().to_string(),
                    a.attribute_type().as_str().to_string()
                ))
                .collect()
        )
    );
    let keys = |schema: &Value| -> Vec<(String, String)> {
        schema
            .as_array()
            .unwrap()
            .iter()
            .map(|k| {
                (
                    k["AttributeName"].as_str().unwrap().to_string(),
                    k["KeyType"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    };
    let made_keys = |schema: &[aws_sdk_dynamodb::types::KeySchemaElement]| {
        schema
            .iter()
            .map(|k| {
                (
                    k.attribute_name().to_string(),
                    k.key_type().as_str().to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(keys(&defined["KeySchema"]), made_keys(table.key_schema()));
    let mut made_indexes: Vec<Index> = table
        .global_secondary_indexes()
        .iter()
        .map(|index| {
            let projection = index.projection().unwrap();
            (
                index.index_name().unwrap().to_string(),
                made_keys(index.key_schema()),
                projection.projection_type().unwrap().as_str().to_string(),
                projection.non_key_attributes().iter().cloned().collect(),
            )
        })
        .collect();
    made_indexes.sort();
    let mut defined_indexes: Vec<_> = defined["GlobalSecondaryIndexes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|index| {
            (
                index["IndexName"].as_str().unwrap().to_string(),
                keys(&index["KeySchema"]),
                index["Projection"]["ProjectionType"]
                    .as_str()
                    .unwrap()
                    .to_string(),
                index["Projection"]["NonKeyAttributes"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|name| name.as_str().unwrap().to_string())
                    .collect::<BTreeSet<_>>(),
            )
        })
        .collect();
    defined_indexes.sort();
    assert_eq!(defined_indexes, made_indexes);
    assert_eq!(
        defined["StreamSpecification"]["StreamViewType"],
        table
            .stream_specification()
            .unwrap()
            .stream_view_type()
            .unwrap()
            .as_str()
    );
}

/// A CloudTrail record as EventBridge delivers it (its source and detail type by service).
fn as_eventbridge(record: &Value) -> Value {
    let service = record["eventSource"]
        .as_str()
        .unwrap()
        .trim_end_matches(".amazonaws.com");
    let detail_type = if record["eventType"] == "AwsConsoleSignIn" {
        "AWS Console Sign In via CloudTrail"
    } else {
        "AWS API Call via CloudTrail"
    };
    json!({
        "version": "0", "id": "1", "detail-type": detail_type, "source": format!("aws.{service}"),
        "account": "111122223333", "time": record["eventTime"], "region": "us-east-1",
        "resources": [], "detail": record,
    })
}

/// `iamwatch pattern test --batch` on `input` (JSON lines of pattern and event): one verdict a
/// line.
fn verdicts(input: &str) -> Vec<String> {
    let output = run_with_stdin(
        iamwatch()
            .args(["pattern", "test", "--batch"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped()),
        input.as_bytes(),
    );
    assert_success(&output);
    stdout(&output).lines().map(str::to_string).collect()
}

#[test]
fn the_templates_rule_sends_the_function_every_event_that_makes_an_incident() {
    let workspace = Workspace::new();
    let scanned = workspace.scan(&["--format", "jsonl"], &[&fixture("seed_events.jsonl")]);
    assert_success(&scanned);
    let judged: BTreeSet<String> = incidents_of(&scanned)
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap().to_string())
        .collect();
    assert!(judged.len() > 40, "{} incidents", judged.len());
    let pattern =
        template()["Resources"]["CloudTrailEventsRule"]["Properties"]["EventPattern"].clone();
    let records = seed_records();
    let input: String = records
        .iter()
        .map(|record| {
            json!({"pattern": pattern, "event": as_eventbridge(record)}).to_string() + "\n"
        })
        .collect();
    let answers = verdicts(&input);
    assert_eq!(answers.len(), records.len());
    let mut sent = 0;
    for (record, verdict) in records.iter().zip(&answers) {
        let id = record["eventID"].as_str().unwrap();
        if judged.contains(id) {
            assert_eq!(
                verdict, "true",
                "{} is judged but not sent",
                record["eventName"]
            );
            sent += 1;
        }
    }
    assert_eq!(
        sent,
        judged.len(),
        "every incident's event is in the fixture"
    );
    // Root's S3 call is judged (and sent); the same call by an IAM user is not sent: S3's
    // calls are not iamwatch's to pay for.
    let by_root = records
        .iter()
        .find(|record| record["eventSource"] == "s3.amazonaws.com")
        .unwrap();
    assert_eq!(by_root["userIdentity"]["type"], "Root");
    let mut by_user = by_root.clone();
    by_user["userIdentity"] = json!({"type": "IAMUser", "userName": "alice"});
    let line = json!({"pattern": pattern, "event": as_eventbridge(&by_user)}).to_string();
    assert_eq!(verdicts(&(line + "\n")), ["false"]);
}

#[test]
fn the_template_sets_only_variables_the_function_reads() {
    let variables = &template()["Resources"]["Function"]["Properties"]["Environment"]["Variables"];
    let set: BTreeSet<&str> = variables
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    // The token is in the secret, not the environment (which the console shows).
    let read = [
        "IAMWATCH_DB",
        "IAMWATCH_CONFIG",
        "IAMWATCH_SECRETS",
        "IAMWATCH_CONNECTIONS_TABLE",
        "IAMWATCH_WEBSOCKET_ENDPOINT",
        "IAMWATCH_DEAD_LETTER_QUEUE",
        "IAMWATCH_SQS_PARTIAL_BATCH",
    ];
    assert_eq!(set, read.into_iter().collect());
    let command = std::fs::read_to_string(repo_root().join("src/commands/lambda.rs")).unwrap();
    for name in read[1..].iter().filter(|name| **name != "IAMWATCH_SECRETS") {
        assert!(
            command.contains(&format!("\"{name}\"")),
            "{name} is read by iamwatch lambda"
        );
    }
    // The secret is read by the helper serve and the function share.
    let commands = std::fs::read_to_string(repo_root().join("src/commands/mod.rs")).unwrap();
    assert!(commands.contains("\"IAMWATCH_SECRETS\""));
    assert!(command.contains("secret_variables("));
    let config =
        std::fs::read_to_string(repo_root().join("crates/iamwatch-server/src/config.rs")).unwrap();
    for name in ["IAMWATCH_DB", "IAMWATCH_TOKEN"] {
        assert!(
            config.contains(&format!("\"{name}\"")),
            "{name} is read by the config"
        );
    }
    // The token is generated into the secret, which the function's role may read, and it alone.
    let resources = &template()["Resources"];
    let generated = &resources["Secrets"]["Properties"]["GenerateSecretString"];
    assert_eq!(generated["GenerateStringKey"], "IAMWATCH_TOKEN");
    assert!(generated["PasswordLength"].as_u64().unwrap() >= 32);
    assert_eq!(variables["IAMWATCH_SECRETS"], json!({"Ref": "Secrets"}));
    let statements = resources["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_array()
        .unwrap();
    let reading: Vec<&Value> = statements
        .iter()
        .filter(|statement| statement.to_string().contains("secretsmanager:"))
        .collect();
    assert_eq!(
        reading,
        [
            &json!({"Sid": "Secrets", "Effect": "Allow", "Action": "secretsmanager:GetSecretValue",
            "Resource": {"Ref": "Secrets"}})
        ]
    );
}

#[test]
fn partial_batch_answers_go_only_to_the_queue_mapping_that_asks_for_them() {
    let template = template();
    let resources = &template["Resources"];
    let mappings: Vec<&Value> = resources
        .as_object()
        .unwrap()
        .values()
        .filter(|resource| resource["Type"] == "AWS::Lambda::EventSourceMapping")
        .collect();
    assert_eq!(mappings.len(), 1, "{mappings:?}");
    let mapping = mappings[0];
    assert_eq!(mapping["Condition"], "HasTrailQueue");
    assert_eq!(
        mapping["Properties"]["FunctionResponseTypes"],
        json!(["ReportBatchItemFailures"])
    );
    assert_eq!(
        mapping["Properties"]["EventSourceArn"],
        json!({"Ref": "TrailQueueArn"})
    );
    // Lambda hands the function ten messages at most; the function reads them one by one.
    assert!(mapping["Properties"]["BatchSize"].as_u64().unwrap() <= 10);
    // The function answers so under the same condition, and the mapping may poll the queue.
    assert_eq!(
        resources["Function"]["Properties"]["Environment"]["Variables"]
            ["IAMWATCH_SQS_PARTIAL_BATCH"],
        json!({"Fn::If": ["HasTrailQueue", "true", {"Ref": "AWS::NoValue"}]})
    );
    let statements = resources["FunctionRole"]["Properties"]["Policies"][0]["PolicyDocument"]
        ["Statement"]
        .as_array()
        .unwrap();
    let polling: Vec<&Value> = statements
        .iter()
        .filter(|statement| statement.to_string().contains("sqs:ReceiveMessage"))
        .collect();
    assert_eq!(polling.len(), 1, "{polling:?}");
    assert_eq!(polling[0]["Fn::If"][0], "HasTrailQueue");
    assert_eq!(
        polling[0]["Fn::If"][1]["Resource"],
        json!({"Ref": "TrailQueueArn"})
    );
}

#[test]
fn package_sh_zips_an_executable_bootstrap_and_refuses_a_binary_lambda_cannot_run() {
    let workspace = Workspace::new();
    let zip = workspace.path("function.zip");
    let output = Command::new("bash")
        .arg(repo_root().join("deploy/serverless/package.sh"))
        .args(["--config"])
        .arg(repo_root().join("iamwatch.example.toml"))
        .arg("--geoip")
        .arg(repo_root().join("tests/fixtures/geoip/countries.mmdb"))
        .arg("--out")
        .arg(&zip)
        // A small binary of this machine stands in for the release build.
        .env("IAMWATCH_BINARY", "/usr/bin/true")
        .output()
        .unwrap();
    assert_success(&output);
    // The example config leaves `geoip` commented out: the packager says what to set.
    assert!(
        stderr(&output).contains("geoip = \"/var/task/geoip.mmdb\""),
        "{}",
        stderr(&output)
    );
    let listing = Command::new("python3")
        .args([
            "-c",
            "import sys, zipfile\nfor i in zipfile.ZipFile(sys.argv[1]).infolist(): print(i.filename, oct(i.external_attr >> 16))",
        ])
        .arg(&zip)
        .output()
        .unwrap();
    assert_eq!(
        stdout(&listing),
        "bootstrap 0o100755\niamwatch.toml 0o100644\ngeoip.mmdb 0o100644\n",
        "{}",
        stderr(&listing)
    );
    // Debian 12's bash needs glibc 2.36; Lambda's Amazon Linux 2023 has 2.34.
    let refused = Command::new("bash")
        .arg(repo_root().join("deploy/serverless/package.sh"))
        .arg("--out")
        .arg(workspace.path("refused.zip"))
        .env("IAMWATCH_BINARY", "/usr/bin/bash")
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(1), "{}", stderr(&refused));
    assert!(
        stderr(&refused).contains("needs glibc 2.3") && stderr(&refused).contains("has 2.34"),
        "{}",
        stderr(&refused)
    );
    assert!(!workspace.path("refused.zip").exists());
}

#[test]
fn the_templates_response_permissions_are_exactly_the_calls_the_playbooks_make() {
    let statements = &template()["Resources"]["FunctionRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"];
    let granted: BTreeSet<String> = statements
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|statement| statement.get("Fn::If"))
        .map(|branches| &branches[1])
        .filter(|statement| statement["Sid"] == "ResponsePlaybooks")
        .flat_map(|statement| statement["Action"].as_array().unwrap().clone())
        .map(|action| action.as_str().unwrap().to_string())
        .collect();
    let execute =
        std::fs::read_to_string(repo_root().join("crates/iamwatch-respond/src/execute.rs"))
            .unwrap();
    // Each IAM call is written `.snake_case_name()` on a line of its own in a builder chain.
    let called: BTreeSet<String> = execute
        .lines()
        .map(str::trim)
        .filter_map(|line| line.strip_prefix('.')?.strip_suffix("()"))
        .filter(|name| {
            ["list_", "update_", "detach_", "delete_", "put_"]
                .iter()
                .any(|verb| name.starts_with(verb))
        })
        .map(|name| {
            let pascal: String = name
                .split('_')
                .map(|word| word[..1].to_uppercase() + &word[1..])
                .collect();
            format!("iam:{pascal}")
        })
        .collect();
    assert!(called.contains("iam:UpdateAccessKey"), "{called:?}");
    assert_eq!(granted, called);
}
