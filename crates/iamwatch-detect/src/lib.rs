//! Detect: which events are incidents, under which rule, and how severe.
//!
//! [`Detector::is_candidate`] is a cheap test on the normalised head of every record (most of
//! a trail is read-only noise); only candidates pay for [`Detector::evaluate`], which parses
//! request and response, finds the target, and runs the built-in rules. Each rule returns at
//! most one [`Detection`]; the incident takes the worst, and keeps every rule id that matched.
//!
//! No I/O and no clock: everything a rule needs is in the event.

pub mod builtin;
mod detection;
pub mod eventbridge;
pub mod insight;
pub mod policy;
pub mod reasons;
mod record_parts;
pub mod rules;
mod title;

pub use detection::{builtin_rules, Detection, Detector, DetectorConfig, Finding, Verdict};

#[cfg(test)]
mod tests;
