//! Archives and other compressors, told apart by their first bytes: a tarball of a trail's
//! files (`logs.tar.gz`, the usual way logs are handed over) was read as if it were JSON, and
//! its headers and compressed members became hundreds of dead letters of binary text. One clear
//! problem per input instead: what it is, and what to do first. Columnar files (Parquet, ORC:
//! how Amazon Security Lake and Firehose's format conversion keep events) are told the same way,
//! and so are CSV exports (the CloudTrail console's event history, Athena or CloudTrail Lake
//! query results), whose lines were each a dead letter or two of "not JSON".

/// A format that is not read: what it is, and what to scan instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refused {
    pub what: &'static str,
    pub advice: &'static str,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(formatter, "{} is not read; {}", self.what, self.advice)
    }
}

const EXTRACT: &str = "extract it first";
const COLUMNAR: &str = "scan the trail's JSON log files (CloudTrail writes them to S3 as .json.gz)";

const CSV: Refused = Refused {
    what: "a CSV export of CloudTrail events (the console's event history, or Athena or CloudTrail Lake query results)",
    advice: "download the event history as JSON, or scan the trail's JSON log files (CloudTrail writes them to S3 as .json.gz)",
};

const fn archive(what: &'static str) -> Refused {
    Refused {
        what,
        advice: EXTRACT,
    }
}

/// How many bytes [`kind`] needs to see: a tar header's magic is at offset 257.
pub(super) const HEAD: usize = 512;

/// The formats [`kind`] tells by the bytes they start with.
const MAGIC: [(&[u8], Refused); 8] = [
    (b"PK\x03\x04", archive("a zip archive")),
    (b"PK\x05\x06", archive("a zip archive")),
    (b"BZh", archive("a bzip2 file")),
    (b"\xfd7zXZ\x00", archive("an xz file")),
    (b"\x28\xb5\x2f\xfd", archive("a zstd file")),
    (b"7z\xbc\xaf\x27\x1c", archive("a 7z archive")),
    // Both write their magic at the start and the end of the file.
    (
        b"PAR1",
        Refused {
            what: "a Parquet file",
            advice: COLUMNAR,
        },
    ),
    (
        b"ORC",
        Refused {
            what: "an ORC file",
            advice: COLUMNAR,
        },
    ),
];

/// The longest of [`MAGIC`] (xz's and 7z's, six bytes): a first read shorter than this may be
/// a magic cut short.
const LONGEST_MAGIC: usize = {
    let mut longest = 0;
    let mut index = 0;
    while index < MAGIC.len() {
        if MAGIC[index].0.len() > longest {
            longest = MAGIC[index].0.len();
        }
        index += 1;
    }
    longest
};

/// What `head` (an input's first bytes; only the first [`HEAD`] of them are looked at) announces,
/// if it is a format iamwatch does not read. Gzip is read, and is not one of these.
pub(super) fn kind(head: &[u8]) -> Option<Refused> {
    // Callers may hand a whole inflated file: looking for the end of a first line through a
    // trail file written on one line (1.4 MB) was 8% of a whole scan.
    let head = &head[..head.len().min(HEAD)];
    if let Some((_, refused)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(*refused);
    }
    if is_tar_header(head) {
        return Some(archive("a tar archive"));
    }
    is_csv_export(head).then_some(CSV)
}

/// Whether a stream's first bytes, cut short by its first read, may still be an archive's magic,
/// a tar header or a CSV header line: they hold a NUL (no JSON text does; a tar header's name
/// is padded with them), or they do not start as JSON or a log line does and are either fewer
/// than the longest magic (a named pipe's first read takes two bytes) or a first line not yet
/// ended that holds a comma. Only then is a stream read on for more before it is judged: a
/// pipe fed a record at a time is never held up.
pub(super) fn may_be_cut_short(head: &[u8]) -> bool {
    if head.len() >= HEAD
        || head.is_empty()
        || super::looks_gzipped(head)
        || super::utf16::byte_order(head).is_some()
    {
        return false;
    }
    if head.contains(&0) {
        return true;
    }
    let text = without_bom(head);
    let starts_as_json = matches!(first_visible(text), None | Some(b'{' | b'[' | b'0'..=b'9'));
    !starts_as_json
        && (head.len() < LONGEST_MAGIC || !text.contains(&b'\n') && text.contains(&b','))
}

/// `head` after a UTF-8 byte-order mark, if it starts with one.
fn without_bom(head: &[u8]) -> &[u8] {
    head.strip_prefix(b"\xef\xbb\xbf").unwrap_or(head)
}

