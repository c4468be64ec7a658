//! `iamwatch rules` and user rule directories.

use crate::helpers::*;

const RULE: &str = r#"
id: custom.user_deleted_by_ci
title: {en: User deleted by CI, ko: CI가 사용자 삭제}
description: {en: The CI role deleted a user., ko: CI 역할이 사용자를 삭제했습니다.}
severity: HIGH
pattern: {detail: {eventSource: [iam.amazonaws.com], eventName: [DeleteUser], userIdentity: {sessionContext: {sessionIssuer: {userName: [ci-deploy]}}}}}
tags: [T1531]
tests:
  - {name: ci deletes, match: true, event: {eventSource: iam.amazonaws.com, eventName: DeleteUser, eventID: a, userIdentity: {type: AssumedRole, sessionContext: {sessionIssuer: {userName: ci-deploy}}}}}
  - {name: person deletes, match: false, event: {eventSource: iam.amazonaws.com, eventName: DeleteUser, eventID: b, userIdentity: {type: IAMUser, userName: alice}}}
"#;

#[test]
fn built_in_pack_tests_and_lints_clean_through_the_cli() {
    let tested = iamwatch().args(["rules", "test"]).output().unwrap();
    assert_success(&tested);
    assert!(stdout(&tested).contains(" 0 failed"), "{}", stdout(&tested));
    let linted = iamwatch().args(["rules", "lint"]).output().unwrap();
    assert_success(&linted);
    let listed = iamwatch()
        .args(["rules", "list", "--lang", "ko"])
        .output()
        .unwrap();
    assert!(
        stdout(&listed).contains("다른 사용자의 액세스 키 생성"),
        "{}",
        stdout(&listed)
    );
    // The rules written in code are listed too, on unless turned off.
    let root = stdout(&listed)
        .lines()
        .find(|line| line.starts_with("root.activity "))
        .map(str::to_string);
    let root = root.unwrap_or_else(|| panic!("{}", stdout(&listed)));
    assert!(root.contains("HIGH-CRITICAL"), "{root}");
    assert!(root.contains(" yes "), "{root}");
    assert!(root.contains("루트 사용자의 모든 활동"), "{root}");
}

#[test]
fn a_user_rule_directory_is_tested_and_used_by_scan() {
    let workspace = Workspace::new();
    std::fs::create_dir_all(workspace.path("rules")).unwrap();
    workspace.write("rules/custom.yml", RULE.as_bytes());
    let rules_dir = workspace.path("rules");
    let tested = iamwatch()
        .args(["rules", "test"])
        .arg(&rules_dir)
        .output()
        .unwrap();
    assert_success(&tested);
    assert!(
        stdout(&tested).contains("1 rules, 2 tests: 2 passed, 0 failed"),
        "{}",
        stdout(&tested)
    );

    // The seed fixture's CI role deletes a role, not a user; add an event it deletes a user in.
    let mut record: serde_json::Value = seed_records()
        .into_iter()
        .find(|record| record["eventName"] == "DeleteRole")
        .unwrap();
    record["eventName"] = "DeleteUser".into();
    record["eventID"] = "custom-1".into();
    record["requestParameters"] = serde_json::json!({"userName": "bob"});
    let input = workspace.write("event.json", record.to_string().as_bytes());
    let scanned = workspace.scan(
        &["--format", "jsonl", "--rules", rules_dir.to_str().unwrap()],
        &[&input],
    );
    assert_success(&scanned);
    let incidents = incidents_of(&scanned);
    assert_eq!(incidents[0]["rule_id"], "custom.user_deleted_by_ci");
    assert_eq!(incidents[0]["severity"], "HIGH");
    assert_eq!(incidents[0]["meta"]["tags"], serde_json::json!(["T1531"]));

    let other = Workspace::new();
    let overridden = other.scan(
        &[
            "--format",
            "jsonl",
            "--rules",
            rules_dir.to_str().unwrap(),
            "--rule-severity",
            "custom.user_deleted_by_ci=CRITICAL",
        ],
        &[&input],
    );
    assert_eq!(incidents_of(&overridden)[0]["severity"], "CRITICAL");
    let third = Workspace::new();
    let disabled = third.scan(
        &[
            "--format",
            "jsonl",
            "--rules",
            rules_dir.to_str().unwrap(),
            "--disable-rule",
            "custom.user_deleted_by_ci",
        ],
        &[&input],
    );
    assert_eq!(
        incidents_of(&disabled)[0]["rule_id"],
        "iam.user_change",
        "the seed rule still sees the deletion"
    );
    let unknown = third.scan(&["--disable-rule", "no.such.rule"], &[&input]);
    assert!(
        stderr(&unknown).contains("no rule has the id no.such.rule"),
        "{}",
        stderr(&unknown)
    );
}

