//! Splits a byte stream into JSON values without parsing them.
//!
//! CloudTrail files are one object `{"Records":[…]}` that can hold tens of thousands of
//! records; attack-simulation tools publish bare arrays; streams arrive as JSON Lines. The framer
//! treats all three alike: it yields each element of a top-level `Records` array or of a
//! top-level array, and each other top-level value whole. Only the value being framed is held
//! in memory, so a 10 GB file costs what its largest record costs.
//!
//! It only finds boundaries (strings, escapes, nesting); whether a value is valid JSON is the
//! parser's business, which then reports it with the line the framer recorded.

use crate::input::InputData;
use memchr::memchr_iter;
use std::io::{self, Read};

const READ_CHUNK: usize = 256 * 1024;
/// Values above this are reported and skipped, never buffered whole. CloudTrail caps a record
/// far below it; EventBridge caps an event at 256 KB.
pub const DEFAULT_MAX_VALUE_BYTES: usize = 32 * 1024 * 1024;
/// How much of a line cut short, or of a value over the limit, its error keeps (for the dead
/// letters).
pub const KEPT_CUT_BYTES: usize = 1024 * 1024;

/// One framed JSON value.
#[derive(Debug)]
pub struct Frame<'b> {
    pub bytes: &'b [u8],
    /// 1-based line where the value starts.
    pub line: u64,
    /// 0-based position of the value in its stream (elements of an array count one each).
    pub index: u64,
    /// True when the value is an element of a top-level `{"Records":[…]}` object.
    pub in_records: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    TopLevel,
    /// Inside a top-level array; `wrapper` when that array is a `Records` value whose object
    /// must then be closed.
    InArray {
        wrapper: bool,
    },
    Done,
}

impl Framer<Box<dyn Read + Send>> {
    /// Frames an opened input, taking an in-memory one as the buffer itself.
    pub fn for_input(data: InputData) -> Self {
        match data {
            // The bytes are the whole input and become the buffer, so a file inflated in
            // memory is framed without a copy; at end of input the buffer is never grown
            // (and zeroed) to look for more.
            InputData::Memory(bytes) => {
                let end = bytes.len();
                let mut framer =
                    Self::build(Box::new(io::empty()), bytes, end, DEFAULT_MAX_VALUE_BYTES);
                framer.eof = true;
                framer
            }
            InputData::Stream(reader) => Self::new(reader),
        }
    }
}

/// In JSON Lines a value that runs past its line into one that starts with `{` (or with a log
/// export's timestamp and then `{`) is a line cut short (a partial write): the next line is a
/// record of its own. Pretty-printed JSON indents what it nests, so no line inside one
/// top-level value starts so. Returns the position of that newline.
fn next_line_value(value: &[u8]) -> Option<usize> {
    memchr_iter(b'\n', value).find(|newline| {
        let next = &value[newline + 1..];
        next.first() == Some(&b'{') || log_export::prefix_len(next).is_some()
    })
}

/// Where a partly scanned value stands, kept across buffer refills.
#[derive(Clone, Copy, Debug, Default)]
struct ScanState {
    offset: usize,
    depth: u32,
    in_string: bool,
    started: bool,
}

pub struct Framer<R> {
    reader: R,
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    line: u64,
    index: u64,
    mode: Mode,
    max_value: usize,
    in_place: in_place::InPlace,
}

enum Scan {
    Complete(usize),
    /// The value is over the limit: `size` bytes, of which `head` keeps the first
    /// [`KEPT_CUT_BYTES`]; the rest was dropped while scanning on.
    Oversized {
        size: usize,
        head: Vec<u8>,
    },
    /// The input ends inside the value; when it had grown over the limit, `head` keeps its
    /// start and `dropped` bytes of it are gone from the buffer (else the buffer holds it all).
    Truncated {
        head: Vec<u8>,
        dropped: usize,
    },
}

impl<R: Read> Framer<R> {
    pub fn new(reader: R) -> Self {
        Self::with_limit(reader, DEFAULT_MAX_VALUE_BYTES)
    }

    pub fn with_limit(reader: R, max_value: usize) -> Self {
        Self::build(reader, vec![0; READ_CHUNK], 0, max_value)
    }

    fn build(reader: R, buf: Vec<u8>, end: usize, max_value: usize) -> Self {
        Self {
            reader,
            buf,
            start: 0,
            end,
            eof: false,
            line: 1,
            index: 0,
            mode: Mode::TopLevel,
            max_value,
            in_place: in_place::InPlace::default(),
        }
    }

