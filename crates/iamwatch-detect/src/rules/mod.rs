//! Rules as data: YAML files, each an EventBridge pattern with optional extra conditions,
//! severity (fixed or chosen by conditions), English and Korean text, ATT&CK tags, a runbook,
//! and inline tests that `iamwatch rules test` runs (as Panther does).
//!
//! [`RuleSet`] compiles rules once and indexes them by the `eventName` (or else `eventSource`)
//! their pattern requires, so the cost of an event grows with the rules that could match it,
//! not with the number of rules.

mod builtin;
mod conditions;
pub mod file;
mod rule;
mod set;
pub mod shape;

pub use rule::{Rule, TestFailure};
pub use set::{RuleError, RuleSet};
