//! Sigma rules that count (`| count() [by field] > n` with a `timeframe`; SigmaHQ's
//! `_unsupported` rules from `../shared/corpus/sigma_aws`, Detection Rule License 1.1) in a
//! `--rules` directory: a scan counts their matches across files and raises each rule's
//! incident on the event that reaches the count, once per window, and stores nothing for the
//! events that only counted.

use crate::helpers::{assert_success, corpus, Workspace};
use serde_json::{json, Value};
use std::path::PathBuf;

fn rule_directory(workspace: &Workspace) -> PathBuf {
    let directory = workspace.path("rules");
    std::fs::create_dir_all(&directory).unwrap();
    for stem in ["aws_macic_evasion", "aws_enum_storage"] {
        let from = corpus()
            .join("sigma_aws/_unsupported")
            .join(format!("{stem}.yml"));
        std::fs::copy(from, directory.join(format!("{stem}.yml"))).unwrap();
    }
    directory
}

/// A read-only call of `name` on `source` from `ip`, `minute` minutes after 9:00.
fn call(id: &str, minute: u32, source: &str, name: &str, ip: &str) -> Value {
    json!({
        "eventVersion": "1.08", "eventTime": format!("2024-06-01T09:{minute:02}:00Z"),
        "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": ip, "userAgent": "aws-cli/2.17.0 Python/3.11.8 Linux/6.1.0",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAMALLORY",
            "arn": "arn:aws:iam::111122223333:user/mallory", "accountId": "111122223333",
            "userName": "mallory"},
        "requestParameters": null, "responseElements": null, "eventID": id,
        "readOnly": true, "eventType": "AwsApiCall", "recipientAccountId": "111122223333"
    })
}

fn macie(id: &str, minute: u32, ip: &str) -> Value {
    call(id, minute, "macie2.amazonaws.com", "ArchiveFindings", ip)
}

fn log_file(workspace: &Workspace, name: &str, records: Vec<Value>) -> PathBuf {
    workspace.write(name, json!({ "Records": records }).to_string().as_bytes())
}

fn incidents(stdout: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// A scan of `paths` with `args` (`--format jsonl` among them): its incidents, in order.
pub(crate) fn scanned(
    workspace: &Workspace,
    args: &[&str],
    paths: &[&std::path::Path],
) -> Vec<Value> {
    let output = workspace.scan(args, paths);
    assert_success(&output);
    incidents(&output.stdout)
}

pub(crate) fn event_ids(found: &[Value]) -> Vec<&str> {
    found
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap())
        .collect()
}

