//! Correlate: stateful detections over the stream of incidents.
//!
//! The rules of `iamwatch-detect` judge one event at a time. Some risks are only visible
//! across events: five failed console sign-ins in ten minutes, then a success; thirty IAM
//! changes by one principal in five minutes; a principal created and made an administrator
//! by the same caller; a user still without an MFA device a day after it was created; a
//! person changing IAM at 3 a.m. in the team's time zone; a principal, known for a week,
//! appearing from a new address or with a new kind of client. The
//! [`Correlator`] reads each incident as it is made (every console sign-in and every IAM
//! change is one), in the order given, keeps what its windows need, and raises incidents of
//! its own (`correlate.*` rules). Windows are in event time, so a scan of an old trail finds
//! what a live `serve` would have found.
//!
//! A raised incident's event id is the event that completed the pattern followed by the rule
//! (`<eventID>/correlate.brute_force`): the same events delivered or scanned again raise it
//! again under the same id, which the store keeps once.
//!
//! Rules with a threshold (`threshold:`, a Sigma rule's `| count() > n`) are counted here too:
//! an event that matched only such rules comes as an incident that is not one
//! ([`Incident::is_counted_only`](iamwatch_core::Incident::is_counted_only)), not stored, and
//! the rule's incident is raised on the event that reaches the count
//! (`<eventID>/<rule id>`). They are counted whether or not the stateful detections are on.
//!
//! No I/O and no clock: `serve` passes its clock to [`Correlator::expire`].

mod config;
mod correlator;
mod fact;
mod first_seen;
mod off_hours;
mod raise;
pub mod rule;
mod sequence;
mod threshold;
mod window;

pub use config::{BruteForce, Burst, CorrelateConfig, Escalation, FirstSeen, MfaGrace, OffHours};
pub use correlator::Correlator;

#[cfg(test)]
mod tests;
