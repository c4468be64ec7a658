//! Finding and opening inputs. Compression is decided by the bytes, not the file name: trails
//! copied by hand lose their `.gz`, and some tools gzip without saying so.

use flate2::bufread::MultiGzDecoder;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
}

impl Input {
    /// How the input is named in messages: its path, or `<stdin>`.
    pub fn name(&self) -> String {
        match self {
            Self::Stdin => "<stdin>".to_string(),
            Self::File(path) => path.display().to_string(),
        }
    }

    /// Whether the input's data comes as it is written, and may fall silent for a while:
    /// standard input, or a path that is not a regular file (a named pipe, `<(tail -f …)`).
    pub fn is_stream(&self) -> bool {
        match self {
            Self::Stdin => true,
            Self::File(path) => std::fs::metadata(path).is_ok_and(|metadata| !metadata.is_file()),
        }
    }

    /// Size on disk, when known (for progress reporting).
    pub fn size(&self) -> Option<u64> {
        match self {
            Self::Stdin => None,
            Self::File(path) => std::fs::metadata(path).ok().map(|metadata| metadata.len()),
        }
    }
}

/// An opened input: either already whole in memory (small files, inflated in one go) or a
/// stream. Both read the same; the framer takes the memory case without copying it.
pub enum InputData {
    Memory(Vec<u8>),
    Stream(Box<dyn Read + Send>),
}

impl Read for InputData {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        match self {
            Self::Memory(bytes) => {
                let count = bytes.len().min(buffer.len());
                buffer[..count].copy_from_slice(&bytes[..count]);
                bytes.drain(..count);
                Ok(count)
            }
            Self::Stream(reader) => reader.read(buffer),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path}: cannot read")]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {what} is not read; extract it first")]
    Unsupported { path: String, what: &'static str },
}

impl InputError {
    /// What went wrong, without the path (for messages that name the input already), with
    /// the system's own words when reading failed.
    pub fn reason(&self) -> String {
        match self {
            Self::NotFound { .. } => "no such file or directory".to_string(),
            Self::Unreadable { source, .. } => format!("cannot read: {source}"),
            Self::Unsupported { what, .. } => format!("{what} is not read; extract it first"),
        }
    }
}

/// What [`discover`] found: inputs to read, in a stable order, and files it passed over.
#[derive(Debug, Default)]
pub struct Discovered {
    pub inputs: Vec<Input>,
    /// Files inside walked directories that are not log files (READMEs, digests, archives).
    pub passed_over: Vec<PathBuf>,
}

/// Expands paths into inputs: `-` is standard input, a directory is walked recursively in
/// name order, a file is taken as given.
///
/// Inside directories only log-like files are taken (`.json`, `.jsonl`, `.ndjson`, `.gz`);
/// CloudTrail digest files are passed over. A file named explicitly is always read.
///
/// # Errors
/// [`InputError::NotFound`] for a path that does not exist; [`InputError::Unreadable`] for a
/// directory that cannot be listed.
pub fn discover(paths: &[PathBuf]) -> Result<Discovered, InputError> {
    let mut found = Discovered::default();
    for path in paths {
        if path.as_os_str() == "-" {
            found.inputs.push(Input::Stdin);
            continue;
        }
        let metadata = std::fs::metadata(path).map_err(|_| InputError::NotFound {
            path: path.display().to_string(),
        })?;
        if metadata.is_dir() {
            walk(path, &mut found)?;
        } else {
            found.inputs.push(Input::File(path.clone()));
        }
    }
    Ok(found)
}

fn walk(directory: &Path, found: &mut Discovered) -> Result<(), InputError> {
    let unreadable = |source| InputError::Unreadable {
        path: directory.display().to_string(),
        source,
    };
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(unreadable)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path
                .file_name()
                .is_some_and(|name| name == "CloudTrail-Digest")
            {
                found.passed_over.push(path);
                continue;
            }
            walk(&path, found)?;
        } else if is_log_file(&path) {
            found.inputs.push(Input::File(path));
        } else {
            found.passed_over.push(path);
        }
    }
    Ok(())
}

