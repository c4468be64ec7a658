//! Raw events, stored compressed a batch at a time.
//!
//! The raw event is half of a stored incident's bytes, and a bulk scan is bound by what it
//! writes and by the CPU. CloudTrail records repeat each other (field names, ARNs, account ids,
//! user agents), but one record is too short for a compressor to learn that from. So the raw
//! events of a batch are compressed together: one zstd frame, a row of `raw_blocks`, holds the
//! batch's events one after another, and each incident's `raw` is a short BLOB reference to its
//! bytes in that block, in ASCII so that the `sqlite3` shell shows it: `IWRB <block id>
//! <offset> <length>`. On generated trails a block is 16% of its events (zstd level −3, see
//! [`LEVEL`]), and compressing a batch as one frame takes half the CPU that one frame per event
//! took with a trained dictionary, which was this store's format before (still read: a zstd
//! frame whose header names a row of `raw_dictionaries`). A batch of fewer than [`MIN_BLOCK_EVENTS`] events (a quiet `serve`)
//! keeps them as text.
//!
//! Reading one incident decompresses its whole block (a millisecond for a batch of a thousand
//! events); the last few blocks read are kept, so a page of a listing or a re-scan's stored
//! incidents, which come a block at a time, decompress each block once. Block ids are random,
//! never reused after a rollback, so a kept block is always the one an id names.

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OptionalExtension};
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex};
use zstd::bulk::{Compressor, Decompressor};
use zstd::zstd_safe;

/// Fewer raw events than this in a batch stay text: a block of a few compresses poorly.
pub const MIN_BLOCK_EVENTS: usize = 8;
/// Raw bytes per block at most (a batch of a thousand CloudTrail records is about 1.5 MB). An
/// event longer than this has a block of its own.
pub const MAX_BLOCK_BYTES: usize = 4 << 20;
/// zstd's fast levels: on the million-record bench, level −3 makes the blocks 16% of their
/// events against 11.5% at level 1 (the database 190 MB against 182), and the scan 3% less CPU
/// and 4 to 5% less time (eight alternating pairs, seven won: 2.32 against 2.44 s). The store
/// thread compresses every incident's event, and it was an eighth of its time at level 1; the
/// few more bytes cost the kernel less than that. −1 was slower than −3, −7 no faster (three
/// pairs each). (Level 3, measured earlier on one batch rather than a whole scan's blocks: 13%,
/// at 500 MB/s.)
const LEVEL: i32 = -3;
/// A frame or block claiming more than this is corrupt.
const MAX_DECOMPRESSED_BYTES: u64 = 64 << 20;
/// How a block reference starts; a zstd frame starts with 28 B5 2F FD.
pub const BLOCK_MAGIC: &[u8] = b"IWRB ";
/// The longest reference: the magic, and three numbers and their separators.
const MAX_REFERENCE_BYTES: usize = 64;
/// Decompressed blocks kept for the next reads: a re-scan reads its stored incidents a block at
/// a time, and a page of a listing spans one or two. Each is up to 4 MB; a re-scan of the
/// million-record bench peaked at 74 to 81 MB keeping two, 81 to 86 MB keeping four.
const KEPT_BLOCKS: usize = 2;

/// One per store: the writer's compressor and the readers' decompressed blocks.
#[derive(Default)]
pub struct RawCodec {
    writer: Mutex<Option<BlockWriter>>,
    /// Decompressors of the dictionaries legacy frames name, by dictionary id.
    dictionaries: Mutex<HashMap<u32, Decompressor<'static>>>,
    /// Recently read blocks, newest last.
    blocks: Mutex<VecDeque<(i64, Arc<Vec<u8>>)>>,
}

impl std::fmt::Debug for RawCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RawCodec").finish_non_exhaustive()
    }
}

/// How one incident's raw event is stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoredRaw {
    /// As text (or NULL when the incident has none).
    Text,
    /// A reference into a block of the batch.
    Block { block: i64, reference: String },
}

impl StoredRaw {
    /// The column value for `raw`, the incident's raw event.
    pub fn value<'a>(&'a self, raw: Option<&'a str>) -> Option<ValueRef<'a>> {
        match self {
            Self::Block { reference, .. } => Some(ValueRef::Blob(reference.as_bytes())),
            Self::Text => raw.map(|text| ValueRef::Text(text.as_bytes())),
        }
    }
}

