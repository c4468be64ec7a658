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
        let window = self.look_ahead(64, |window| records_prefix(window).is_some())?;
        Ok(records_prefix(window).flatten())
    }

    /// The input buffered from `start`, read on until `decided` says its bytes tell what is
    /// wanted, `limit` bytes are there, or the input ends. What decides is the caller's: a
    /// reader that always read `limit` bytes held a short event on a live pipe until more came.
    pub(super) fn look_ahead(
        &mut self,
        limit: usize,
        decided: impl Fn(&[u8]) -> bool,
    ) -> io::Result<&[u8]> {
        loop {
            let window = &self.buf[self.start..self.end];
            if window.len() >= limit || self.eof || decided(window) || !self.fill()? {
                return Ok(&self.buf[self.start..self.end]);
            }
        }
    }

    /// True when the input at `start` is `true`, `false` or `null` followed by a delimiter.
    pub(super) fn starts_with_literal(&mut self) -> io::Result<bool> {
        let window = self.look_ahead(6, |_| false)?;
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
