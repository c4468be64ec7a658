//! The account's posture, principal by principal: what is risky about each (findings, each
//! with a severity and the reason in English and Korean) and a risk score from 0 to 100.
//!
//! Administrator rights are found wherever they come from: a managed policy attached to the
//! user, an inline policy, or either of those on a group the user is in (read with the same
//! policy reading as detection: `*` on `*`, AdministratorAccess; NotAction, `iam:*` and the like
//! as broad), unless a permissions boundary that does not grant them holds the principal within
//! it (reported apart, LOW). Credentials: a console password without MFA, an access key or password unused
//! for `stale_days`, an active key older than `key_age_days`. Root: access keys, no MFA. Roles:
//! administrator rights, and a trust policy that lets in anyone or another account.

use crate::inventory::{Inventory, Role, User};
use iamwatch_core::{Localized, Severity};
use iamwatch_detect::policy::{
    document_grant, managed_policy_grant, trust_exposure, Grant, TrustExposure,
};
use serde::Serialize;

const DAY_MS: i64 = 86_400_000;

#[derive(Clone, Copy, Debug)]
pub struct Thresholds {
    /// A password or key not used for this long (or never, this long after it was made).
    pub stale_days: i64,
    /// An active key not rotated for this long.
    pub key_age_days: i64,
}