impl RawCodec {
    /// Writes the raw events of a batch as blocks in `transaction` when there are at least
    /// [`MIN_BLOCK_EVENTS`], and answers how each incident's raw event is to be stored, in order.
    pub fn write_blocks(
        &self,
        transaction: &Connection,
        raws: &[Option<&str>],
    ) -> rusqlite::Result<Vec<StoredRaw>> {
        let mut stored = vec![StoredRaw::Text; raws.len()];
        if raws.iter().flatten().count() < MIN_BLOCK_EVENTS {
            return Ok(stored);
        }
        let mut writer = self
            .writer
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if writer.is_none() {
            *writer = Some(BlockWriter {
                compressor: Compressor::new(LEVEL).map_err(compression_failed)?,
                block: Vec::new(),
                compressed: Vec::new(),
            });
        }
        let Some(writer) = writer.as_mut() else {
            return Ok(stored);
        };
        writer.block.clear();
        // (incident index, offset, length) of the events in the block.
        let mut members: Vec<(usize, u32, u32)> = Vec::new();
        for (index, raw) in raws.iter().enumerate() {
            let Some(raw) = raw else { continue };
            if !writer.block.is_empty() && writer.block.len() + raw.len() > MAX_BLOCK_BYTES {
                writer.write(transaction, &members, &mut stored)?;
                writer.block.clear();
                members.clear();
            }
            // An event over 4 GB is cut off by the framer long before it gets here.
            let (Ok(offset), Ok(length)) =
                (u32::try_from(writer.block.len()), u32::try_from(raw.len()))
            else {
                continue;
            };
            members.push((index, offset, length));
            writer.block.extend_from_slice(raw.as_bytes());
        }
        if !members.is_empty() {
            writer.write(transaction, &members, &mut stored)?;
        }
        // A block grown past the bound by one long event is not kept.
        if writer.block.capacity() > 2 * MAX_BLOCK_BYTES {
            writer.block = Vec::new();
            writer.compressed = Vec::new();
        }
        Ok(stored)
    }

    /// Deletes the blocks of a batch that no stored incident refers to: the `i`th of `created`
    /// tells whether the incident `stored[i]` was written for was stored (a re-scan stores none).
    pub fn drop_unused_blocks(
        transaction: &Connection,
        stored: &[StoredRaw],
        created: impl IntoIterator<Item = bool>,
    ) -> rusqlite::Result<()> {
        let mut used: HashMap<i64, bool> = HashMap::new();
        for (raw, created) in stored.iter().zip(created) {
            if let StoredRaw::Block { block, .. } = raw {
                *used.entry(*block).or_default() |= created;
            }
        }
        for (block, _) in used.into_iter().filter(|(_, used)| !used) {
            transaction.execute("DELETE FROM raw_blocks WHERE id = ?1", [block])?;
        }
        Ok(())
    }

    /// The raw event a BLOB `raw` stands for: a block reference, or a legacy zstd frame
    /// naming its dictionary. Blocks and dictionaries are read from `connection`.
    pub fn decode(&self, connection: &Connection, stored: &[u8]) -> Result<String, String> {
        let bytes = if stored.starts_with(BLOCK_MAGIC) {
            self.decode_reference(connection, stored)?
        } else {
            self.decode_frame(connection, stored)?
        };
        String::from_utf8(bytes).map_err(|_| "a decompressed raw event is not UTF-8".to_string())
    }

    fn decode_reference(
        &self,
        connection: &Connection,
        reference: &[u8],
    ) -> Result<Vec<u8>, String> {
        let malformed = || "a raw event's block reference is malformed".to_string();
        let (id, offset, length) = parse_reference(reference).ok_or_else(malformed)?;
        let block = self.block(connection, id)?;
        let start = usize::try_from(offset).map_err(|_| malformed())?;
        let end = start
            .checked_add(usize::try_from(length).map_err(|_| malformed())?)
            .ok_or_else(malformed)?;
        block
            .get(start..end)
            .map(<[u8]>::to_vec)
            .ok_or_else(|| format!("a raw event lies outside its block {id}"))
    }

    /// Block `id` decompressed, from the kept blocks or the database.
    fn block(&self, connection: &Connection, id: i64) -> Result<Arc<Vec<u8>>, String> {
        let kept = |blocks: &VecDeque<(i64, Arc<Vec<u8>>)>| {
            blocks
                .iter()
                .find(|(kept, _)| *kept == id)
                .map(|(_, block)| Arc::clone(block))
        };
        if let Some(block) = kept(
            &self
                .blocks
                .lock()
                .unwrap_or_else(|poison| poison.into_inner()),
        ) {
            return Ok(block);
        }
        let compressed: Vec<u8> = connection
            .query_row("SELECT data FROM raw_blocks WHERE id = ?1", [id], |row| {
                row.get(0)
            })
            .optional()
            .map_err(|error| format!("cannot read raw block {id}: {error}"))?
            .ok_or_else(|| format!("raw block {id} is not in the database"))?;
        let size = content_size(&compressed).ok_or_else(|| format!("raw block {id} is corrupt"))?;
        let block = Arc::new(
            zstd::bulk::decompress(&compressed, size)
                .map_err(|error| format!("raw block {id} is corrupt: {error}"))?,
        );
        let mut blocks = self
            .blocks
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        if blocks.len() >= KEPT_BLOCKS {
            blocks.pop_front();
        }
        blocks.push_back((id, Arc::clone(&block)));
        Ok(block)
    }

