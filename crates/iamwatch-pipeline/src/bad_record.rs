//! Input that could not be read: reported with where it was and why, counted, and kept in full
//! (up to a cap) so that nothing is silently dropped.

use serde::Serialize;
use std::fmt;

/// Raw text kept with a bad record, at most.
pub const MAX_KEPT_RAW_BYTES: usize = 1024 * 1024;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct BadRecord {
    /// The file (or `<stdin>`, or an HTTP request id).
    pub source: String,
    /// 1-based line where the record starts, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// 0-based position of the record in its input.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
    /// Position inside a nested batch (an SNS or SQS `Records` array).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub nested: Option<u64>,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub raw_truncated: bool,
}

impl BadRecord {
    pub fn new(
        source: &str,
        line: Option<u64>,
        record: Option<u64>,
        reason: impl Into<String>,
    ) -> Self {
        Self {
            source: source.to_string(),
            line,
            record,
            nested: None,
            reason: reason.into(),
            raw: None,
            raw_truncated: false,
        }
    }

    pub fn with_raw(self, raw: &[u8]) -> Self {
        self.with_raw_part(raw, raw.len())
    }

    /// [`Self::with_raw`] for a record of which only the start, `part`, is at hand: it is
    /// `whole` bytes long, and marked truncated when `part` is shorter.
    pub fn with_raw_part(mut self, part: &[u8], whole: usize) -> Self {
        let kept = &part[..part.len().min(MAX_KEPT_RAW_BYTES)];
        self.raw = Some(String::from_utf8_lossy(kept).into_owned());
        self.raw_truncated = whole > kept.len();
        self
    }
}

impl fmt::Display for BadRecord {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.source)?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        if let Some(record) = self.record {
            write!(f, ": record {record}")?;
        }
        if let Some(nested) = self.nested {
            write!(f, " (nested record {nested})")?;
        }
        write!(f, ": {}", self.reason)
    }
}
