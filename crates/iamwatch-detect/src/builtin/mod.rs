//! The rules written in code (the seed's, and those beside them), one module per risk family.
//! Their ids, severities and what each fires on are listed once, in [`CODE_RULES`] (which
//! `iamwatch rules list` prints and a test holds to the ids written here).

mod catalogue;
mod cloudtrail;
mod iam;
mod pentest;
mod root;
mod settings;
mod signin;

use crate::Detection;
use iamwatch_core::Target;
use iamwatch_normalise::catalog::Label;
use iamwatch_normalise::{Details, Event};

pub use catalogue::{CodeRule, CODE_RULES};
pub use settings::CodeRuleSettings;

/// What a rule sees.
pub struct RuleContext<'c> {
    pub event: &'c Event<'c>,
    pub details: &'c Details,
    pub target: &'c Target,
    pub label: &'c Label,
}

pub(crate) fn is_candidate(event: &Event<'_>) -> bool {
    iam::applies(event)
        || signin::applies(event)
        || root::applies(event)
        || cloudtrail::applies(event)
        || pentest::applies(event)
}

/// Every built-in rule's detection, in rule order (specific before general). `iam_skipped`
/// silences the generic IAM-change rule only. Detections of rules `settings` turns off are
/// dropped, and its severity overrides applied.
pub(crate) fn run(
    context: &RuleContext<'_>,
    iam_skipped: bool,
    settings: &CodeRuleSettings,
) -> Vec<Detection> {
    let mut detections = Vec::new();
    detections.extend(cloudtrail::detect(context));
    detections.extend(signin::detect(context));
    if !iam_skipped {
        detections.extend(iam::detect(context));
    }
    detections.extend(root::detect(context));
    // Last: on equal severity the rule about what was done names the incident.
    detections.extend(pentest::detect(context));
    settings.apply(&mut detections);
    detections
}

/// Whether the generic IAM-change rule, enabled, would have raised on this event: what the
/// skip list then records as skipped.
pub(crate) fn iam_change_would_raise(
    context: &RuleContext<'_>,
    settings: &CodeRuleSettings,
) -> bool {
    iam::detect(context).is_some_and(|detection| settings.is_enabled(&detection.rule_id))
}
