use crate::builtin::{self, RuleContext};
use iamwatch_core::{AccessKeyMeta, Localized, Severity, Target};
use iamwatch_normalise::catalog::{label, Label};
use iamwatch_normalise::target::{access_key_meta, target};
use iamwatch_normalise::{Details, Event};
use std::collections::BTreeSet;

/// One rule's verdict on one event.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    pub rule_id: &'static str,
    pub severity: Severity,
    pub title: Localized,
    /// Why this severity, in plain words.
    pub reasons: Vec<String>,
}

/// Everything detection learnt about an event that becomes an incident.
#[derive(Debug)]
pub struct Finding {
    /// The worst detection; its rule names the incident.
    pub primary: Detection,
    /// Every rule that matched, the primary first.
    pub rule_ids: Vec<&'static str>,
    pub reasons: Vec<String>,
    pub label: Label,
    pub target: Target,
    pub access_key: Option<AccessKeyMeta>,
    pub details: Details,
}

#[derive(Debug)]
pub enum Verdict {
    /// Not an incident.
    Pass,
    /// Would have been an incident of the generic IAM rule, but its API is on the skip list.
    Skipped,
    Incident(Box<Finding>),
}

#[derive(Clone, Debug)]
pub struct DetectorConfig {
    /// APIs the generic IAM-change rule records as skipped instead of raising. The seed skips
    /// `CreateAccessKey` (routine key rotation); rules aimed at a specific risk, such as root
    /// creating a key, still fire.
    pub skip_events: BTreeSet<String>,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            skip_events: BTreeSet::from(["CreateAccessKey".to_string()]),
        }
    }
}

#[derive(Clone, Debug, Default)]
pub struct Detector {
    config: DetectorConfig,
}

impl Detector {
    pub fn new(config: DetectorConfig) -> Self {
        Self { config }
    }

    /// True when some rule could match. Looks only at fields already normalised; no parsing.
    pub fn is_candidate(&self, event: &Event<'_>) -> bool {
        builtin::is_candidate(event)
    }

    /// Runs every rule on a candidate event.
    pub fn evaluate(&self, event: &Event<'_>) -> Verdict {
        if !self.is_candidate(event) {
            return Verdict::Pass;
        }
        let details = event.details();
        let target = target(event, &details);
        let label = label(event.api);
        let context = RuleContext {
            event,
            details: &details,
            target: &target,
            label: &label,
        };
        let skipped = self.config.skip_events.contains(event.api);
        let mut detections = builtin::run(&context, skipped);
        if detections.is_empty() {
            return if skipped && builtin::iam_change_applies(event) {
                Verdict::Skipped
            } else {
                Verdict::Pass
            };
        }
        // Worst first; among equals, the rule listed first (the more specific) wins.
        detections.sort_by(|left, right| right.severity.cmp(&left.severity));
        let rule_ids = detections
            .iter()
            .map(|detection| detection.rule_id)
            .collect();
        let mut reasons: Vec<String> = Vec::new();
        for reason in detections
            .iter()
            .flat_map(|detection| detection.reasons.iter())
        {
            if !reasons.contains(reason) {
                reasons.push(reason.clone());
            }
        }
        let access_key = access_key_meta(event, &details);
        let primary = detections.swap_remove(0);
        Verdict::Incident(Box::new(Finding {
            primary,
            rule_ids,
            reasons,
            label,
            target,
            access_key,
            details,
        }))
    }
}
