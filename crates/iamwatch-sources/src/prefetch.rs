//! Read-ahead for the files a scan is about to open.
//!
//! A day of CloudTrail is a thousand small files, and a scan reads each whole when a worker
//! claims it. A file that is not in the page cache then stops its worker until the disk has
//! delivered it: on the bench machine the workers spent 7% of a scan in that wait (sampled in
//! `D` state, `filemap_read`), because the files the last scan read had since been pushed out
//! of a small page cache by the database it wrote. Told a few files ahead, the kernel reads
//! them while earlier ones are parsed.

use crate::Input;

/// Asks the kernel to start reading `input` into the page cache, and returns without waiting.
/// A hint only: anything that goes wrong (a missing file, no permission) is left to the real
/// open to report. Only regular files are opened: opening a named pipe, even without blocking,
/// would let a writer waiting for a reader go on to write into a pipe about to close. Does
/// nothing for standard input or on systems without `posix_fadvise`.
pub fn prefetch(input: &Input) {
    #[cfg(target_os = "linux")]
    if let Input::File(path) = input {
        use rustix::fs::{fadvise, open, Advice, Mode, OFlags};
        if input.is_stream() {
            return;
        }
        // Non-blocking all the same: the path may have become a pipe since.
        let flags = OFlags::RDONLY | OFlags::NONBLOCK | OFlags::CLOEXEC;
        if let Ok(file) = open(path.as_path(), flags, Mode::empty()) {
            // A pipe answers ESPIPE, which is as good as done.
            let _ = fadvise(&file, 0, None, Advice::WillNeed);
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = input;
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
