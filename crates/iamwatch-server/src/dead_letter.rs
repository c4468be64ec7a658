//! Unreadable input, kept: one JSON object per line (where, why, and the raw text).

use iamwatch_pipeline::BadRecord;
use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, PoisonError};

#[derive(Clone, Debug)]
pub struct DeadLetter {
    path: PathBuf,
    /// Serialises writers so lines never interleave.
    file: Arc<Mutex<Option<std::fs::File>>>,
}

impl DeadLetter {
    pub fn new(path: PathBuf) -> Self {
        Self {
            path,
            file: Arc::new(Mutex::new(None)),
        }
    }

    pub fn path(&self) -> &std::path::Path {
        &self.path
    }

    /// Appends `records` and syncs them to disk (blocking; call from a blocking context).
    ///
    /// # Errors
    /// The I/O error when the file cannot be opened or written.
    pub fn keep<'r>(
        &self,
        records: impl IntoIterator<Item = &'r BadRecord>,
    ) -> std::io::Result<()> {
        let mut text = Vec::new();
        for record in records {
            serde_json::to_writer(&mut text, record).map_err(std::io::Error::other)?;
            text.push(b'\n');
        }
        if text.is_empty() {
            return Ok(());
        }
        let mut guard = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        // The file moved away or deleted since it was opened (logrotate, a person clearing it):
        // the next lines go to a new file at the path, not after the rotated ones or into a
        // deleted file where no one would find them.
        if guard
            .as_ref()
            .is_some_and(|file| !still_at_path(file, &self.path))
        {
            *guard = None;
        }
        if guard.is_none() {
            *guard = Some(
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(&self.path)?,
            );
        }
        let file = guard
            .as_mut()
            .ok_or_else(|| std::io::Error::other("unreachable"))?;
        file.write_all(&text)?;
        file.sync_data()
    }
}

/// Whether `file` is still the file at `path` (the same device and inode).
#[cfg(unix)]
fn still_at_path(file: &std::fs::File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn still_at_path(_file: &std::fs::File, path: &std::path::Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad(reason: &str) -> BadRecord {
        BadRecord::new("request-1", Some(1), Some(0), reason)
    }

    fn reasons(path: &std::path::Path) -> Vec<String> {
        std::fs::read_to_string(path)
            .unwrap()
            .lines()
            .map(|line| {
                let value: serde_json::Value = serde_json::from_str(line).unwrap();
                value["reason"].as_str().unwrap().to_string()
            })
            .collect()
    }

    #[test]
    fn a_rotated_or_deleted_file_is_followed_by_a_new_one_at_its_path() {
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().join("deadletter.jsonl");
        let dead_letter = DeadLetter::new(path.clone());
        dead_letter.keep(&[bad("first")]).unwrap();
        dead_letter.keep(&[bad("second")]).unwrap();
        // logrotate's way: moved aside, a new file made at the path by the next write.
        let rotated = directory.path().join("deadletter.jsonl.1");
        std::fs::rename(&path, &rotated).unwrap();
        dead_letter.keep(&[bad("third")]).unwrap();
        assert_eq!(reasons(&rotated), ["first", "second"]);
        assert_eq!(reasons(&path), ["third"]);
        // Deleted: the next line is not written into the deleted file.
        std::fs::remove_file(&path).unwrap();
        dead_letter.keep(&[bad("fourth")]).unwrap();
        assert_eq!(reasons(&path), ["fourth"]);
    }
}
