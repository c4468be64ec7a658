//! The stateful detections in a scan: CloudTrail log files with a password-guessing run, a
//! principal created and made an administrator, a burst of changes and users left without
//! MFA for a day, read by the real binary into a real SQLite store.

use crate::helpers::{assert_success, Workspace};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::PathBuf;

const ACCOUNT: &str = "111122223333";

fn time(day: u32, minute: u32, second: u32) -> String {
    format!(
        "2024-06-{day:02}T{:02}:{:02}:{second:02}Z",
        minute / 60,
        minute % 60
    )
}

fn iam_user(name: &str) -> Value {
    json!({
        "type": "IAMUser", "principalId": format!("AIDA{}", name.to_uppercase()),
        "arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"), "accountId": ACCOUNT,
        "accessKeyId": "AKIAEXAMPLEKEY000001", "userName": name
    })
}

fn console_login(id: &str, at: String, user: &str, failed: bool) -> Value {
    let mut record = json!({
        "eventVersion": "1.08", "userIdentity": iam_user(user), "eventTime": at,
        "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
        "userAgent": "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "requestParameters": null,
        "responseElements": {"ConsoleLogin": if failed { "Failure" } else { "Success" }},
        "additionalEventData": {
            "LoginTo": "https://console.aws.amazon.com/console/home",
            "MobileVersion": "No", "MFAUsed": "Yes"
        },
        "eventID": id, "readOnly": false, "eventType": "AwsConsoleSignIn",
        "managementEvent": true, "recipientAccountId": ACCOUNT, "eventCategory": "Management"
    });
    if failed {
        record["errorMessage"] = json!("Failed authentication");
    }
    record
}

fn iam_call(id: &str, at: String, identity: Value, name: &str, request: Value) -> Value {
    json!({
        "eventVersion": "1.09", "userIdentity": identity, "eventTime": at,
        "eventSource": "iam.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.20", "userAgent": "aws-cli/2.17.0 Python/3.11.8 Linux/6.1.0 exe/x86_64.debian.12",
        "requestParameters": request, "responseElements": null,
        "eventID": id, "readOnly": false, "eventType": "AwsApiCall",
        "managementEvent": true, "recipientAccountId": ACCOUNT, "eventCategory": "Management"
    })
}

fn deployer() -> Value {
    json!({
        "type": "AssumedRole", "principalId": "AROADEPLOYER:ci",
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"), "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLEKEY000002",
        "sessionContext": {"sessionIssuer": {
            "type": "Role", "principalId": "AROADEPLOYER",
            "arn": format!("arn:aws:iam::{ACCOUNT}:role/deployer"), "accountId": ACCOUNT,
            "userName": "deployer"
        }}
    })
}