/// The first byte of `text` that is not ASCII whitespace.
fn first_visible(text: &[u8]) -> Option<u8> {
    text.iter()
        .copied()
        .find(|byte| !byte.is_ascii_whitespace())
}

/// A CSV header of CloudTrail's columns on the first line: commas, and the event name's column
/// however it is spelt (`Event name` in the console's export, `eventname` in Athena's,
/// `eventName` in CloudTrail Lake's). JSON never starts so: its first character is `{` or `[`.
fn is_csv_export(head: &[u8]) -> bool {
    let line = without_bom(head)
        .split(|byte| *byte == b'\n')
        .next()
        .unwrap_or_default();
    if matches!(first_visible(line), None | Some(b'{' | b'[')) {
        return false;
    }
    let columns: Vec<String> = line
        .split(|byte| *byte == b',')
        .map(|column| {
            column
                .iter()
                .filter(|byte| byte.is_ascii_alphanumeric())
                .map(|byte| char::from(byte.to_ascii_lowercase()))
                .collect()
        })
        .collect();
    columns.len() >= 2 && columns.iter().any(|column| column == "eventname")
}

/// A tar header: "ustar" at 257 (POSIX ustar and GNU tar both write it), and the header's
/// checksum right, so that a record that happens to hold "ustar" there is not taken for one.
fn is_tar_header(head: &[u8]) -> bool {
    let Some(header) = head.get(..512) else {
        return false;
    };
    if &header[257..262] != b"ustar" {
        return false;
    }
    // Octal digits, padded with spaces or NULs; the sum counts the field itself as spaces.
    let field = &header[148..156];
    let digits = field
        .iter()
        .copied()
        .filter(|byte| !matches!(byte, b' ' | 0))
        .map(char::from)
        .collect::<String>();
    let Ok(expected) = u32::from_str_radix(&digits, 8) else {
        return false;
    };
    let sum = header.iter().map(|byte| u32::from(*byte)).sum::<u32>()
        - field.iter().map(|byte| u32::from(*byte)).sum::<u32>()
        + 8 * u32::from(b' ');
    sum == expected
}

/// [`kind`] for what a gzip stream holds.
pub(super) fn gzipped_kind(inflated_head: &[u8]) -> Option<Refused> {
    if is_tar_header(inflated_head) {
        return Some(archive("a gzipped tar archive"));
    }
    // An archive inside gzip is named as such; a file format (Parquet, CSV) by its own name.
    kind(inflated_head).map(|inner| match inner.advice {
        EXTRACT => Refused {
            what: "a gzipped archive",
            ..inner
        },
        _ => inner,
    })
}

/// A tar header for `name` of entry type `kind` (`b'0'` a file, `b'5'` a directory), its
/// checksum written as POSIX says: the sum of the header's bytes with the checksum field as
/// spaces, in octal.
#[cfg(test)]
pub(super) fn tar_header(name: &[u8], kind: u8) -> Vec<u8> {
    let mut header = vec![0u8; HEAD];
    header[..name.len()].copy_from_slice(name);
    header[156] = kind;
    header[257..263].copy_from_slice(b"ustar\0");
    header[148..156].copy_from_slice(b"        ");
    let sum: u32 = header.iter().map(|byte| u32::from(*byte)).sum();
    header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
    header
}

#[cfg(test)]
mod tests {
    use super::{gzipped_kind, kind, may_be_cut_short, Refused};

    fn tar_header() -> Vec<u8> {
        super::tar_header(b"src/", b'5')
    }