fn is_log_file(path: &Path) -> bool {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().to_ascii_lowercase())
        .unwrap_or_default();
    if name.contains("cloudtrail-digest") {
        return false;
    }
    if [".json", ".jsonl", ".ndjson", ".gz"]
        .iter()
        .any(|suffix| name.ends_with(suffix))
    {
        return true;
    }
    // Kinesis Data Firehose names what it delivers to S3 without an extension (and writes
    // EventBridge events back to back in it): a file without one is read if it starts like
    // JSON or gzip.
    path.extension().is_none() && starts_like_a_log(path)
}

/// Whether the file's first bytes are gzip's magic number, or `{` or `[` after whitespace (and
/// a byte-order mark).
fn starts_like_a_log(path: &Path) -> bool {
    let mut head = [0u8; 64];
    let Ok(length) = File::open(path).and_then(|mut file| read_up_to(&mut file, &mut head)) else {
        return false;
    };
    let head = &head[..length];
    if looks_gzipped(head) {
        return true;
    }
    let text = head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head);
    matches!(
        text.iter().find(|byte| !byte.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Whether `head`, the first bytes of some input, starts like gzip (its magic number).
pub fn looks_gzipped(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// Opens an input for reading, transparently gunzipping gzip data (including concatenated
/// gzip members, as `cat a.gz b.gz` makes).
///
/// # Errors
/// [`InputError`] when the file cannot be opened or is a zip archive.
pub fn open_input(input: &Input) -> Result<InputData, InputError> {
    match input {
        Input::Stdin => open_reader(Box::new(io::stdin()), "<stdin>").map(InputData::Stream),
        Input::File(path) => {
            let name = path.display().to_string();
            let file = File::open(path).map_err(|source| match source.kind() {
                io::ErrorKind::NotFound => InputError::NotFound { path: name.clone() },
                _ => InputError::Unreadable {
                    path: name.clone(),
                    source,
                },
            })?;
            open_file(file, &name)
        }
    }
}

/// Gzip files whose content is at most this large are inflated whole, in one call per member
/// (about 1.6 times as fast as streaming inflate here); larger ones, and stdin, stream, so
/// memory stays bounded.
/// CloudTrail delivers files of a few megabytes.
pub const WHOLE_FILE_INFLATE_LIMIT: usize = 16 * 1024 * 1024;

/// Opens a file like [`open_reader`], taking the fast whole-file path for small gzip files.
///
/// # Errors
/// [`InputError`] when the file cannot be read or is a zip archive.
pub fn open_file(mut file: File, name: &str) -> Result<InputData, InputError> {
    let unreadable = |source| InputError::Unreadable {
        path: name.to_string(),
        source,
    };
    let metadata = file.metadata().map_err(unreadable)?;
    let compressed_size = metadata.len();
    let mut head = [0u8; 2];
    let head_length = read_up_to(&mut file, &mut head).map_err(unreadable)?;
    // Only a regular file's size is its length: a named pipe says 0, and reading it whole would
    // hold the stream in memory and judge nothing until it closed.
    let is_small_gzip = head_length == 2
        && looks_gzipped(&head)
        && metadata.is_file()
        && compressed_size <= WHOLE_FILE_INFLATE_LIMIT as u64;
    if !is_small_gzip {
        let replayed = io::Cursor::new(head[..head_length].to_vec()).chain(file);
        // (a plain file, a large gzip file, or one too short to be gzip)
        return open_reader(Box::new(replayed), name).map(InputData::Stream);
    }
    let mut compressed = Vec::with_capacity(compressed_size as usize);
    compressed.extend_from_slice(&head);
    file.read_to_end(&mut compressed).map_err(unreadable)?;
    match inflate_whole(&compressed) {
        Some(inflated) => Ok(InputData::Memory(inflated)),
        // Several gzip members, a size over the limit, or corrupt data: the streaming decoder
        // handles the first two and reports the third where it happens.
        None => open_reader(Box::new(io::Cursor::new(compressed)), name).map(InputData::Stream),
    }
}

fn read_up_to(file: &mut File, buffer: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buffer.len() {
        match file.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    Ok(filled)
}

/// Inflates a whole gzip file in memory, member by member, checking each member's CRC and
/// size. `None` when the content would exceed the limit or anything does not check out; the
/// caller then streams, and the streaming decoder reports corruption where it is.
fn inflate_whole(compressed: &[u8]) -> Option<Vec<u8>> {
    if let Some(inflated) = inflate_single_member(compressed) {
        return Some(inflated);
    }
    let size_hint = trailer_size(compressed)?;
    let mut inflated = Vec::with_capacity(size_hint.min(WHOLE_FILE_INFLATE_LIMIT));
    let mut position = 0;
    while position < compressed.len() {
        let member = &compressed[position..];
        if member.iter().all(|byte| *byte == 0) {
            break; // padding some writers leave after the last member
        }
        let body = member.get(gzip_header_length(member)?..)?;
        let member_start = inflated.len();
        let mut inflater = flate2::Decompress::new(false);
        loop {
            if inflated.len() == inflated.capacity() {
                if inflated.len() >= WHOLE_FILE_INFLATE_LIMIT {
                    return None;
                }
                inflated.reserve((inflated.len() / 2).max(64 * 1024));
            }
            let consumed = inflater.total_in() as usize;
            let produced = inflated.len();
            let status = inflater
                .decompress_vec(
                    &body[consumed..],
                    &mut inflated,
                    flate2::FlushDecompress::Finish,
                )
                .ok()?;
            if status == flate2::Status::StreamEnd {
                break;
            }
            let stuck = inflater.total_in() as usize == consumed && inflated.len() == produced;
            if stuck && inflated.len() < inflated.capacity() {
                return None; // truncated member
            }
        }
        let consumed = inflater.total_in() as usize;
        let trailer = body.get(consumed..consumed + 8)?;
        let crc = crc32fast::hash(&inflated[member_start..]);
        let expected_crc = u32::from_le_bytes(trailer[..4].try_into().ok()?);
        let expected_size = u32::from_le_bytes(trailer[4..].try_into().ok()?);
        if crc != expected_crc || (inflated.len() - member_start) as u32 != expected_size {
            return None;
        }
        position += (member.len() - body.len()) + consumed + 8;
    }
    Some(inflated)
}

/// The common case, a file of one gzip member, inflated by libdeflate (about twice as fast as
/// zlib here; it checks the member's CRC and size itself). Taken only when no second member
/// can follow: the gzip magic appears nowhere after the first header. When it does, by chance
/// inside compressed data or as a real member, the member-by-member path decides.
fn inflate_single_member(compressed: &[u8]) -> Option<Vec<u8>> {
    const MAGIC: [u8; 3] = [0x1f, 0x8b, 0x08];
    let header = gzip_header_length(compressed)?;
    if memchr::memmem::find(&compressed[header..], &MAGIC).is_some() {
        return None;
    }
    let size = trailer_size(compressed)?;
    if size > WHOLE_FILE_INFLATE_LIMIT {
        return None;
    }
    let mut inflated = crate::spare::take(size);
    // Padding after the member, or content over 4 GiB, makes the size wrong: the call fails
    // for want of space or writes less, and the careful path takes over.
    let written = libdeflater::Decompressor::new()
        .gzip_decompress(compressed, &mut inflated)
        .ok();
    if written == Some(size) {
        return Some(inflated);
    }
    crate::spare::give_back(inflated);
    None
}

/// The size the last gzip trailer of `compressed` gives (of its member, modulo 4 GiB).
fn trailer_size(compressed: &[u8]) -> Option<usize> {
    let field = compressed.get(compressed.len().checked_sub(4)?..)?;
    Some(u32::from_le_bytes(field.try_into().ok()?) as usize)
}

/// Length of the gzip member header at the start of `member` (RFC 1952), with its optional
/// extra field, file name, comment and header CRC.
fn gzip_header_length(member: &[u8]) -> Option<usize> {
    const FHCRC: u8 = 2;
    const FEXTRA: u8 = 4;
    const FNAME: u8 = 8;
    const FCOMMENT: u8 = 16;
    if member.len() < 10 || member[0] != 0x1f || member[1] != 0x8b || member[2] != 8 {
        return None;
    }
    let flags = member[3];
    let mut length = 10;
    if flags & FEXTRA != 0 {
        let extra = u16::from_le_bytes(member.get(length..length + 2)?.try_into().ok()?) as usize;
        length += 2 + extra;
    }
    for flag in [FNAME, FCOMMENT] {
        if flags & flag != 0 {
            length += member.get(length..)?.iter().position(|byte| *byte == 0)? + 1;
        }
    }
    if flags & FHCRC != 0 {
        length += 2;
    }
    (length <= member.len()).then_some(length)
}

/// Wraps any reader the same way [`open_input`] does (gzip detection included).
///
/// # Errors
/// [`InputError`] when the first bytes cannot be read or announce a zip archive.
pub fn open_reader(
    reader: Box<dyn Read + Send>,
    name: &str,
) -> Result<Box<dyn Read + Send>, InputError> {
    let mut buffered = BufReader::with_capacity(256 * 1024, reader);
    let head = buffered
        .fill_buf()
        .map_err(|source| InputError::Unreadable {
            path: name.to_string(),
            source,
        })?;
    if looks_gzipped(head) {
        return Ok(Box::new(MultiGzDecoder::new(buffered)));
    }
    if head.starts_with(b"PK\x03\x04") {
        return Err(InputError::Unsupported {
            path: name.to_string(),
            what: "a zip archive",
        });
    }
    Ok(Box::new(buffered))
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::write::GzEncoder;
    use flate2::Compression;
    use std::io::Write;

    fn read_all(reader: impl Read) -> String {
        let mut text = String::new();
        let mut reader = reader;
        reader.read_to_string(&mut text).unwrap();
        text
    }

    /// `text` as one gzip member.
    fn gzip(text: impl AsRef<[u8]>) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::fast());
        encoder.write_all(text.as_ref()).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_is_detected_by_content_and_members_are_concatenated() {
        let bytes = [gzip("{\"a\":1}\n"), gzip("{\"b\":2}\n")].concat();
        let reader = open_reader(Box::new(io::Cursor::new(bytes)), "x").unwrap();
        assert_eq!(read_all(reader), "{\"a\":1}\n{\"b\":2}\n");
        let plain = open_reader(Box::new(io::Cursor::new(b"{}".to_vec())), "x").unwrap();
        assert_eq!(read_all(plain), "{}");
    }

    #[test]
    fn small_gzip_files_inflate_whole_and_multi_member_files_still_read() {
        let directory = std::env::temp_dir().join(format!("iamwatch-gz-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        let single = directory.join("single.json.gz");
        std::fs::write(&single, gzip("{\"Records\":[]}")).unwrap();
        let multi = directory.join("multi.gz");
        std::fs::write(&multi, [gzip("{\"a\":1}\n"), gzip("{\"b\":2}\n")].concat()).unwrap();
        let plain = directory.join("plain.json");
        std::fs::write(&plain, "{}").unwrap();
        let text_of = |path: &std::path::Path| {
            read_all(open_input(&Input::File(path.to_path_buf())).unwrap())
        };
        assert_eq!(text_of(&single), "{\"Records\":[]}");
        // Identical members: the first one's CRC and size equal the file's last trailer, so
        // only the search for a second header keeps the fast path from reading one of them.
        let twice = directory.join("twice.gz");
        std::fs::write(&twice, [gzip("{\"a\":1}\n"), gzip("{\"a\":1}\n")].concat()).unwrap();
        assert_eq!(text_of(&twice), "{\"a\":1}\n{\"a\":1}\n");
        let padded = directory.join("padded.json.gz");
        std::fs::write(&padded, [gzip("{\"Records\":[]}"), vec![0; 16]].concat()).unwrap();
        assert_eq!(text_of(&padded), "{\"Records\":[]}");
        assert_eq!(text_of(&multi), "{\"a\":1}\n{\"b\":2}\n");
        assert_eq!(text_of(&plain), "{}");
        let mut corrupt = gzip("{\"Records\":[]}".repeat(50));
        let middle = corrupt.len() / 2;
        corrupt[middle] ^= 0xff;
        let broken = directory.join("broken.json.gz");
        std::fs::write(&broken, corrupt).unwrap();
        let mut text = String::new();
        let result = open_input(&Input::File(broken))
            .unwrap()
            .read_to_string(&mut text);
        assert!(result.is_err(), "corruption is reported, not hidden");
        std::fs::remove_dir_all(directory).unwrap();
    }

    #[test]
    fn zip_archives_are_refused_by_name() {
        let error = open_reader(
            Box::new(io::Cursor::new(b"PK\x03\x04rest".to_vec())),
            "logs.zip",
        )
        .err()
        .unwrap();
        assert_eq!(
            error.to_string(),
            "logs.zip: a zip archive is not read; extract it first"
        );
    }

    #[test]
    fn missing_path_is_an_error_naming_it() {
        let error = discover(&[PathBuf::from("/no/such/trail.json")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "/no/such/trail.json: no such file or directory"
        );
    }

    #[test]
    fn a_reason_leaves_the_path_to_the_message_that_names_the_input() {
        let missing = discover(&[PathBuf::from("/no/such/trail.json")]).unwrap_err();
        assert_eq!(missing.reason(), "no such file or directory");
        let unreadable = InputError::Unreadable {
            path: "trail.json".into(),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert_eq!(unreadable.reason(), "cannot read: permission denied");
        let zip = open_reader(
            Box::new(io::Cursor::new(b"PK\x03\x04".to_vec())),
            "logs.zip",
        )
        .err()
        .unwrap();
        assert_eq!(zip.reason(), "a zip archive is not read; extract it first");
    }

    #[test]
    fn directories_are_walked_in_order_taking_only_log_files() {
        let root = std::env::temp_dir().join(format!("iamwatch-walk-{}", std::process::id()));
        std::fs::create_dir_all(root.join("b/CloudTrail-Digest")).unwrap();
        for name in [
            "b/2.json.gz",
            "a.json",
            "README.md",
            "b/CloudTrail-Digest/d.json.gz",
            "c.jsonl",
        ] {
            std::fs::write(root.join(name), b"{}").unwrap();
        }
        // Firehose deliveries have no extension: read when they start like JSON or gzip.
        std::fs::write(root.join("firehose-1-2024-06-01"), b"\n {\"a\":1}{\"a\":2}").unwrap();
        std::fs::write(root.join("firehose-2-2024-06-01"), gzip("{}")).unwrap();
        std::fs::write(root.join("LICENSE"), b"MIT License").unwrap();
        std::fs::write(root.join("empty"), b"").unwrap();
        let found = discover(&[root.clone(), PathBuf::from("-")]).unwrap();
        let names: Vec<String> = found
            .inputs
            .iter()
            .map(|input| input.name().replace(&root.display().to_string(), ""))
            .collect();
        assert_eq!(
            names,
            vec![
                "/a.json",
                "/b/2.json.gz",
                "/c.jsonl",
                "/firehose-1-2024-06-01",
                "/firehose-2-2024-06-01",
                "<stdin>"
            ]
        );
        assert_eq!(found.passed_over.len(), 4);
        std::fs::remove_dir_all(root).unwrap();
    }

    proptest::proptest! {
        #[test]
        fn damaged_gzip_never_panics_and_intact_gzip_reads_back(
            text in proptest::collection::vec(proptest::num::u8::ANY, 0..2000),
            flips in proptest::collection::vec((0usize..4000, 1u8..=255), 0..4),
            tail in proptest::collection::vec(proptest::num::u8::ANY, 0..12),
        ) {
            let intact = gzip(&text);
            let directory = tempfile::tempdir().unwrap();
            let path = directory.path().join("x.json.gz");
            std::fs::write(&path, &intact).unwrap();
            let mut read = Vec::new();
            open_file(File::open(&path).unwrap(), "x").unwrap().read_to_end(&mut read).unwrap();
            proptest::prop_assert_eq!(&read, &text);
            // Flipped bytes and trailing junk: an error or some bytes, never a panic.
            let mut damaged = intact.clone();
            for (position, mask) in &flips {
                let position = position % damaged.len();
                damaged[position] ^= mask;
            }
            damaged.extend(&tail);
            std::fs::write(&path, &damaged).unwrap();
            if let Ok(mut data) = open_file(File::open(&path).unwrap(), "x") {
                let _ = data.read_to_end(&mut Vec::new());
            }
        }
    }
}
