//! Scanning inputs on every core, output in input order.
//!
//! Workers claim inputs in order and process one at a time, sending their results in small
//! chunks over a bounded channel of their own. The collector (the caller's thread) drains the
//! inputs' channels strictly in order, gathers incidents into batches, and hands each batch to
//! a store thread (one commit in flight), reporting the incidents once stored. A worker may run
//! at most [`ScanOptions::window`] inputs ahead of the collector, so memory stays bounded
//! whatever the number or size of inputs. A single input is spread over the workers in batches
//! of records instead (see `scan/stream.rs`).

use crate::bad_record::BadRecord;
use crate::process::{process_record, Outcome};
use iamwatch_core::{time::now_ms, Incident};
use iamwatch_detect::Detector;
use iamwatch_sources::{
    envelope::Problem,
    input::{open_file, open_reader, WHOLE_FILE_INFLATE_LIMIT},
    visit_document, FrameError, Framer, Input, InputData, Item,
};
use iamwatch_store::{IncidentStore, StoreError, Stored};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Debug)]
pub struct ScanOptions {
    pub detector: Detector,
    /// Worker threads; 0 means one per core.
    pub jobs: usize,
    /// Incidents per store transaction (one durable commit each).
    pub batch_size: usize,
    /// How many inputs workers may run ahead of the collector. (A single input is spread in
    /// batches instead, two in flight per worker.)
    pub window: usize,
}

impl ScanOptions {
    pub const DEFAULT_BATCH_SIZE: usize = 2048;
    /// Sixteen CloudTrail files keep both workers busy; what a larger window held goes to
    /// SQLite's page cache instead (a scan's peak RSS stays about 70 MB).
    pub const DEFAULT_WINDOW: usize = 16;
}

impl Default for ScanOptions {
    fn default() -> Self {
        Self {
            detector: Detector::default(),
            jobs: 0,
            batch_size: Self::DEFAULT_BATCH_SIZE,
            window: Self::DEFAULT_WINDOW,
        }
    }
}

/// What the caller sees as the scan goes.
pub trait ScanSink {
    /// An incident found, as stored (`created` is false for one already stored).
    fn incident(&mut self, stored: &Stored);
    /// Input that could not be read.
    fn bad_record(&mut self, bad: &BadRecord);
    /// Total input bytes read so far (compressed bytes for gzip files).
    fn progress(&mut self, _bytes_read: u64) {}
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScanReport {
    pub inputs: u64,
    /// CloudTrail records read.
    pub records: u64,
    pub incidents_created: u64,
    /// Incidents found that were already stored (re-scans, duplicate deliveries).
    pub incidents_existing: u64,
    /// Incidents found, new or not, by severity.
    pub by_severity: BTreeMap<String, u64>,
    /// Records the skip list passed over, by API.
    pub skipped: BTreeMap<String, u64>,
    pub bad_records: u64,
    /// Valid input holding no event (digest files, SNS handshakes).
    pub ignored: u64,
    pub bytes_read: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("cannot store incidents")]
    Store(#[from] StoreError),
    #[error("a scan worker stopped unexpectedly while reading {0}")]
    Worker(String),
    #[error("the thread storing incidents stopped unexpectedly")]
    StoreThread,
}

/// What one stretch of input held.
#[derive(Debug, Default)]
pub struct Chunk {
    pub incidents: Vec<Incident>,
    /// APIs the skip list passed over, one entry per record.
    pub skipped: Vec<String>,
    pub bad: Vec<BadRecord>,
    /// CloudTrail records read.
    pub records: u64,
    /// Valid values holding no event (digest files, SNS handshakes).
    pub ignored: u64,
    /// SNS subscription handshakes seen.
    pub confirmations: Vec<SubscriptionConfirmation>,
}

/// An SNS HTTP(S) subscription waiting to be confirmed by a GET of `subscribe_url`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubscriptionConfirmation {
    pub topic_arn: String,
    pub subscribe_url: String,
}

impl Chunk {
    fn is_full(&self, batch_size: usize) -> bool {
        self.incidents.len() >= batch_size || self.bad.len() >= batch_size || self.records >= 16_384
    }
}

struct Window {
    /// Index of the input the collector is draining.
    base: Mutex<usize>,
    moved: Condvar,
    abort: AtomicBool,
}

