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

/// An `ArchiveFindings` call from `ip`, `minute` minutes after 9:00, as EventBridge delivers it.
pub(crate) fn archived(event_id: &str, minute: u32, ip: &str) -> Value {
    let at = format!("2024-06-01T09:{minute:02}:00Z");
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
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("macie.yml"), RULE).unwrap();
    let server = start(
        dir.path(),
        &format!("[rules]\ndirs = [{:?}]\n", rules.display().to_string()),
    );
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