    /// A frame of the format before blocks: one event, compressed with the dictionary its
    /// header names (read from `connection` the first time).
    fn decode_frame(&self, connection: &Connection, frame: &[u8]) -> Result<Vec<u8>, String> {
        let id = zstd_safe::get_dict_id_from_frame(frame)
            .ok_or("a compressed raw event names no dictionary")?
            .get();
        let size = content_size(frame)
            .ok_or_else(|| "a compressed raw event has no valid size".to_string())?;
        let mut dictionaries = self
            .dictionaries
            .lock()
            .unwrap_or_else(|poison| poison.into_inner());
        let decoder = match dictionaries.entry(id) {
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
        decoder
            .decompress(frame, size)
            .map_err(|error| format!("a compressed raw event is corrupt: {error}"))
    }
}

/// The writer's compressor, and the block and its compressed frame, kept from batch to batch:
/// each is a megabyte or two, and allocated afresh per batch they were mapped and zeroed by the
/// kernel every time.
struct BlockWriter {
    compressor: Compressor<'static>,
    block: Vec<u8>,
    compressed: Vec<u8>,
}

impl BlockWriter {
    /// Compresses the block and stores it under a fresh random id; its `members`' raw events
    /// become references into it.
    fn write(
        &mut self,
        transaction: &Connection,
        members: &[(usize, u32, u32)],
        stored: &mut [StoredRaw],
    ) -> rusqlite::Result<()> {
        self.compressed.clear();
        self.compressed
            .reserve(zstd_safe::compress_bound(self.block.len()));
        self.compressor
            .compress_to_buffer(&self.block, &mut self.compressed)
            .map_err(compression_failed)?;
        let id = insert_block(transaction, &self.compressed, members.len())?;
        let prefix = format!("IWRB {id} ");
        for &(index, offset, length) in members {
            stored[index] = StoredRaw::Block {
                block: id,
                reference: reference(&prefix, offset, length),
            };
        }
        Ok(())
    }
}

/// Inserts a block under a random id, trying another on the rare collision.
fn insert_block(
    transaction: &Connection,
    compressed: &[u8],
    events: usize,
) -> rusqlite::Result<i64> {
    let mut statement = transaction.prepare_cached(
        "INSERT INTO raw_blocks (id, data, events) VALUES (?1, ?2, ?3) ON CONFLICT DO NOTHING",
    )?;
    loop {
        let id = random_id();
        if statement.execute(rusqlite::params![id, compressed, events])? == 1 {
            return Ok(id);
        }
    }
}

/// A random positive id: SipHash of nothing under the fresh random keys each `RandomState`
/// gets (std seeds them from the OS and varies them per instance).
fn random_id() -> i64 {
    let hash = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    (hash >> 1) as i64
}

/// `prefix` (`IWRB <block id> `), then the offset and length. Digits are written by hand:
/// `format!` cost 3,000 instructions a reference, 1% of a scan.
fn reference(prefix: &str, offset: u32, length: u32) -> String {
    fn push_decimal(out: &mut String, mut number: u32) {
        let mut digits = [0u8; 10];
        let mut start = digits.len();
        loop {
            start -= 1;
            digits[start] = b'0' + (number % 10) as u8;
            number /= 10;
            if number == 0 {
                break;
            }
        }
        for digit in &digits[start..] {
            out.push(char::from(*digit));
        }
    }
    let mut reference = String::with_capacity(prefix.len() + 21);
    reference.push_str(prefix);
    push_decimal(&mut reference, offset);
    reference.push(' ');
    push_decimal(&mut reference, length);
    reference
}

/// The block id, offset and length a reference names.
fn parse_reference(reference: &[u8]) -> Option<(i64, u32, u32)> {
    if reference.len() > MAX_REFERENCE_BYTES {
        return None;
    }
    let text = std::str::from_utf8(reference.strip_prefix(BLOCK_MAGIC)?).ok()?;
    let mut numbers = text.split(' ');
    let parsed = (
        numbers.next()?.parse().ok()?,
        numbers.next()?.parse().ok()?,
        numbers.next()?.parse().ok()?,
    );
    numbers.next().is_none().then_some(parsed)
}

/// The size a frame says it decompresses to, when it says one within bounds.
fn content_size(frame: &[u8]) -> Option<usize> {
    match zstd_safe::get_frame_content_size(frame) {
        // At most 64 MB, which fits any usize this builds for.
        Ok(Some(size)) if size <= MAX_DECOMPRESSED_BYTES => usize::try_from(size).ok(),
        _ => None,
    }
}

fn compression_failed(error: std::io::Error) -> rusqlite::Error {
    rusqlite::Error::ToSqlConversionFailure(Box::new(error))
}

#[cfg(test)]
mod tests;
