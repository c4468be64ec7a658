//! A Sigma temporal correlation of two rules: SigmaHQ's SES rule
//! (`../shared/corpus/sigma_aws/_unsupported/aws_ses_messaging_enabled.yml`, Detection Rule
//! License 1.1), which correlates its two selections with `timeframe: 5m`, written as Sigma v2
//! says it. A scan raises it once both calls were made by one principal within five minutes,
//! in either order and across files, and stores nothing of the calls themselves.

use crate::helpers::{assert_success, Workspace};
use crate::sigma_count::{event_ids, listed_line, scanned};
use serde_json::{json, Value};
use std::path::PathBuf;

const SES: &str = include_str!("../fixtures/sigma/ses_abuse.yml");

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
        let line = listed_line(&rules, lang, "sigma.ses_abuse");
        assert!(line.ends_with(says), "{line}");
    }
}
