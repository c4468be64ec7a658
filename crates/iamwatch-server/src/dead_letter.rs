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
