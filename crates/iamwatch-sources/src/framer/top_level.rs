//! Opening an array at the top level: a bare array, or the `Records` array of a CloudTrail
//! file, whose elements are then framed (or read in place) one by one.

use super::{Framer, Mode};
use std::io::{self, Read};

impl<R: Read> Framer<R> {
    /// At a `[` or `{` at the top level: opens a bare array, or the `Records` array of an
    /// object that starts with one. False for any other object, which is a value of its own.
    pub(super) fn enter_array(&mut self) -> io::Result<bool> {
        let opened = if self.buf[self.start] == b'[' {
            self.consume(1);
            Mode::InArray { wrapper: false }
        } else {
            let Some(prefix) = self.records_prefix_len()? else {
                return Ok(false);
            };
            self.consume(prefix);
            Mode::InArray { wrapper: true }
        };
        self.mode = opened;
        Ok(true)
    }

    /// If the object at `start` opens with `"Records"` holding an array, the length of
    /// `{"Records":[`; `None` for any other object. Reads on only while the first bytes leave
    /// it open: a live pipe may bring a short event and nothing after it for minutes.
    fn records_prefix_len(&mut self) -> io::Result<Option<usize>> {
        const LOOKAHEAD: usize = 64;
        loop {
            let window = &self.buf[self.start..self.end];
            match records_prefix(window) {
                Some(answer) => return Ok(answer),
                None if window.len() >= LOOKAHEAD || self.eof => return Ok(None),
                None => {
                    if !self.fill()? {
                        return Ok(None);
                    }
                }
            }
        }
    }

    /// True when the input at `start` is `true`, `false` or `null` followed by a delimiter.
    pub(super) fn starts_with_literal(&mut self) -> io::Result<bool> {
        while self.end - self.start < 6 && !self.eof {
            if !self.fill()? {
                break;
            }
        }
        let window = &self.buf[self.start..self.end];
        Ok([&b"true"[..], b"false", b"null"].iter().any(|literal| {
            window.starts_with(literal)
                && window.get(literal.len()).is_none_or(|next| {
                    next.is_ascii_whitespace() || matches!(next, b',' | b']' | b'}')
                })
        }))
    }
}

/// Whether `window`, an object's first bytes, opens `{"Records":[` (with any whitespace between):
/// `Some(Some(length))` if so, `Some(None)` if not, `None` when its bytes end before it tells.
fn records_prefix(window: &[u8]) -> Option<Option<usize>> {
    let mut position = 1;
    let skip_ws = |position: &mut usize| {
        while window.get(*position).is_some_and(u8::is_ascii_whitespace) {
            *position += 1;
        }
    };
    for expected in [&b"\"Records\""[..], b":", b"["] {
        skip_ws(&mut position);
        let available = &window[position.min(window.len())..];
        let compared = available.len().min(expected.len());
        if available[..compared] != expected[..compared] {
            return Some(None);
        }
        if compared < expected.len() {
            return None;
        }
        position += expected.len();
    }
    Some(Some(position))
}
