//! What framing can report about an input, each with the line (and position) it is at; the
//! errors that stand for a value keep its start for the dead letters.

use std::io;

#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    #[error("line {line}: {reason}")]
    Syntax {
        line: u64,
        index: u64,
        reason: String,
    },
    #[error("line {line}: value of {size} bytes is over the {limit}-byte limit")]
    TooLarge {
        line: u64,
        index: u64,
        size: usize,
        limit: usize,
        /// The value's first [`KEPT_CUT_BYTES`](super::KEPT_CUT_BYTES) (of `size`).
        text: Vec<u8>,
    },
    #[error("line {line}: input ends inside a value")]
    Truncated {
        line: u64,
        index: u64,
        /// The value as far as the input goes (its first [`KEPT_CUT_BYTES`](super::KEPT_CUT_BYTES), for the dead
        /// letters); empty when the input ends between an array's elements.
        text: Vec<u8>,
        /// How far the value goes: more than `text` holds when it was cut to the cap.
        size: usize,
    },
    /// A line of JSON Lines cut short: the next line starts a value of its own.
    #[error(
        "line {line}: the value does not end on its line, and the next line starts another; reading resumes there"
    )]
    CutShort {
        line: u64,
        index: u64,
        /// The line as far as it goes (its first [`KEPT_CUT_BYTES`](super::KEPT_CUT_BYTES), for the dead letters).
        text: Vec<u8>,
        /// The whole line's length: more than `text` holds when it was cut to the cap.
        size: usize,
    },
    #[error("read failed")]
    Io(#[source] io::Error),
}

impl FrameError {
    pub fn line(&self) -> Option<u64> {
        match self {
            Self::Syntax { line, .. }
            | Self::TooLarge { line, .. }
            | Self::Truncated { line, .. }
            | Self::CutShort { line, .. } => Some(*line),
            Self::Io(_) => None,
        }
    }
}
