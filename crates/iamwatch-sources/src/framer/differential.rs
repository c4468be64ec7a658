//! The in-place read of a stream held to the framer alone, as one check any input can be put
//! through: the property tests in `in_place/tests.rs` call it on generated `Records` arrays,
//! and the coverage-guided fuzz targets (`fuzz/`, through the `fuzzing` feature) on whatever
//! bytes libFuzzer makes.

use super::{Framer, Position};
use crate::envelope::{visit_document, Item};
use crate::input::InputData;
use std::io::{self, Cursor, Read};

/// Hands out its bytes `chunk` at a time, so that values cross the framer's refills.
pub(crate) struct Chunks {
    bytes: Cursor<Vec<u8>>,
    chunk: usize,
}

impl Chunks {
    /// A copy of `input`, `chunk` bytes a read (at least one).
    pub(crate) fn new(input: &[u8], chunk: usize) -> Self {
        Self {
            bytes: Cursor::new(input.to_vec()),
            chunk: chunk.max(1),
        }
    }
}

impl Read for Chunks {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        let count = out.len().min(self.chunk);
        self.bytes.read(&mut out[..count])
    }
}

/// What framing and visiting yields, one line per item or framing error, each with the
/// value's position: the plain reads on when `in_place`, the framer alone otherwise. The
/// input is in memory, or read `chunk` bytes at a time.
pub(crate) fn visited(input: &[u8], chunk: Option<usize>, in_place: bool) -> Vec<String> {
    let mut framer = match chunk {
        None => Framer::for_input(InputData::Memory(input.to_vec())),
        Some(chunk) => Framer::new(Box::new(Chunks::new(input, chunk)) as Box<dyn Read + Send>),
    };
    let mut out = Vec::new();
    loop {
        let mut sink = |item: Item<'_>, at: Position| out.push(format!("{at:?} {item:?}"));
        let next = if in_place {
            framer.visit_next(&mut sink)
        } else {
            framer.next_frame().map(|frame| {
                frame.map(|frame| {
                    let at = Position {
                        line: frame.line,
                        index: frame.index,
                    };
                    visit_document(frame.bytes, frame.in_records, &mut |item| sink(item, at));
                })
            })
        };
        match next {
            None => break,
            Some(Ok(())) => {}
            Some(Err(error)) => out.push(format!("error {error}")),
        }
    }
    out
}

/// Fails unless reading `input` in place yields what the framer alone does, whole in memory
/// and `chunk` bytes at a time.
#[cfg(feature = "fuzzing")]
pub(crate) fn check(input: &[u8], chunk: usize) {
    for chunk in [None, Some(chunk)] {
        assert_eq!(
            visited(input, chunk, true),
            visited(input, chunk, false),
            "read {chunk:?} at a time: {}",
            String::from_utf8_lossy(input)
        );
    }
}