impl Default for Thresholds {
    /// CIS AWS Foundations: credentials unused for 45 days are disabled, keys rotated every 90.
    fn default() -> Self {
        Self {
            stale_days: 45,
            key_age_days: 90,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// `user.admin`, `user.console_without_mfa`, …
    pub id: &'static str,
    pub severity: Severity,
    pub reason: Localized,
}

/// One principal's findings and score.
#[derive(Clone, Debug, Serialize)]
pub struct PrincipalReport {
    /// `user`, `role` or `root`.
    pub kind: &'static str,
    pub name: String,
    pub arn: String,
    /// 0 to 100: the findings' weights added up.
    pub risk: u32,
    pub findings: Vec<Finding>,
}

/// Every principal with at least one finding, riskiest first.
pub fn assess(inventory: &Inventory, now_ms: i64, thresholds: Thresholds) -> Vec<PrincipalReport> {
    let mut reports = Vec::new();
    let root = &inventory.root;
    let mut root_findings = Vec::new();
    if root.access_keys {
        root_findings.push(finding(
            "root.access_keys",
            Severity::Critical,
            "the root user has access keys",
            "루트 사용자에게 액세스 키가 있음",
        ));
    }
    if !root.mfa_enabled {
        root_findings.push(finding(
            "root.no_mfa",
            Severity::Critical,
            "the root user has no MFA",
            "루트 사용자에 MFA가 없음",
        ));
    }
    if !root_findings.is_empty() {
        reports.push(report(
            "root",
            "root",
            format!("arn:aws:iam::{}:root", inventory.account),
            root_findings,
        ));
    }
    for user in &inventory.users {
        let findings = user_findings(inventory, user, now_ms, thresholds);
        if !findings.is_empty() {
            reports.push(report("user", &user.name, user.arn.clone(), findings));
        }
    }
    for role in inventory.roles.iter().filter(|role| !role.service_linked) {
        let findings = role_findings(inventory, role);
        if !findings.is_empty() {
            reports.push(report("role", &role.name, role.arn.clone(), findings));
        }
    }
    reports.sort_by(|a, b| b.risk.cmp(&a.risk).then_with(|| a.arn.cmp(&b.arn)));
    reports
}

/// How many findings of `severity` the reports hold (a summary line, a metric).
pub fn count_findings(reports: &[PrincipalReport], severity: Severity) -> usize {
    reports
        .iter()
        .flat_map(|report| &report.findings)
        .filter(|finding| finding.severity == severity)
        .count()
}

fn user_findings(
    inventory: &Inventory,
    user: &User,
    now_ms: i64,
    thresholds: Thresholds,
) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut sources: Vec<(String, Grant)> = grants(inventory, &user.attached, &user.inline, "");
    for group in inventory
        .groups
        .iter()
        .filter(|group| user.groups.contains(&group.name))
    {
        let via = format!(" (group {})", group.name);
        sources.extend(grants(inventory, &group.attached, &group.inline, &via));
    }
    let admin: Vec<&String> = sources
        .iter()
        .filter(|(_, grant)| *grant == Grant::Admin)
        .map(|(source, _)| source)
        .collect();
    let credentials = &user.credentials;
    let bounded = limiting_boundary(inventory, user.boundary.as_deref());
    if !admin.is_empty() {
        let list = admin
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", ");
        findings.push(match &bounded {
            None => finding(
                "user.admin",
                Severity::High,
                &format!("administrator access through {list}"),
                &format!("관리자 권한 보유: {list}"),
            ),
            Some(boundary) => bounded_admin("user.admin_bounded", &list, boundary),
        });
    } else if let Some((source, Grant::Broad(what))) = sources
        .iter()
        .find(|(_, grant)| matches!(grant, Grant::Broad(_)))
    {
        findings.push(finding(
            "user.broad_permissions",
            Severity::Medium,
            &format!("{source} {}: enough to become administrator", what.en),
            &format!("{source}: {} — 관리자 권한으로 상승 가능", what.ko),
        ));
    }
    if credentials.password_enabled && !credentials.mfa_active {
        let severity = if admin.is_empty() || bounded.is_some() {
            Severity::High
        } else {
            Severity::Critical
        };
        findings.push(finding(
            "user.console_without_mfa",
            severity,
            "console password without MFA",
            "MFA 없이 콘솔 비밀번호 사용 가능",
        ));
    }
    let stale = |last_used: Option<i64>, since: Option<i64>| match last_used.or(since) {
        Some(at) => now_ms - at > thresholds.stale_days * DAY_MS,
        None => false,
    };
    if credentials.password_enabled && stale(credentials.password_last_used_ms, user.created_ms) {
        findings.push(finding(
            "user.password_unused",
            Severity::Medium,
            &format!(
                "console password unused for over {} days",
                thresholds.stale_days
            ),
            &format!(
                "콘솔 비밀번호를 {}일 넘게 사용하지 않음",
                thresholds.stale_days
            ),
        ));
    }
    let active: Vec<_> = credentials.keys.iter().filter(|key| key.active).collect();
    for key in &active {
        if stale(key.last_used_ms, key.last_rotated_ms) {
            findings.push(finding(
                "user.access_key_unused",
                Severity::Medium,
                &format!(
                    "active access key {} unused for over {} days",
                    key.slot, thresholds.stale_days
                ),
                &format!(
                    "활성 액세스 키 {}을(를) {}일 넘게 사용하지 않음",
                    key.slot, thresholds.stale_days
                ),
            ));
        }
        if key
            .last_rotated_ms
            .is_some_and(|at| now_ms - at > thresholds.key_age_days * DAY_MS)
        {
            findings.push(finding(
                "user.access_key_old",
                Severity::Medium,
                &format!(
                    "active access key {} not rotated for over {} days",
                    key.slot, thresholds.key_age_days
                ),
                &format!(
                    "활성 액세스 키 {}을(를) {}일 넘게 교체하지 않음",
                    key.slot, thresholds.key_age_days
                ),
            ));
        }
    }
    if active.len() > 1 {
        findings.push(finding(
            "user.two_active_keys",
            Severity::Low,
            "two active access keys",
            "활성 액세스 키 2개",
        ));
    }
    findings
}

