//! The notification destinations, started with what an earlier process still owed them: a
//! `serve` killed while incidents waited in a destination's queue or between its retries sends
//! them once it is started again.

use crate::config::Config;
use crate::ServerError;
use iamwatch_notify::{Notifier, Outbox};
use iamwatch_store::IncidentStore;

/// Incidents read from the store at a time when sending again what was owed.
const READ_AT_ONCE: usize = 100;

/// Starts the destinations of `config` (with an outbox when there are any) and offers them
/// again what the outbox says an earlier process owed them.
///
/// # Errors
/// A destination that cannot be used, or an outbox that cannot be read or written.
pub async fn start(
    config: &Config,
    secrets: &iamwatch_aws::SecretVariables,
    store: &dyn IncidentStore,
) -> Result<Notifier, ServerError> {
    let env = |name: &str| secrets.lookup(name, |name| std::env::var(name).ok());
    if config.notify.is_empty() {
        return Ok(Notifier::start(&config.notify, &env).await?);
    }
    let path = config.notify_outbox_path();
    let (outbox, owed) = Outbox::open(&path)?;
    let notifier = Notifier::start_with(&config.notify, &env, Some(outbox)).await?;
    if owed.is_empty() {
        return Ok(notifier);
    }
    let mut ids: Vec<String> = owed.iter().map(|owed| owed.incident_id.clone()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut incidents = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(READ_AT_ONCE) {
        match store.get_many(chunk).await {
            Ok(found) => incidents.extend(found),
            Err(error) => {
                // Still owed (the outbox keeps them): sent by the next start.
                tracing::warn!(%error, owed = owed.len(), "cannot read the incidents notifications were owed for");
                return Ok(notifier);
            }
        }
    }
    tracing::info!(owed = owed.len(), path = %path.display(), "sending again the notifications owed when the last process stopped");
    notifier.resend(&owed, &incidents);
    Ok(notifier)
}