/// The rules written in code were neither listed as configurable nor accepted by
/// `--disable-rule`/`--rule-severity` ("no rule has the id root.activity"): a team could not
/// mute the Kali rule for its red team, or raise console sign-ins.
#[test]
fn rules_written_in_code_are_configured_by_id_like_rule_files() {
    let workspace = Workspace::new();
    let root_call = serde_json::json!({
        "eventVersion": "1.08", "eventTime": "2024-06-01T00:00:00Z", "eventID": "root-1",
        "eventSource": "iam.amazonaws.com", "eventName": "ListUsers", "readOnly": true,
        "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
        "userIdentity": {"type": "Root", "arn": "arn:aws:iam::111122223333:root",
                         "accountId": "111122223333", "principalId": "111122223333"},
    });
    let input = workspace.write("root.json", root_call.to_string().as_bytes());
    let default = workspace.scan(&["--format", "jsonl"], &[&input]);
    assert_success(&default);
    assert_eq!(incidents_of(&default)[0]["rule_id"], "root.activity");

    let lowered = Workspace::new().scan(
        &[
            "--format",
            "jsonl",
            "--rule-severity",
            "root.activity=MEDIUM",
        ],
        &[&input],
    );
    assert_success(&lowered);
    assert_eq!(incidents_of(&lowered)[0]["severity"], "MEDIUM");

    let off = Workspace::new().scan(
        &["--format", "jsonl", "--disable-rule", "root.activity"],
        &[&input],
    );
    assert_success(&off);
    assert!(incidents_of(&off).is_empty(), "{}", stdout(&off));

    let listed = iamwatch()
        .args(["rules", "list", "--disable-rule", "root.activity"])
        .args(["--rule-severity", "signin.console_login=MEDIUM"])
        .output()
        .unwrap();
    assert_success(&listed);
    let row = |id: &str| {
        stdout(&listed)
            .lines()
            .find(|line| line.starts_with(&format!("{id} ")))
            .map(|line| {
                line.split_whitespace()
                    .take(3)
                    .collect::<Vec<_>>()
                    .join(" ")
            })
    };
    assert_eq!(
        row("root.activity").as_deref(),
        Some("root.activity HIGH-CRITICAL no")
    );
    assert_eq!(
        row("signin.console_login").as_deref(),
        Some("signin.console_login MEDIUM yes")
    );
}

#[test]
fn failing_and_broken_rules_are_reported_with_their_file() {
    let workspace = Workspace::new();
    std::fs::create_dir_all(workspace.path("rules")).unwrap();
    workspace.write(
        "rules/wrong.yml",
        RULE.replace("match: false", "match: true").as_bytes(),
    );
    let tested = iamwatch()
        .args(["rules", "test"])
        .arg(workspace.path("rules"))
        .output()
        .unwrap();
    assert_eq!(tested.status.code(), Some(1));
    assert!(
        stdout(&tested).contains("FAIL custom.user_deleted_by_ci / person deletes: did not match"),
        "{}",
        stdout(&tested)
    );

    workspace.write("rules/broken.yml", b"id: x\ntitle: {en: X, ko: X}\n");
    let linted = iamwatch()
        .args(["rules", "lint"])
        .arg(workspace.path("rules"))
        .output()
        .unwrap();
    assert!(!linted.status.success());
    assert!(
        stderr(&linted).contains("broken.yml"),
        "{}",
        stderr(&linted)
    );
}

/// A rule file holding an alias to no anchor (`severity: *level`, a YAML alias where a value was
/// meant) crashed every command that loads rules: serde_yaml_ng panicked (exit 101, a
/// backtrace). Now it is refused like any broken file.
#[test]
fn a_rule_file_with_an_alias_to_no_anchor_is_refused_not_a_crash() {
    let workspace = Workspace::new();
    std::fs::create_dir_all(workspace.path("rules")).unwrap();
    workspace.write(
        "rules/enumeration.yml",
        "id: custom.enumeration\ntitle: {en: Storage enumeration, ko: 스토리지 열거}\nseverity: *level\n"
            .as_bytes(),
    );
    let rules_dir = workspace.path("rules");
    let input = workspace.write("event.json", seed_records()[0].to_string().as_bytes());
    for (command, output) in [
        (
            "rules lint",
            iamwatch()
                .args(["rules", "lint"])
                .arg(&rules_dir)
                .output()
                .unwrap(),
        ),
        (
            "scan --rules",
            workspace.scan(&["--rules", rules_dir.to_str().unwrap()], &[&input]),
        ),
    ] {
        assert_eq!(
            output.status.code(),
            Some(1),
            "{command}: {}",
            stderr(&output)
        );
        let said = stderr(&output);
        assert!(
            said.contains("enumeration.yml")
                && said.contains("unknown anchor")
                && said.contains("line 3")
                && !said.contains("panicked"),
            "{command}: {said}"
        );
    }
}
