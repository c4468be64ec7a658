//! What is owed to each destination, kept in a file so that a process killed with notifications
//! still queued or being retried sends them when it starts again.
//!
//! The committer writes what it owes each destination before it stores a batch; what was sent,
//! given up on (after every retry), or turned out not to be new is written off once done. One
//! line per entry, appended a batch at a time. What is owed is synced to the disk before the
//! batch is stored, as the store syncs the batch: a machine that loses power after the store's
//! commit still owes its notifications when it starts again. Write-offs are not synced (one
//! lost sends a notification twice, never none). The file is rewritten with only what is still
//! owed once it grows past [`COMPACT_BYTES`], and emptied when nothing is owed, so it stays the
//! size of what is in flight; a rewritten file is synced before it replaces the old, and the
//! folder after.

use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::HashMap;
use std::collections::HashSet;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Rewritten past this size (a few thousand incidents' lines).
const COMPACT_BYTES: u64 = 1 << 20;

/// An incident owed to a destination (by its `[[notify]]` name).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Owed {
    pub destination: String,
    pub incident_id: String,
}

#[derive(Debug, thiserror::Error)]
#[error("notification outbox {}: {source}", path.display())]
pub struct OutboxError {
    path: PathBuf,
    source: std::io::Error,
}

/// One line of the file.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Line<'a> {
    Owe {
        #[serde(borrow)]
        destination: Cow<'a, str>,
        #[serde(borrow)]
        incident_id: Cow<'a, str>,
    },
    Done {
        #[serde(borrow)]
        destination: Cow<'a, str>,
        #[serde(borrow)]
        incident_id: Cow<'a, str>,
    },
}

pub struct Outbox {
    path: PathBuf,
    state: Mutex<State>,
    /// Held while this process owns the outbox: two processes writing one outbox would each
    /// rewrite away what the other owes. (A lock of its own: the outbox itself is replaced
    /// when rewritten.)
    _lock: File,
}

struct State {
    file: File,
    written: u64,
    /// What is owed, with how many times (an incident delivered twice in one batch is owed
    /// twice, and written off twice).
    owed: HashMap<Owed, u32>,
}

