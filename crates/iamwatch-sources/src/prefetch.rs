//! Read-ahead for the files a scan is about to open.
//!
//! A day of CloudTrail is a thousand small files, and a scan reads each whole when a worker
//! claims it. A file that is not in the page cache then stops its worker until the disk has
//! delivered it: on the bench machine the workers spent 7% of a scan in that wait (sampled in
//! `D` state, `filemap_read`), because the files the last scan read had since been pushed out
//! of a small page cache by the database it wrote. Told a few files ahead, the kernel reads
//! them while earlier ones are parsed.
//!
//! A file already in the page cache (a second scan of the same day, a day just downloaded) is
//! not hinted: the kernel's read-ahead walks the file's pages to find each one present, about
//! 70 µs for a bench file of 210 KB, which was 1.4% of a warm scan's CPU time. Whether it is
//! cached is asked of its first byte with a read that must not wait (`RWF_NOWAIT`): one system
//! call that fails at once when the disk would be needed.

use crate::Input;

/// Asks the kernel to start reading `input` into the page cache, and returns without waiting.
/// A hint only: anything that goes wrong (a missing file, no permission) is left to the real
/// open to report. Only regular files are opened: opening a named pipe, even without blocking,
/// would let a writer waiting for a reader go on to write into a pipe about to close. Does
/// nothing for standard input or on systems without `posix_fadvise`. A remote input is asked
/// to start fetching.
pub fn prefetch(input: &Input) {
    // An object in S3 starts its download (see `iamwatch-s3`).
    if let Input::Remote(remote) = input {
        remote.prefetch();
        return;
    }
    #[cfg(target_os = "linux")]
    if let Input::File(path) = input {
        use rustix::fs::{fadvise, open, Advice, Mode, OFlags};
        if input.is_stream() {
            return;
        }
        // Non-blocking all the same: the path may have become a pipe since.
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        if let Ok(file) = open(path.as_path(), flags, Mode::empty()) {
            if needs_read_ahead(&file) {
                // A pipe answers ESPIPE, which is as good as done.
                let _ = fadvise(&file, 0, None, Advice::WillNeed);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = input;
}

/// False when the file's first byte can be read without waiting for the disk. A file is read
/// (or written) in order and its pages age in that order, the first oldest: while the first is
/// still cached, the rest are, or a read-ahead already under way is bringing them. True when it
/// cannot be read so, and whenever the answer is not known (an empty file, a file system that
/// refuses `RWF_NOWAIT`), so that the hint is given as before.
#[cfg(target_os = "linux")]
fn needs_read_ahead(file: &impl std::os::fd::AsFd) -> bool {
    use rustix::io::{preadv2, ReadWriteFlags};
    let mut byte = [0u8; 1];
    let mut buffers = [std::io::IoSliceMut::new(&mut byte)];
    preadv2(file, &mut buffers, 0, ReadWriteFlags::NOWAIT) != Ok(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    /// Runs `prefetch` on another thread and answers whether it returned within a second.
    fn returns_promptly(input: Input) -> bool {
        let (done, finished) = mpsc::channel();
        std::thread::spawn(move || {
            prefetch(&input);
            let _ = done.send(());
        });
        finished.recv_timeout(Duration::from_secs(1)).is_ok()
    }

    #[test]
    fn a_file_is_hinted_and_its_content_is_still_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("trail.json");
        std::fs::write(&path, br#"{"Records":[]}"#).unwrap();
        assert!(returns_promptly(Input::File(path.clone())));
        assert_eq!(std::fs::read(&path).unwrap(), br#"{"Records":[]}"#);
    }

    /// A cached file is not hinted again; once its pages are dropped from the cache, it is.
    #[cfg(target_os = "linux")]
    #[test]
    fn only_a_file_out_of_the_page_cache_is_read_ahead() {
        use rustix::fs::{fadvise, Advice};
        // Beside the sources rather than in the temporary directory, which is often tmpfs:
        // tmpfs pages live only in the cache and are never dropped on request.
        let dir = tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        let path = dir.path().join("trail.json.gz");
        std::fs::write(&path, vec![b'x'; 256 * 1024]).unwrap();
        let file = std::fs::File::open(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 256 * 1024);
        assert!(!needs_read_ahead(&file), "a file just read whole is cached");
        // Clean pages are dropped on request once written out. The kernel may keep a page a
        // moment longer (one held by another CPU's batch of new pages, seen once under CI's
        // load): the request is made again until it is dropped, which is then what is tested.
        file.sync_all().unwrap();
        let drop_pages = |length: Option<std::num::NonZeroU64>| {
            for _ in 0..100 {
                fadvise(&file, 0, length, Advice::DontNeed).unwrap();
                if needs_read_ahead(&file) {
                    return true;
                }
                std::thread::sleep(std::time::Duration::from_millis(10));
            }
            false
        };
        assert!(drop_pages(None), "its pages were dropped");
        // The hint brings it back (asynchronously); reading it does for certain.
        prefetch(&Input::File(path.clone()));
        assert_eq!(std::fs::read(&path).unwrap().len(), 256 * 1024);
        assert!(!needs_read_ahead(&file));
        // Pages leave the cache oldest first, and the first page is read first.
        assert!(
            drop_pages(std::num::NonZeroU64::new(4096)),
            "its first page was dropped"
        );
        let empty = dir.path().join("empty.json");
        std::fs::write(&empty, b"").unwrap();
        assert!(needs_read_ahead(&std::fs::File::open(&empty).unwrap()));
    }

    #[test]
    fn missing_files_and_stdin_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        assert!(returns_promptly(Input::File(dir.path().join("gone.json"))));
        assert!(returns_promptly(Input::Stdin));
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn a_named_pipe_is_left_alone_and_never_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("events.fifo");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            fifo.as_path(),
            rustix::fs::FileType::Fifo,
            rustix::fs::Mode::RUSR | rustix::fs::Mode::WUSR,
            0,
        )
        .unwrap();
        // A writer waiting for a reader, as `tail -f trail.json > events.fifo` does.
        let (opened, writer_opened) = mpsc::channel();
        let writer_path = fifo.clone();
        std::thread::spawn(move || {
            let writer = std::fs::OpenOptions::new().write(true).open(&writer_path);
            let _ = opened.send(writer.is_ok());
        });
        std::thread::sleep(Duration::from_millis(50));
        assert!(returns_promptly(Input::File(fifo.clone())));
        // Had the pipe been opened for reading, however briefly, the writer would be through.
        assert!(writer_opened
            .recv_timeout(Duration::from_millis(300))
            .is_err());
        // The scan's own open lets it through.
        let _reader = std::fs::File::open(&fifo).unwrap();
        assert_eq!(writer_opened.recv_timeout(Duration::from_secs(5)), Ok(true));
    }
}
