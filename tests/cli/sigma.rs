//! Sigma rules as user rules: SigmaHQ's CloudTrail rules (from `../shared/corpus/sigma_aws`)
//! in a `--rules` directory, used by a scan and listed, those with checks no pattern says
//! (regular expressions, searches in objects, `|all`) included; one that cannot be used stops
//! the scan, naming its file and why.

use crate::helpers::{assert_success, corpus, iamwatch, Workspace};
use serde_json::{json, Value};
use std::path::PathBuf;

const RULES: [&str; 3] = [
    "aws_cloudtrail_console_login_success_without_mfa",
    "aws_cloudtrail_guardduty_detector_deleted_or_updated",
    "aws_cloudtrail_bucket_deleted",
];

fn sigma_directory(workspace: &Workspace, stems: &[&str]) -> PathBuf {
    let directory = workspace.path("sigma");
    std::fs::create_dir_all(&directory).unwrap();
    for stem in stems {
        let from = corpus().join("sigma_aws").join(format!("{stem}.yml"));
        std::fs::copy(from, directory.join(format!("{stem}.yml"))).unwrap();
    }
    directory
}

fn record(id: &str, source: &str, name: &str, extra: Value) -> Value {
    let mut record = json!({
        "eventVersion": "1.08", "eventTime": "2024-06-01T09:00:00Z",
        "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.17.0 Python/3.11.8 Linux/6.1.0",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAALICE",
            "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333",
            "userName": "alice"},
        "requestParameters": null, "responseElements": null, "eventID": id,
        "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
    });
    for (key, value) in extra.as_object().unwrap() {
        record[key] = value.clone();
    }
    record
}

#[test]
fn sigma_rules_in_a_rule_directory_raise_incidents_and_are_listed() {
    let workspace = Workspace::new();
    let rules = sigma_directory(&workspace, &RULES);
    let log = json!({"Records": [
        record("login", "signin.amazonaws.com", "ConsoleLogin", json!({
            "eventType": "AwsConsoleSignIn",
            "additionalEventData": {"MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/"},
            "responseElements": {"ConsoleLogin": "Success"}})),
        record("guardduty", "guardduty.amazonaws.com", "UpdateDetector", json!({
            "requestParameters": {"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": false}})),
        record("guardduty-on", "guardduty.amazonaws.com", "UpdateDetector", json!({
            "requestParameters": {"detectorId": "12abc34d567e8fa901bc2d34e56789f0", "enable": true}})),
    ]});
    let file = workspace.write("trail.json", log.to_string().as_bytes());
    // The built-in GuardDuty rule (CRITICAL) turned off: the Sigma rule names the incident.
    let output = workspace.scan(
        &[
            "--format",
            "jsonl",
            "--rules",
            rules.to_str().unwrap(),
            "--disable-rule",
            "guardduty.detector_disabled",
        ],
        &[&file],
    );
    assert_success(&output);
    let by_event: std::collections::BTreeMap<String, Value> =
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .map(|incident| (incident["event_id"].as_str().unwrap().to_string(), incident))
            .collect();
    let rules_of = |event: &str| -> Vec<String> {
        by_event[event]["meta"]["rules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|rule| rule.as_str().unwrap().to_string())
            .collect()
    };
    assert!(
        rules_of("login")
            .contains(&"sigma.aws_cloudtrail_console_login_success_without_mfa".to_string()),
        "{:?}",
        rules_of("login")
    );
    let guardduty = &by_event["guardduty"];
    assert_eq!(
        guardduty["rule_id"], "sigma.aws_cloudtrail_guardduty_detector_deleted_or_updated",
        "{guardduty}"
    );
    assert_eq!(guardduty["severity"], "HIGH");
    // The rule's title, with the target and the caller as every rule's title has them.
    assert_eq!(
        guardduty["title"],
        "AWS GuardDuty Detector Deleted Or Updated: 12abc34d567e8fa901bc2d34e56789f0 (by alice)"
    );
    assert!(by_event
        .get("guardduty-on")
        .is_none_or(|incident| !incident["meta"]["rules"].to_string().contains("sigma.")));

    let listed = iamwatch()
        .args(["rules", "list", "--rules", rules.to_str().unwrap()])
        .output()
        .unwrap();
    let listed = String::from_utf8_lossy(&listed.stdout);
    for stem in RULES {
        assert!(
            listed.contains(&format!("sigma.{stem}")),
            "{stem} not listed:\n{listed}"
        );
    }
}

/// The scan's incidents by event id: the ids of the rules each matched.
fn rules_by_event(stdout: &[u8]) -> std::collections::BTreeMap<String, Vec<String>> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .map(|incident| {
            let rules = incident["meta"]["rules"]
                .as_array()
                .unwrap()
                .iter()
                .map(|rule| rule.as_str().unwrap().to_string())
                .collect();
            (incident["event_id"].as_str().unwrap().to_string(), rules)
        })
        .collect()
}

