//! Notifications of new incidents, after the store: Discord, Slack, a generic webhook (signed),
//! email over SMTP and an SNS topic. Each `[[notify]]` destination is routed by severity
//! (`min_severity`), written in its readers' language (`lang`) with times in their zone
//! (`timezone`, KST by default for Korean), and fed by a queue of its own, so that a
//! destination that is slow or down never holds up the pipeline or the others.
//!
//! Data flow: the store commits → [`Notifier::offer`] (per destination, never waits) →
//! a worker per destination ([`dispatch`]) → [`channel::Channel::compose`] (the message in the
//! destination's format, from [`message::render`]) → [`channel::Channel::deliver`], tried again
//! on a passing failure.

pub mod channel;
pub mod config;
pub mod dispatch;
pub mod message;
pub mod outbox;
pub mod trial;
/// Moved to `iamwatch-core` (working hours need it too); kept here under its old path.
pub use iamwatch_core::zone;

pub use config::{ChannelConfig, Destination, Kind, NotifyConfigError, Route, SmtpTls};
pub use dispatch::{Notifier, Stats};
pub use outbox::{Outbox, OutboxError, Owed};
pub use trial::{send_once, TrialOutcome};
pub use zone::Zone;

#[cfg(test)]
mod tests;
