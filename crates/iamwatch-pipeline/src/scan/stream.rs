//! One input on every core. Files are spread over the workers one file each, but a single input
//! (a day of events piped into stdin, or one large file) has nothing to spread: a reader thread
//! frames it and hands the frames out in batches, workers parse and detect, and the collector
//! takes the batches' results back in order. Standard input always comes this way, even on one
//! core: the reader hands on what came in when the pipe falls silent, where a worker reading
//! a file holds its results until a chunk fills.

use super::collector::{next_chunk, Collector, IDLE_TICK};
use super::read::{frame_problem, handle_item, open_counted};
use super::window::Window;
use super::{Chunk, ScanError, ScanOptions};
use crate::bad_record::BadRecord;
use iamwatch_core::time::now_ms;
use iamwatch_detect::Detector;
use iamwatch_sources::{visit_document, FrameError, Framer, Input, InputData};
use std::collections::BTreeMap;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Mutex};

/// A batch is handed out at this many frames or bytes, whichever comes first: about half a
/// CloudTrail file's worth.
const BATCH_FRAMES: usize = 512;
const BATCH_BYTES: usize = 1024 * 1024;

/// One framed value, or what could not be framed, in input order.
enum Entry {
    Frame {
        range: Range<usize>,
        line: u64,
        index: u64,
        in_records: bool,
    },
    Bad(BadRecord),
}

/// Consecutive frames, copied out of the reader's buffer.
struct Batch {
    bytes: Vec<u8>,
    entries: Vec<Entry>,
}

impl Batch {
    fn empty() -> Self {
        Self {
            bytes: Vec::new(),
            entries: Vec::new(),
        }
    }

    fn new() -> Self {
        Self {
            bytes: Vec::with_capacity(BATCH_BYTES + 64 * 1024),
            entries: Vec::with_capacity(BATCH_FRAMES),
        }
    }
}

/// Batches go back to the reader once worked on and are filled again: a megabyte freed on one
/// thread and allocated on another was not given back to the system, and peak RSS grew by
/// tens of megabytes.
struct Recycled {
    returned: Receiver<Batch>,
}

impl Recycled {
    fn next(&self) -> Batch {
        match self.returned.try_recv() {
            Ok(mut batch) => {
                batch.bytes.clear();
                batch.entries.clear();
                batch
            }
            Err(_) => Batch::new(),
        }
    }
}

/// Scans one input with `cores` workers.
pub(super) fn scan_one(
    input: &Input,
    options: &ScanOptions,
    cores: usize,
    collector: &mut Collector<'_>,
    bytes_read: &Arc<AtomicU64>,
) -> Result<(), ScanError> {
    let source = input.name();
    let data = match open_counted(input, bytes_read) {
        Ok(data) => data,
        Err(error) => {
            let mut chunk = Chunk::default();
            chunk
                .bad
                .push(BadRecord::new(&source, None, None, error.reason()));
            return collector.absorb(chunk);
        }
    };
    let window = Window::new();
    // Batches in flight: queued, being worked on, or waiting for the collector. Two per core
    // keep the cores busy; each is at most a couple of megabytes.
    let in_flight = 2 * cores;
    let (batches, queue) = mpsc::sync_channel::<(usize, Batch)>(cores);
    // Shared by the workers; when the last one stops, the reader's sends fail and it stops too.
    let queue = Arc::new(Mutex::new(queue));
    let (results, collected) = mpsc::channel::<(usize, Chunk)>();
    let (give_back, returned) = mpsc::channel::<Batch>();
    let filling = Mutex::new(Filling {
        batch: Batch::empty(),
        sequence: 0,
        recycled: Recycled { returned },
    });
    let sent = AtomicUsize::new(0);
    let (stop_flusher, stop) = mpsc::channel::<()>();

    std::thread::scope(|scope| {
        let (source, sent, filling) = (&source, &sent, &filling);
        let idle_batches = batches.clone();
        scope.spawn(move || flush_when_idle(&idle_batches, filling, sent, &stop));
        scope.spawn(move || {
            frame_batches(data, source, &batches, filling, sent);
            drop(stop_flusher);
        });
        for _ in 0..cores {
            let (queue, results, window) = (Arc::clone(&queue), results.clone(), &window);
            let give_back = give_back.clone();
            scope.spawn(move || loop {
                let next = queue.lock().ok().and_then(|queue| queue.recv().ok());
                let Some((sequence, batch)) = next else {
                    return;
                };
                if !window.wait_for_turn(sequence, in_flight) {
                    return;
                }
                let mut batch = batch;
                let chunk = process_batch(&mut batch, source, &options.detector);
                let _ = give_back.send(batch); // (the reader may have finished)
                if results.send((sequence, chunk)).is_err() {
                    return;
                }
            });
        }
        drop(queue);
        drop(results);
        drop(give_back);
        let result = collect_in_order(collector, &window, &collected).and_then(|taken| {
            // The reader has finished once every worker has: a batch missing here was lost.
            if taken == sent.load(Ordering::SeqCst) {
                Ok(())
            } else {
                Err(ScanError::Worker(source.clone()))
            }
        });
        window.abort();
        drop(collected);
        result
    })
}

