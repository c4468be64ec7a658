//! `iamwatch posture` against the moto server's IAM, through the AWS SDK for Rust: users,
//! groups, roles and policies made there, then judged.

use crate::helpers::{iamwatch, Workspace};
use crate::iam_account;
use crate::moto::Moto;
use serde_json::Value;

/// `iamwatch posture --format jsonl` on `moto`'s IAM: the reports, and what it said on stderr.
fn posture_reports(moto: &Moto, workspace: &Workspace) -> (Vec<Value>, String) {
    let mut command = iamwatch();
    command.args(["posture", "--format", "jsonl"]);
    let output = workspace
        .with_aws(&mut command, &moto.endpoint, "us-east-1")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    let reports = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    (reports, stderr)
}

/// `name`'s findings in `reports`: each its id and its `field` (`reason`, `severity`).
fn findings_of(reports: &[Value], name: &str, field: &str) -> Vec<(String, String)> {
    reports
        .iter()
        .find(|report| report["name"] == name)
        .unwrap_or_else(|| panic!("{name} in {reports:#?}"))["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| {
            (
                finding["id"].as_str().unwrap().to_string(),
                finding[field].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

#[test]
fn the_accounts_administrators_and_risky_credentials_are_reported_riskiest_first() {
    let moto = Moto::start_with_managed_policies();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(iam_account::make_account(&iam_account::client(&moto)));

    let workspace = Workspace::new();
    let (reports, stderr) = posture_reports(&moto, &workspace);
    let findings = |name: &str| findings_of(&reports, name, "reason");
    assert_eq!(
        findings("admin-direct"),
        [
            (
                "user.admin".to_string(),
                "administrator access through policy AdministratorAccess".to_string()
            ),
            (
                "user.console_without_mfa".to_string(),
                "console password without MFA".to_string()
            ),
        ]
    );
    assert_eq!(
        findings("admin-inline")[0].1,
        "administrator access through inline policy everything"
    );
    assert_eq!(
        findings("admin-by-group")[0].1,
        "administrator access through policy AdministratorAccess (group ops)"
    );
    assert_eq!(findings("vendor")[0].0, "role.trusts_other_account");
    assert!(
        !reports.iter().any(|report| report["name"] == "tidy"),
        "a new key, used or not yet, is nothing to report"
    );
    // moto's account summary: no root keys, no root MFA.
    assert_eq!(
        findings("root"),
        [(
            "root.no_mfa".to_string(),
            "the root user has no MFA".to_string()
        )]
    );
    let risks: Vec<u64> = reports
        .iter()
        .map(|report| report["risk"].as_u64().unwrap())
        .collect();
    assert!(risks.windows(2).all(|pair| pair[0] >= pair[1]), "{risks:?}");
    assert!(stderr.contains("4 users, 1 roles read"), "{stderr}");

    // In Korean, as a table.
    let mut command = iamwatch();
    command.args(["posture", "--lang", "ko"]);
    let output = workspace
        .with_aws(&mut command, &moto.endpoint, "us-east-1")
        .output()
        .unwrap();
    let table = String::from_utf8_lossy(&output.stdout);
    assert!(
        table.contains("user admin-direct") && table.contains("MFA 없이 콘솔 비밀번호 사용 가능"),
        "{table}"
    );
    assert!(table.contains("심각"), "{table}");
}

#[test]
fn an_iam_endpoint_out_of_reach_is_an_error_naming_the_call() {
    let workspace = Workspace::new();
    let mut command = iamwatch();
    command.arg("posture");
    let output = workspace
        .with_aws(&mut command, "http://127.0.0.1:9", "us-east-1")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("GetAccountAuthorizationDetails"),
        "{stderr}"
    );
}

#[test]
fn a_role_held_within_a_permissions_boundary_is_not_reported_as_an_administrator() {
    let moto = Moto::start_with_managed_policies();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let client = iam_account::client(&moto);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#;
    runtime.block_on(async {
        let boundary = client
            .create_policy()
            .policy_name("s3-read")
            .policy_document(
                r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#,
            )
            .send()
            .await
            .unwrap();
        let boundary = boundary.policy().unwrap().arn().unwrap().to_string();
        for (name, bounded) in [("bounded-vendor", true), ("vendor", false)] {
            let mut role = client
                .create_role()
                .role_name(name)
                .assume_role_policy_document(trust);
            if bounded {
                role = role.permissions_boundary(&boundary);
            }
            role.send().await.unwrap();
            client
                .attach_role_policy()
                .role_name(name)
                .policy_arn("arn:aws:iam::aws:policy/AdministratorAccess")
                .send()
                .await
                .unwrap();
        }
    });
    let (reports, _) = posture_reports(&moto, &Workspace::new());
    let findings = |name: &str| findings_of(&reports, name, "severity");
    let pairs = |list: &[(&str, &str)]| -> Vec<(String, String)> {
        list.iter()
            .map(|(id, severity)| (id.to_string(), severity.to_string()))
            .collect()
    };
    assert_eq!(
        findings("bounded-vendor"),
        pairs(&[
            ("role.admin_bounded", "LOW"),
            ("role.trusts_other_account", "MEDIUM")
        ])
    );
    assert_eq!(
        findings("vendor"),
        pairs(&[("role.trusts_other_account", "HIGH"), ("role.admin", "LOW")])
    );
}

#[test]
fn the_security_audit_policy_allows_every_call_posture_makes() {
    let moto = Moto::start_with_managed_policies();
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let iam = iam_account::client(&moto);
    let key = runtime.block_on(async {
        iam_account::make_account(&iam).await;
        iam.create_user().user_name("auditor").send().await.unwrap();
        iam.attach_user_policy()
            .user_name("auditor")
            .policy_arn("arn:aws:iam::aws:policy/SecurityAudit")
            .send()
            .await
            .unwrap();
        iam.create_access_key()
            .user_name("auditor")
            .send()
            .await
            .unwrap()
            .access_key
            .unwrap()
    });
    let workspace = Workspace::new();
    let (everything_allowed, _) = posture_reports(&moto, &workspace);

    // What the README tells to grant, and nothing more: the same reports.
    moto.check_iam(true);
    let mut command = iamwatch();
    command.args(["posture", "--format", "jsonl"]);
    let output = workspace
        .with_aws(&mut command, &moto.endpoint, "us-east-1")
        .env("AWS_ACCESS_KEY_ID", &key.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &key.secret_access_key)
        .output()
        .unwrap();
    moto.check_iam(false);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let audited: Vec<Value> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    // The auditor is one of the account's users (its key used by the second run): left out.
    let without_auditor = |reports: &[Value]| -> Vec<Value> {
        reports
            .iter()
            .filter(|report| report["name"] != "auditor")
            .cloned()
            .collect()
    };
    assert!(!everything_allowed.is_empty());
    assert_eq!(
        without_auditor(&audited),
        without_auditor(&everything_allowed),
        "{stderr}"
    );
}
