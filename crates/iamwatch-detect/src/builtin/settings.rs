//! The configuration of the rules written in code, as rule files are configured: a rule turned
//! off by id, or held to one severity. A team whose red team works from Kali turns off
//! `useragent.pentest_distribution`; one that wants every console sign-in seen raises
//! `signin.console_login`. The defaults change nothing: the seed's rules stay as strict as
//! the seed unless a user says otherwise.

use super::CODE_RULES;
use crate::Detection;
use iamwatch_core::Severity;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeRuleSettings {
    disabled: BTreeSet<String>,
    severities: BTreeMap<String, Severity>,
}

impl CodeRuleSettings {
    /// Whether `id` names a rule written in code.
    pub fn is_code_rule(id: &str) -> bool {
        CODE_RULES.iter().any(|rule| rule.id == id)
    }

    /// The settings the overrides given by id (`--disable-rule`, `--rule-severity`) make for
    /// the code rules; ids of other rules (rule files') are left to the rule set.
    pub fn from_overrides(
        disabled: &BTreeSet<String>,
        severities: &BTreeMap<String, Severity>,
    ) -> Self {
        Self {
            disabled: (disabled.iter())
                .filter(|id| Self::is_code_rule(id))
                .cloned()
                .collect(),
            severities: (severities.iter())
                .filter(|(id, _)| Self::is_code_rule(id))
                .map(|(id, severity)| (id.clone(), *severity))
                .collect(),
        }
    }

    /// Turns the code rule `id` off. The caller checks [`Self::is_code_rule`] first; an id that
    /// names no code rule changes nothing.
    pub fn disable(&mut self, id: &str) {
        self.disabled.insert(id.to_string());
    }

    /// Holds every detection of the code rule `id` at `severity`, whatever the rule's own
    /// weighing would give (as an override of a rule file's severity clears its conditions).
    pub fn set_severity(&mut self, id: &str, severity: Severity) {
        self.severities.insert(id.to_string(), severity);
    }

    pub fn is_enabled(&self, id: &str) -> bool {
        !self.disabled.contains(id)
    }

    /// The severity `id` is held to, if any.
    pub fn severity_of(&self, id: &str) -> Option<Severity> {
        self.severities.get(id).copied()
    }

    /// Drops the detections of disabled rules and applies the severity overrides, in place.
    pub(crate) fn apply(&self, detections: &mut Vec<Detection>) {
        // The common case, nothing configured, costs one branch per candidate event.
        if self.disabled.is_empty() && self.severities.is_empty() {
            return;
        }
        detections.retain(|detection| self.is_enabled(&detection.rule_id));
        for detection in detections {
            if let Some(severity) = self.severity_of(&detection.rule_id) {
                detection.severity = severity;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamwatch_core::Localized;

    fn detection(id: &str, severity: Severity) -> Detection {
        Detection::new(id, severity, Localized::default(), Vec::new())
    }

    #[test]
    fn disabled_rules_are_dropped_and_overridden_ones_take_their_severity() {
        let mut settings = CodeRuleSettings::default();
        settings.disable("useragent.pentest_distribution");
        settings.set_severity("signin.console_login", Severity::High);
        let mut detections = vec![
            detection("signin.console_login", Severity::Low),
            detection("useragent.pentest_distribution", Severity::Medium),
            detection("root.activity", Severity::Critical),
        ];
        settings.apply(&mut detections);
        let left: Vec<(&str, Severity)> = detections
            .iter()
            .map(|detection| (detection.rule_id.as_str(), detection.severity))
            .collect();
        assert_eq!(
            left,
            [
                ("signin.console_login", Severity::High),
                ("root.activity", Severity::Critical)
            ]
        );
    }

    #[test]
    fn overrides_by_id_keep_only_the_code_rules() {
        let disabled =
            BTreeSet::from(["root.activity".to_string(), "s3.bucket_deleted".to_string()]);
        let severities = BTreeMap::from([
            ("signin.console_login".to_string(), Severity::High),
            ("s3.bucket_deleted".to_string(), Severity::Low),
        ]);
        let mut expected = CodeRuleSettings::default();
        expected.disable("root.activity");
        expected.set_severity("signin.console_login", Severity::High);
        assert_eq!(
            CodeRuleSettings::from_overrides(&disabled, &severities),
            expected
        );
    }

    #[test]
    fn only_the_catalogued_ids_are_code_rules() {
        assert!(CodeRuleSettings::is_code_rule("root.activity"));
        assert!(CodeRuleSettings::is_code_rule(crate::insight::RULE_ID));
        assert!(!CodeRuleSettings::is_code_rule("root"));
        assert!(!CodeRuleSettings::is_code_rule(
            "ec2.image_created_or_copied"
        ));
    }
}
