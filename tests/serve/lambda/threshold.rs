//! A rule with a threshold in the function: calls delivered one invocation each are counted
//! across warm invocations; the one that reaches the count stores the rule's incident, and
//! the calls before it store nothing.

use super::harness::*;
use crate::lambda_runtime::LambdaRuntime;
use crate::moto::Moto;
use crate::threshold::{archived, archived_minutes_ago, rule_config};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_function_counts_across_invocations_and_stores_only_what_the_count_raised() {
    let moto = Moto::start_serial();
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(&dir, &rule_config(dir.path()));
    let function = start_function(&dir, &runtime, &moto, &[config]);
    let mut counts = Vec::new();
    for (id, minute) in [("a0", 0), ("a1", 2), ("a2", 3)] {
        let summary = runtime
            .invoke(&archived(id, minute, "198.51.100.1").to_string())
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", function.log()));
        counts.push(summary["incidents"].as_u64());
    }
    assert_eq!(counts, [Some(0), Some(0), Some(1)], "{}", function.log());
    let stored: Vec<String> = stored(&dir, &moto)
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stored, ["a2/test.macie_evasion"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_instance_goes_on_counting_where_the_one_before_it_stopped() {
    let moto = Moto::start_serial();
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let env = [config(&dir, &rule_config(dir.path()))];
    let first = start_function(&dir, &runtime, &moto, &env);
    for (id, minutes) in [("a0", 8), ("a1", 7)] {
        let summary = runtime
            .invoke(&archived_minutes_ago(id, minutes, "198.51.100.1").to_string())
            .await
            .unwrap_or_else(|error| panic!("{error}\n{}", first.log()));
        assert_eq!(summary["incidents"], 0, "{summary}");
    }
    // Lambda replaces the instance (a new version, hours idle, a crash): a cold start.
    drop(first);
    let second = start_function(&dir, &runtime, &moto, &env);
    let summary = runtime
        .invoke(&archived_minutes_ago("a2", 6, "198.51.100.1").to_string())
        .await
        .unwrap_or_else(|error| panic!("{error}\n{}", second.log()));
    assert_eq!(
        summary["incidents"],
        1,
        "the third call within 10 minutes, the two before recalled: {summary}\n{}",
        second.log()
    );
    assert!(
        second
            .log()
            .contains("and 2 counts of rules with a threshold"),
        "{}",
        second.log()
    );
    let stored: Vec<String> = stored(&dir, &moto)
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(stored, ["a2/test.macie_evasion"]);
}