impl Outbox {
    /// Opens the outbox at `path` (made if missing) and returns what an earlier process still
    /// owed, oldest first. A line that cannot be read (the last one, torn by a kill) is passed
    /// over.
    ///
    /// # Errors
    /// [`OutboxError`] naming the file when it cannot be read or written.
    pub fn open(path: &Path) -> Result<(Self, Vec<Owed>), OutboxError> {
        let error = |source| OutboxError {
            path: path.to_path_buf(),
            source,
        };
        let lock = lock(path).map_err(error)?;
        let mut owed: HashMap<Owed, u32> = HashMap::new();
        let mut order: Vec<Owed> = Vec::new();
        let mut listed: HashSet<Owed> = HashSet::new();
        match File::open(path) {
            Ok(file) => {
                for line in BufReader::new(file).lines() {
                    let line = line.map_err(error)?;
                    match serde_json::from_str::<Line<'_>>(&line) {
                        Ok(Line::Owe {
                            destination,
                            incident_id,
                        }) => {
                            let key = owed_key(&destination, &incident_id);
                            *owed.entry(key.clone()).or_default() += 1;
                            if listed.insert(key.clone()) {
                                order.push(key);
                            }
                        }
                        Ok(Line::Done {
                            destination,
                            incident_id,
                        }) => write_off(&mut owed, &owed_key(&destination, &incident_id)),
                        Err(_) => {
                            tracing::warn!(path = %path.display(), "a line of the notification outbox cannot be read; passed over");
                        }
                    }
                }
            }
            Err(missing) if missing.kind() == std::io::ErrorKind::NotFound => {}
            Err(other) => return Err(error(other)),
        }
        order.retain(|key| owed.contains_key(key));
        // Each still owed once: what comes of it is written off once.
        let owed: HashMap<Owed, u32> = order.iter().map(|key| (key.clone(), 1)).collect();
        let (file, written) = rewrite(path, &owed).map_err(error)?;
        let outbox = Self {
            path: path.to_path_buf(),
            state: Mutex::new(State {
                file,
                written,
                owed,
            }),
            _lock: lock,
        };
        Ok((outbox, order))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Owes each incident to its destinations.
    pub fn owe<'a>(&self, entries: impl IntoIterator<Item = (&'a str, &'a str)>) {
        self.append(entries, true);
    }

    /// Writes off what was sent, given up on, or is not owed after all.
    pub fn done<'a>(&self, entries: impl IntoIterator<Item = (&'a str, &'a str)>) {
        self.append(entries, false);
    }

    /// How many (destination, incident) pairs are owed.
    pub fn owed(&self) -> usize {
        self.lock().owed.len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn append<'a>(&self, entries: impl IntoIterator<Item = (&'a str, &'a str)>, owe: bool) {
        let mut state = self.lock();
        let mut text = String::new();
        for (destination, incident_id) in entries {
            let key = owed_key(destination, incident_id);
            let line = if owe {
                *state.owed.entry(key).or_default() += 1;
                Line::Owe {
                    destination: Cow::Borrowed(destination),
                    incident_id: Cow::Borrowed(incident_id),
                }
            } else {
                if !state.owed.contains_key(&key) {
                    continue;
                }
                write_off(&mut state.owed, &key);
                Line::Done {
                    destination: Cow::Borrowed(destination),
                    incident_id: Cow::Borrowed(incident_id),
                }
            };
            // Strings only: nothing fails to serialise.
            text.push_str(&serde_json::to_string(&line).unwrap_or_default());
            text.push('\n');
        }
        if text.is_empty() {
            return;
        }
        let state = &mut *state;
        // Nothing owed: emptied where it is (no sync: should the emptying be lost, what it
        // held was sent and is sent again, never lost). A rename instead would have to sync
        // the folder too, for what is appended after it to be found.
        if state.owed.is_empty() {
            match state.file.set_len(0) {
                Ok(()) => {
                    state.written = 0;
                    return;
                }
                Err(error) => {
                    tracing::error!(path = %self.path.display(), %error, "cannot empty the notification outbox");
                }
            }
        }
        if state.written > COMPACT_BYTES {
            match rewrite(&self.path, &state.owed) {
                Ok((file, written)) => {
                    state.file = file;
                    state.written = written;
                    return;
                }
                Err(error) => {
                    tracing::error!(path = %self.path.display(), %error, "cannot rewrite the notification outbox");
                }
            }
        }
        let written = state.file.write_all(text.as_bytes());
        if written.is_ok() {
            state.written += text.len() as u64;
        }
        match written.and_then(|()| if owe { state.file.sync_data() } else { Ok(()) }) {
            Ok(()) => {}
            Err(error) => {
                tracing::error!(path = %self.path.display(), %error, "cannot write the notification outbox: a restart may not send what is owed");
            }
        }
    }
}

/// `<outbox>.lock`, locked for this process (released when it ends, however it ends).
fn lock(path: &Path) -> std::io::Result<File> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let file = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(PathBuf::from(name))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
            std::io::ErrorKind::WouldBlock,
            "another process (a second `serve`?) uses this outbox; give each its own `notify_outbox`",
        )),
        Err(std::fs::TryLockError::Error(error)) => Err(error),
    }
}

fn owed_key(destination: &str, incident_id: &str) -> Owed {
    Owed {
        destination: destination.to_string(),
        incident_id: incident_id.to_string(),
    }
}

fn write_off(owed: &mut HashMap<Owed, u32>, key: &Owed) {
    if let Some(count) = owed.get_mut(key) {
        *count -= 1;
        if *count == 0 {
            owed.remove(key);
        }
    }
}

