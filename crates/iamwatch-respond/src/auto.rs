//! `[respond]`: playbooks run by iamwatch itself on new incidents of the rules listed in
//! `[[respond.auto]]` (by `serve`, and by the serverless function). Off unless `enabled =
//! true`; even then `dry_run = true` (the default) only says what would have been done. The
//! caller records what [`respond`] says in the incident's history (actor [`ACTOR`]).

use crate::plan::Playbook;
use iamwatch_core::Incident;
use serde::Deserialize;

/// Who the history says acted.
pub const ACTOR: &str = "auto-response";

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RespondConfig {
    /// Nothing is run, not even a dry run, unless this is true.
    pub enabled: bool,
    /// Only record what would be done (the default); false makes the IAM calls.
    pub dry_run: bool,
    pub auto: Vec<AutoRule>,
}

impl Default for RespondConfig {
    fn default() -> Self {
        Self {
            enabled: false,
            dry_run: true,
            auto: Vec::new(),
        }
    }
}

/// A rule's incidents answered by a playbook.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AutoRule {
    /// A rule id (`iamwatch rules list`).
    pub rule: String,
    /// `deactivate-key`, `detach-policy`, `quarantine-user` or `revoke-sessions`.
    pub playbook: String,
}

#[derive(Debug, thiserror::Error)]
#[error("[[respond.auto]] #{place}: {message}")]
pub struct RespondConfigError {
    pub place: usize,
    pub message: String,
}

/// The playbooks to run, by rule, when `[respond]` is on.
#[derive(Clone, Debug)]
pub struct AutoRules {
    rules: Vec<(String, Playbook)>,
    pub dry_run: bool,
}

impl AutoRules {
    /// Checks every playbook named; `None` when nothing is to run (off, or no rules).
    ///
    /// # Errors
    /// [`RespondConfigError`] for an unknown playbook, whether or not responses are on.
    pub fn from_config(config: &RespondConfig) -> Result<Option<Self>, RespondConfigError> {
        let mut rules = Vec::with_capacity(config.auto.len());
        for (index, auto) in config.auto.iter().enumerate() {
            let playbook = auto
                .playbook
                .parse()
                .map_err(|message| RespondConfigError {
                    place: index + 1,
                    message,
                })?;
            if playbook == Playbook::ReleaseUser {
                // Undoing a response is a person's decision, never a rule's.
                return Err(RespondConfigError {
                    place: index + 1,
                    message: "release-user undoes a quarantine: run it by hand (iamwatch respond), not as an automatic response".to_string(),
                });
            }
            rules.push((auto.rule.clone(), playbook));
        }
        if !config.enabled || rules.is_empty() {
            if !rules.is_empty() {
                tracing::info!("[respond] lists playbooks but is not enabled: none will run");
            }
            return Ok(None);
        }
        tracing::warn!(
            dry_run = config.dry_run,
            rules = rules.len(),
            "automatic response on"
        );
        Ok(Some(Self {
            rules,
            dry_run: config.dry_run,
        }))
    }

    /// The playbooks a new incident is answered with.
    pub fn playbooks_for<'a>(
        &'a self,
        incident: &'a Incident,
    ) -> impl Iterator<Item = Playbook> + 'a {
        self.rules
            .iter()
            .filter(|(rule, _)| raised_by(incident, rule))
            .map(|(_, playbook)| *playbook)
    }
}

/// Whether `rule` matched the incident's event: its own rule, or one of the others that matched
/// too (an incident is raised once per event, under the first rule; `meta.rules` lists all).
fn raised_by(incident: &Incident, rule: &str) -> bool {
    incident.rule_id == rule || incident.meta.rules.iter().any(|matched| matched == rule)
}

/// Runs `playbook` on the incident (or, in a dry run, works out what it would do) and says
/// what happened, for the incident's history. `client` is made at the first real run.
pub async fn respond(
    incident: &Incident,
    playbook: Playbook,
    dry_run: bool,
    client: &mut Option<aws_sdk_iam::Client>,
    connect: impl std::future::Future<Output = aws_sdk_iam::Client>,
) -> String {
    match crate::plan(playbook, incident, None) {
        Err(error) => format!("automatic response: {error}"),
        Ok(steps) if dry_run => format!(
            "automatic response (dry run) {playbook}: would: {}",
            steps
                .iter()
                .map(|step| step.describe().en)
                .collect::<Vec<_>>()
                .join("; ")
        ),
        Ok(steps) => {
            if client.is_none() {
                *client = Some(connect.await);
            }
            let Some(client) = client.as_ref() else {
                return format!("automatic response {playbook}: no IAM client");
            };
            let outcomes = crate::execute(client, &steps).await;
            let said: Vec<String> = outcomes.iter().map(|outcome| outcome.said().en).collect();
            format!(
                "automatic response {playbook} executed: {}",
                said.join("; ")
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_playbook_answers_any_rule_that_matched_the_event() {
        let mut incident: Incident = serde_json::from_value(serde_json::json!({
            "incident_id": "inc-1", "event_id": "e", "event_name": "CreateAccessKey",
            "event_type": {"en": "", "ko": ""}, "rule_id": "iam.access_key_change",
            "title": {"en": "", "ko": ""}, "resource": "", "severity": "HIGH", "status": "NEW",
            "meta": {}, "source": "IAM", "account": "", "region": "", "event_time_ms": 0,
            "created_at": 0, "updated_at": 0
        }))
        .unwrap();
        incident.meta.rules = vec![
            "iam.access_key_change".into(),
            "persistence.backdoor_key".into(),
        ];
        assert!(raised_by(&incident, "iam.access_key_change"));
        assert!(raised_by(&incident, "persistence.backdoor_key"));
        assert!(!raised_by(&incident, "iam.mfa_change"));
    }

    #[test]
    fn a_release_is_never_an_automatic_response() {
        let config = |playbook: &str| RespondConfig {
            enabled: true,
            auto: vec![AutoRule {
                rule: "iam.mfa_change".into(),
                playbook: playbook.into(),
            }],
            ..RespondConfig::default()
        };
        let refused = AutoRules::from_config(&config("release-user")).unwrap_err();
        assert_eq!(refused.place, 1);
        assert!(refused.message.contains("by hand"), "{refused}");
        assert!(AutoRules::from_config(&config("quarantine-user"))
            .unwrap()
            .is_some());
    }
}
