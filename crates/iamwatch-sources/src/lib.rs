//! The source end of the data flow: everything between bytes as AWS delivers them and one
//! typed CloudTrail [`Document`] per event.
//!
//! Three layers, each usable alone:
//! - [`input`] finds the files (directories walked, `-` for stdin) and opens them, gunzipping
//!   when the bytes say gzip (not when the name does).
//! - [`framer`] splits a byte stream into JSON values without parsing them: the elements of a
//!   CloudTrail file's `Records` array, of a bare JSON array, or one document per JSON-Lines
//!   line. It holds one value at a time, so memory does not grow with input size.
//! - [`envelope`] parses one value and unwraps whatever AWS put around the CloudTrail record
//!   (EventBridge event, SNS notification, SQS message, nested `Records`), calling back once per
//!   record or once per problem. Problems are values, never panics.

pub mod document;
pub mod envelope;
pub mod framer;
pub mod input;
mod lenient;
pub mod prefetch;
pub mod spare;
mod string_stops;

/// The checks the coverage-guided fuzz targets in `fuzz/` put libFuzzer's bytes through; each
/// panics when it finds the fast path and the serde path disagreeing. Not part of the API.
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    /// The fast path and the serde path read `bytes` (as one document, and as the start of a
    /// `Records` array's element) the same, or the fast path leaves them to serde.
    pub fn document(bytes: &[u8]) {
        if let Ok(text) = std::str::from_utf8(bytes) {
            crate::document::differential::check(text);
            crate::document::differential::check_prefix(text);
        }
    }

    /// Reading `bytes` in place yields the records and problems the framer alone does, whole
    /// in memory and `chunk` bytes at a time.
    pub fn framing(bytes: &[u8], chunk: usize) {
        crate::framer::differential::check(bytes, chunk);
    }
}

pub use document::{Document, InsightDetails, Raw, SessionContext, UserIdentity};
pub use envelope::{visit_document, EnvelopeKind, Item, Problem, RecordItem, S3ObjectRef};
pub use framer::{Frame, FrameError, Framer, Position};
pub use input::{
    discover, judge_name, looks_gzipped, open_bytes, open_fetched, open_file, open_input,
    open_reader, Discovered, Fetch, Fetched, Input, InputData, InputError, NameSays, Remote,
};
pub use lenient::{Flag, Text};
pub use prefetch::prefetch;