    /// The buffer, for reuse once the input is done (see [`crate::spare`]).
    pub fn into_buffer(self) -> Vec<u8> {
        self.buf
    }

    /// The next value, an error about the input (after which framing goes on where it can), or
    /// `None` at the end.
    #[allow(clippy::should_implement_trait)]
    pub fn next_frame(&mut self) -> Option<Result<Frame<'_>, FrameError>> {
        loop {
            if let Err(error) = self.skip_whitespace() {
                self.mode = Mode::Done;
                return Some(Err(FrameError::Io(error)));
            }
            if self.start == self.end {
                return match self.mode {
                    Mode::InArray { .. } => {
                        self.mode = Mode::Done;
                        Some(Err(FrameError::Truncated {
                            line: self.line,
                            index: self.index,
                            text: Vec::new(),
                            size: 0,
                        }))
                    }
                    _ => None,
                };
            }
            let byte = self.buf[self.start];
            match self.mode {
                Mode::Done => return None,
                Mode::TopLevel => match byte {
                    b'[' | b'{' => match self.enter_array() {
                        Ok(true) => {}
                        Ok(false) => return Some(self.frame_value(false)),
                        Err(error) => return Some(Err(FrameError::Io(error))),
                    },
                    b'0'..=b'9' => match self.export_prefix_len() {
                        Ok(Some(prefix)) => self.consume(prefix),
                        Ok(None) => return Some(self.frame_value(false)),
                        Err(error) => return Some(Err(FrameError::Io(error))),
                    },
                    b'"' | b'-' => return Some(self.frame_value(false)),
                    b't' | b'f' | b'n' => match self.starts_with_literal() {
                        Ok(true) => return Some(self.frame_value(false)),
                        Ok(false) => return Some(Err(self.skip_garbage_line())),
                        Err(error) => return Some(Err(FrameError::Io(error))),
                    },
                    _ => return Some(Err(self.skip_garbage_line())),
                },
                Mode::InArray { wrapper } => match byte {
                    b',' => self.consume(1),
                    b']' => {
                        self.consume(1);
                        self.mode = Mode::TopLevel;
                        if wrapper {
                            if let Err(error) = self.close_wrapper_object() {
                                return Some(Err(error));
                            }
                        }
                    }
                    _ => return Some(self.frame_value(wrapper)),
                },
            }
        }
    }

    fn frame_value(&mut self, in_records: bool) -> Result<Frame<'_>, FrameError> {
        let line = self.line;
        let index = self.index;
        self.index += 1;
        let top_level = self.mode == Mode::TopLevel;
        match self.scan_value().map_err(FrameError::Io)? {
            // Whole in the buffer already (an input read into memory), but over the limit all
            // the same: refused as a stream refuses it, so that where a value comes from does
            // not decide whether it is read (a parse of it would take many times its size).
            Scan::Complete(length) if length > self.max_value => {
                let head = self.buf[self.start..self.start + KEPT_CUT_BYTES.min(length)].to_vec();
                self.consume(length);
                Err(FrameError::TooLarge {
                    line,
                    index,
                    size: length,
                    limit: self.max_value,
                    text: head,
                })
            }
            Scan::Complete(length) => {
                let begin = self.start;
                let value_end = begin + length;
                let newlines = memchr_iter(b'\n', &self.buf[begin..value_end]).count() as u64;
                if top_level && newlines > 0 {
                    if let Some(cut) = next_line_value(&self.buf[begin..value_end]) {
                        return Err(self.cut_at(cut, line, index));
                    }
                }
                self.start = value_end;
                self.line += newlines;
                Ok(Frame {
                    bytes: &self.buf[begin..value_end],
                    line,
                    index,
                    in_records,
                })
            }
            Scan::Oversized { size, head } => Err(FrameError::TooLarge {
                line,
                index,
                size,
                limit: self.max_value,
                text: head,
            }),
            Scan::Truncated { head, dropped } => {
                if top_level {
                    if let Some(cut) = next_line_value(&self.buf[self.start..self.end]) {
                        return Err(self.cut_at(cut, line, index));
                    }
                }
                let pending = self.end - self.start;
                let text = if dropped == 0 {
                    self.buf[self.start..self.start + pending.min(KEPT_CUT_BYTES)].to_vec()
                } else {
                    head
                };
                self.consume(pending);
                self.mode = Mode::Done;
                Err(FrameError::Truncated {
                    line,
                    index,
                    text,
                    size: dropped + pending,
                })
            }
        }
    }

    /// Gives up the value at `start` at its newline at `cut`, where the next line starts
    /// another value, and resumes framing there.
    fn cut_at(&mut self, cut: usize, line: u64, index: u64) -> FrameError {
        let text = self.buf[self.start..self.start + cut.min(KEPT_CUT_BYTES)].to_vec();
        self.consume(cut + 1);
        FrameError::CutShort {
            line,
            index,
            text,
            size: cut,
        }
    }

    /// Finds the end of the value at `start`, reading more input as needed.
    fn scan_value(&mut self) -> io::Result<Scan> {
        let mut state = ScanState::default();
        let mut dropped = 0usize;
        // The start of an oversized value, kept for the dead letters before it is dropped.
        let mut head = Vec::new();
        loop {
            if let Some(length) = scan(&self.buf[self.start..self.end], &mut state) {
                if dropped > 0 {
                    self.consume(length);
                    return Ok(Scan::Oversized {
                        size: dropped + length,
                        head,
                    });
                }
                return Ok(Scan::Complete(length));
            }
            if state.offset > self.max_value {
                // Keep scanning for the end, but stop holding the value.
                let held = state.offset;
                if dropped == 0 {
                    head = self.buf[self.start..self.start + held.min(KEPT_CUT_BYTES)].to_vec();
                }
                self.consume(held);
                dropped += held;
                state.offset = 0;
            }
            if !self.fill()? {
                // A scalar at the very end of input ends there.
                let pending = self.end - self.start;
                if state.started && state.depth == 0 && !state.in_string && pending > 0 {
                    return Ok(Scan::Complete(pending));
                }
                // Left in the buffer: the caller may resume framing inside it.
                return Ok(Scan::Truncated { head, dropped });
            }
        }
    }

    /// Reads more input after `end`. Returns false at end of input.
    fn fill(&mut self) -> io::Result<bool> {
        if self.eof {
            return Ok(false);
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        if self.buf.len() - self.end < READ_CHUNK / 2 {
            let grown = (self.buf.len() * 2).max(self.end + READ_CHUNK);
            self.buf.resize(grown, 0);
        }
        loop {
            match self.reader.read(&mut self.buf[self.end..]) {
                Ok(0) => {
                    self.eof = true;
                    return Ok(false);
                }
                Ok(count) => {
                    self.end += count;
                    return Ok(true);
                }
                Err(error) if error.kind() == io::ErrorKind::Interrupted => continue,
                Err(error) => return Err(error),
            }
        }
    }

    fn consume(&mut self, count: usize) {
        let until = self.start + count;
        self.line += memchr_iter(b'\n', &self.buf[self.start..until]).count() as u64;
        self.start = until;
    }

    /// Skips whitespace, and a UTF-8 byte-order mark before a value: at the start of the
    /// input, or where files saved with one were joined (`cat a.json b.json`, or UTF-16 files
    /// so joined, whose marks decode to this one).
    fn skip_whitespace(&mut self) -> io::Result<()> {
        const BOM: &[u8] = b"\xEF\xBB\xBF";
        loop {
            self.skip_buffered_space(false);
            if self.buf.get(self.start) == Some(&BOM[0]) && self.start < self.end {
                if self.end - self.start < BOM.len() && !self.eof {
                    self.fill()?;
                    continue;
                }
                if self.buf[self.start..self.end].starts_with(BOM) {
                    self.start += BOM.len();
                    continue;
                }
            }
            if self.start < self.end || !self.fill()? {
                return Ok(());
            }
        }
    }

    /// Skips the whitespace already in the buffer (and with `commas` the commas between array
    /// elements too), counting lines; reads nothing.
    fn skip_buffered_space(&mut self, commas: bool) {
        let (length, newlines) = space_between(&self.buf[self.start..self.end], commas);
        self.start += length;
        self.line += newlines;
    }

    /// After a wrapper's `Records` array: skip any other members and the closing brace.
    fn close_wrapper_object(&mut self) -> Result<(), FrameError> {
        let line = self.line;
        let index = self.index;
        // Scan as if inside an object at depth 1 until it closes.
        let mut state = ScanState {
            offset: 0,
            depth: 1,
            in_string: false,
            started: true,
        };
        loop {
            if let Some(length) = scan(&self.buf[self.start..self.end], &mut state) {
                self.consume(length);
                return Ok(());
            }
            if state.offset > self.max_value {
                let held = state.offset;
                self.consume(held);
                state.offset = 0;
            }
            if !self.fill().map_err(FrameError::Io)? {
                let pending = self.end - self.start;
                self.consume(pending);
                return Err(FrameError::Truncated {
                    line,
                    index,
                    text: Vec::new(),
                    size: 0,
                });
            }
        }
    }

    /// Skips to the next line after bytes that cannot start a JSON value.
    fn skip_garbage_line(&mut self) -> FrameError {
        let line = self.line;
        let index = self.index;
        self.index += 1;
        let shown: String =
            String::from_utf8_lossy(&self.buf[self.start..self.end.min(self.start + 40)])
                .chars()
                .take_while(|character| *character != '\n')
                .collect();
        loop {
            if let Some(newline) = memchr::memchr(b'\n', &self.buf[self.start..self.end]) {
                self.consume(newline + 1);
                break;
            }
            let pending = self.end - self.start;
            self.consume(pending);
            match self.fill() {
                Ok(true) => {}
                _ => break,
            }
        }
        FrameError::Syntax {
            line,
            index,
            reason: format!("not JSON: {shown:?}"),
        }
    }
}

