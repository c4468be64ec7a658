//! Normalise: one CloudTrail record (as [`iamwatch_sources::RecordItem`]) becomes an [`Event`]
//! — epoch-ms time, account, region, identity, the API without its version suffix — cheaply,
//! borrowing from the input. The costlier parts (request/response details, target resource,
//! device summary) are computed only for the events detection keeps ([`Event::details`],
//! [`target::target`], [`device::device`]).

pub mod catalog;
pub mod device;
pub mod event;
pub mod geo;
pub mod ip;
mod kept;
pub mod target;

pub use event::{normalise, Details, Event, Identity};
