//! `iamwatch notify test`: one incident sent to every destination now, once, each answer said,
//! so that a URL, a password or a topic's permissions are known to work before an incident
//! depends on them.

use crate::channel::Channel;
use crate::config::{ChannelConfig, NotifyConfigError};
use iamwatch_core::Incident;
use std::sync::Arc;

/// What one destination answered.
#[derive(Debug)]
pub struct TrialOutcome {
    pub name: String,
    pub kind: &'static str,
    /// Why the message was not sent, if it was not.
    pub result: Result<(), String>,
}

/// Sends `incident` to every destination, whatever its `min_severity`, without retries.
///
/// # Errors
/// The first table that cannot be used.
pub async fn send_once(
    configs: &[ChannelConfig],
    env: &dyn Fn(&str) -> Option<String>,
    incident: &Incident,
) -> Result<Vec<TrialOutcome>, NotifyConfigError> {
    let mut checked = Vec::with_capacity(configs.len());
    for (index, config) in configs.iter().enumerate() {
        checked.push(config.check(index, env)?);
    }
    let batch = [Arc::new(incident.clone())];
    let mut outcomes = Vec::with_capacity(checked.len());
    for (route, destination) in checked {
        let result = match Channel::open(destination).await {
            Ok(channel) => {
                let mut result = Ok(());
                for outgoing in channel.compose(&batch, &route) {
                    if let Err(error) = channel.deliver(&outgoing.payload).await {
                        result = Err(error.reason);
                        break;
                    }
                }
                result
            }
            Err(reason) => Err(reason),
        };
        outcomes.push(TrialOutcome {
            name: route.name,
            kind: route.kind.as_str(),
            result,
        });
    }
    Ok(outcomes)
}
