//! CloudTrail Insights events: CloudTrail's own finding that an API's call rate or error rate
//! left its baseline (a burst of `DeleteUser`, of `AccessDenied` on `GetSecretValue`). They are
//! records of a trail but not API calls: the API they name was not called by them, so no rule
//! that reads calls runs on them. Each becomes an incident of its own rule, worse when the API
//! is an identity service's and the unusual activity begins than when it ends.

use crate::builtin::CodeRuleSettings;
use crate::detection::{Detection, Finding, Verdict};
use iamwatch_core::{Localized, Severity, Target};
use iamwatch_normalise::catalog::{label, service_name, Label};
use iamwatch_normalise::{Details, Event};
use iamwatch_sources::InsightDetails;

/// The rule id Insights incidents are raised under.
pub const RULE_ID: &str = "cloudtrail.insight";

/// Services whose unusual activity is about identities and access.
const IDENTITY_SOURCES: [&str; 5] = [
    "iam.amazonaws.com",
    "sts.amazonaws.com",
    "signin.amazonaws.com",
    "sso.amazonaws.com",
    "organizations.amazonaws.com",
];

/// The verdict on an Insights event: an incident of [`RULE_ID`] unless `settings` turns the
/// rule off.
pub(crate) fn verdict(
    event: &Event<'_>,
    insight: &InsightDetails<'_>,
    settings: &CodeRuleSettings,
) -> Verdict {
    if !settings.is_enabled(RULE_ID) {
        return Verdict::Pass;
    }
    let ended = insight.state.as_str() == Some("End");
    let errors = insight.insight_type.as_str() == Some("ApiErrorRateInsight");
    let identity = IDENTITY_SOURCES.contains(&event.event_source);
    let severity = settings
        .severity_of(RULE_ID)
        .unwrap_or(match (identity, ended) {
            (true, false) => Severity::Medium,
            _ => Severity::Low,
        });
    let api = event.api;
    let service = service_name(event.event_source);
    let title = Localized {
        en: format!(
            "Unusual {} rate of {api} ({service}) {}",
            if errors { "error" } else { "call" },
            if ended { "ended" } else { "began" }
        ),
        ko: format!(
            "{api} ({service}) {} 빈도 이상 {}",
            if errors { "오류" } else { "호출" },
            if ended { "종료" } else { "시작" }
        ),
    };
    let about = format!(
        "{} {}",
        insight.insight_type.or_empty(),
        insight.state.or_empty()
    );
    let reason = Localized::new(
        format!("CloudTrail Insights: {about}"),
        format!("CloudTrail 인사이트: {about}"),
    );
    let primary = Detection::new(RULE_ID, severity, title, vec![reason.clone()]);
    Verdict::Incident(Box::new(Finding {
        primary,
        rule_ids: vec![RULE_ID.to_string()],
        reasons: vec![reason],
        tags: Vec::new(),
        label: insight_label(api),
        target: Target {
            kind: "api".to_string(),
            id: api.to_string(),
            principal: String::new(),
        },
        access_key: None,
        details: Details::default(),
        counted: Vec::new(),
    }))
}

/// The event type shown for an Insights event: the API's label, said to be unusual activity
/// (the label alone read as if the API had been called).
fn insight_label(api: &str) -> Label {
    let of_api = label(api);
    Label {
        en: format!("Unusual activity: {}", of_api.en),
        ko: format!("이상 활동: {}", of_api.ko),
        known: of_api.known,
    }
}
