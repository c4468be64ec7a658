//! Reading one input: opening it (counting the bytes read), framing it, and turning each
//! framed value into records, incidents and bad records.

use super::{Chunk, S3Notice, ScanOptions, SubscriptionConfirmation};
use crate::bad_record::BadRecord;
use crate::process::{process_record, Outcome};
use iamwatch_core::time::now_ms;
use iamwatch_detect::Detector;
use iamwatch_sources::{
    envelope::Problem,
    input::{open_file, open_reader, WHOLE_FILE_INFLATE_LIMIT},
    open_fetched, Fetched, FrameError, Framer, Input, InputData, Item,
};
use std::io::Read;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::SyncSender;
use std::sync::Arc;

/// Room made in a chunk for incidents at its first: a CloudTrail file of a thousand records
/// yields about a hundred.
const INCIDENTS_PER_CHUNK: usize = 128;

/// Counts bytes as they are read, before decompression.
struct CountingReader<R> {
    inner: R,
    counter: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R> {
    fn read(&mut self, buffer: &mut [u8]) -> std::io::Result<usize> {
        let count = self.inner.read(buffer)?;
        self.counter.fetch_add(count as u64, Ordering::Relaxed);
        Ok(count)
    }
}

pub(super) fn open_counted(
    input: &Input,
    counter: &Arc<AtomicU64>,
) -> Result<InputData, iamwatch_sources::InputError> {
    let name = input.name();
    match input {
        Input::Stdin => open_reader(
            Box::new(CountingReader {
                inner: std::io::stdin(),
                counter: Arc::clone(counter),
            }),
            &name,
        )
        .map(InputData::Stream),
        Input::File(path) => {
            let file = std::fs::File::open(path).map_err(|source| match source.kind() {
                std::io::ErrorKind::NotFound => {
                    iamwatch_sources::InputError::NotFound { path: name.clone() }
                }
                _ => iamwatch_sources::InputError::Unreadable {
                    path: name.clone(),
                    source,
                },
            })?;
            let size = file.metadata().map(|metadata| metadata.len()).unwrap_or(0);
            if size <= WHOLE_FILE_INFLATE_LIMIT as u64 {
                // Read whole (and inflated whole when gzip): count it at once.
                counter.fetch_add(size, Ordering::Relaxed);
                return open_file(file, &name);
            }
            open_reader(
                Box::new(CountingReader {
                    inner: file,
                    counter: Arc::clone(counter),
                }),
                &name,
            )
            .map(InputData::Stream)
        }
        Input::Remote(remote) => {
            let counted = match remote.fetch()? {
                Fetched::Whole(bytes) => {
                    counter.fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    Fetched::Whole(bytes)
                }
                Fetched::Stream(reader) => Fetched::Stream(Box::new(CountingReader {
                    inner: reader,
                    counter: Arc::clone(counter),
                })),
            };
            open_fetched(counted, &name)
        }
    }
}

/// Reads one input to the end, sending chunks; stops early if the collector has gone.
pub(super) fn scan_input(
    input: &Input,
    options: &ScanOptions,
    sender: &SyncSender<Chunk>,
    bytes_read: &Arc<AtomicU64>,
) {
    let source = input.name();
    let mut chunk = Chunk::default();
    let reader = match open_counted(input, bytes_read) {
        Ok(reader) => reader,
        Err(error) => {
            chunk
                .bad
                .push(BadRecord::new(&source, None, None, error.reason()));
            let _ = sender.send(chunk);
            return;
        }
    };
    let finished = read_input(
        reader,
        &source,
        &options.detector,
        &mut chunk,
        &mut |chunk| {
            !chunk.is_full(options.batch_size) || sender.send(std::mem::take(chunk)).is_ok()
        },
    );
    if finished {
        let _ = sender.send(chunk);
    }
}

/// Frames and processes one opened input into `chunk`. After each value `flush` may hand the
/// chunk on; when it answers false reading stops and this returns false.
pub(crate) fn read_input(
    reader: InputData,
    source: &str,
    detector: &Detector,
    chunk: &mut Chunk,
    flush: &mut dyn FnMut(&mut Chunk) -> bool,
) -> bool {
    let now = now_ms();
    let mut framer = Framer::for_input(reader);
    let finished = loop {
        let visited = framer.visit_next(&mut |item, at| {
            handle_item(item, source, at.line, at.index, detector, now, chunk)
        });
        match visited {
            None => break true,
            Some(Ok(())) => {}
            Some(Err(error)) => {
                let read_failed = matches!(error, FrameError::Io(_));
                chunk.bad.push(frame_problem(source, error));
                if read_failed {
                    break true;
                }
            }
        }
        if !flush(chunk) {
            break false;
        }
    };
    // The next input on this thread inflates into the same memory.
    iamwatch_sources::spare::give_back(framer.into_buffer());
    finished
}

/// The bad record for input the framer could not frame. A read failure ends the input.
pub(super) fn frame_problem(source: &str, error: FrameError) -> BadRecord {
    if let FrameError::Io(error) = error {
        return BadRecord::new(
            source,
            None,
            None,
            format!("read failed: {error}; the rest of this input is unread"),
        );
    }
    let (line, index) = match &error {
        FrameError::Syntax { line, index, .. }
        | FrameError::TooLarge { line, index, .. }
        | FrameError::Truncated { line, index, .. }
        | FrameError::CutShort { line, index, .. } => (Some(*line), Some(*index)),
        FrameError::Io(_) => (None, None),
    };
    let reason = error.to_string();
    let reason = reason
        .split_once(": ")
        .map_or(reason.clone(), |(_, rest)| rest.to_string());
    let bad = BadRecord::new(source, line, index, reason);
    match &error {
        FrameError::CutShort { text, size, .. }
        | FrameError::TooLarge { text, size, .. }
        | FrameError::Truncated { text, size, .. }
            if !text.is_empty() =>
        {
            bad.with_raw_part(text, *size)
        }
        _ => bad,
    }
}

pub(super) fn handle_item(
    item: Item<'_>,
    source: &str,
    line: u64,
    index: u64,
    detector: &Detector,
    now: i64,
    chunk: &mut Chunk,
) {
    match item {
        Item::Record(record) => {
            chunk.records += 1;
            match process_record(&record, detector, now) {
                Outcome::Pass => {}
                Outcome::Skipped(api) => chunk.skipped.push(api),
                Outcome::Incident(incident) => {
                    // An incident is about a kilobyte: growing from nothing moved each one
                    // several times (a fifth of a CloudTrail file's records are incidents).
                    if chunk.incidents.capacity() == 0 {
                        chunk.incidents.reserve(INCIDENTS_PER_CHUNK);
                    }
                    chunk.incidents.push(*incident);
                }
            }
        }
        Item::Problem {
            problem,
            nested_index,
            raw,
        } => {
            let (line, reason) = match (&problem, nested_index) {
                // Point at the line in the file, not in the value.
                (
                    Problem::InvalidJson {
                        line: inner,
                        column,
                        message,
                    },
                    None,
                ) => (
                    line + *inner as u64 - 1,
                    format!("invalid JSON at column {column}: {message}"),
                ),
                _ => (line, problem.to_string()),
            };
            let mut bad = BadRecord::new(source, Some(line), Some(index), reason).with_raw(raw);
            bad.nested = nested_index;
            match (problem, chunk.notices.as_mut()) {
                (Problem::S3Notice { objects }, Some(notices)) if !objects.is_empty() => {
                    notices.push(S3Notice {
                        objects,
                        unread: bad,
                    });
                }
                _ => chunk.bad.push(bad),
            }
        }
        Item::SubscriptionConfirmation {
            topic_arn,
            subscribe_url,
        } => {
            chunk.ignored += 1;
            chunk.confirmations.push(SubscriptionConfirmation {
                topic_arn: topic_arn.to_string(),
                subscribe_url: subscribe_url.to_string(),
            });
        }
        Item::Ignored { .. } => chunk.ignored += 1,
    }
}
