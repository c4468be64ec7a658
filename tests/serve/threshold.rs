//! A rule with a threshold in `serve`: Macie calls posted one by one, as EventBridge delivers
//! them, are counted; the one that reaches the count raises the rule's incident, stored and
//! pushed to dashboards; the calls before it are no incidents.

use crate::server::{self, post, start};
use serde_json::{json, Value};

pub(crate) const RULE: &str = r#"
id: test.macie_evasion
title: {en: "Macie findings archived", ko: "Macie 결과 보관 처리"}
description: {en: Many Macie findings archived., ko: Macie 결과를 여러 번 보관 처리했습니다.}
severity: HIGH
pattern: {detail: {eventSource: [macie2.amazonaws.com], eventName: [ArchiveFindings]}}
dedup: "{detail.sourceIPAddress}"
threshold: {events: 3, window: 10m}
"#;

/// Writes [`RULE`] in a folder of `dir`; the config's `[rules]` table naming that folder.
pub(crate) fn rule_config(dir: &std::path::Path) -> String {
    let rules = dir.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("macie.yml"), RULE).unwrap();
    format!("[rules]\ndirs = [{:?}]\n", rules.display().to_string())
}

/// An `ArchiveFindings` call from `ip`, `minute` minutes after 9:00, as EventBridge delivers it.
pub(crate) fn archived(event_id: &str, minute: u32, ip: &str) -> Value {
    archived_at(event_id, &format!("2024-06-01T09:{minute:02}:00Z"), ip)
}

/// The same call `minutes` before now: what a process that starts recalls.
pub(crate) fn archived_minutes_ago(event_id: &str, minutes: i64, ip: &str) -> Value {
    let at = iamwatch_core::time::now_ms() - minutes * 60_000;
    archived_at(event_id, &iamwatch_core::time::format_rfc3339_ms(at), ip)
}

/// The same call at `at` (RFC 3339).
fn archived_at(event_id: &str, at: &str, ip: &str) -> Value {
    json!({
        "version": "0", "id": format!("eb-{event_id}"),
        "detail-type": "AWS API Call via CloudTrail", "source": "aws.macie2",
        "account": "111122223333", "time": at, "region": "us-east-1", "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAMALLORY",
                "arn": "arn:aws:iam::111122223333:user/mallory", "accountId": "111122223333",
                "userName": "mallory"},
            "eventTime": at, "eventSource": "macie2.amazonaws.com", "eventName": "ArchiveFindings",
            "awsRegion": "us-east-1", "sourceIPAddress": ip,
            "userAgent": "aws-cli/2.17.0 Python/3.11.8 Linux/6.1.0",
            "requestParameters": {"findingIds": ["f1"]}, "responseElements": null,
            "eventID": event_id, "readOnly": false, "eventType": "AwsApiCall",
            "managementEvent": true, "recipientAccountId": "111122223333"
        }
    })
}

#[tokio::test]
async fn events_posted_one_by_one_raise_the_rule_once_its_count_is_reached() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &rule_config(dir.path()));
    let mut socket = server::connect(&server).await;
    for (id, minute, ip) in [
        ("a0", 0, "198.51.100.1"),
        ("b0", 1, "198.51.100.2"),
        ("a1", 2, "198.51.100.1"),
    ] {
        let (status, summary) = post(&server, archived(id, minute, ip).to_string()).await;
        assert_eq!(
            (status, summary["incidents"].as_u64()),
            (202, Some(0)),
            "counted, not an incident: {summary}"
        );
    }
    let third = archived("a2", 3, "198.51.100.1").to_string();
    let (status, summary) = post(&server, third.clone()).await;
    assert_eq!(
        (status, summary["incidents"].as_u64()),
        (202, Some(1)),
        "{summary}"
    );

    let live = server::next_json(&mut socket)
        .await
        .expect("a live message");
    assert_eq!(live["type"], "incident.created");
    assert_eq!(live["incident"]["event_id"], "a2/test.macie_evasion");
    assert_eq!(live["incident"]["severity"], "HIGH");
    assert_eq!(
        live["incident"]["meta"]["reasons_ko"][1],
        "10분 안에 일치하는 이벤트 3건 (198.51.100.1)"
    );

    // Delivered again (EventBridge retries): counted once, nothing new.
    let (_, summary) = post(&server, third).await;
    assert_eq!(summary["incidents"].as_u64(), Some(0), "{summary}");
    let (status, page) = server::get(&server, "/v1/incidents").await;
    assert_eq!(status, 200);
    let ids: Vec<&str> = page["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["a2/test.macie_evasion"], "{page}");
}

#[tokio::test]
async fn a_serve_killed_and_started_again_goes_on_counting_where_it_stopped() {
    let dir = tempfile::tempdir().unwrap();
    let config = rule_config(dir.path());
    let before = start(dir.path(), &config);
    for (id, minutes) in [("a0", 8), ("a1", 7)] {
        let call = archived_minutes_ago(id, minutes, "198.51.100.1");
        let (status, summary) = post(&before, call.to_string()).await;
        assert_eq!(
            (status, summary["incidents"].as_u64()),
            (202, Some(0)),
            "counted, not an incident: {summary}"
        );
    }
    before.kill();

    let after = start(dir.path(), &config);
    let log = after.log();
    assert!(
        log.contains("and 2 counts of rules with a threshold"),
        "{log}"
    );
    let third = archived_minutes_ago("a2", 6, "198.51.100.1");
    let (status, summary) = post(&after, third.to_string()).await;
    assert_eq!(
        (status, summary["incidents"].as_u64()),
        (202, Some(1)),
        "the third call within 10 minutes, the two before the kill recalled: {summary}"
    );
    let (_, page) = server::get(&after, "/v1/incidents").await;
    let incident = &page["incidents"][0];
    assert_eq!(incident["event_id"], "a2/test.macie_evasion", "{page}");
    assert_eq!(incident["meta"]["notes"], json!(["events: a0, a1, a2"]));
}