/// Scans `inputs`, storing incidents in `store` and reporting to `sink` in input order.
///
/// Store calls run on `runtime`; call this from a thread that is not a runtime worker.
///
/// # Errors
/// [`ScanError::Store`] when the store fails (the scan stops; what was stored stays stored, and
/// every batch stored before the failure has been reported to `sink`).
/// Unreadable input is never an error: it is reported to the sink and counted.
pub fn scan(
    inputs: &[Input],
    options: &ScanOptions,
    store: &dyn IncidentStore,
    runtime: &tokio::runtime::Handle,
    sink: &mut dyn ScanSink,
) -> Result<ScanReport, ScanError> {
    let cores = match options.jobs {
        0 => std::thread::available_parallelism().map_or(2, usize::from),
        jobs => jobs,
    };
    let bytes_read = Arc::new(AtomicU64::new(0));
    std::thread::scope(|scope| {
        let (batches, batches_to_store) = mpsc::sync_channel::<Vec<Incident>>(1);
        let (stored_sender, stored) = mpsc::channel();
        scope.spawn(move || {
            for batch in batches_to_store {
                if stored_sender
                    .send(runtime.block_on(store.insert_batch(batch)))
                    .is_err()
                {
                    return;
                }
            }
        });
        let mut collector = Collector {
            committer: Committer {
                batches,
                stored,
                in_flight: false,
            },
            sink,
            report: ScanReport {
                inputs: inputs.len() as u64,
                ..ScanReport::default()
            },
            pending: Vec::new(),
            last_commit: Instant::now(),
            batch_size: options.batch_size,
            bytes_read: &bytes_read,
        };
        match inputs {
            // One input has no files to spread: its records are spread instead.
            [input] if cores > 1 => {
                stream::scan_one(input, options, cores, &mut collector, &bytes_read)?
            }
            _ => scan_files(inputs, options, cores, &mut collector, &bytes_read)?,
        }
        collector.finish()
    })
}

/// Files spread over `cores` workers, one file at a time each.
fn scan_files(
    inputs: &[Input],
    options: &ScanOptions,
    cores: usize,
    collector: &mut Collector<'_>,
    bytes_read: &Arc<AtomicU64>,
) -> Result<(), ScanError> {
    let jobs = cores.min(inputs.len().max(1));
    let window = Window::new();
    let next_input = AtomicUsize::new(0);
    let (register, registrations) = mpsc::channel::<(usize, Receiver<Chunk>)>();

    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let register = register.clone();
            let (window, next_input, bytes_read) = (&window, &next_input, Arc::clone(bytes_read));
            scope.spawn(move || loop {
                let index = next_input.fetch_add(1, Ordering::SeqCst);
                if index >= inputs.len() || !wait_for_turn(window, index, options.window.max(1)) {
                    return;
                }
                let (sender, receiver) = mpsc::sync_channel(16);
                if register.send((index, receiver)).is_err() {
                    return;
                }
                scan_input(&inputs[index], options, &sender, &bytes_read);
            });
        }
        drop(register);
        let result = collect(inputs, collector, &window, &registrations);
        window.abort();
        drop(registrations);
        result
    })
}

impl Window {
    fn new() -> Self {
        Self {
            base: Mutex::new(0),
            moved: Condvar::new(),
            abort: AtomicBool::new(false),
        }
    }

    /// The collector has taken everything before `index`.
    fn advance_to(&self, index: usize) {
        if let Ok(mut base) = self.base.lock() {
            *base = index;
        }
        self.moved.notify_all();
    }

    /// Wakes every waiting worker to stop.
    fn abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
        self.moved.notify_all();
    }
}

/// Blocks until input `index` is within the window; false when the scan is aborting.
fn wait_for_turn(window: &Window, index: usize, size: usize) -> bool {
    let Ok(mut base) = window.base.lock() else {
        return false;
    };
    while index >= *base + size {
        if window.abort.load(Ordering::SeqCst) {
            return false;
        }
        base = match window.moved.wait(base) {
            Ok(base) => base,
            Err(_) => return false,
        };
    }
    !window.abort.load(Ordering::SeqCst)
}

fn collect(
    inputs: &[Input],
    collector: &mut Collector<'_>,
    window: &Window,
    registrations: &Receiver<(usize, Receiver<Chunk>)>,
) -> Result<(), ScanError> {
    let mut registered: HashMap<usize, Receiver<Chunk>> = HashMap::new();
    for (index, input) in inputs.iter().enumerate() {
        let chunks = loop {
            if let Some(chunks) = registered.remove(&index) {
                break chunks;
            }
            match registrations.recv() {
                Ok((claimed, chunks)) => {
                    registered.insert(claimed, chunks);
                }
                Err(_) => return Err(ScanError::Worker(input.name())),
            }
        };
        for chunk in chunks.iter() {
            collector.absorb(chunk)?;
        }
        window.advance_to(index + 1);
    }
    Ok(())
}

/// The collector's state between chunks: the report so far, the incidents waiting to fill a
/// batch, and the store thread.
struct Collector<'c> {
    committer: Committer,
    sink: &'c mut dyn ScanSink,
    report: ScanReport,
    /// Incidents wait here until a batch is worth a commit: a durable commit costs an fsync,
    /// and CloudTrail files are small, so committing per file would make the disk the
    /// bottleneck.
    pending: Vec<Incident>,
    last_commit: Instant,
    batch_size: usize,
    bytes_read: &'c AtomicU64,
}