#[test]
fn counting_sigma_rules_raise_once_the_count_is_reached_across_files() {
    let workspace = Workspace::new();
    let rules = rule_directory(&workspace);
    // Six Macie calls from one address within ten minutes (more than five: the rule), over two
    // files; five from another address; S3 reconnaissance six times (more than five).
    let first = log_file(
        &workspace,
        "a.json",
        (0..3)
            .map(|n| macie(&format!("m{n}"), n, "198.51.100.1"))
            .chain((0..5).map(|n| macie(&format!("o{n}"), n, "198.51.100.2")))
            .chain(
                ["ListBuckets", "GetBucketPolicy", "GetBucketCors"]
                    .iter()
                    .enumerate()
                    .map(|(n, name)| {
                        call(
                            &format!("s{n}"),
                            n as u32,
                            "s3.amazonaws.com",
                            name,
                            "198.51.100.3",
                        )
                    }),
            )
            .collect(),
    );
    let second = log_file(
        &workspace,
        "b.json",
        (3..7)
            .map(|n| macie(&format!("m{n}"), n, "198.51.100.1"))
            .chain(
                ["GetBucketTagging", "GetBucketPolicy", "ListBuckets"]
                    .iter()
                    .enumerate()
                    .map(|(n, name)| {
                        call(
                            &format!("s{}", n + 3),
                            n as u32 + 3,
                            "s3.amazonaws.com",
                            name,
                            "198.51.100.3",
                        )
                    }),
            )
            .collect(),
    );
    let args = ["--format", "jsonl", "--rules", rules.to_str().unwrap()];
    let found = scanned(&workspace, &args, &[&first, &second]);
    // Only what the counts raised: m6 (the seventh within ten minutes) raises nothing more.
    assert_eq!(
        event_ids(&found),
        ["m5/sigma.aws_macic_evasion", "s5/sigma.aws_enum_storage"],
        "{found:#?}"
    );
    let macie = &found[0];
    assert_eq!(macie["rule_id"], "sigma.aws_macic_evasion");
    assert_eq!(macie["severity"], "MEDIUM");
    assert_eq!(macie["meta"]["dedup_key"], "198.51.100.1");
    assert_eq!(
        macie["meta"]["reasons"][1],
        "6 matching events within 10 min for 198.51.100.1"
    );
    assert!(macie["meta"]["notes"]
        .to_string()
        .contains("events: m0, m1, m2, m3, m4, m5"));
    assert_eq!(
        found[1]["meta"]["reasons"][1],
        "6 matching events within 10 min"
    );

    // The raised incidents are stored, with the raw event that reached the count; scanned
    // again, they are the same incidents.
    let shown = workspace.incidents(&["show", macie["incident_id"].as_str().unwrap()]);
    assert_success(&shown);
    let shown = String::from_utf8_lossy(&shown.stdout);
    assert!(
        shown.contains("\"m5\"") && !shown.contains("\"m4\""),
        "{shown}"
    );
    let again_ids: Vec<String> = scanned(&workspace, &args, &[&first, &second])
        .iter()
        .map(|incident| incident["incident_id"].as_str().unwrap().to_string())
        .collect();
    let first_ids: Vec<String> = found
        .iter()
        .map(|incident| incident["incident_id"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(again_ids, first_ids);
    let listed = workspace.incidents(&["list", "--format", "jsonl", "--all"]);
    assert_success(&listed);
    assert_eq!(
        incidents(&listed.stdout).len(),
        2,
        "nothing stored of the counted events"
    );
}

#[test]
fn rules_list_says_a_rule_raises_past_a_count() {
    let workspace = Workspace::new();
    let rules = rule_directory(&workspace);
    for (lang, says) in [
        ("en", "(6 or more within 10 min)"),
        ("ko", "(10분 안에 6건 이상)"),
    ] {
        let line = listed_line(&rules, lang, "sigma.aws_macic_evasion");
        assert!(line.ends_with(says), "{line}");
    }
}

/// The line `rules list --lang <lang>` prints for rule `id` of the rules in `rules`.
pub(crate) fn listed_line(rules: &std::path::Path, lang: &str, id: &str) -> String {
    let listed = crate::helpers::iamwatch()
        .args(["rules", "list", "--lang", lang, "--rules"])
        .arg(rules)
        .output()
        .unwrap();
    assert_success(&listed);
    let listed = String::from_utf8_lossy(&listed.stdout);
    listed
        .lines()
        .find(|line| line.starts_with(&format!("{id} ")))
        .unwrap_or_else(|| panic!("{listed}"))
        .to_string()
}

/// A Sigma rule of this test's own: failed console sign-ins for more than two different users
/// from one address within ten minutes (password spraying).
const SPRAYING: &str = r#"
title: Console password spraying
id: 7b0c5e43-2b43-4a8f-9d4c-0d6c2b0c1a11
status: experimental
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: ConsoleLogin
        responseElements.ConsoleLogin: Failure
    timeframe: 10m
    condition: selection | count(userIdentity.userName) by sourceIPAddress > 2
level: high
"#;

fn failed_sign_in(id: &str, minute: u32, user: &str, ip: &str) -> Value {
    let mut record = call(id, minute, "signin.amazonaws.com", "ConsoleLogin", ip);
    record["eventType"] = json!("AwsConsoleSignIn");
    record["userIdentity"] = json!({"type": "IAMUser", "accountId": "111122223333",
        "principalId": format!("AIDA{user}"), "userName": user});
    record["responseElements"] = json!({"ConsoleLogin": "Failure"});
    record["errorMessage"] = json!("Failed authentication");
    record["additionalEventData"] = json!({"MFAUsed": "No"});
    record
}

/// `sign_ins` scanned with the rule file `name` (holding `rule`) as the only user rules.
fn sign_ins_scanned(name: &str, rule: &str, sign_ins: Vec<Value>) -> Vec<Value> {
    let workspace = Workspace::new();
    let rules = workspace.path("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join(name), rule).unwrap();
    let log = log_file(&workspace, "signin.json", sign_ins);
    scanned(
        &workspace,
        &["--format", "jsonl", "--rules", rules.to_str().unwrap()],
        &[&log],
    )
}

#[test]
fn a_count_of_different_values_raises_on_the_event_that_makes_it_beside_that_events_own() {
    let found = sign_ins_scanned(
        "spraying.yml",
        SPRAYING,
        vec![
            failed_sign_in("f0", 0, "alice", "203.0.113.9"),
            failed_sign_in("f1", 1, "alice", "203.0.113.9"),
            failed_sign_in("f2", 2, "bob", "203.0.113.9"),
            failed_sign_in("x0", 2, "dave", "198.51.100.7"),
            failed_sign_in("f3", 3, "carol", "203.0.113.9"),
        ],
    );
    // Every failed sign-in is an incident of its own (the built-in rule); the third user from
    // one address adds the spraying rule's.
    assert_eq!(
        event_ids(&found),
        ["f0", "f1", "f2", "x0", "f3", "f3/sigma.spraying"],
        "{found:#?}"
    );
    let spraying = &found[5];
    assert_eq!(spraying["severity"], "HIGH");
    assert_eq!(
        spraying["meta"]["reasons"][1],
        "3 different values of userIdentity.userName within 10 min for 203.0.113.9"
    );
    assert!(
        !found[4]["meta"]["rules"].to_string().contains("sigma."),
        "the event's own incident lists the rules that raise on it alone: {}",
        found[4]
    );
}

/// The same as a Sigma correlation rule (v2) over a rule of the same file.
const SPRAYING_CORRELATION: &str = r#"
title: Failed console sign-in
name: failed_sign_in
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: ConsoleLogin
        responseElements.ConsoleLogin: Failure
    condition: selection
---
title: Console password spraying
name: spraying_correlated
correlation:
    type: value_count
    rules: [failed_sign_in]
    group-by: [sourceIPAddress]
    timespan: 10m
    condition: {field: userIdentity.userName, gte: 3}
level: high
"#;

#[test]
fn a_sigma_correlation_rule_counts_different_values_as_the_count_does() {
    let found = sign_ins_scanned(
        "mr_spraying.yml",
        SPRAYING_CORRELATION,
        vec![
            failed_sign_in("f0", 0, "alice", "203.0.113.9"),
            failed_sign_in("f1", 1, "bob", "203.0.113.9"),
            failed_sign_in("f2", 2, "bob", "203.0.113.9"),
            failed_sign_in("f3", 3, "carol", "203.0.113.9"),
        ],
    );
    assert_eq!(
        event_ids(&found),
        ["f0", "f1", "f2", "f3", "f3/sigma.spraying_correlated"],
        "{found:#?}"
    );
    assert!(
        !found[0]["meta"]["rules"]
            .to_string()
            .contains("sigma.failed_sign_in"),
        "the counted rule raises nothing of its own: {}",
        found[0]
    );
    assert_eq!(found[4]["title"], "Console password spraying (by carol)");
}