    fn what(refused: Option<Refused>) -> Option<&'static str> {
        refused.map(|refused| refused.what)
    }

    #[test]
    fn archives_and_other_compressors_are_named() {
        assert_eq!(what(kind(b"PK\x03\x04\x14\x00")), Some("a zip archive"));
        assert_eq!(what(kind(b"BZh91AY&SY")), Some("a bzip2 file"));
        assert_eq!(what(kind(b"\xfd7zXZ\x00\x00")), Some("an xz file"));
        assert_eq!(what(kind(b"\x28\xb5\x2f\xfd\x04")), Some("a zstd file"));
        assert_eq!(what(kind(&tar_header())), Some("a tar archive"));
        assert_eq!(
            what(gzipped_kind(&tar_header())),
            Some("a gzipped tar archive")
        );
        assert_eq!(kind(b"BZh91").unwrap().advice, "extract it first");
    }

    #[test]
    fn columnar_files_are_named_with_what_to_scan_instead() {
        let parquet = kind(b"PAR1\x15\x04\x15\x10").unwrap();
        assert_eq!(parquet.what, "a Parquet file");
        assert!(parquet.advice.contains("JSON log files"), "{parquet:?}");
        assert_eq!(what(kind(b"ORC\x0a\x0b")), Some("an ORC file"));
        // Gzipped, it keeps its advice: there is nothing to extract.
        let gzipped = gzipped_kind(b"PAR1\x15").unwrap();
        assert_eq!(gzipped.advice, parquet.advice);
    }

    /// Each line of a CSV export was a dead letter or two ("not JSON", or a date read as a
    /// number followed by "trailing characters").
    #[test]
    fn csv_exports_are_named_with_what_to_download_instead() {
        let console = b"Event ID,Event time,User name,Event name,Resource type,Resource name,AWS access key,AWS region,Error code,Source IP address,Resources\n0a1b,2024-06-01T00:00:00Z,alice,DeleteUser";
        let athena = b"\"eventversion\",\"useridentity\",\"eventtime\",\"eventsource\",\"eventname\"\n\"1.08\"";
        let lake = b"\xef\xbb\xbfeventID,eventTime,eventName\r\nx,y,z";
        for head in [&console[..], athena, lake] {
            let refused = kind(head).unwrap_or_else(|| panic!("{head:?}"));
            assert!(refused.what.starts_with("a CSV export"), "{refused:?}");
            assert!(refused.advice.contains("as JSON"), "{refused:?}");
        }
        assert_eq!(gzipped_kind(console), Some(super::CSV));
        // A CSV of other columns, or prose with commas, is none of ours to name.
        assert_eq!(kind(b"name,size\nalice,3"), None);
        assert_eq!(kind(b"eventName"), None);
    }

    /// A stream's first read is judged as it came unless it may be an archive's magic or a tar
    /// or CSV header cut short; what starts as JSON or as a log line never waits for more.
    #[test]
    fn only_a_header_cut_short_waits_for_more() {
        let tar = tar_header();
        assert!(may_be_cut_short(&tar[..100]));
        assert!(!may_be_cut_short(&tar), "a whole header is judged");
        assert!(may_be_cut_short(b"eventVersion,userIdentity,eventTi"));
        assert!(may_be_cut_short(b"\xef\xbb\xbfeventID,eventTime"));
        assert!(may_be_cut_short(b"\"eventversion\",\"useridentity\""));
        // A named pipe's first read: two bytes.
        assert!(may_be_cut_short(b"PK"));
        assert!(may_be_cut_short(b"ev"));
        for judged in [
            &b"{\"eventName\":\"ListUsers\",\"awsRegion\":\"us-east-1\"}"[..],
            b"[{\"eventName\":\"a\"},",
            b"  {\"Records\":[",
            b"2024-06-01T00:00:00.000Z {\"eventName\":\"a\",",
            b"1717200000000 {\"a\":1,",
            b"Event ID,Event time\n0a1b,",
            b"no comma and no line end yet",
            b"{\"",
            b"\x1f\x8b",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00",
            b"17",
            b" [",
            b"\xff\xfe{\x00\"\x00",
            b"",
        ] {
            assert!(!may_be_cut_short(judged), "{judged:?}");
        }
    }

    /// Only the first HEAD bytes are looked at, however many are handed over (a whole inflated
    /// file): a column named past them is not seen.
    #[test]
    fn only_the_head_is_looked_at() {
        let mut late = vec![b'x'; super::HEAD];
        late.extend_from_slice(b",eventName\nx,y");
        assert_eq!(kind(&late), None);
        assert_eq!(gzipped_kind(&late), None);
        let mut early = b"eventTime,eventName,".to_vec();
        early.extend(std::iter::repeat_n(b'x', 10 * super::HEAD));
        assert_eq!(kind(&early), Some(super::CSV));
        assert_eq!(gzipped_kind(&early), Some(super::CSV));
    }

    #[test]
    fn logs_are_none_of_them() {
        for head in [
            &b"{\"Records\":[]}"[..],
            b"[",
            b"",
            b"  {\"eventName\":\"ustar\"}",
            b"\n\n{\"eventName\":\"a,b\"}",
            b"[{\"eventName\": \"x\", \"eventID\": \"y\"}]",
            b"PK",
        ] {
            assert_eq!(kind(head), None, "{head:?}");
        }
        // A record whose 257th byte starts "ustar" is still a record.
        let mut record = format!("{{\"eventName\":\"{}\"}}", "x".repeat(600)).into_bytes();
        record[257..262].copy_from_slice(b"ustar");
        assert_eq!(kind(&record), None);
        // A header with a wrong checksum is none either.
        let mut damaged = tar_header();
        damaged[0] = b'S';
        assert_eq!(kind(&damaged), None);
    }
}
