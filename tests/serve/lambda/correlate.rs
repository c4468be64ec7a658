//! The function's stateful detections: across warm invocations, across instances (the
//! recall at a cold start), and across an invocation the store failed.

use super::harness::*;
use crate::lambda_runtime::LambdaRuntime;
use crate::moto::Moto;
use crate::s3_follow::aws_env;
use serde_json::Value;
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_function_correlates_across_invocations_and_notifies_before_it_answers() {
    let moto = Moto::start_serial();
    let (base, received) = crate::receiver::start().await;
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        &dir,
        &format!(
            "[[notify]]\nkind = \"webhook\"\nname = \"hook\"\nmin_severity = \"LOW\"\nurl = \"{base}/hook\"\n\n[correlate.brute_force]\nfailures = 3\n"
        ),
    );
    let function = start_function(&dir, &runtime, &moto, &[config]);

    // Three failed console sign-ins, a minute apart, each its own invocation as EventBridge
    // delivers them: the third completes the pattern the function's memory has kept.
    let mut created = Vec::new();
    for minute in 0..3 {
        let event = failed_sign_in(
            &format!("4f0c7c52-0000-4000-8000-00000000000{minute}"),
            &format!("2024-06-01T09:0{}:08Z", 5 + minute),
        );
        let summary = runtime
            .invoke(&event)
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", function.log()));
        let ids: Vec<String> = summary["incident_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|id| id.as_str().unwrap().to_string())
            .collect();
        assert_eq!(summary["incidents"], ids.len(), "{summary}");
        created.extend(ids);
        // Answered only once notified: the webhook has every incident so far, at once.
        let notified: Vec<String> = crate::receiver::posted_to(&received, "/hook")
            .iter()
            .map(|(_, _, body)| {
                body["incident"]["incident_id"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(notified, created, "{}", function.log());
    }
    assert_eq!(
        created.len(),
        4,
        "three failures and the brute force: {created:?}"
    );
    let rules: Vec<Value> = stored(&dir, &moto)
        .iter()
        .map(|incident| incident["rule_id"].clone())
        .collect();
    assert_eq!(
        rules
            .iter()
            .filter(|rule| **rule == "correlate.brute_force")
            .count(),
        1,
        "{rules:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_recalls_what_the_one_before_it_counted() {
    let moto = Moto::start_serial();
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [config(&dir, "[correlate.brute_force]\nfailures = 3\n")];
    // Failed console sign-ins of the last minutes (an instance recalls recent events only).
    let failure = |n: i64| {
        let at = iamwatch_core::time::now_ms() - (5 - n) * 60_000;
        failed_sign_in(
            &format!("4f0c7c52-0000-4000-8000-10000000000{n}"),
            &iamwatch_core::time::format_rfc3339_ms(at),
        )
    };
    let first = start_function(&dir, &runtime, &moto, &env);
    for n in 0..2 {
        let summary = runtime
            .invoke(&failure(n))
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", first.log()));
        assert_eq!(summary["incidents"], 1, "{summary}");
    }
    // Lambda replaces the instance (a new version, hours idle, a crash): a cold start.
    drop(first);
    let second = start_function(&dir, &runtime, &moto, &env);
    let summary = runtime
        .invoke(&failure(2))
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", second.log()));
    assert_eq!(
        summary["incidents"],
        2,
        "the failure and the brute force the two before it complete: {summary}\n{}",
        second.log()
    );
    assert!(
        second
            .log()
            .contains("the stateful detections recalled 2 stored incidents"),
        "{}",
        second.log()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_brute_force_raised_in_an_invocation_the_store_failed_is_stored_by_its_retry() {
    let moto = Moto::start_serial();
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto.sdk_config());
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir, "[correlate.brute_force]\nfailures = 3\n");
    let function = start_function(&dir, &runtime, &moto, &[config]);
    let failure = |n: usize| {
        failed_sign_in(
            &format!("4f0c7c52-0000-4000-8000-20000000000{n}"),
            &format!("2024-06-01T09:0{n}:08Z"),
        )
    };
    for n in 0..2 {
        let summary = runtime
            .invoke(&failure(n))
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", function.log()));
        assert_eq!(summary["incidents"], 1, "{summary}");
    }
    // The table gone: the third failure's invocation fails (Lambda delivers it again).
    let table = INCIDENTS.trim_start_matches("dynamodb://");
    dynamodb
        .delete_table()
        .table_name(table)
        .send()
        .await
        .unwrap();
    let error = runtime.invoke(&failure(2)).await.unwrap_err();
    assert_eq!(error["errorType"], "StoreUnavailable", "{error}");
    // Made again (a scan of nothing makes it), and the invocation delivered again.
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "{\"Records\": []}").unwrap();
    let made = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .args(["scan", "--db", INCIDENTS])
        .arg(&empty)
        .envs(aws_env(dir.path(), &moto.endpoint, "us-east-1"))
        .output()
        .unwrap();
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    runtime
        .invoke(&failure(2))
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", function.log()));
    let mut stored: Vec<String> = stored(&dir, &moto)
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap().to_string())
        .collect();
    stored.sort();
    assert_eq!(
        stored,
        [
            "4f0c7c52-0000-4000-8000-200000000002",
            "4f0c7c52-0000-4000-8000-200000000002/correlate.brute_force"
        ],
        "the retried failure, and the brute force its first delivery completed"
    );
}
