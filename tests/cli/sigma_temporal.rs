//! A Sigma temporal correlation of two rules: SigmaHQ's SES rule
//! (`../shared/corpus/sigma_aws/_unsupported/aws_ses_messaging_enabled.yml`, Detection Rule
//! License 1.1), which correlates its two selections with `timeframe: 5m`, written as Sigma v2
//! says it. A scan raises it once both calls were made by one principal within five minutes,
//! in either order and across files, and stores nothing of the calls themselves.

use crate::helpers::{assert_success, Workspace};
use crate::sigma_count::{event_ids, scanned};
use serde_json::{json, Value};
use std::path::PathBuf;

const SES: &str = r#"
title: SES sending enabled
name: ses_sending_enabled
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventSource: ses.amazonaws.com
        eventName: UpdateAccountSendingEnabled
    condition: selection
level: low
---
title: SES address verification
name: ses_identity_verified
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventSource: ses.amazonaws.com
        eventName: VerifyEmailIdentity
    condition: selection
level: low
---
title: Potential AWS Cloud Email Service Abuse
name: ses_abuse
id: 60b84424-a724-4502-bd0d-cc676e1bc90e
correlation:
    type: temporal
    rules: [ses_sending_enabled, ses_identity_verified]
    group-by: [userIdentity.arn]
    timespan: 5m
level: medium
tags: [attack.resource_development, attack.t1583.006]
"#;

fn rule_directory(workspace: &Workspace) -> PathBuf {
    let directory = workspace.path("rules");
    std::fs::create_dir_all(&directory).unwrap();
    std::fs::write(directory.join("ses_abuse.yml"), SES).unwrap();
    directory
}

/// An SES call `name` by `user`, `minute` minutes after 9:00.
fn call(id: &str, minute: u32, name: &str, user: &str) -> Value {
    json!({
        "eventVersion": "1.08", "eventTime": format!("2024-06-01T09:{minute:02}:00Z"),
        "eventSource": "ses.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.17.0 Python/3.11.8 Linux/6.1.0",
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{user}"),
            "arn": format!("arn:aws:iam::111122223333:user/{user}"), "accountId": "111122223333",
            "userName": user},
        "requestParameters": {"emailAddress": "billing@example.net"}, "responseElements": null,
        "eventID": id, "readOnly": false, "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333"
    })
}

const ENABLE: &str = "UpdateAccountSendingEnabled";
const VERIFY: &str = "VerifyEmailIdentity";

#[test]
fn both_calls_by_one_principal_within_the_timespan_raise_the_correlation() {
    let workspace = Workspace::new();
    let rules = rule_directory(&workspace);
    let first = workspace.write(
        "a.json",
        json!({ "Records": [
            // Mallory verifies an address (twice), then enables sending, in the next file.
            call("m0", 0, VERIFY, "mallory"),
            call("m1", 1, VERIFY, "mallory"),
            // Bob enables sending, and verifies an address eight minutes later.
            call("b0", 0, ENABLE, "bob"),
            call("b1", 8, VERIFY, "bob"),
            // Carol only verifies addresses.
            call("c0", 2, VERIFY, "carol"),
            call("c1", 3, VERIFY, "carol"),
        ]})
        .to_string()
        .as_bytes(),
    );
    let second = workspace.write(
        "b.json",
        json!({ "Records": [call("m2", 4, ENABLE, "mallory")] })
            .to_string()
            .as_bytes(),
    );
    let args = ["--format", "jsonl", "--rules", rules.to_str().unwrap()];
    let found = scanned(&workspace, &args, &[&first, &second]);
    assert_eq!(event_ids(&found), ["m2/sigma.ses_abuse"], "{found:#?}");
    let raised = &found[0];
    assert_eq!(raised["rule_id"], "sigma.ses_abuse");
    assert_eq!(raised["severity"], "MEDIUM");
    assert_eq!(
        raised["meta"]["dedup_key"],
        "arn:aws:iam::111122223333:user/mallory"
    );
    assert_eq!(
        raised["meta"]["reasons"][1],
        "events of ses_identity_verified, ses_sending_enabled within 5 min for arn:aws:iam::111122223333:user/mallory"
    );
    assert!(raised["meta"]["notes"]
        .to_string()
        .contains("events: m1, m2"));
    // Scanned again, the same incident, and nothing stored of the calls themselves.
    let again = scanned(&workspace, &args, &[&first, &second]);
    assert_eq!(again[0]["incident_id"], raised["incident_id"]);
    let listed = workspace.incidents(&["list", "--format", "jsonl", "--all"]);
    assert_success(&listed);
    assert_eq!(String::from_utf8_lossy(&listed.stdout).lines().count(), 1);
}

#[test]
fn rules_list_names_the_steps() {
    let workspace = Workspace::new();
    let rules = rule_directory(&workspace);
    for (lang, says) in [
        (
            "en",
            "(every step within 5 min: ses_sending_enabled, ses_identity_verified)",
        ),
        (
            "ko",
            "(5분 안에 모든 단계: ses_sending_enabled, ses_identity_verified)",
        ),
    ] {
        let listed = crate::helpers::iamwatch()
            .args(["rules", "list", "--lang", lang])
            .args(["--rules", rules.to_str().unwrap()])
            .output()
            .unwrap();
        assert_success(&listed);
        let listed = String::from_utf8_lossy(&listed.stdout);
        let line = listed
            .lines()
            .find(|line| line.starts_with("sigma.ses_abuse "))
            .unwrap_or_else(|| panic!("{listed}"));
        assert!(line.ends_with(says), "{line}");
    }
}
