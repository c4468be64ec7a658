//! One spare byte buffer per thread, so that reading file after file reuses memory.
//!
//! A scan inflates thousands of small gzip files, each into a buffer of a megabyte or two.
//! A fresh buffer per file is zeroed and then faulted in page by page; the profile showed the
//! zeroing alone at 2% of a scan's instructions and the page faults as kernel time besides.
//! A buffer handed back here when its file is done is taken again by the next file on the
//! same thread, and only the part the next file needs beyond it is zeroed.

use std::cell::RefCell;

/// Larger buffers are let go rather than kept: one unusually large file should not pin its
/// memory for the rest of the scan.
pub const KEEP_AT_MOST: usize = 8 * 1024 * 1024;

thread_local! {
    static SPARE: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A buffer of exactly `len` bytes. Its content is unspecified (what a previous file left, or
/// zeros): callers overwrite all of it.
pub fn take(len: usize) -> Vec<u8> {
    let mut buffer = SPARE.with(|spare| std::mem::take(&mut *spare.borrow_mut()));
    // Shrinking keeps the allocation; growing zeroes only the new part.
    buffer.resize(len, 0);
    buffer
}

/// Hands a buffer back for the next [`take`] on this thread. The larger of the spare and
/// `buffer` is kept, unless it is over [`KEEP_AT_MOST`].
pub fn give_back(buffer: Vec<u8>) {
    if buffer.capacity() > KEEP_AT_MOST {
        return;
    }
    SPARE.with(|spare| {
        let mut spare = spare.borrow_mut();
        if buffer.capacity() > spare.capacity() {
            *spare = buffer;
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_buffer_given_back_is_taken_again_without_a_new_allocation() {
        let mut first = take(1000);
        first[0] = 7;
        let address = first.as_ptr();
        give_back(first);
        let second = take(800);
        assert_eq!(second.len(), 800);
        assert_eq!(second.as_ptr(), address, "the spare was reused");
        // Taken: the next one is fresh.
        let third = take(10);
        assert_ne!(third.as_ptr(), address);
    }

    #[test]
    fn growing_a_spare_zeroes_only_what_is_new_and_lengths_are_exact() {
        give_back(vec![1u8; 4]);
        let grown = take(8);
        assert_eq!(grown, [1, 1, 1, 1, 0, 0, 0, 0]);
    }

    #[test]
    fn the_larger_buffer_is_kept_and_huge_ones_are_let_go() {
        give_back(Vec::with_capacity(100));
        give_back(Vec::with_capacity(10));
        assert!(take(0).capacity() >= 100, "the larger of the two stays");
        give_back(Vec::with_capacity(KEEP_AT_MOST + 1));
        assert_eq!(take(0).capacity(), 0, "an over-large buffer is not kept");
    }

    #[test]
    fn each_thread_has_its_own_spare() {
        give_back(Vec::with_capacity(64));
        let elsewhere = std::thread::spawn(|| take(0).capacity()).join().unwrap();
        assert_eq!(elsewhere, 0);
        assert!(take(0).capacity() >= 64);
    }
}
