//! `[respond]` in `serve` (see [`iamwatch_respond::auto`]): every run, dry or not, is recorded
//! in the incident's history (actor `auto-response`) and pushed to the dashboards.
//!
//! Like notifications, new incidents wait in a bounded queue for one worker: the pipeline
//! never waits for IAM; a full queue is logged and the incident left for a person.

use crate::stream::LiveHub;
use iamwatch_core::Incident;
use iamwatch_respond::auto::AutoRules;
pub use iamwatch_respond::auto::{RespondConfig, RespondConfigError, ACTOR};
use iamwatch_respond::Playbook;
use iamwatch_store::{IncidentChange, IncidentStore};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Incidents that may wait for the worker.
const QUEUE: usize = 1024;

/// The handle the committer offers new incidents to; empty when `[respond]` is off.
#[derive(Clone, Default)]
pub struct Responder {
    rules: Option<Arc<AutoRules>>,
    sender: Option<mpsc::Sender<(Arc<Incident>, Playbook)>>,
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
        let Some(rules) = AutoRules::from_config(config)? else {
            return Ok(Self::default());
        };
        let (sender, receiver) = mpsc::channel(QUEUE);
        tokio::spawn(run(receiver, store, hub, rules.dry_run));
        Ok(Self {
            rules: Some(Arc::new(rules)),
            sender: Some(sender),
        })
    }

    /// Queues a new incident for the playbooks its rule has. Never waits.
    pub fn offer(&self, incident: &Incident) {
        let (Some(rules), Some(sender)) = (&self.rules, &self.sender) else {
            return;
        };
        let mut shared: Option<Arc<Incident>> = None;
        for playbook in rules.playbooks_for(incident) {
            let queued = shared
                .get_or_insert_with(|| Arc::new(incident.without_raw()))
                .clone();
            if sender.try_send((queued, playbook)).is_err() {
                tracing::warn!(incident = %incident.incident_id, playbook = %playbook, "automatic response queue full: left for a person");
            }
        }
    }
}

async fn run(
    mut receiver: mpsc::Receiver<(Arc<Incident>, Playbook)>,
    store: Arc<dyn IncidentStore>,
    hub: LiveHub,
    dry_run: bool,
) {
    let mut client = None;
    while let Some((incident, playbook)) = receiver.recv().await {
        let note = iamwatch_respond::auto::respond(
            &incident,
            playbook,
            dry_run,
            &mut client,
            iamwatch_posture::client_from_env(),
        )
        .await;
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
