//! Archives and other compressors, told apart by their first bytes: a tarball of a trail's
//! files (`logs.tar.gz`, the usual way logs are handed over) was read as if it were JSON, and
//! its headers and compressed members became hundreds of dead letters of binary text. One clear
//! problem per input instead: what it is, and that it must be extracted first.

/// How many bytes [`kind`] needs to see: a tar header's magic is at offset 257.
pub(super) const HEAD: usize = 512;

/// What `head` (an input's first bytes, up to [`HEAD`]) announces, if it is a format iamwatch
/// does not read. Gzip is read, and is not one of these.
pub(super) fn kind(head: &[u8]) -> Option<&'static str> {
    const MAGIC: [(&[u8], &str); 6] = [
        (b"PK\x03\x04", "a zip archive"),
        (b"PK\x05\x06", "a zip archive"),
        (b"BZh", "a bzip2 file"),
        (b"\xfd7zXZ\x00", "an xz file"),
        (b"\x28\xb5\x2f\xfd", "a zstd file"),
        (b"7z\xbc\xaf\x27\x1c", "a 7z archive"),
    ];
    if let Some((_, what)) = MAGIC.iter().find(|(magic, _)| head.starts_with(magic)) {
        return Some(what);
    }
    is_tar_header(head).then_some("a tar archive")
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
pub(super) fn gzipped_kind(inflated_head: &[u8]) -> Option<&'static str> {
    if is_tar_header(inflated_head) {
        return Some("a gzipped tar archive");
    }
    kind(inflated_head).map(|_| "a gzipped archive")
}

#[cfg(test)]
mod tests {
    use super::{gzipped_kind, kind};

    /// A directory's header, its checksum written as POSIX says: the sum of the header's
    /// bytes with the checksum field as spaces, in octal.
    fn tar_header() -> Vec<u8> {
        let mut header = vec![0u8; 512];
        header[..4].copy_from_slice(b"src/");
        header[156] = b'5';
        header[257..263].copy_from_slice(b"ustar\0");
        header[148..156].copy_from_slice(b"        ");
        let sum: u32 = header.iter().map(|byte| u32::from(*byte)).sum();
        header[148..156].copy_from_slice(format!("{sum:06o}\0 ").as_bytes());
        header
    }

    #[test]
    fn archives_and_other_compressors_are_named() {
        assert_eq!(kind(b"PK\x03\x04\x14\x00"), Some("a zip archive"));
        assert_eq!(kind(b"BZh91AY&SY"), Some("a bzip2 file"));
        assert_eq!(kind(b"\xfd7zXZ\x00\x00"), Some("an xz file"));
        assert_eq!(kind(b"\x28\xb5\x2f\xfd\x04"), Some("a zstd file"));
        assert_eq!(kind(&tar_header()), Some("a tar archive"));
        assert_eq!(gzipped_kind(&tar_header()), Some("a gzipped tar archive"));
    }

    #[test]
    fn logs_are_none_of_them() {
        for head in [
            &b"{\"Records\":[]}"[..],
            b"[",
            b"",
            b"  {\"eventName\":\"ustar\"}",
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
