//! Many inputs: workers claim files in order and process one at a time, sending their results
//! in small chunks over a bounded channel of their own; the collector drains the files'
//! channels strictly in order.

use super::collector::{next_chunk, Collector};
use super::read::scan_input;
use super::window::Window;
use super::{Chunk, ScanError, ScanOptions};
use iamwatch_sources::{prefetch, Input};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;

/// How many files ahead of the one a worker claims the kernel is asked to read (see
/// `iamwatch_sources::prefetch`): a worker spends about 6 ms on a file, so with two workers
/// eight files ahead give a cold file some 25 ms to arrive before it is wanted.
const READ_AHEAD: usize = 8;
/// The same for objects in S3, whose first byte comes tens of milliseconds after the request:
/// at eight ahead the scan waits on S3's latency instead of reading (6.6 s against 4.1 to 4.4 s
/// for the bench's files with 50 ms added to each request). Downloads ahead cost memory beyond
/// their bytes (not traced; the connections' buffers, likely): 64 ahead peaked at 91 to 93 MB
/// there, 32 at 81 to 84 MB, eight at 60 MB. The S3 source's budget bounds the bytes fetched
/// ahead whatever this count.
const REMOTE_READ_AHEAD: usize = 32;

fn read_ahead(inputs: &[Input]) -> usize {
    if inputs.iter().any(|input| matches!(input, Input::Remote(_))) {
        REMOTE_READ_AHEAD
    } else {
        READ_AHEAD
    }
}

/// Files spread over `cores` workers, one file at a time each.
pub(super) fn scan_files(
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
    let ahead = read_ahead(inputs);
    for input in inputs.iter().take(ahead) {
        prefetch(input);
    }

    std::thread::scope(|scope| {
        for _ in 0..jobs {
            let register = register.clone();
            let (window, next_input, bytes_read) = (&window, &next_input, Arc::clone(bytes_read));
            scope.spawn(move || loop {
                let index = next_input.fetch_add(1, Ordering::SeqCst);
                if index >= inputs.len() || !window.wait_for_turn(index, options.window.max(1)) {
                    return;
                }
                // Each file is hinted once, by the worker that claims the one this far before it.
                if let Some(next) = inputs.get(index + ahead) {
                    prefetch(next);
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
        while let Some(chunk) = next_chunk(&chunks, collector)? {
            collector.absorb(chunk)?;
        }
        window.advance_to(index + 1);
    }
    Ok(())
}
