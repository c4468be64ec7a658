//! A rule with a threshold in the function: calls delivered one invocation each are counted
//! across warm invocations; the one that reaches the count stores the rule's incident, and
//! the calls before it store nothing.

use super::harness::*;
use crate::lambda_runtime::LambdaRuntime;
use crate::moto::Moto;
use crate::threshold::{archived, RULE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_warm_function_counts_across_invocations_and_stores_only_what_the_count_raised() {
    let moto = Moto::start_serial();
    let mut runtime = LambdaRuntime::start().await;
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("macie.yml"), RULE).unwrap();
    let config = config(
        &dir,
        &format!("[rules]\ndirs = [{:?}]\n", rules.display().to_string()),
    );
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
