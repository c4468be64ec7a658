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
//! threshold: { events: 6, window: 10m }  # raise once 6 matches (per dedup key) fall within 10 min
//!                                        # (distinct: PATH counts different values there instead;
//!                                        # steps: [{name, pattern, conditions}, …] instead raises
//!                                        # once every step matched within the window)
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
    /// Raise only when this many matching events fall within a window (per dedup key, when
    /// the rule has one), on the event that reaches the count; once per window.
    #[serde(default)]
    pub threshold: Option<ThresholdSpec>,
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

/// `threshold: {events: 6, window: 10m}`.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ThresholdSpec {
    /// With steps: how many different ones (left out: every one).
    #[serde(default)]
    pub events: u32,
    /// A span as Sigma's `timeframe` writes it: `30s`, `10m`, `1h`, `1d`.
    pub window: String,
    /// Count the different values at this path (`detail.userIdentity.userName`) instead of
    /// events, as Sigma's `count(field)` does; an event without one is not counted.
    #[serde(default)]
    pub distinct: Option<String>,
    /// Raise when events of every step (or of `events` different steps) fell within the
    /// window, in any order, rather than on a count of events: each matching event counts for
    /// the first step it matches. The rule's own pattern and conditions say what every step
    /// has in common.
    #[serde(default)]
    pub steps: Vec<StepSpec>,
}

/// One step of a rule of steps: a name, and what an event of it matches.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepSpec {
    pub name: String,
    pub pattern: Value,
    #[serde(default)]
    pub conditions: Vec<ConditionSpec>,
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

/// Checks a pattern cannot express; exactly one of the keys is given. Paths are dot-joined,
/// into the EventBridge-shaped event.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConditionSpec {
    /// The first field is present, and the second is absent or holds a different value.
    #[serde(default)]
    pub fields_differ: Option<[String; 2]>,
    /// Both fields are present and hold the same value.
    #[serde(default)]
    pub fields_equal: Option<[String; 2]>,
    /// The account in the ARN at `arn` differs from the account at `account`.
    #[serde(default)]
    pub account_differs: Option<AccountDiffers>,
    /// The policy at `path` (a managed policy's ARN, or a policy document) grants at least
    /// `at_least`.
    #[serde(default)]
    pub policy_grants: Option<PolicyGrants>,
    /// The trust policy document at this path lets principals outside the event's account in.
    #[serde(default)]
    pub trust_allows_external: Option<String>,
    /// A resource policy at one of these paths (a JSON string or object) allows a wildcard
    /// principal in a statement without conditions: anyone may use the resource.
    #[serde(default)]
    pub resource_policy_public: Option<Vec<String>>,
    /// `true`: one of the event's `resources` belongs to another account than the caller's
    /// (a copy into someone else's bucket, a share to a foreign key).
    #[serde(default)]
    pub resource_in_other_account: Option<bool>,
    /// The event does not match this pattern (an allow-list).
    #[serde(default)]
    pub not: Option<Value>,
    /// The text at `path` (a value, or an element of an array there) matches the regular
    /// expression `regex` somewhere (anchor it with `^…$` to match it whole).
    #[serde(default)]
    pub matches: Option<MatchesSpec>,
    /// The JSON text of what `path` holds (an object's, as written, or any text inside it)
    /// contains one of `values`, or every one with `all: true`, without regard to case.
    #[serde(default)]
    pub text_contains: Option<TextContainsSpec>,
    /// This condition does not hold (`unless: {not: PATTERN}`: the event also matches
    /// PATTERN, a second test of a field the rule's pattern tests already).
    #[serde(default)]
    pub unless: Option<Box<ConditionSpec>>,
    /// Every one of these conditions holds.
    #[serde(default)]
    pub all_of: Option<Vec<ConditionSpec>>,
    /// One of these conditions holds, at least.
    #[serde(default)]
    pub any_of: Option<Vec<ConditionSpec>>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MatchesSpec {
    pub path: String,
    pub regex: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextContainsSpec {
    pub path: String,
    pub values: Vec<String>,
    #[serde(default)]
    pub all: bool,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccountDiffers {
    pub arn: String,
    pub account: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PolicyGrants {
    pub path: String,
    pub at_least: GrantLevel,
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