/// Advances `state` over `window`; returns the value's length once it is complete.
fn scan(window: &[u8], state: &mut ScanState) -> Option<usize> {
    scan_with(window, state, true)
}

/// [`scan`], with the 64-byte fast path inside values or (for tests, as the reference) without.
fn scan_with(window: &[u8], state: &mut ScanState, blocks: bool) -> Option<usize> {
    let mut position = state.offset;
    // Bytes before this are left to the byte scanner (where the fast path gave a block back).
    let mut careful_until = if blocks { 0 } else { usize::MAX };
    while position < window.len() {
        if position >= careful_until && state.started && state.depth > 0 {
            match scan_blocks(window, position, &mut state.depth, &mut state.in_string) {
                Stop::End(end) => {
                    state.offset = end;
                    return Some(end);
                }
                Stop::Resume(at) => {
                    position = at;
                    careful_until = at + BLOCK;
                    continue;
                }
            }
        }
        if state.in_string {
            match find_quote_or_backslash(&window[position..]) {
                Some(found) => {
                    position += found;
                    if window[position] == b'\\' {
                        if position + 1 >= window.len() {
                            break;
                        }
                        position += 2;
                    } else {
                        state.in_string = false;
                        position += 1;
                        if state.depth == 0 {
                            state.offset = position;
                            return Some(position);
                        }
                    }
                }
                None => position = window.len(),
            }
            continue;
        }
        let byte = window[position];
        if !state.started {
            state.started = true;
            match byte {
                b'{' | b'[' => state.depth = 1,
                b'"' => state.in_string = true,
                _ => {}
            }
            position += 1;
            continue;
        }
        if state.depth == 0 {
            // A scalar ends at the first delimiter.
            if byte.is_ascii_whitespace() || matches!(byte, b',' | b']' | b'}' | b'[' | b'{' | b'"')
            {
                state.offset = position;
                return Some(position);
            }
            position += 1;
            continue;
        }
        match byte {
            b'"' => state.in_string = true,
            b'{' | b'[' => state.depth += 1,
            b'}' | b']' => {
                state.depth -= 1;
                if state.depth == 0 {
                    state.offset = position + 1;
                    return Some(position + 1);
                }
            }
            _ => {}
        }
        position += 1;
    }
    state.offset = position;
    None
}

mod blocks;
mod error;
pub use error::FrameError;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod differential;
mod in_place;
mod log_export;
mod strings;
mod top_level;
pub use in_place::Position;

/// How long the run of whitespace (and commas, with `commas`) at the start of `bytes` is, and
/// how many newlines it holds: what framing skips between the elements of an array.
pub(super) fn space_between(bytes: &[u8], commas: bool) -> (usize, u64) {
    let length = bytes
        .iter()
        .position(|&byte| !(byte.is_ascii_whitespace() || (commas && byte == b',')))
        .unwrap_or(bytes.len());
    let newlines = bytes[..length]
        .iter()
        .filter(|&&byte| byte == b'\n')
        .count();
    (length, newlines as u64)
}

#[cfg(test)]
mod tests;

use blocks::{scan_blocks, Stop, BLOCK};
use strings::find_quote_or_backslash;
