//! Raw events, compressed with a dictionary of the database's own.
//!
//! The raw event is half of a stored incident's bytes (about 1.5 KB of 3 KB), and a bulk scan
//! is bound by what it writes: every page goes to the WAL, then into the database. CloudTrail
//! records repeat each other (field names, ARNs, account ids, user agents), but one record is
//! too short for a compressor to learn that from: zstd alone makes it 57% of its size, lz4 75%.
//! With a dictionary trained on a batch of the same trail, zstd makes it 14 to 16%. So the first
//! batch holding at least [`MIN_SAMPLES`] raw events trains a dictionary, stored in
//! `raw_dictionaries` in the same transaction, and every raw event stored after it is a zstd
//! frame (a BLOB) whose header names its dictionary by id. Batches before that (a quiet
//! `serve`, a short scan) store the event as text, as a database from before this did.

use rusqlite::types::ValueRef;
use rusqlite::{params, Connection, OptionalExtension};
use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};
use zstd::bulk::{Compressor, Decompressor};
use zstd::zstd_safe;

/// Raw events a batch must hold for a dictionary to be trained on it, and the number it is
/// trained on. Training time grows with them: on generated records, 256 took 23 ms and made
/// frames of 15.0%, 1,024 took 81 ms for 14.4% (a fresh database's scan pays it once).
pub const MIN_SAMPLES: usize = 256;
/// On generated trails, 32 KB made frames a tenth smaller than 8 KB, for no slower compression.
const DICTIONARY_BYTES: usize = 32 * 1024;
/// Level 1 compressed at 670 MB/s to 14.4% on one core here; level 3 to 13.9% at 560 MB/s.
const LEVEL: i32 = 1;
/// A frame claiming more than this is corrupt: a CloudTrail record is at most a few hundred KB.
const MAX_RAW_BYTES: u64 = 64 << 20;

/// One per store: the writer's compressor and every connection's decompressors.
pub struct RawCodec {
    encoder: Mutex<Encoder>,
    decoders: Mutex<HashMap<u32, Decompressor<'static>>>,
}

enum Encoder {
    /// The database not looked at yet, or the batch that trained a dictionary rolled back.
    Unknown,
    /// The database holds no dictionary, and this process has not trained one.
    Absent,
    /// Frames name the dictionary themselves (zstd writes its id in each frame's header).
    Ready(Box<Compressor<'static>>),
    /// Training failed; raw events stay text in this process.
    Failed,
}

impl Default for RawCodec {
    fn default() -> Self {
        Self {
            encoder: Mutex::new(Encoder::Unknown),
            decoders: Mutex::new(HashMap::new()),
        }
    }
}

impl std::fmt::Debug for RawCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawCodec").finish_non_exhaustive()
    }
}

impl RawCodec {
    /// The encoder for a batch about to be written in `transaction`, which must hold the write
    /// lock: the dictionary stored last, or one trained on `raws` and stored with the batch.
    pub fn for_batch<'r>(
        &self,
        transaction: &Connection,
        raws: impl Iterator<Item = &'r str>,
    ) -> rusqlite::Result<BatchEncoder<'_>> {
        let mut encoder = self.encoder.lock().unwrap_or_else(|poison| {
            // A panic mid-batch may have left a dictionary trained with a batch that rolled
            // back: look in the database again.
            let mut encoder = poison.into_inner();
            *encoder = Encoder::Unknown;
            encoder
        });
        if matches!(*encoder, Encoder::Unknown) {
            *encoder = latest(transaction)?;
        }
        let mut trained = false;
        if matches!(*encoder, Encoder::Absent) {
            let samples: Vec<&[u8]> = raws.take(MIN_SAMPLES).map(str::as_bytes).collect();
            if samples.len() >= MIN_SAMPLES {
                // Another process may have trained one since this one looked.
                *encoder = match latest(transaction)? {
                    Encoder::Absent => {
                        trained = true;
                        train(transaction, &samples)?
                    }
                    stored => stored,
                };
            }
        }
        Ok(BatchEncoder {
            encoder,
            trained,
            frame: Vec::new(),
        })
    }

    /// The raw event in `frame`, decompressed with the dictionary its header names (read from
    /// `connection` the first time).
    pub fn decode(&self, connection: &Connection, frame: &[u8]) -> Result<String, String> {
        let id = zstd_safe::get_dict_id_from_frame(frame)
            .ok_or("a compressed raw event names no dictionary")?
            .get();
        let size = match zstd_safe::get_frame_content_size(frame) {
            Ok(Some(size)) if size <= MAX_RAW_BYTES => size,
            _ => return Err("a compressed raw event has no valid size".to_string()),
        };
        let mut decoders = self
            .decoders
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let decoder = match decoders.entry(id) {
            std::collections::hash_map::Entry::Occupied(entry) => entry.into_mut(),
            std::collections::hash_map::Entry::Vacant(entry) => {
                let dictionary: Vec<u8> = connection
                    .query_row(
                        "SELECT dictionary FROM raw_dictionaries WHERE id = ?1",
                        [i64::from(id)],
                        |row| row.get(0),
                    )
                    .optional()
                    .map_err(|error| format!("cannot read raw dictionary {id}: {error}"))?
                    .ok_or_else(|| format!("raw dictionary {id} is not in the database"))?;
                entry.insert(
                    Decompressor::with_dictionary(&dictionary)
                        .map_err(|error| format!("raw dictionary {id} is unusable: {error}"))?,
                )
            }
        };
        // `size` is at most MAX_RAW_BYTES, which fits any usize this builds for.
        let bytes = decoder
            .decompress(frame, usize::try_from(size).unwrap_or(usize::MAX))
            .map_err(|error| format!("a compressed raw event is corrupt: {error}"))?;
        String::from_utf8(bytes).map_err(|_| "a decompressed raw event is not UTF-8".to_string())
    }
}

