//! Rule files read again on SIGHUP: an edited rule takes effect without a restart, and a
//! broken edit leaves the rules in force.

use crate::server::{self, post, start_with, Server};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Listing users is read-only: no built-in rule raises it, so only this rule can.
const LISTING_RULE: &str = r#"
id: custom.users_listed
title: {en: Users listed, ko: 사용자 목록 조회}
description: {en: Someone listed the account's users., ko: 누군가 계정의 사용자 목록을 조회했습니다.}
severity: HIGH
pattern: {detail: {eventSource: [iam.amazonaws.com], eventName: [ListUsers]}}
"#;

fn listing(event_id: &str) -> String {
    let mut record = server::record(event_id, "ListUsers", "alice");
    record["readOnly"] = Value::Bool(true);
    record["requestParameters"] = Value::Null;
    record.to_string()
}

/// Waits until the server has logged `text` `times` times; fails after 15 s.
pub(crate) async fn wait_for_log(server: &Server, text: &str, times: usize) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while server.log().matches(text).count() < times {
        assert!(
            Instant::now() < deadline,
            "never logged {text:?} {times} time(s):\n{}",
            server.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn rule_files_are_read_again_on_sighup_and_a_broken_one_keeps_the_rules_in_force() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    let rules_arg = rules.to_str().unwrap();
    let mut server = start_with(dir.path(), "", &["--rules", rules_arg]);
    let in_force = server::metric(&server, "iamwatch_rules").await;

    let (status, summary) = post(&server, listing("reload-1")).await;
    assert_eq!(
        (status, summary["incidents"].as_u64()),
        (202, Some(0)),
        "{summary}"
    );

    // A rule written while serving, then SIGHUP.
    std::fs::write(rules.join("listing.yml"), LISTING_RULE).unwrap();
    server.signal("HUP");
    wait_for_log(&server, "rules reloaded", 1).await;
    assert_eq!(
        server::metric(&server, "iamwatch_rules_reloads_total{outcome=\"applied\"}").await,
        1.0
    );
    assert_eq!(
        server::metric(&server, "iamwatch_rules").await,
        in_force + 1.0
    );
    let (_, summary) = post(&server, listing("reload-2")).await;
    assert_eq!(
        summary["incidents"], 1,
        "the new rule is in force: {summary}"
    );
    let id = summary["incident_ids"][0].as_str().unwrap();
    let (_, incident) = server::get(&server, &format!("/v1/incidents/{id}")).await;
    assert_eq!(
        (incident["rule_id"].as_str(), incident["severity"].as_str()),
        (Some("custom.users_listed"), Some("HIGH")),
        "{incident}"
    );

    // A broken edit: the reload fails, names the file and the place, and changes nothing.
    std::fs::write(
        rules.join("broken.yml"),
        "id: custom.broken\ntitle: {en: Broken, ko: 고장}\nseverity: *level\n",
    )
    .unwrap();
    server.signal("HUP");
    wait_for_log(&server, "rules not reloaded", 1).await;
    let log = server.log();
    let failure = log
        .lines()
        .find(|line| line.contains("rules not reloaded"))
        .unwrap();
    assert!(
        failure.contains("broken.yml") && failure.contains("unknown anchor"),
        "{failure}"
    );
    assert!(server.is_running(), "a failed reload stopped serve:\n{log}");
    assert_eq!(
        server::metric(&server, "iamwatch_rules_reloads_total{outcome=\"failed\"}").await,
        1.0
    );
    let (_, summary) = post(&server, listing("reload-3")).await;
    assert_eq!(
        summary["incidents"], 1,
        "the rules in force stayed: {summary}"
    );

    // Mended and removed: the next SIGHUP takes the rule out.
    std::fs::remove_file(rules.join("broken.yml")).unwrap();
    std::fs::remove_file(rules.join("listing.yml")).unwrap();
    server.signal("HUP");
    wait_for_log(&server, "rules reloaded", 2).await;
    let (_, summary) = post(&server, listing("reload-4")).await;
    assert_eq!(summary["incidents"], 0, "the rule was taken out: {summary}");
    assert_eq!(server::metric(&server, "iamwatch_rules").await, in_force);
}