#[test]
fn sigma_checks_no_pattern_says_are_decided_on_the_records_a_scan_reads() {
    let stems = [
        "aws_cloudtrail_imds_malicious_usage",
        "aws_disable_bucket_versioning",
        "aws_ec2_vm_export_failure",
        "aws_iam_s3browser_templated_s3_bucket_policy_creation",
    ];
    let workspace = Workspace::new();
    let rules = sigma_directory(&workspace, &stems);
    // Keywords, anywhere in the record's text, in any case; and a `?` wildcard.
    std::fs::write(
        rules.join("s3_browser_anywhere.yml"),
        "title: S3 Browser\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  \
         keywords: [S3BROWSER.COM]\n  condition: keywords\n",
    )
    .unwrap();
    std::fs::write(
        rules.join("versioning_put.yml"),
        "title: Versioning\nlogsource: {product: aws, service: cloudtrail}\ndetection:\n  \
         selection: {eventName: 'PutBucketVersionin?'}\n  condition: selection\n",
    )
    .unwrap();
    let instance = json!({"type": "AssumedRole", "principalId": "AROAEC2:i-0abc",
        "arn": "arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc",
        "accountId": "111122223333"});
    let versioning = |status: &str| {
        json!({"requestParameters": {"bucketName": "b", "VersioningConfiguration":
            {"Status": status}}})
    };
    let policy = |effect: &str| {
        json!({"userAgent": "S3 Browser 9.5.5 https://s3browser.com",
            "requestParameters": {"userName": "bob", "policyName": "s3",
            "policyDocument": format!("{{\"Statement\":[{{\"Effect\":\"{effect}\",\"Action\":[\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::<YOUR-BUCKET-NAME>/*\"]}}]}}")}})
    };
    let log = json!({"Records": [
        record("imds", "s3.amazonaws.com", "ListBuckets", json!({"userIdentity": instance})),
        record("imds-aws", "s3.amazonaws.com", "ListBuckets",
            json!({"userIdentity": instance, "sourceIPAddress": "AWS Internal"})),
        record("suspended", "s3.amazonaws.com", "PutBucketVersioning", versioning("Suspended")),
        record("enabled", "s3.amazonaws.com", "PutBucketVersioning", versioning("Enabled")),
        record("export", "ec2.amazonaws.com", "CreateInstanceExportTask",
            json!({"responseElements": {"exportTask": {"state": "active"}}})),
        record("export-failed", "ec2.amazonaws.com", "CreateInstanceExportTask",
            json!({"responseElements": {"exportTask": {"statusMessage": "Failure: no volume"}}})),
        record("template", "iam.amazonaws.com", "PutUserPolicy", policy("Allow")),
        record("denial", "iam.amazonaws.com", "PutUserPolicy", policy("Deny")),
    ]});
    let file = workspace.write("trail.json", log.to_string().as_bytes());
    let output = workspace.scan(
        &["--format", "jsonl", "--rules", rules.to_str().unwrap()],
        &[&file],
    );
    assert_success(&output);
    let found = rules_by_event(&output.stdout);
    let sigma_rules = |event: &str| -> Vec<String> {
        found
            .get(event)
            .into_iter()
            .flatten()
            .filter(|rule| rule.starts_with("sigma."))
            .cloned()
            .collect()
    };
    let sigma = |stems: &[&str]| -> Vec<String> {
        let mut ids: Vec<String> = stems.iter().map(|stem| format!("sigma.{stem}")).collect();
        ids.sort();
        ids
    };
    let sorted = |mut ids: Vec<String>| {
        ids.sort();
        ids
    };
    for (event, expected) in [
        ("imds", sigma(&[stems[0]])),
        ("suspended", sigma(&[stems[1], "versioning_put"])),
        ("export", sigma(&[stems[2]])),
        ("template", sigma(&[stems[3], "s3_browser_anywhere"])),
        ("imds-aws", sigma(&[])),
        ("enabled", sigma(&["versioning_put"])),
        ("export-failed", sigma(&[])),
        ("denial", sigma(&["s3_browser_anywhere"])),
    ] {
        assert_eq!(sorted(sigma_rules(event)), expected, "{event}");
    }
}

#[test]
fn a_sigma_rule_that_cannot_be_used_stops_the_scan_naming_its_file_and_why() {
    let workspace = Workspace::new();
    let rules = workspace.path("sigma");
    std::fs::create_dir_all(&rules).unwrap();
    // Look-behind: the regex crate runs in linear time and has none.
    std::fs::write(
        rules.join("look_behind.yml"),
        "title: Not AWS's roles\nlogsource: {product: aws, service: cloudtrail}\n\
         detection:\n  selection:\n    userIdentity.arn|re: '(?<!aws):assumed-role'\n  condition: selection\n",
    )
    .unwrap();
    let file = workspace.write("trail.json", br#"{"Records": []}"#);
    let output = workspace.scan(&["--rules", rules.to_str().unwrap()], &[&file]);
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("look_behind.yml"), "{said}");
    assert!(
        said.contains("userIdentity.arn|re") && said.contains("look-around"),
        "{said}"
    );
}