/// Three log files, a day apart at the end.
fn log_files(workspace: &Workspace) -> Vec<PathBuf> {
    let mut first = Vec::new();
    for n in 0..6 {
        first.push(console_login(
            &format!("fail-{n}"),
            time(1, n, 0),
            "alice",
            true,
        ));
    }
    first.push(console_login("success", time(1, 6, 0), "alice", false));
    first.push(iam_call(
        "create-backdoor",
        time(1, 7, 0),
        iam_user("mallory"),
        "CreateUser",
        json!({"userName": "backdoor"}),
    ));
    first.push(iam_call(
        "admin-backdoor",
        time(1, 8, 0),
        iam_user("mallory"),
        "AttachUserPolicy",
        json!({"userName": "backdoor", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ));
    let mut second = Vec::new();
    for n in 0..30 {
        second.push(iam_call(
            &format!("tag-{n}"),
            time(1, 10 + n / 12, (n % 12) * 5),
            deployer(),
            "TagRole",
            json!({"roleName": format!("app-{n}"), "tags": [{"key": "team", "value": "web"}]}),
        ));
    }
    second.push(iam_call(
        "create-newbie",
        time(1, 15, 0),
        iam_user("admin"),
        "CreateUser",
        json!({"userName": "newbie"}),
    ));
    second.push(iam_call(
        "console-newbie",
        time(1, 16, 0),
        iam_user("admin"),
        "CreateLoginProfile",
        json!({"userName": "newbie", "passwordResetRequired": true}),
    ));
    let third = vec![iam_call(
        "next-day",
        time(2, 60, 0),
        iam_user("admin"),
        "UpdateUser",
        json!({"userName": "carol", "newPath": "/staff/"}),
    )];
    [first, second, third]
        .into_iter()
        .enumerate()
        .map(|(n, records)| {
            let file = json!({ "Records": records }).to_string();
            workspace.write(&format!("trail-{n}.json"), file.as_bytes())
        })
        .collect()
}

fn as_paths(files: &[PathBuf]) -> Vec<&std::path::Path> {
    files.iter().map(PathBuf::as_path).collect()
}

/// `(rule, resource, severity)` of stateful incidents.
type Found = BTreeSet<(String, String, String)>;

/// The stateful incidents a scan printed, and their titles by rule.
fn correlated(stdout: &[u8]) -> (Found, Vec<(String, String)>) {
    let mut found = BTreeSet::new();
    let mut titles = Vec::new();
    for line in String::from_utf8_lossy(stdout).lines() {
        let incident: Value = serde_json::from_str(line).expect("one JSON incident a line");
        let rule = incident["rule_id"].as_str().unwrap().to_string();
        if rule.starts_with("correlate.") {
            found.insert((
                rule.clone(),
                incident["resource"].as_str().unwrap().to_string(),
                incident["severity"].as_str().unwrap().to_string(),
            ));
            titles.push((rule, incident["title"].as_str().unwrap().to_string()));
        }
    }
    (found, titles)
}

fn expected() -> Found {
    [
        ("correlate.brute_force", "alice", "HIGH"),
        ("correlate.sign_in_after_failures", "alice", "HIGH"),
        (
            "correlate.privilege_escalation",
            "user/backdoor",
            "CRITICAL",
        ),
        (
            "correlate.burst",
            &format!("arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"),
            "MEDIUM",
        ),
        ("correlate.user_without_mfa", "backdoor", "LOW"),
        ("correlate.user_without_mfa", "newbie", "MEDIUM"),
    ]
    .into_iter()
    .map(|(rule, resource, severity)| {
        (rule.to_string(), resource.to_string(), severity.to_string())
    })
    .collect()
}

#[test]
fn a_scan_raises_what_only_a_sequence_of_events_shows_once_whatever_the_cores() {
    let workspace = Workspace::new();
    let files = log_files(&workspace);
    let paths = as_paths(&files);

    let output = workspace.scan(
        &["--format", "jsonl", "--jobs", "2", "--lang", "ko"],
        &paths,
    );
    assert_success(&output);
    let (found, titles) = correlated(&output.stdout);
    assert_eq!(found, expected());
    assert!(
        titles.contains(&(
            "correlate.brute_force".to_string(),
            "10분 안에 alice 콘솔 로그인 5회 실패".to_string()
        )),
        "{titles:?}"
    );

    // Scanned again, on one core: the same incidents, none created twice.
    let again = workspace.scan(&["--format", "jsonl", "--jobs", "1"], &paths);
    assert!(again.status.success());
    assert_eq!(correlated(&again.stdout).0, expected());
    let listed = workspace.incidents(&["list", "--format", "jsonl", "--limit", "1000"]);
    assert_success(&listed);
    let stored = correlated(&listed.stdout).0;
    assert_eq!(stored, expected(), "each stored once");

    // Turned off by id as any rule is, or all at once.
    let fresh = Workspace::new();
    let files = log_files(&fresh);
    let paths = as_paths(&files);
    let output = fresh.scan(
        &["--format", "jsonl", "--disable-rule", "correlate.burst"],
        &paths,
    );
    assert!(output.status.success());
    let mut without_burst = expected();
    without_burst.retain(|(rule, _, _)| rule != "correlate.burst");
    assert_eq!(correlated(&output.stdout).0, without_burst);
    let fresh = Workspace::new();
    let files = log_files(&fresh);
    let paths = as_paths(&files);
    let output = fresh.scan(&["--format", "jsonl", "--no-correlate"], &paths);
    assert!(output.status.success());
    assert!(correlated(&output.stdout).0.is_empty());
}

#[test]
fn the_stateful_rules_are_listed_and_configured_by_id() {
    let output = crate::helpers::iamwatch()
        .args(["rules", "list", "--disable-rule", "correlate.burst"])
        .args(["--rule-severity", "correlate.brute_force=CRITICAL"])
        .output()
        .unwrap();
    assert_success(&output);
    let listed = String::from_utf8_lossy(&output.stdout);
    let row = |id: &str| {
        listed
            .lines()
            .find(|line| line.starts_with(id))
            .unwrap_or_else(|| panic!("{id} not listed:\n{listed}"))
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(row("correlate.burst"), "correlate.burst MEDIUM no");
    assert_eq!(
        row("correlate.brute_force"),
        "correlate.brute_force CRITICAL yes"
    );
    assert_eq!(
        row("correlate.user_without_mfa"),
        "correlate.user_without_mfa LOW-MEDIUM yes"
    );
    // An id no rule has is still refused.
    let refused = crate::helpers::iamwatch()
        .args(["rules", "list", "--disable-rule", "correlate.nothing"])
        .output()
        .unwrap();
    assert!(!refused.status.success());
}

#[test]
fn working_hours_come_from_the_config_file_and_a_wrong_zone_stops_the_scan() {
    let workspace = Workspace::new();
    let files = log_files(&workspace);
    let paths = as_paths(&files);
    let config = workspace.write(
        "iamwatch.toml",
        b"[correlate.off_hours]\nenabled = true\ntimezone = \"Asia/Seoul\"\n",
    );
    let output = workspace.scan(
        &["--format", "jsonl", "--config", config.to_str().unwrap()],
        &paths,
    );
    assert_success(&output);
    // 2024-06-01 is a Saturday; in Seoul the events fall between 09:00 and 10:16, and the
    // last on Sunday at 10:00. People's changes raise once an hour each; the deploy role's
    // thirty (automation) and the sign-ins (no changes) do not.
    let (found, titles) = correlated(&output.stdout);
    let off_hours: Vec<&(String, String, String)> = found
        .iter()
        .filter(|(rule, _, _)| rule == "correlate.off_hours")
        .collect();
    let person = |name: &str| format!("arn:aws:iam::{ACCOUNT}:user/{name}");
    assert_eq!(
        off_hours
            .iter()
            .map(|(_, resource, severity)| (resource.clone(), severity.as_str()))
            .collect::<Vec<_>>(),
        [(person("admin"), "MEDIUM"), (person("mallory"), "MEDIUM")]
    );
    let admin_titles: Vec<&String> = titles
        .iter()
        .filter(|(rule, title)| rule == "correlate.off_hours" && title.starts_with("admin"))
        .map(|(_, title)| title)
        .collect();
    assert_eq!(
        admin_titles,
        [
            "admin changed IAM outside working hours (Sat 09:15 KST)",
            "admin changed IAM outside working hours (Sun 10:00 KST)"
        ]
    );

    let wrong = workspace.write(
        "wrong.toml",
        b"[correlate.off_hours]\nenabled = true\ntimezone = \"Asia/Seul\"\n",
    );
    let output = workspace.scan(&["--config", wrong.to_str().unwrap()], &paths);
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(said.contains("[correlate.off_hours] timezone"), "{said}");
    assert!(said.contains("Asia/Seul"), "{said}");
}

#[test]
fn a_principal_known_for_a_week_signing_in_from_a_new_address_is_raised() {
    let workspace = Workspace::new();
    let mut first = console_login("week-1", time(1, 9 * 60, 0), "alice", false);
    first["sourceIPAddress"] = json!("203.0.113.9");
    let mut same = console_login("week-2-same", time(9, 9 * 60, 0), "alice", false);
    same["sourceIPAddress"] = json!("203.0.113.9");
    let mut elsewhere = console_login("week-2-new", time(9, 10 * 60, 0), "alice", false);
    elsewhere["sourceIPAddress"] = json!("198.51.100.66");
    let file = workspace.write(
        "weeks.json",
        json!({ "Records": [first, same, elsewhere] })
            .to_string()
            .as_bytes(),
    );
    let output = workspace.scan(&["--format", "jsonl"], &[&file]);
    assert_success(&output);
    let (found, titles) = correlated(&output.stdout);
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        [(
            "correlate.first_seen".to_string(),
            format!("arn:aws:iam::{ACCOUNT}:user/alice"),
            "LOW".to_string()
        )]
    );
    assert_eq!(titles[0].1, "alice used a new address (198.51.100.66)");
}