impl Collector<'_> {
    /// Takes the next chunk in input order.
    fn absorb(&mut self, chunk: Chunk) -> Result<(), ScanError> {
        let report = &mut self.report;
        report.records += chunk.records;
        report.ignored += chunk.ignored;
        for api in chunk.skipped {
            *report.skipped.entry(api).or_default() += 1;
        }
        for bad in &chunk.bad {
            report.bad_records += 1;
            self.sink.bad_record(bad);
        }
        self.pending.extend(chunk.incidents);
        self.committer.poll(self.sink, &mut self.report)?;
        let due = self.pending.len() >= self.batch_size
            || (!self.pending.is_empty() && self.last_commit.elapsed() >= MAX_COMMIT_DELAY);
        if due && self.committer.in_flight && self.pending.len() >= self.batch_size {
            // The store is the slower side: wait for it, so memory stays bounded.
            self.committer.wait(self.sink, &mut self.report)?;
        }
        if due && !self.committer.in_flight {
            self.committer.send(&mut self.pending)?;
            self.last_commit = Instant::now();
        }
        self.sink.progress(self.bytes_read.load(Ordering::Relaxed));
        Ok(())
    }

    /// Stores what is left and returns the report.
    fn finish(mut self) -> Result<ScanReport, ScanError> {
        self.committer.wait(self.sink, &mut self.report)?;
        if !self.pending.is_empty() {
            self.committer.send(&mut self.pending)?;
            self.committer.wait(self.sink, &mut self.report)?;
        }
        self.report.bytes_read = self.bytes_read.load(Ordering::Relaxed);
        Ok(self.report)
    }
}

/// Incidents found are stored (and shown) at most this long after they were found.
const MAX_COMMIT_DELAY: Duration = Duration::from_secs(1);

/// Stores batches on a thread of its own, one at a time, so the collector keeps draining the
/// workers while a commit waits for its fsync; results are reported in the order sent.
struct Committer {
    batches: SyncSender<Vec<Incident>>,
    stored: Receiver<Result<Vec<Stored>, StoreError>>,
    /// A batch was sent and its result not yet reported.
    in_flight: bool,
}

impl Committer {
    fn send(&mut self, pending: &mut Vec<Incident>) -> Result<(), ScanError> {
        debug_assert!(!self.in_flight, "one batch in flight at a time");
        self.batches
            .send(std::mem::take(pending))
            .map_err(|_| ScanError::StoreThread)?;
        self.in_flight = true;
        Ok(())
    }

    /// Reports the batch in flight if it is stored by now.
    fn poll(&mut self, sink: &mut dyn ScanSink, report: &mut ScanReport) -> Result<(), ScanError> {
        if !self.in_flight {
            return Ok(());
        }
        match self.stored.try_recv() {
            Ok(result) => self.finish(result, sink, report),
            Err(mpsc::TryRecvError::Empty) => Ok(()),
            Err(mpsc::TryRecvError::Disconnected) => Err(ScanError::StoreThread),
        }
    }

    /// Waits for the batch in flight, if any, and reports it.
    fn wait(&mut self, sink: &mut dyn ScanSink, report: &mut ScanReport) -> Result<(), ScanError> {
        if !self.in_flight {
            return Ok(());
        }
        match self.stored.recv() {
            Ok(result) => self.finish(result, sink, report),
            Err(_) => Err(ScanError::StoreThread),
        }
    }

    fn finish(
        &mut self,
        result: Result<Vec<Stored>, StoreError>,
        sink: &mut dyn ScanSink,
        report: &mut ScanReport,
    ) -> Result<(), ScanError> {
        self.in_flight = false;
        for entry in &result? {
            if entry.created {
                report.incidents_created += 1;
            } else {
                report.incidents_existing += 1;
            }
            *report
                .by_severity
                .entry(entry.incident.severity.as_str().to_string())
                .or_default() += 1;
            sink.incident(entry);
        }
        Ok(())
    }
}

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

fn open_counted(
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
    }
}

/// Reads one input to the end, sending chunks; stops early if the collector has gone.
fn scan_input(
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
                .push(BadRecord::new(&source, None, None, error.to_string()));
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
    while let Some(frame) = framer.next_frame() {
        match frame {
            Ok(frame) => {
                let (line, index) = (frame.line, frame.index);
                visit_document(frame.bytes, frame.in_records, &mut |item| {
                    handle_item(item, source, line, index, detector, now, chunk)
                });
            }
            Err(error) => {
                let read_failed = matches!(error, FrameError::Io(_));
                chunk.bad.push(frame_problem(source, error));
                if read_failed {
                    break;
                }
            }
        }
        if !flush(chunk) {
            return false;
        }
    }
    true
}

/// The bad record for input the framer could not frame. A read failure ends the input.
fn frame_problem(source: &str, error: FrameError) -> BadRecord {
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
        | FrameError::Truncated { line, index } => (Some(*line), Some(*index)),
        FrameError::Io(_) => (None, None),
    };
    let reason = error.to_string();
    let reason = reason
        .split_once(": ")
        .map_or(reason.clone(), |(_, rest)| rest.to_string());
    BadRecord::new(source, line, index, reason)
}

fn handle_item(
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
                Outcome::Incident(incident) => chunk.incidents.push(*incident),
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
            chunk.bad.push(bad);
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

mod stream;
#[cfg(test)]
mod tests;
