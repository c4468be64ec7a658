//! The assessment on inventories written out here: each finding where it should be, and only
//! there.

use crate::assess::{assess, PrincipalReport, Thresholds};
use crate::inventory::{AccessKey, Credentials, Group, Inventory, Role, Root, User};
use iamwatch_core::Severity;

const NOW: i64 = 1_717_200_000_000; // 2024-06-01
const DAY: i64 = 86_400_000;
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";
const STAR: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
/// `STAR` as the IAM API returns documents: URL-encoded.
const STAR_ENCODED: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
const READ_ONLY: &str =
    r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;

fn user(name: &str) -> User {
    User {
        name: name.into(),
        arn: format!("arn:aws:iam::111122223333:user/{name}"),
        created_ms: Some(NOW - 400 * DAY),
        ..User::default()
    }
}

fn key(slot: u8, rotated_days_ago: i64, used_days_ago: Option<i64>) -> AccessKey {
    AccessKey {
        slot,
        active: true,
        last_rotated_ms: Some(NOW - rotated_days_ago * DAY),
        last_used_ms: used_days_ago.map(|days| NOW - days * DAY),
    }
}

fn inventory() -> Inventory {
    let mut direct = user("admin-direct");
    direct.attached = vec![ADMIN.into()];
    direct.credentials = Credentials {
        password_enabled: true,
        password_last_used_ms: Some(NOW - DAY),
        mfa_active: false,
        ..Credentials::default()
    };
    let mut inline = user("admin-inline");
    inline.inline = vec![("everything".into(), STAR_ENCODED.into())];
    let mut by_group = user("admin-by-group");
    by_group.groups = vec!["ops".into()];
    let mut by_custom = user("admin-by-custom-policy");
    by_custom.attached = vec!["arn:aws:iam::111122223333:policy/do-anything".into()];
    let mut stale = user("stale-keys");
    stale.attached = vec!["arn:aws:iam::111122223333:policy/read-only".into()];
    stale.credentials = Credentials {
        password_enabled: true,
        password_last_used_ms: None,
        mfa_active: true,
        keys: vec![key(1, 200, Some(100)), key(2, 10, None)],
    };
    let mut fine = user("fine");
    fine.created_ms = Some(NOW - 10 * DAY);
    fine.credentials = Credentials {
        password_enabled: true,
        password_last_used_ms: Some(NOW - DAY),
        mfa_active: true,
        keys: vec![key(1, 30, Some(1))],
    };
    Inventory {
        account: "111122223333".into(),
        users: vec![direct, inline, by_group, by_custom, stale, fine],
        groups: vec![Group {
            name: "ops".into(),
            attached: vec![],
            inline: vec![("ops-all".into(), STAR.into())],
        }],
        roles: vec![
            Role {
                name: "vendor".into(),
                arn: "arn:aws:iam::111122223333:role/vendor".into(),
                trust_policy: r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#.into(),
                attached: vec![ADMIN.into()],
                ..Role::default()
            },
            Role {
                name: "AWSServiceRoleForSupport".into(),
                arn: "arn:aws:iam::111122223333:role/aws-service-role/support.amazonaws.com/AWSServiceRoleForSupport".into(),
                trust_policy: r#"{"Statement":[{"Effect":"Allow","Principal":"*","Action":"sts:AssumeRole"}]}"#.into(),
                service_linked: true,
                ..Role::default()
            },
        ],
        policies: [
            ("arn:aws:iam::111122223333:policy/do-anything".to_string(), STAR.to_string()),
            ("arn:aws:iam::111122223333:policy/read-only".to_string(), READ_ONLY.to_string()),
        ]
        .into_iter()
        .collect(),
        root: Root {
            access_keys: true,
            mfa_enabled: true,
        },
    }
}

fn ids(report: &PrincipalReport) -> Vec<&str> {
    report.findings.iter().map(|finding| finding.id).collect()
}

fn severities(report: &PrincipalReport) -> Vec<(&str, Severity)> {
    report
        .findings
        .iter()
        .map(|finding| (finding.id, finding.severity))
        .collect()
}

fn find<'a>(reports: &'a [PrincipalReport], name: &str) -> Option<&'a PrincipalReport> {
    reports.iter().find(|report| report.name == name)
}

#[test]
fn administrators_are_found_through_managed_inline_group_and_custom_policies() {
    let reports = assess(&inventory(), NOW, Thresholds::default());
    for (name, through) in [
        ("admin-direct", "policy AdministratorAccess"),
        ("admin-inline", "inline policy everything"),
        ("admin-by-group", "inline policy ops-all (group ops)"),
        ("admin-by-custom-policy", "policy do-anything"),
    ] {
        let report = find(&reports, name).unwrap_or_else(|| panic!("{name} reported"));
        let admin = report
            .findings
            .iter()
            .find(|finding| finding.id == "user.admin")
            .unwrap_or_else(|| panic!("{name}: {:?}", ids(report)));
        assert!(admin.reason.en.ends_with(through), "{}", admin.reason.en);
        assert!(admin.reason.ko.contains(through), "{}", admin.reason.ko);
    }
    assert!(
        find(&reports, "fine").is_none(),
        "nothing to say about a tidy user"
    );
    assert!(!ids(find(&reports, "stale-keys").unwrap()).contains(&"user.admin"));
}

