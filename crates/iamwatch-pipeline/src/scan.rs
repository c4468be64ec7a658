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
use iamwatch_core::Incident;
use iamwatch_correlate::{CorrelateConfig, Correlator};
use iamwatch_detect::Detector;
use iamwatch_sources::Input;
use iamwatch_store::{IncidentStore, StoreError, Stored};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU64;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Instant;

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
    /// The stateful detections, run over the incidents in input order.
    pub correlate: CorrelateConfig,
}

impl ScanOptions {
    /// Incidents per commit. Each is about 5 KB in memory until stored and shown, and three
    /// batches can be held at once (filling, in the store, being shown): at 2,048 a re-scan
    /// peaked at 96 MB once incidents carried their meta's JSON text, at 1,024 at 87 to 89 MB,
    /// no slower (two pairs of runs).
    pub const DEFAULT_BATCH_SIZE: usize = 1024;
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
            correlate: CorrelateConfig::default(),
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
    /// S3 object notifications held for the caller to follow (`serve`, from the buckets its
    /// config lists). `None`, as in a scan: each is a bad record saying what to scan instead.
    pub notices: Option<Vec<S3Notice>>,
}

/// An S3 object notification: the log files it names, and the bad record it is if they are
/// not read.
#[derive(Debug)]
pub struct S3Notice {
    pub objects: Vec<iamwatch_sources::S3ObjectRef>,
    pub unread: BadRecord,
}

/// An SNS HTTP(S) subscription waiting to be confirmed by a GET of `subscribe_url`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SubscriptionConfirmation {
    pub topic_arn: String,
    pub subscribe_url: String,
}

impl Chunk {
    /// An empty chunk that holds S3 notifications back instead of making them bad records.
    pub fn following_notices() -> Self {
        Self {
            notices: Some(Vec::new()),
            ..Self::default()
        }
    }

    /// Takes in what `other` read (a delivery read in parts, message by message), after what
    /// this one holds.
    pub fn absorb(&mut self, other: Chunk) {
        self.incidents.extend(other.incidents);
        self.skipped.extend(other.skipped);
        self.bad.extend(other.bad);
        self.records += other.records;
        self.ignored += other.ignored;
        self.confirmations.extend(other.confirmations);
        match (&mut self.notices, other.notices) {
            (Some(notices), Some(others)) => notices.extend(others),
            (None, Some(others)) => self.notices = Some(others),
            (_, None) => {}
        }
    }

    fn is_full(&self, batch_size: usize) -> bool {
        self.incidents.len() >= batch_size || self.bad.len() >= batch_size || self.records >= 16_384
    }
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
            correlator: Correlator::new(options.correlate.clone()),
            last_commit: Instant::now(),
            batch_size: options.batch_size,
            bytes_read: &bytes_read,
        };
        // In input order: a stream (standard input, a named pipe) on its own, read by a thread
        // that hands on what came in when the stream falls silent, whatever the cores; the
        // files between spread over the cores a file each, or a lone file's records over them.
        let streams: Vec<bool> = inputs.iter().map(Input::is_stream).collect();
        let mut start = 0;
        while start < inputs.len() {
            let files = streams[start..]
                .iter()
                .take_while(|stream| !**stream)
                .count();
            let run = &inputs[start..start + files.max(1)];
            start += run.len();
            match run {
                [input] if cores > 1 || streams[start - 1] => {
                    stream::scan_one(input, options, cores, &mut collector, &bytes_read)?
                }
                _ => scan_files(run, options, cores, &mut collector, &bytes_read)?,
            }
        }
        collector.finish()
    })
}

mod collector;
mod files;
mod read;
mod stream;
mod window;

use collector::{Collector, Committer};
use files::scan_files;
pub(crate) use read::read_input;

#[cfg(test)]
mod tests;
