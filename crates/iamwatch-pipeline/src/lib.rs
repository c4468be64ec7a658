//! The pipeline: sources → normalise → detect → incidents → store.
//!
//! [`process::process_record`] is the per-record step every entry point shares (a scan, an
//! HTTP ingest, a Lambda invocation). [`scan::scan`] runs it over files on every core: each
//! worker reads, frames, parses and detects one file at a time; one collector stores the
//! incidents in batches and hands them to the caller **in input order**, so output is the same
//! whatever the number of cores. Memory is bounded by a window of files in flight.

pub mod bad_record;
pub mod body;
pub mod process;
pub mod recall;
pub mod scan;

pub use bad_record::BadRecord;
pub use body::{read_body, read_body_into, read_delivery, read_object_into, IngestSummary};
pub use process::{build_incident, process_record, Outcome};
pub use recall::{recall, recall_at_start, Recalled};
pub use scan::{
    scan, Chunk, S3Notice, ScanError, ScanOptions, ScanReport, ScanSink, SubscriptionConfirmation,
};
