//! Finding and opening inputs. Compression is decided by the bytes, not the file name: trails
//! copied by hand lose their `.gz`, and some tools gzip without saying so.

use flate2::bufread::MultiGzDecoder;
use std::collections::HashSet;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Input {
    Stdin,
    File(PathBuf),
    /// An object held by a service (S3), fetched through the source that listed it.
    Remote(Remote),
}

impl Input {
    /// How the input is named in messages: its path, or `<stdin>`.
    pub fn name(&self) -> String {
        match self {
            Self::Stdin => "<stdin>".to_string(),
            Self::File(path) => path.display().to_string(),
            Self::Remote(remote) => remote.name().to_string(),
        }
    }

    /// Whether the input's data comes as it is written, and may fall silent for a while:
    /// standard input, or a path that is not a regular file (a named pipe, `<(tail -f …)`).
    pub fn is_stream(&self) -> bool {
        match self {
            Self::Stdin => true,
            Self::File(path) => std::fs::metadata(path).is_ok_and(|metadata| !metadata.is_file()),
            Self::Remote(_) => false,
        }
    }

    /// Size on disk, when known (for progress reporting).
    pub fn size(&self) -> Option<u64> {
        match self {
            Self::Stdin => None,
            Self::File(path) => std::fs::metadata(path).ok().map(|metadata| metadata.len()),
            Self::Remote(remote) => remote.size(),
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

/// `iamwatch scan` lists `s3://` locations itself (the `iamwatch-s3` crate) before the local
/// paths come here; any other URL is refused with what can be read.
const URL_ADVICE: &str = "a URL is not read; local paths, `-` (standard input) and \
    s3://BUCKET/PREFIX locations are (copy the files first, or pipe them in)";

#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("{path}: no such file or directory")]
    NotFound { path: String },
    #[error("{path}: {}", URL_ADVICE)]
    Url { path: String },
    #[error("{path}: cannot read")]
    Unreadable {
        path: String,
        #[source]
        source: io::Error,
    },
    #[error("{path}: {refused}")]
    Unsupported { path: String, refused: Refused },
}

impl InputError {
    /// What went wrong, without the path (for messages that name the input already), with
    /// the system's own words when reading failed.
    pub fn reason(&self) -> String {
        match self {
            Self::NotFound { .. } => "no such file or directory".to_string(),
            Self::Url { .. } => URL_ADVICE.to_string(),
            Self::Unreadable { source, .. } => format!("cannot read: {source}"),
            Self::Unsupported { refused, .. } => refused.to_string(),
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
/// Inside directories only log-like regular files are taken (`.json`, `.jsonl`, `.ndjson`,
/// `.gz`, or no extension and JSON or gzip inside); CloudTrail digest files, named pipes and
/// directories already walked are passed over. A path named explicitly is always read.
///
/// # Errors
/// [`InputError::NotFound`] for a path that does not exist ([`InputError::Url`] when it is a
/// URL such as `s3://…`); [`InputError::Unreadable`] for a
/// directory that cannot be listed.
pub fn discover(paths: &[PathBuf]) -> Result<Discovered, InputError> {
    let mut found = Discovered::default();
    for path in paths {
        if path.as_os_str() == "-" {
            found.inputs.push(Input::Stdin);
            continue;
        }
        let metadata = std::fs::metadata(path).map_err(|_| {
            let path = path.display().to_string();
            // `scan s3://trail/AWSLogs/…`: said as what it is, with the commands that do it.
            match path.split_once("://") {
                Some((scheme, _)) if !scheme.is_empty() && !scheme.contains('/') => {
                    InputError::Url { path }
                }
                _ => InputError::NotFound { path },
            }
        })?;
        if metadata.is_dir() {
            let mut walked = HashSet::new();
            walked.extend(std::fs::canonicalize(path).ok());
            walk(path, &mut found, &mut walked)?;
        } else {
            found.inputs.push(Input::File(path.clone()));
        }
    }
    Ok(found)
}

/// Walks `directory`; `walked` holds the directories walked so far, resolved.
fn walk(
    directory: &Path,
    found: &mut Discovered,
    walked: &mut HashSet<PathBuf>,
) -> Result<(), InputError> {
    let unreadable = |source| unreadable(&directory.display().to_string(), source);
    let mut entries: Vec<PathBuf> = std::fs::read_dir(directory)
        .map_err(unreadable)?
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    entries.sort();
    for path in entries {
        // Through symbolic links, as a file named on the command line is; a link to nothing is
        // passed over.
        let Ok(metadata) = std::fs::metadata(&path) else {
            found.passed_over.push(path);
            continue;
        };
        if metadata.is_dir() {
            if path
                .file_name()
                .is_some_and(|name| name == "CloudTrail-Digest")
            {
                found.passed_over.push(path);
                continue;
            }
            // A directory reached again (a link back up the tree, or two links to one) is
            // walked once: a loop took the walk round and round until the path grew too long,
            // and two such links doubled the work at every turn.
            let first_time = std::fs::canonicalize(&path).is_ok_and(|real| walked.insert(real));
            if first_time {
                walk(&path, found, walked)?;
            } else {
                found.passed_over.push(path);
            }
        } else if metadata.is_file() && is_log_file(&path) {
            found.inputs.push(Input::File(path));
        } else {
            // Named pipes, sockets and devices are not opened: opening a pipe waits for a
            // writer, which hung the whole scan. Named on the command line, a pipe is read.
            found.passed_over.push(path);
        }
    }
    Ok(())
}

/// [`readable_format`] for what a gzip stream holds (a `.tar.gz`).
fn readable_inflated(inflated_head: &[u8], name: &str) -> Result<(), InputError> {
    refuse(archive::gzipped_kind(inflated_head), name)
}

/// Refuses an input whose `head` (its first 512 bytes, or all of it) announces an archive or
/// a compressed format other than gzip, none of which is read.
///
/// # Errors
/// [`InputError::Unsupported`] saying which format it is.
pub fn readable_format(head: &[u8], name: &str) -> Result<(), InputError> {
    refuse(archive::kind(head), name)
}

fn refuse(refused: Option<Refused>, name: &str) -> Result<(), InputError> {
    match refused {
        Some(refused) => Err(InputError::Unsupported {
            path: name.to_string(),
            refused,
        }),
        None => Ok(()),
    }
}

/// Whether `head`, the first bytes of some input, starts like gzip (its magic number).
pub fn looks_gzipped(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b])
}

/// How every gzip member starts: the magic, then deflate's method byte (RFC 1952).
const GZIP_MEMBER_START: [u8; 3] = [0x1f, 0x8b, 0x08];

/// Whether what a gzip layer holds is gzip again: a member's start, not the magic alone (two
/// bytes alone are read as the text they are).
fn holds_gzip(inflated_head: &[u8]) -> bool {
    inflated_head.starts_with(&GZIP_MEMBER_START)
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
        Input::Remote(remote) => remote.open(),
    }
}

/// Gzip layers read one inside the other: a log file gzipped again on its way (a `.json.gz`
/// compressed by a pipeline, or stored with `Content-Encoding: gzip`) reads as its records,
/// where it made a dead letter of every line of binary. Deeper nesting is refused rather than
/// inflated layer after layer.
const MAX_GZIP_LAYERS: usize = 3;

const NESTED_GZIP: Refused = Refused {
    what: "gzip inside gzip more than three layers deep",
    advice: "gunzip it until it is JSON",
};

const EMPTY_GZIP: Refused = Refused {
    what: "an empty .gz file (0 bytes: a download or copy that did not finish?)",
    advice: "fetch it again",
};

/// Gzip files whose content is at most this large are inflated whole, in one call per member
/// (about 1.6 times as fast as streaming inflate for the bench's files of 1.4 MB); larger ones,
/// and stdin, stream, so memory stays bounded. CloudTrail delivers files of a few megabytes.
/// At 16 MB a scan of files of 14 MB each (10,000 records) peaked at 121 to 137 MB, over the
/// 100 MB a scan is held to (each worker holds the compressed file, its content and a spare
/// buffer), and files of 7 MB at 78 to 93 MB; at 4 MB they stream, 70 MB and 56 MB, no slower.
pub const WHOLE_FILE_INFLATE_LIMIT: usize = 4 * 1024 * 1024;

/// Opens a file like [`open_reader`], taking the fast whole-file path for small gzip files.
///
/// # Errors
/// [`InputError`] when the file cannot be read or is a zip archive.
pub fn open_file(mut file: File, name: &str) -> Result<InputData, InputError> {
    let unreadable = |source| unreadable(name, source);
    let metadata = file.metadata().map_err(unreadable)?;
    let compressed_size = metadata.len();
    // No gzip is empty: a `.gz` of no bytes is a download or copy that never finished. Read as
    // an empty input it said nothing, and the hour of events it should have held went unseen.
    if metadata.is_file() && compressed_size == 0 && name.ends_with(".gz") {
        return Err(InputError::Unsupported {
            path: name.to_string(),
            refused: EMPTY_GZIP,
        });
    }
    // Enough to tell an archive (see `archive`) as well as gzip; from a named pipe only
    // gzip's two bytes, as a stream is read: a pipe fed a few records and left open would
    // hold the read of more.
    let mut head = [0u8; archive::HEAD];
    let wanted = if metadata.is_file() { head.len() } else { 2 };
    let head_length = read_up_to(&mut file, &mut head[..wanted]).map_err(unreadable)?;
    // Only a regular file's size is its length: a named pipe says 0, and reading it whole would
    // hold the stream in memory and judge nothing until it closed.
    let is_small_gzip = head_length >= 2
        && looks_gzipped(&head)
        && metadata.is_file()
        && compressed_size <= WHOLE_FILE_INFLATE_LIMIT as u64;
    if !is_small_gzip {
        let replayed = io::Cursor::new(head[..head_length].to_vec()).chain(file);
        // (a plain file, a large gzip file, or one too short to be gzip)
        return open_reader(Box::new(replayed), name).map(InputData::Stream);
    }
    let mut compressed = Vec::with_capacity(compressed_size as usize);
    compressed.extend_from_slice(&head[..head_length]);
    file.read_to_end(&mut compressed).map_err(unreadable)?;
    inflate_or_stream(compressed, name)
}

/// Opens an input already whole in memory (an object fetched from S3) as [`open_file`] opens
/// a file of these bytes: small gzip inflated whole, anything else read as a stream from memory.
///
/// # Errors
/// [`InputError`] when the bytes are an empty `.gz`, or announce an archive.
pub fn open_bytes(bytes: Vec<u8>, name: &str) -> Result<InputData, InputError> {
    if bytes.is_empty() && name.ends_with(".gz") {
        return Err(InputError::Unsupported {
            path: name.to_string(),
            refused: EMPTY_GZIP,
        });
    }
    if looks_gzipped(&bytes) && bytes.len() <= WHOLE_FILE_INFLATE_LIMIT {
        return inflate_or_stream(bytes, name);
    }
    open_reader(Box::new(io::Cursor::new(bytes)), name).map(InputData::Stream)
}

/// Small gzip bytes inflated whole when they check out, else streamed (see [`inflate_whole`]).
fn inflate_or_stream(compressed: Vec<u8>, name: &str) -> Result<InputData, InputError> {
    match inflate_whole(&compressed) {
        // Gzip inside gzip (rare): the stream reads the layers one inside the other.
        Some(inflated) if holds_gzip(&inflated) => {
            open_reader(Box::new(io::Cursor::new(compressed)), name).map(InputData::Stream)
        }
        Some(inflated) => {
            readable_inflated(&inflated, name)?;
            Ok(InputData::Memory(as_utf8(inflated)))
        }
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
    // The last member alone over the limit: the whole is too, and inflating up to the limit
    // only to stream it all again cost a large file most of a second inflate.
    if size_hint > WHOLE_FILE_INFLATE_LIMIT {
        return None;
    }
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
    let header = gzip_header_length(compressed)?;
    if memchr::memmem::find(&compressed[header..], &GZIP_MEMBER_START).is_some() {
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
    if member.len() < 10 || !member.starts_with(&GZIP_MEMBER_START) {
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
    let unreadable = |source| unreadable(name, source);
    let mut buffered = BufReader::with_capacity(256 * 1024, reader);
    let head = buffered.fill_buf().map_err(unreadable)?;
    // What the first read brought: a stream is not held up for more (a pipe fed an event at a
    // time), unless those bytes may be an archive's magic or a tar or CSV header cut short;
    // then it is read on until they are told apart (a tar read as text made a dead letter of
    // every header block).
    if archive::may_be_cut_short(head) {
        let mut start = head.to_vec();
        buffered.consume(start.len());
        let mut more = [0u8; archive::HEAD];
        while archive::may_be_cut_short(&start) {
            match buffered.read(&mut more[..archive::HEAD - start.len()]) {
                Ok(0) => break,
                Ok(count) => start.extend_from_slice(&more[..count]),
                Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                Err(error) => return Err(unreadable(error)),
            }
        }
        let replayed = io::Cursor::new(start).chain(buffered);
        return judge(
            BufReader::with_capacity(256 * 1024, Box::new(replayed)),
            name,
        );
    }
    judge(buffered, name)
}

fn unreadable(name: &str, source: io::Error) -> InputError {
    InputError::Unreadable {
        path: name.to_string(),
        source,
    }
}

/// [`open_reader`] once the first bytes buffered are all it looks at.
fn judge(
    mut buffered: BufReader<Box<dyn Read + Send>>,
    name: &str,
) -> Result<Box<dyn Read + Send>, InputError> {
    let head = buffered
        .fill_buf()
        .map_err(|source| unreadable(name, source))?;
    if !looks_gzipped(head) {
        readable_format(head, name)?;
        return Ok(Box::new(utf16::Sniffing::new(buffered)));
    }
    let mut inflated: BufReader<Box<dyn Read + Send>> =
        BufReader::with_capacity(64 * 1024, Box::new(MultiGzDecoder::new(buffered)));
    for layer in 1..=MAX_GZIP_LAYERS {
        // Damaged gzip is reported where reading finds it, not here.
        let Ok(inflated_head) = inflated.fill_buf() else {
            break;
        };
        if !holds_gzip(inflated_head) {
            readable_inflated(inflated_head, name)?;
            break;
        }
        if layer == MAX_GZIP_LAYERS {
            return Err(InputError::Unsupported {
                path: name.to_string(),
                refused: NESTED_GZIP,
            });
        }
        inflated = BufReader::with_capacity(64 * 1024, Box::new(MultiGzDecoder::new(inflated)));
    }
    Ok(Box::new(utf16::Sniffing::new(inflated)))
}

/// `inflated` (or any text read whole, such as a delivered body), as UTF-8 when it is UTF-16
/// with a BOM (see [`utf16`]); anything else unchanged.
pub fn as_utf8(inflated: Vec<u8>) -> Vec<u8> {
    match utf16::byte_order(&inflated) {
        Some(order) => {
            let decoded = utf16::decode_all(&inflated, order);
            crate::spare::give_back(inflated);
            decoded
        }
        None => inflated,
    }
}

mod archive;
pub use archive::Refused;
mod names;
use names::is_log_file;
pub use names::{judge_name, NameSays};
mod remote;
pub use remote::{open_fetched, Fetch, Fetched, Remote};
mod utf16;

#[cfg(test)]
mod tests;
