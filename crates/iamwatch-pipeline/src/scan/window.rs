//! How far workers may run ahead of the collector: inputs (or, for a single input, batches)
//! are numbered in order, and a worker waits before taking one too far past the collector.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex};

pub(super) struct Window {
    /// Index of the input the collector is draining.
    base: Mutex<usize>,
    moved: Condvar,
    abort: AtomicBool,
}

impl Window {
    pub(super) fn new() -> Self {
        Self {
            base: Mutex::new(0),
            moved: Condvar::new(),
            abort: AtomicBool::new(false),
        }
    }

    /// The collector has taken everything before `index`.
    pub(super) fn advance_to(&self, index: usize) {
        if let Ok(mut base) = self.base.lock() {
            *base = index;
        }
        self.moved.notify_all();
    }

    /// Blocks until number `index` is within `size` of the collector; false when the scan is
    /// aborting.
    pub(super) fn wait_for_turn(&self, index: usize, size: usize) -> bool {
        let Ok(mut base) = self.base.lock() else {
            return false;
        };
        while index >= *base + size {
            if self.abort.load(Ordering::SeqCst) {
                return false;
            }
            base = match self.moved.wait(base) {
                Ok(base) => base,
                Err(_) => return false,
            };
        }
        !self.abort.load(Ordering::SeqCst)
    }

    /// Wakes every waiting worker to stop.
    pub(super) fn abort(&self) {
        self.abort.store(true, Ordering::SeqCst);
        self.moved.notify_all();
    }
}
