//! `[respond]`: playbooks `serve` runs by itself on new incidents of the rules listed in
//! `[[respond.auto]]`. Off unless `enabled = true`; even then `dry_run = true` (the default)
//! only records in the incident's history what would have been done. Every run, dry or not, is
//! recorded there (actor `auto-response`) and pushed to the dashboards.
//!
//! Like notifications, new incidents wait in a bounded queue for one worker: the pipeline
//! never waits for IAM; a full queue is logged and the incident left for a person.

use crate::stream::LiveHub;
use iamwatch_core::Incident;
use iamwatch_respond::Playbook;
use iamwatch_store::{IncidentChange, IncidentStore};
use serde::Deserialize;
use std::sync::Arc;
use tokio::sync::mpsc;

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
    /// `deactivate-key`, `detach-policy` or `quarantine-user`.
    pub playbook: String,
}

/// Incidents that may wait for the worker.
const QUEUE: usize = 1024;
/// Who the history says acted.
pub const ACTOR: &str = "auto-response";

/// The handle the committer offers new incidents to; empty when `[respond]` is off.
#[derive(Clone, Default)]
pub struct Responder {
    rules: Arc<Vec<(String, Playbook)>>,
    sender: Option<mpsc::Sender<(Arc<Incident>, Playbook)>>,
}

#[derive(Debug, thiserror::Error)]
#[error("[[respond.auto]] #{place}: {message}")]
pub struct RespondConfigError {
    pub place: usize,
    pub message: String,
}

impl Responder {
    /// Checks the rules and, when enabled, starts the worker.
    ///
    /// # Errors
    /// [`RespondConfigError`] for an unknown playbook.
    pub fn start(
        config: &RespondConfig,
        store: Arc<dyn IncidentStore>,
        hub: LiveHub,
    ) -> Result<Self, RespondConfigError> {
        let mut rules = Vec::with_capacity(config.auto.len());
        for (index, auto) in config.auto.iter().enumerate() {
            let playbook = auto
                .playbook
                .parse()
                .map_err(|message| RespondConfigError {
                    place: index + 1,
                    message,
                })?;
            rules.push((auto.rule.clone(), playbook));
        }
        if !config.enabled || rules.is_empty() {
            if !rules.is_empty() {
                tracing::info!("[respond] lists playbooks but is not enabled: none will run");
            }
            return Ok(Self::default());
        }
        let dry_run = config.dry_run;
        tracing::warn!(dry_run, rules = rules.len(), "automatic response on");
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(receiver, store, hub, dry_run));
        Ok(Self {
            rules: Arc::new(rules),
            sender: Some(sender),
        })
    }

    /// Queues a new incident for the playbooks its rule has. Never waits.
    pub fn offer(&self, incident: &Incident) {
        let Some(sender) = &self.sender else { return };
        let mut shared: Option<Arc<Incident>> = None;
        for (_, playbook) in self
            .rules
            .iter()
            .filter(|(rule, _)| raised_by(incident, rule))
        {
            let queued = shared
                .get_or_insert_with(|| Arc::new(incident.without_raw()))
                .clone();
            if sender.try_send((queued, *playbook)).is_err() {
                tracing::warn!(incident = %incident.incident_id, playbook = %playbook, "automatic response queue full: left for a person");
            }
        }
    }
}

/// Whether `rule` matched the incident's event: its own rule, or one of the others that matched
/// too (an incident is raised once per event, under the first rule; `meta.rules` lists all).
fn raised_by(incident: &Incident, rule: &str) -> bool {
    incident.rule_id == rule || incident.meta.rules.iter().any(|matched| matched == rule)
}

async fn run(
    mut receiver: mpsc::Receiver<(Arc<Incident>, Playbook)>,
    store: Arc<dyn IncidentStore>,
    hub: LiveHub,
    dry_run: bool,
) {
    let mut client = None;
    while let Some((incident, playbook)) = receiver.recv().await {
        let note = match iamwatch_respond::plan(playbook, &incident, None) {
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
                    client = Some(iamwatch_posture::client_from_env().await);
                }
                let Some(client) = &client else { continue };
                let outcomes = iamwatch_respond::execute(client, &steps).await;
                let said: Vec<String> = outcomes.iter().map(|outcome| outcome.said().en).collect();
                format!(
                    "automatic response {playbook} executed: {}",
                    said.join("; ")
                )
            }
        };
        tracing::info!(incident = %incident.incident_id, %note, "automatic response");
        let change = IncidentChange {
            note: Some(note),
            actor: ACTOR.to_string(),
            at_ms: iamwatch_core::time::now_ms(),
            ..Default::default()
        };
        match store.update(&incident.incident_id, change).await {
            Ok(updated) => {
                hub.publish(crate::stream::message("incident.updated", &updated));
            }
            Err(error) => {
                tracing::error!(incident = %incident.incident_id, %error, "cannot record the automatic response")
            }
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
}
