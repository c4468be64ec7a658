//! The YAML rule format.
//!
//! ```yaml
//! id: iam.access_key_created_for_other_user
//! title: { en: Access key created for another user, ko: 다른 사용자의 액세스 키 생성 }
//! description: { en: …, ko: … }
//! severity: HIGH                     # or { default: HIGH, when: [ { pattern: {…}, severity: CRITICAL } ] }
//! pattern: { detail: { eventSource: [iam.amazonaws.com], eventName: [CreateAccessKey] } }
//! conditions:                         # all must hold, beside the pattern
//!   - fields_differ: [detail.requestParameters.userName, detail.userIdentity.userName]
//! tags: [T1098.001]
//! runbook: { en: [ … ], ko: [ … ] }
//! dedup: "{detail.requestParameters.userName}"
//! enabled: true
//! tests:
//!   - { name: backdoor key, match: true, severity: HIGH, event: { …CloudTrail record or EventBridge event… } }
//! ```

use iamwatch_core::{Localized, Runbook, Severity};
use serde::Deserialize;
use serde_json::Value;

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleFile {
    pub id: String,
    pub title: Localized,
    pub description: Localized,
    pub severity: SeveritySpec,
    /// An EventBridge event pattern, applied to the event as EventBridge delivers it.
    pub pattern: Value,
    #[serde(default)]
    pub conditions: Vec<ConditionSpec>,
    /// MITRE ATT&CK technique ids.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub runbook: Option<Runbook>,
    /// Key that groups incidents of this rule, with `{dot.path}` placeholders.
    #[serde(default)]
    pub dedup: Option<String>,
    #[serde(default = "enabled_by_default")]
    pub enabled: bool,
    #[serde(default)]
    pub tests: Vec<RuleTest>,
}

const fn enabled_by_default() -> bool {
    true
}

#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum SeveritySpec {
    Fixed(Severity),
    Conditional {
        default: Severity,
        #[serde(default)]
        when: Vec<SeverityWhen>,
    },
}

/// The first `when` that holds sets the severity.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SeverityWhen {
    #[serde(default)]
    pub pattern: Option<Value>,
    #[serde(default)]
    pub condition: Option<ConditionSpec>,
    pub severity: Severity,
}

/// Checks a pattern cannot express. Paths are dot-joined, into the EventBridge-shaped event.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ConditionSpec {
    /// The first field is present, and the second is absent or holds a different value.
    FieldsDiffer([String; 2]),
    /// Both fields are present and hold the same value.
    FieldsEqual([String; 2]),
    /// The account in the ARN at `arn` differs from the account at `account`.
    AccountDiffers { arn: String, account: String },
    /// The policy at `path` (an ARN of a managed policy, or a policy document) grants at least
    /// `at_least`.
    PolicyGrants { path: String, at_least: GrantLevel },
    /// The trust policy document at `path` lets principals outside the event's account in.
    TrustAllowsExternal { path: String },
    /// The event does not match this pattern (an allow-list).
    Not(Value),
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum GrantLevel {
    /// Escalation-capable (`iam:*`, NotAction, PassRole on `*`, IAMFullAccess, …) or admin.
    Broad,
    Admin,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleTest {
    pub name: String,
    /// A CloudTrail record, or an EventBridge event.
    pub event: Value,
    #[serde(rename = "match")]
    pub expect_match: bool,
    #[serde(default)]
    pub severity: Option<Severity>,
}
