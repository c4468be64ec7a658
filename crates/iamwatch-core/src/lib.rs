//! Types every iamwatch crate speaks: [`Severity`], [`IncidentStatus`] and its lifecycle,
//! [`Incident`] with its [`Meta`], localised text ([`Lang`], [`Localized`]), the epoch-ms
//! time helpers the pipeline uses on every record, and time zones ([`Zone`]) for readers and
//! working hours.
//!
//! This crate has no I/O and no async: it is the vocabulary the data flow is written in
//! (sources → normalise → detect → incidents → store/live/notify).

pub mod incident;
pub mod json;
pub mod lang;
mod meta_json;
pub mod secret;
pub mod severity;
pub mod status;
pub mod text;
pub mod threshold;
pub mod time;
pub mod zone;

pub use incident::{
    AccessKeyMeta, Actor, Device, ErrorInfo, Incident, IncidentView, Meta, Runbook, Target,
};
pub use lang::{Lang, Localized};
pub use meta_json::MetaJson;
pub use secret::Secret;
pub use severity::Severity;
pub use status::{IncidentStatus, TransitionError};
pub use threshold::{CountedMatch, DistinctValue, KeptCount, Threshold};
pub use zone::Zone;