#[test]
fn credentials_unused_unrotated_or_without_mfa_are_found() {
    let reports = assess(&inventory(), NOW, Thresholds::default());
    let direct = find(&reports, "admin-direct").unwrap();
    let no_mfa = direct
        .findings
        .iter()
        .find(|finding| finding.id == "user.console_without_mfa")
        .unwrap();
    assert_eq!(
        no_mfa.severity,
        Severity::Critical,
        "an administrator's console without MFA"
    );
    assert_eq!(
        ids(find(&reports, "stale-keys").unwrap()),
        [
            "user.password_unused",
            "user.access_key_unused",
            "user.access_key_old",
            "user.two_active_keys"
        ]
    );
    // Key 2, made ten days ago and not used yet, is not stale; with a 5-day threshold it is.
    let strict = assess(
        &inventory(),
        NOW,
        Thresholds {
            stale_days: 5,
            key_age_days: 90,
        },
    );
    let unused = find(&strict, "stale-keys")
        .unwrap()
        .findings
        .iter()
        .filter(|finding| finding.id == "user.access_key_unused")
        .count();
    assert_eq!(unused, 2);
}

#[test]
fn root_keys_and_roles_others_may_assume_are_found_and_the_riskiest_come_first() {
    let reports = assess(&inventory(), NOW, Thresholds::default());
    let root = find(&reports, "root").unwrap();
    assert_eq!(ids(root), ["root.access_keys"]);
    assert_eq!(root.arn, "arn:aws:iam::111122223333:root");
    let vendor = find(&reports, "vendor").unwrap();
    assert_eq!(ids(vendor), ["role.trusts_other_account", "role.admin"]);
    assert_eq!(vendor.findings[0].severity, Severity::High);
    assert!(vendor.findings[0].reason.en.contains("999988887777"));
    assert!(
        find(&reports, "AWSServiceRoleForSupport").is_none(),
        "AWS's own roles"
    );
    let risks: Vec<u32> = reports.iter().map(|report| report.risk).collect();
    assert!(risks.windows(2).all(|pair| pair[0] >= pair[1]), "{risks:?}");
    assert!(risks.iter().all(|risk| *risk <= 100));
    // Root's keys and admin-direct's console without MFA; four administrators and the vendor
    // role an administrator another account may assume.
    assert_eq!(crate::count_findings(&reports, Severity::Critical), 2);
    assert_eq!(crate::count_findings(&reports, Severity::High), 5);
    // An administrator without MFA on the console: 30 + 50.
    assert_eq!(find(&reports, "admin-direct").unwrap().risk, 80);
}

#[test]
fn administrators_held_within_a_permissions_boundary_are_reported_apart_and_lower() {
    const READ_ONLY_ARN: &str = "arn:aws:iam::111122223333:policy/read-only";
    let mut inventory = inventory();
    // admin-direct (AdministratorAccess, a console password without MFA) under a boundary
    // that allows reading S3 only; admin-inline under one that allows everything.
    inventory.users[0].boundary = Some(READ_ONLY_ARN.into());
    inventory.users[1].boundary = Some(ADMIN.into());
    // The vendor role (AdministratorAccess, another account may assume it) bounded too.
    inventory.roles[0].boundary = Some(READ_ONLY_ARN.into());
    let reports = assess(&inventory, NOW, Thresholds::default());

    let direct = find(&reports, "admin-direct").unwrap();
    assert_eq!(
        severities(direct),
        [
            ("user.admin_bounded", Severity::Low),
            // Without MFA still, but not an administrator's console: HIGH, not CRITICAL.
            ("user.console_without_mfa", Severity::High),
        ]
    );
    assert_eq!(
        direct.findings[0].reason.en,
        "administrator policies (policy AdministratorAccess) held within permissions boundary read-only"
    );
    assert_eq!(
        direct.findings[0].reason.ko,
        "관리자 정책(policy AdministratorAccess)이 권한 경계 read-only 안으로 제한됨"
    );
    // A boundary that grants everything limits nothing.
    assert!(ids(find(&reports, "admin-inline").unwrap()).contains(&"user.admin"));

    let vendor = find(&reports, "vendor").unwrap();
    assert_eq!(
        severities(vendor),
        [
            ("role.admin_bounded", Severity::Low),
            ("role.trusts_other_account", Severity::Medium),
        ]
    );
    // Unbounded, the same role is an administrator others may assume.
    let unbounded = assess(&self::inventory(), NOW, Thresholds::default());
    let vendor = find(&unbounded, "vendor").unwrap();
    assert_eq!(vendor.findings[0].severity, Severity::High);
}