fn role_findings(inventory: &Inventory, role: &Role) -> Vec<Finding> {
    let mut findings = Vec::new();
    let mut admin = grants(inventory, &role.attached, &role.inline, "")
        .into_iter()
        .filter(|(_, grant)| *grant == Grant::Admin)
        .map(|(source, _)| source)
        .collect::<Vec<_>>();
    let bounded = limiting_boundary(inventory, role.boundary.as_deref());
    if let (Some(boundary), false) = (&bounded, admin.is_empty()) {
        findings.push(bounded_admin(
            "role.admin_bounded",
            &admin.join(", "),
            boundary,
        ));
        // Held within its boundary: not an administrator for the findings below.
        admin.clear();
    }
    match trust_exposure(&role.trust_policy, &inventory.account) {
        Some(TrustExposure::Anyone) => findings.push(finding(
            "role.trusts_anyone",
            Severity::Critical,
            "its trust policy lets anyone assume it (Principal *)",
            "신뢰 정책이 누구에게나 역할 수임을 허용 (Principal *)",
        )),
        Some(TrustExposure::ExternalAccount(account)) => findings.push(finding(
            "role.trusts_other_account",
            if admin.is_empty() {
                Severity::Medium
            } else {
                Severity::High
            },
            &format!("its trust policy lets account {account} assume it"),
            &format!("신뢰 정책이 외부 계정 {account}의 역할 수임을 허용"),
        )),
        None => {}
    }
    if !admin.is_empty() {
        let list = admin.join(", ");
        findings.push(finding(
            "role.admin",
            Severity::Low,
            &format!("administrator access through {list}"),
            &format!("관리자 권한 보유: {list}"),
        ));
    }
    findings
}

/// What each policy grants, named as a reader finds it (`policy AdministratorAccess`,
/// `inline policy ops`), with `via` after each name.
fn grants(
    inventory: &Inventory,
    attached: &[String],
    inline: &[(String, String)],
    via: &str,
) -> Vec<(String, Grant)> {
    let managed = attached.iter().map(|arn| {
        let name = arn.rsplit('/').next().unwrap_or(arn);
        (format!("policy {name}{via}"), managed_grant(inventory, arn))
    });
    let inline = inline.iter().map(|(name, document)| {
        (
            format!("inline policy {name}{via}"),
            document_grant(document),
        )
    });
    managed.chain(inline).collect()
}

/// What a managed policy grants: AWS's by name, the account's by its document.
fn managed_grant(inventory: &Inventory, arn: &str) -> Grant {
    match managed_policy_grant(arn) {
        Grant::Ordinary => inventory
            .policies
            .get(arn)
            .map_or(Grant::Ordinary, |document| document_grant(document)),
        named => named,
    }
}

/// The name of a permissions boundary that keeps its principal from administrator access
/// (effective permissions are what both the policies and the boundary allow); `None` without
/// one, or for one that grants it (such a boundary limits nothing).
fn limiting_boundary(inventory: &Inventory, boundary: Option<&str>) -> Option<String> {
    let arn = boundary?;
    (managed_grant(inventory, arn) != Grant::Admin)
        .then(|| arn.rsplit('/').next().unwrap_or(arn).to_string())
}

/// Administrator policies a boundary holds in: worth knowing (the boundary is all that stands
/// between them and the account), not an administrator.
fn bounded_admin(id: &'static str, list: &str, boundary: &str) -> Finding {
    finding(
        id,
        Severity::Low,
        &format!("administrator policies ({list}) held within permissions boundary {boundary}"),
        &format!("관리자 정책({list})이 권한 경계 {boundary} 안으로 제한됨"),
    )
}

fn finding(id: &'static str, severity: Severity, en: &str, ko: &str) -> Finding {
    Finding {
        id,
        severity,
        reason: Localized::new(en, ko),
    }
}

fn weight(severity: Severity) -> u32 {
    match severity {
        Severity::Critical => 50,
        Severity::High => 30,
        Severity::Medium => 15,
        Severity::Low => 5,
    }
}

fn report(kind: &'static str, name: &str, arn: String, findings: Vec<Finding>) -> PrincipalReport {
    let risk = findings
        .iter()
        .map(|finding| weight(finding.severity))
        .sum::<u32>()
        .min(100);
    PrincipalReport {
        kind,
        name: name.to_string(),
        arn,
        risk,
        findings,
    }
}