/// The file with only what is `owed` (written beside it, then renamed over it: a kill in
/// between leaves the old file, which says more, never less), open for appending.
fn rewrite(path: &Path, owed: &HashMap<Owed, u32>) -> std::io::Result<(File, u64)> {
    let mut text = String::new();
    for (key, count) in owed {
        let line = serde_json::to_string(&Line::Owe {
            destination: Cow::Borrowed(&key.destination),
            incident_id: Cow::Borrowed(&key.incident_id),
        })
        .unwrap_or_default();
        for _ in 0..*count {
            text.push_str(&line);
            text.push('\n');
        }
    }
    let mut staged = path.as_os_str().to_owned();
    staged.push(".new");
    let staged = PathBuf::from(staged);
    let mut file = File::create(&staged)?;
    file.write_all(text.as_bytes())?;
    file.sync_data()?;
    std::fs::rename(&staged, path)?;
    // The rename itself, kept by syncing the folder.
    if let Some(folder) = path
        .parent()
        .filter(|folder| !folder.as_os_str().is_empty())
    {
        File::open(folder)?.sync_all()?;
    }
    let file = OpenOptions::new().append(true).open(path)?;
    Ok((file, text.len() as u64))
}

#[cfg(test)]
mod tests {
    use super::{Outbox, Owed};

    fn owed(destination: &str, incident_id: &str) -> Owed {
        Owed {
            destination: destination.to_string(),
            incident_id: incident_id.to_string(),
        }
    }

    #[test]
    fn what_was_owed_and_not_done_when_a_process_stopped_is_owed_to_the_next() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let (outbox, earlier) = Outbox::open(&path).unwrap();
        assert!(earlier.is_empty());
        outbox.owe([("hook", "inc-1"), ("mail", "inc-1"), ("hook", "inc-2")]);
        outbox.owe([("hook", "inc-3"), ("hook", "inc-3")]);
        outbox.done([("hook", "inc-1"), ("hook", "inc-3"), ("hook", "never-owed")]);
        assert_eq!(outbox.owed(), 3);
        drop(outbox);
        // A line torn by a kill is passed over.
        let mut text = std::fs::read_to_string(&path).unwrap();
        text.push_str("{\"owe\":{\"destin");
        std::fs::write(&path, text).unwrap();

        let (outbox, earlier) = Outbox::open(&path).unwrap();
        assert_eq!(
            earlier,
            [
                owed("mail", "inc-1"),
                owed("hook", "inc-2"),
                owed("hook", "inc-3")
            ]
        );
        // Owed once each now; written off, nothing is left and the file is empty.
        outbox.done([("mail", "inc-1"), ("hook", "inc-2"), ("hook", "inc-3")]);
        assert_eq!(outbox.owed(), 0);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
        drop(outbox);
        assert!(Outbox::open(&path).unwrap().1.is_empty());
    }

    #[test]
    fn the_file_stays_the_size_of_what_is_owed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let (outbox, _) = Outbox::open(&path).unwrap();
        outbox.owe([("hook", "kept")]);
        for n in 0..20_000 {
            let id = format!("inc-{n}");
            outbox.owe([("hook", id.as_str())]);
            outbox.done([("hook", id.as_str())]);
        }
        assert!(
            std::fs::metadata(&path).unwrap().len() < 2 << 20,
            "compacted past a megabyte"
        );
        drop(outbox);
        assert_eq!(Outbox::open(&path).unwrap().1, [owed("hook", "kept")]);
    }

    #[test]
    fn one_outbox_is_one_process_s() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("outbox.jsonl");
        let (held, _) = Outbox::open(&path).unwrap();
        let error = Outbox::open(&path).err().unwrap().to_string();
        assert!(
            error.contains("outbox.jsonl") && error.contains("another process"),
            "{error}"
        );
        drop(held);
        assert!(Outbox::open(&path).is_ok(), "free once its holder is gone");
    }

    #[test]
    fn an_outbox_that_cannot_be_written_is_an_error_naming_it() {
        let error = Outbox::open(std::path::Path::new("/nonexistent/outbox.jsonl"))
            .err()
            .unwrap()
            .to_string();
        assert!(
            error.starts_with("notification outbox /nonexistent/outbox.jsonl: "),
            "{error}"
        );
    }
}