/// The batch the reader is filling, shared with the idle flusher.
struct Filling {
    batch: Batch,
    /// The number the batch will be handed out under; batches handed out so far.
    sequence: usize,
    recycled: Recycled,
}

impl Filling {
    /// The batch being filled, taken from the recycled ones at its first frame.
    fn batch(&mut self) -> &mut Batch {
        if self.batch.bytes.capacity() == 0 {
            self.batch = self.recycled.next();
        }
        &mut self.batch
    }

    /// Hands out the batch being filled, numbered; the next starts empty (no allocation
    /// until its first frame).
    fn take(&mut self) -> (usize, Batch) {
        let sequence = self.sequence;
        self.sequence += 1;
        (sequence, std::mem::replace(&mut self.batch, Batch::empty()))
    }

    /// Takes back a batch handed out by [`Filling::take`] that could not be sent.
    fn put_back(&mut self, (sequence, batch): (usize, Batch)) {
        self.sequence = sequence;
        self.batch = batch;
    }
}

/// The reader: frames `data` into batches, numbered in input order. A batch is handed out
/// when full, at the end, and by [`flush_when_idle`] when the input falls silent.
fn frame_batches(
    data: InputData,
    source: &str,
    batches: &SyncSender<(usize, Batch)>,
    filling: &Mutex<Filling>,
    sent: &AtomicUsize,
) {
    let lock = || {
        filling
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    };
    let hand_out = |numbered: (usize, Batch)| {
        let handed = batches.send(numbered).is_ok();
        if handed {
            sent.fetch_add(1, Ordering::SeqCst);
        }
        handed
    };
    let mut framer = Framer::for_input(data);
    while let Some(frame) = framer.next_frame() {
        let mut read_failed = false;
        let mut filling = lock();
        let batch = filling.batch();
        match frame {
            Ok(frame) => {
                let start = batch.bytes.len();
                batch.bytes.extend_from_slice(frame.bytes);
                batch.entries.push(Entry::Frame {
                    range: start..batch.bytes.len(),
                    line: frame.line,
                    index: frame.index,
                    in_records: frame.in_records,
                });
            }
            Err(error) => {
                read_failed = matches!(error, FrameError::Io(_));
                batch.entries.push(Entry::Bad(frame_problem(source, error)));
            }
        }
        if read_failed {
            break;
        }
        if batch.entries.len() >= BATCH_FRAMES || batch.bytes.len() >= BATCH_BYTES {
            let full = filling.take();
            // Not holding the lock while the workers are busy: the flusher only looks.
            drop(filling);
            if !hand_out(full) {
                return;
            }
        }
    }
    let mut filling = lock();
    if !filling.batch.entries.is_empty() {
        let last = filling.take();
        drop(filling);
        hand_out(last);
    }
}

/// While the reader waits for input (a pipe fed as events happen), hands out the frames it
/// has so far: once every [`IDLE_TICK`], a batch that has not grown since the tick before goes
/// to an idle worker. Stops when `stop` is dropped (the reader is done).
fn flush_when_idle(
    batches: &SyncSender<(usize, Batch)>,
    filling: &Mutex<Filling>,
    sent: &AtomicUsize,
    stop: &Receiver<()>,
) {
    // (batch number, frames in it) at the last tick.
    let mut last_seen = (usize::MAX, 0);
    while let Err(mpsc::RecvTimeoutError::Timeout) = stop.recv_timeout(IDLE_TICK) {
        let Ok(mut filling) = filling.lock() else {
            return;
        };
        let seen = (filling.sequence, filling.batch.entries.len());
        let idle = seen == last_seen && seen.1 > 0;
        last_seen = seen;
        if !idle {
            continue;
        }
        match batches.try_send(filling.take()) {
            Ok(()) => {
                sent.fetch_add(1, Ordering::SeqCst);
            }
            // The workers are busy, so they are not waiting for it: it goes with the next.
            Err(mpsc::TrySendError::Full(taken)) => filling.put_back(taken),
            Err(mpsc::TrySendError::Disconnected(_)) => return,
        }
    }
}

fn process_batch(batch: &mut Batch, source: &str, detector: &Detector) -> Chunk {
    let now = now_ms();
    let mut chunk = Chunk::default();
    let Batch { bytes, entries } = batch;
    for entry in entries.drain(..) {
        match entry {
            Entry::Frame {
                range,
                line,
                index,
                in_records,
            } => visit_document(&bytes[range], in_records, &mut |item| {
                handle_item(item, source, line, index, detector, now, &mut chunk)
            }),
            Entry::Bad(bad) => chunk.bad.push(bad),
        }
    }
    chunk
}

/// Hands the workers' results to the collector in batch order; returns how many it took.
fn collect_in_order(
    collector: &mut Collector<'_>,
    window: &Window,
    collected: &Receiver<(usize, Chunk)>,
) -> Result<usize, ScanError> {
    let mut waiting: BTreeMap<usize, Chunk> = BTreeMap::new();
    let mut next = 0;
    while let Some((sequence, chunk)) = next_chunk(collected, collector)? {
        waiting.insert(sequence, chunk);
        while let Some(chunk) = waiting.remove(&next) {
            collector.absorb(chunk)?;
            next += 1;
            window.advance_to(next);
        }
    }
    Ok(next)
}
