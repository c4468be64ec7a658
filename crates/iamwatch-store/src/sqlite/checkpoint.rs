//! Bulk loads (`iamwatch scan`): the WAL is copied into the database on a thread of its own.
//!
//! With SQLite's own checkpoints the writer stops every hundred megabytes or so to copy the
//! WAL into the database and sync both files, and with `synchronous=FULL` it waits for the
//! disk at every commit; the whole scan waits with it. Here the writer commits
//! without syncing (`synchronous=NORMAL`: a kill -9 loses nothing, a power cut at most the
//! commits since the last checkpoint, which a re-scan restores without duplicates) and never
//! checkpoints; this thread does, on a connection of its own, while the writer goes on.
//! [`super::SqliteStore::sync`] ends it and syncs everything once the scan is done.

use rusqlite::Connection;
use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;

/// When the background thread copies the WAL, and when it makes the writer wait.
#[derive(Clone, Copy, Debug)]
pub(crate) struct CheckpointPolicy {
    /// Incidents committed between two checkpoints. Each checkpoint copies every page changed
    /// since the last one, and the index pages change in every batch: a checkpoint after every
    /// commit would copy them once per batch.
    pub every_incidents: usize,
    /// WAL frames (32 KB pages) past which the thread blocks the writer until the WAL is copied
    /// whole and starts again from its beginning. A WAL restarts by itself only when the
    /// writer begins a transaction after a checkpoint copied everything, which a busy writer
    /// rarely lets happen; this bounds the WAL, and slows the scan to what the disk can take.
    pub wal_cap_frames: i64,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            every_incidents: 8_192,
            // 128 MB, the most SQLite's own checkpoint at 4,000 pages left in the WAL.
            wal_cap_frames: 4_000,
        }
    }
}

/// The background checkpoint thread; stopping it (or dropping it) waits for it to finish.
#[derive(Debug)]
pub(crate) struct Checkpointer {
    commits: Mutex<Option<Sender<usize>>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

impl Checkpointer {
    pub(crate) fn start(connection: Connection, policy: CheckpointPolicy) -> std::io::Result<Self> {
        let (commits, received) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("iamwatch-checkpoint".to_string())
            .spawn(move || run(&connection, &received, policy))?;
        Ok(Self {
            commits: Mutex::new(Some(commits)),
            thread: Mutex::new(Some(thread)),
        })
    }

    /// The writer committed this many incidents.
    pub(crate) fn committed(&self, incidents: usize) {
        if let Ok(commits) = self.commits.lock() {
            if let Some(commits) = commits.as_ref() {
                // A stopped thread has nothing left to do with the count.
                let _ = commits.send(incidents);
            }
        }
    }

    /// Ends the thread (after the checkpoint it may be running) and waits for it.
    pub(crate) fn stop(&self) {
        if let Ok(mut commits) = self.commits.lock() {
            commits.take();
        }
        let thread = self.thread.lock().ok().and_then(|mut thread| thread.take());
        if let Some(thread) = thread {
            // A panic on that thread has already been reported by the panic hook.
            let _ = thread.join();
        }
    }
}

impl Drop for Checkpointer {
    fn drop(&mut self) {
        self.stop();
    }
}

fn run(connection: &Connection, commits: &Receiver<usize>, policy: CheckpointPolicy) {
    let mut since_checkpoint = 0usize;
    while let Ok(incidents) = commits.recv() {
        since_checkpoint += incidents + commits.try_iter().sum::<usize>();
        if since_checkpoint < policy.every_incidents {
            continue;
        }
        since_checkpoint = 0;
        // A failed checkpoint leaves the WAL longer; the next one, or the final sync, copies it.
        let _ = catch_up(connection, policy);
    }
}

/// Copies the WAL until a checkpoint finds nothing new to copy: then no commit landed while it
/// ran, and the writer's next transaction starts the WAL again from its beginning. Only a WAL
/// past the cap makes the writer wait.
pub(crate) fn catch_up(
    connection: &Connection,
    policy: CheckpointPolicy,
) -> rusqlite::Result<Frames> {
    let mut frames = checkpoint(connection, "PASSIVE")?;
    for _ in 0..MAX_CATCH_UP_ROUNDS {
        let again = checkpoint(connection, "PASSIVE")?;
        let caught_up = again == frames;
        frames = again;
        if caught_up || frames.busy {
            break;
        }
    }
    if frames.in_wal >= policy.wal_cap_frames {
        frames = checkpoint(connection, "RESTART")?;
    }
    Ok(frames)
}

/// Each round copies what was committed during the one before, a fraction of it.
const MAX_CATCH_UP_ROUNDS: usize = 4;

/// What `PRAGMA wal_checkpoint` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Frames {
    /// It could not finish: a reader or the writer held it back.
    pub busy: bool,
    pub in_wal: i64,
    pub copied: i64,
}

pub(crate) fn checkpoint(connection: &Connection, mode: &str) -> rusqlite::Result<Frames> {
    connection.query_row(&format!("PRAGMA wal_checkpoint({mode})"), [], |row| {
        Ok(Frames {
            busy: row.get::<_, i64>(0)? != 0,
            in_wal: row.get(1)?,
            copied: row.get(2)?,
        })
    })
}
