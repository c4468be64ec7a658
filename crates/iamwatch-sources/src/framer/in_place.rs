//! Framing by reading: the elements of a `Records` array (or of a bare array) that are plain
//! records are read where they lie, and the read itself finds where each one ends.
//!
//! Framing first scans a record for its end (strings, escapes, nesting), and the parse then
//! reads the same bytes again; for a plain record the parse alone finds the end. An element
//! the plain read does not take (an envelope, an escape in a text field, a record longer than
//! the window, invalid UTF-8) is framed and visited as before, so this changes how much work a
//! record costs, never what it yields.

use super::{Framer, Mode};
use crate::envelope::{visit_document, visit_parsed, Item};
use crate::{Document, FrameError};
use std::io::Read;

/// Where a value starts in its input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Position {
    /// 1-based line.
    pub line: u64,
    /// 0-based position in its stream (elements of an array count one each).
    pub index: u64,
}

/// How many bytes a plain read is given, as a multiple of the last record read. The record cut
/// at the window's end is read up to the cut and again in the next window: at 64 records a
/// window that is 1% of the reading.
const RECORDS_PER_WINDOW: usize = 64;
const MIN_WINDOW: usize = 4096;
const MAX_WINDOW: usize = 1 << 20;
/// After this many elements in a row that the plain read did not take, an input is framed the
/// usual way to its end: its records are not plain, and each attempt would be wasted.
const MAX_MISSES: u32 = 16;

/// The plain reads' state across elements.
#[derive(Debug, Default)]
pub(super) struct InPlace {
    last_length: usize,
    misses: u32,
}

impl<R: Read> Framer<R> {
    /// Frames the next value and visits it: each record or problem in it goes to `sink` with
    /// the value's position. An error about the input comes back as `Some(Err)` (framing then
    /// goes on where it can); `None` is the end of input.
    pub fn visit_next(
        &mut self,
        sink: &mut dyn FnMut(Item<'_>, Position),
    ) -> Option<Result<(), FrameError>> {
        self.open_array_in_memory();
        if self.visit_in_place(sink) {
            return Some(Ok(()));
        }
        let frame = match self.next_frame()? {
            Ok(frame) => frame,
            Err(error) => return Some(Err(error)),
        };
        let position = Position {
            line: frame.line,
            index: frame.index,
        };
        visit_document(frame.bytes, frame.in_records, &mut |item| {
            sink(item, position)
        });
        Some(Ok(()))
    }

    /// At the top level of an input held whole, opens a `Records` array or a bare array as
    /// [`Framer::next_frame`] would, so that its first element is read in place too (a
    /// CloudTrail file often holds only a few records). Only when the whole input is in the
    /// buffer: then opening it reads nothing, and so cannot fail.
    fn open_array_in_memory(&mut self) {
        if self.mode != Mode::TopLevel || !self.eof || self.skip_whitespace().is_err() {
            return;
        }
        if let Some(b'[' | b'{') = self.buf[self.start..self.end].first() {
            // At the end of input nothing is read, so nothing can fail.
            let _ = self.enter_array();
        }
    }

    /// Reads the next array elements in place while they are plain records already in the
    /// buffer, up to a window's worth; false when it read none, leaving the next element to
    /// [`Framer::next_frame`].
    ///
    /// The window's UTF-8 is checked once for all the records in it: checked per record, a
    /// window three records long was checked three times over (1.4% of a scan).
    fn visit_in_place(&mut self, sink: &mut dyn FnMut(Item<'_>, Position)) -> bool {
        let Mode::InArray { wrapper } = self.mode else {
            return false;
        };
        if self.in_place.misses >= MAX_MISSES {
            return false;
        }
        // What `next_frame` skips between elements: whitespace and commas.
        self.skip_buffered_space(true);
        let at = self.start;
        if at >= self.end || self.buf[at] != b'{' {
            return false;
        }
        let window = (self.in_place.last_length * RECORDS_PER_WINDOW).clamp(MIN_WINDOW, MAX_WINDOW);
        let mut stop = (at + window).min(self.end);
        // Cut at the first byte of a character: the window may end inside one.
        while stop > at && stop < self.end && self.buf[stop] & 0xC0 == 0x80 {
            stop -= 1;
        }
        let window = &self.buf[at..stop];
        let text = simdutf8::basic::from_utf8(window)
            .or_else(|_| {
                // Invalid UTF-8 further on: the records before it are still read here.
                let valid =
                    std::str::from_utf8(window).map_or_else(|error| error.valid_up_to(), str::len);
                std::str::from_utf8(&window[..valid])
            })
            .unwrap_or("");
        let mut read = 0;
        let mut visited = false;
        while let Some((length, newlines)) = self.read_plain(&text[read..], wrapper, sink) {
            visited = true;
            read += length;
            self.line += newlines;
            self.index += 1;
            self.in_place.last_length = length;
            let (gap, newlines) = super::space_between(&text.as_bytes()[read..], true);
            self.line += newlines;
            read += gap;
        }
        self.start = at + read;
        if visited {
            self.in_place.misses = 0;
        } else {
            self.in_place.misses += 1;
        }
        visited
    }

    /// Reads one plain record at the start of `text` and visits it; answers its length and the
    /// newlines in it, or `None` when it is not a plain record wholly in `text`.
    fn read_plain(
        &self,
        text: &str,
        wrapper: bool,
        sink: &mut dyn FnMut(Item<'_>, Position),
    ) -> Option<(usize, u64)> {
        if !text.starts_with('{') {
            return None;
        }
        let mut doc = Document::default();
        let (length, newlines) = Document::parse_plain_prefix(text, &mut doc)?;
        // A longer value is the framer's to refuse.
        if length > self.max_value {
            return None;
        }
        let position = Position {
            line: self.line,
            index: self.index,
        };
        visit_parsed(&doc, &text.as_bytes()[..length], wrapper, &mut |item| {
            sink(item, position)
        });
        Some((length, newlines))
    }
}

#[cfg(test)]
mod tests;
