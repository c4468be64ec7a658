//! Incidents the other servers sharing this server's store commit (PostgreSQL, DynamoDB), broadcast to
//! this server's live clients as if stored here: a dashboard sees every incident of the store,
//! whichever server the event was delivered to.

use crate::stream::{message, LiveHub};
use iamwatch_store::{IncidentStore, StoreChange};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Until the feed ends (the store's listener stops when the server does).
pub async fn run(
    mut changes: mpsc::Receiver<StoreChange>,
    store: Arc<dyn IncidentStore>,
    hub: LiveHub,
) {
    while let Some(change) = changes.recv().await {
        match change {
            // Read in one go: a burst of a thousand is one read, not a thousand.
            StoreChange::Created(ids) => match store.get_many(&ids).await {
                Ok(incidents) => {
                    for incident in incidents {
                        hub.publish(message("incident.created", &incident));
                    }
                }
                Err(error) => {
                    tracing::warn!(incidents = ids.len(), %error, "cannot read incidents another server stored");
                }
            },
            StoreChange::Updated(id) => {
                publish(store.as_ref(), &hub, "incident.updated", &id).await;
            }
            StoreChange::Missed => tracing::warn!(
                "the store's change feed was cut and is back: other servers' changes meanwhile were not broadcast here (dashboards get them when they reconnect)"
            ),
        }
    }
}

async fn publish(store: &dyn IncidentStore, hub: &LiveHub, kind: &str, id: &str) {
    match store.get(id).await {
        Ok(Some(incident)) => {
            hub.publish(message(kind, &incident));
        }
        Ok(None) => tracing::debug!(incident = id, "announced incident not found"),
        Err(error) => {
            tracing::warn!(incident = id, %error, "cannot read an incident another server stored");
        }
    }
}
