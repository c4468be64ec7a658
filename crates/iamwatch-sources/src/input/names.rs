//! Which files a directory walk (or an S3 listing) reads: judged by name, and for a file with
//! no extension by its first bytes.

use super::{looks_gzipped, read_up_to, utf16};
use std::fs::File;
use std::path::Path;

pub(super) fn is_log_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy())
        .unwrap_or_default();
    match judge_name(&name) {
        NameSays::Log => true,
        NameSays::NotLog => false,
        NameSays::NoExtension => starts_like_a_log(path),
    }
}

/// What a file's (or an S3 object's) name says about whether it holds log records.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NameSays {
    /// `.json`, `.jsonl`, `.ndjson`, `.gz` (in any case).
    Log,
    /// A CloudTrail digest, or an extension no log has (`README.md`, `.csv`, `.zip`).
    NotLog,
    /// No extension: what Kinesis Data Firehose names the files it delivers to S3 (EventBridge
    /// events back to back). The content decides.
    NoExtension,
}

/// Judges a file by its name alone (the last part of a path or S3 key).
pub fn judge_name(name: &str) -> NameSays {
    let name = name.to_ascii_lowercase();
    if name.contains("cloudtrail-digest") {
        return NameSays::NotLog;
    }
    if [".json", ".jsonl", ".ndjson", ".gz"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
    {
        return NameSays::Log;
    }
    if Path::new(&name).extension().is_none() {
        NameSays::NoExtension
    } else {
        NameSays::NotLog
    }
}

/// Whether the file's first bytes are gzip's magic number, or `{` or `[` after whitespace (and
/// a byte-order mark), in UTF-8 or in UTF-16 after its mark.
fn starts_like_a_log(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let Ok(length) = File::open(path).and_then(|mut file| read_up_to(&mut file, &mut head)) else {
        return false;
    };
    let head = &head[..length];
    if looks_gzipped(head) {
        return true;
    }
    let decoded = utf16::byte_order(head).map(|order| utf16::decode_all(head, order));
    let head = decoded.as_deref().unwrap_or(head);
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    matches!(
        text.iter().find(|byte| !byte.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}