/// The encoder while one batch is written.
pub struct BatchEncoder<'c> {
    encoder: MutexGuard<'c, Encoder>,
    /// The dictionary was trained with this batch: it is stored only if the batch commits.
    trained: bool,
    frame: Vec<u8>,
}

impl BatchEncoder<'_> {
    /// The raw event as it is stored: a frame when a dictionary is ready and the frame is
    /// smaller, the text otherwise.
    pub fn encode<'a>(&'a mut self, raw: &'a str) -> ValueRef<'a> {
        if let Encoder::Ready(compressor) = &mut *self.encoder {
            self.frame.clear();
            self.frame.reserve(zstd_safe::compress_bound(raw.len()));
            if compressor
                .compress_to_buffer(raw.as_bytes(), &mut self.frame)
                .is_ok_and(|written| written < raw.len())
            {
                return ValueRef::Blob(&self.frame);
            }
        }
        ValueRef::Text(raw.as_bytes())
    }

    /// The batch did not commit: a dictionary trained with it is not stored either.
    pub fn rolled_back(mut self) {
        if self.trained {
            *self.encoder = Encoder::Unknown;
        }
    }
}

/// The dictionary stored last, ready to compress with.
fn latest(connection: &Connection) -> rusqlite::Result<Encoder> {
    let stored: Option<Vec<u8>> = connection
        .query_row(
            "SELECT dictionary FROM raw_dictionaries ORDER BY created_at DESC, id DESC LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()?;
    Ok(stored.map_or(Encoder::Absent, |dictionary| ready(&dictionary)))
}

fn ready(dictionary: &[u8]) -> Encoder {
    Compressor::with_dictionary(LEVEL, dictionary).map_or(Encoder::Failed, |compressor| {
        Encoder::Ready(Box::new(compressor))
    })
}

/// Trains a dictionary on `samples` and stores it (in the caller's transaction). Training
/// can fail on samples that share too little; the events then stay text.
fn train(transaction: &Connection, samples: &[&[u8]]) -> rusqlite::Result<Encoder> {
    let Ok(dictionary) = zstd::dict::from_samples(samples, DICTIONARY_BYTES) else {
        return Ok(Encoder::Failed);
    };
    let Some(id) = zstd_safe::get_dict_id_from_dict(&dictionary) else {
        return Ok(Encoder::Failed);
    };
    let id = i64::from(id.get());
    let inserted = transaction.execute(
        "INSERT INTO raw_dictionaries (id, dictionary, samples, created_at) VALUES (?1, ?2, ?3, ?4) \
         ON CONFLICT DO NOTHING",
        params![id, dictionary, samples.len(), iamwatch_core::time::now_ms()],
    )?;
    if inserted == 0 {
        // Ids are random 32-bit numbers: another dictionary has this one. Frames must name
        // the dictionary they were made with, so use that one.
        let stored: Vec<u8> = transaction.query_row(
            "SELECT dictionary FROM raw_dictionaries WHERE id = ?1",
            [id],
            |row| row.get(0),
        )?;
        return Ok(ready(&stored));
    }
    Ok(ready(&dictionary))
}
