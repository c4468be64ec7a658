//! The collector's side: chunks taken in input order, incidents gathered into batches and
//! stored on a thread of their own, and reported once stored.

use super::{Chunk, ScanError, ScanReport, ScanSink};
use iamwatch_core::Incident;
use iamwatch_correlate::Correlator;
use iamwatch_store::{StoreError, Stored};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::time::{Duration, Instant};

/// The collector's state between chunks: the report so far, the incidents waiting to fill a
/// batch, and the store thread.
pub(super) struct Collector<'c> {
    pub(super) committer: Committer,
    pub(super) sink: &'c mut dyn ScanSink,
    pub(super) report: ScanReport,
    /// Incidents wait here until a batch is worth a commit: a durable commit costs an fsync,
    /// and CloudTrail files are small, so committing per file would make the disk the
    /// bottleneck.
    pub(super) pending: Vec<Incident>,
    /// Sees every incident in input order, and adds those its patterns raise.
    pub(super) correlator: Correlator,
    pub(super) last_commit: Instant,
    pub(super) batch_size: usize,
    pub(super) bytes_read: &'c AtomicU64,
}

impl Collector<'_> {
    /// Takes the next chunk in input order.
    pub(super) fn absorb(&mut self, chunk: Chunk) -> Result<(), ScanError> {
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
        for incident in chunk.incidents {
            let raised = self.correlator.observe(&incident);
            if !incident.is_counted_only() {
                self.pending.push(incident);
            }
            self.pending.extend(raised);
        }
        self.commit_when_due()?;
        self.sink.progress(self.bytes_read.load(Ordering::Relaxed));
        Ok(())
    }

    /// Reports a batch stored meanwhile, and sends the incidents waiting to the store once
    /// they fill a batch or have waited [`MAX_COMMIT_DELAY`]. Called for every chunk, and when
    /// no chunk came for [`IDLE_TICK`]: without that, a scan of a pipe that falls silent
    /// (`tail -f … | iamwatch scan -`) showed nothing more until more input came.
    pub(super) fn commit_when_due(&mut self) -> Result<(), ScanError> {
        self.committer.poll(self.sink, &mut self.report)?;
        let full = self.pending.len() >= self.batch_size;
        if full && self.committer.in_flight {
            // The store is the slower side: wait for it, so memory stays bounded.
            self.committer.wait(self.sink, &mut self.report)?;
        }
        let due =
            full || (!self.pending.is_empty() && self.last_commit.elapsed() >= MAX_COMMIT_DELAY);
        if due && !self.committer.in_flight {
            self.committer.send(&mut self.pending)?;
            self.last_commit = Instant::now();
        }
        Ok(())
    }

    /// What is done while no chunk comes: commits what is due, and shows what was stored (the
    /// sink flushes its output on progress; without it, incidents reported here stayed in the
    /// output buffer until more input came).
    fn tick(&mut self) -> Result<(), ScanError> {
        self.commit_when_due()?;
        self.sink.progress(self.bytes_read.load(Ordering::Relaxed));
        Ok(())
    }

    /// Stores what is left and returns the report.
    pub(super) fn finish(mut self) -> Result<ScanReport, ScanError> {
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

/// How long the collector waits for a chunk before it looks at the store and the clock.
pub(super) const IDLE_TICK: Duration = Duration::from_millis(100);

/// The next chunk from `chunks`, seeing to the collector whenever none comes for a while;
/// `None` once the sender is gone.
pub(super) fn next_chunk<T>(
    chunks: &Receiver<T>,
    collector: &mut Collector<'_>,
) -> Result<Option<T>, ScanError> {
    loop {
        match chunks.recv_timeout(IDLE_TICK) {
            Ok(chunk) => return Ok(Some(chunk)),
            Err(mpsc::RecvTimeoutError::Timeout) => collector.tick()?,
            Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(None),
        }
    }
}

/// Stores batches on a thread of its own, one at a time, so the collector keeps draining the
/// workers while a commit waits for its fsync; results are reported in the order sent.
pub(super) struct Committer {
    pub(super) batches: SyncSender<Vec<Incident>>,
    pub(super) stored: Receiver<Result<Vec<Stored>, StoreError>>,
    /// A batch was sent and its result not yet reported.
    pub(super) in_flight: bool,
}

impl Committer {
    fn send(&mut self, pending: &mut Vec<Incident>) -> Result<(), ScanError> {
        debug_assert!(!self.in_flight, "one batch in flight at a time");
        // The next batch gets the room this one had: incidents are about a kilobyte each, and
        // a batch grown from nothing by doubling moved each of them again.
        let room = pending.capacity();
        self.batches
            .send(std::mem::replace(pending, Vec::with_capacity(room)))
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
            Ok(result) => self.report_stored(result, sink, report),
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
            Ok(result) => self.report_stored(result, sink, report),
            Err(_) => Err(ScanError::StoreThread),
        }
    }

    /// Reports a stored batch (or its failure) and frees the slot for the next one.
    fn report_stored(
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
            // A severity's name is allocated once per scan, not once per incident.
            let severity = entry.incident.severity.as_str();
            match report.by_severity.get_mut(severity) {
                Some(count) => *count += 1,
                None => {
                    report.by_severity.insert(severity.to_string(), 1);
                }
            }
            sink.incident(entry);
        }
        Ok(())
    }
}
