//! Lines of CloudWatch Logs as AWS's tools write them. A log group exported to S3
//! (`create-export-task`, or the console's "Export data to Amazon S3") is lines of
//! `<timestamp> <message>`, the timestamp in ISO 8601 with milliseconds
//! (`2024-06-01T10:00:01.123Z`); `aws logs tail` (`--follow`, piped into `iamwatch scan -`)
//! writes `<timestamp> <log stream> <message>` (its default format), `<timestamp> <message>`
//! (`--format short`, no zone), or the stream name and then the message pretty-printed on the
//! lines after (`--format json`). A trail delivered to CloudWatch Logs has a CloudTrail record as
//! each message. The timestamp was framed as a number, and every line was a dead letter or two
//! ("trailing characters") beside the record read after it. The prefix is passed over; the
//! record carries its own time.

use super::Framer;
use std::io::{self, Read};

/// The longest prefix told: a timestamp with nanoseconds and an offset, and a log stream's name
/// (up to 512 characters), with the blanks between.
const LOOKAHEAD: usize = 640;

impl<R: Read> Framer<R> {
    /// At a digit at the top level: the length of a log line's timestamp (and stream name) up
    /// to the JSON object that follows; `None` for anything else (a number).
    pub(super) fn export_prefix_len(&mut self) -> io::Result<Option<usize>> {
        // Read on only while the answer could change: a live pipe (`aws logs tail --follow`)
        // may hold a short line and nothing after it for minutes.
        let window = self.look_ahead(LOOKAHEAD, |window| {
            memchr::memchr(b'{', window).is_some()
                || memchr::memchr_iter(b'\n', window).nth(1).is_some()
        })?;
        Ok(prefix_len(window))
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, an optional fraction, an optional `Z` or offset, spaces or tabs, an
/// optional log stream name followed by spaces, tabs or one line break, then `{`: the length up
/// to the brace.
pub(super) fn prefix_len(line: &[u8]) -> Option<usize> {
    const SHAPE: &[u8] = b"dddd-dd-ddTdd:dd:dd";
    let matches_shape = line.len() > SHAPE.len()
        && SHAPE.iter().zip(line).all(|(want, got)| match want {
            b'd' => got.is_ascii_digit(),
            _ => want == got,
        });
    if !matches_shape {
        return None;
    }
    let mut at = SHAPE.len();
    if line.get(at) == Some(&b'.') {
        let digits = count(&line[at + 1..], |byte| byte.is_ascii_digit());
        if digits == 0 {
            return None;
        }
        at += 1 + digits;
    }
    match line.get(at)? {
        b'Z' => at += 1,
        b'+' | b'-' => {
            let offset = line.get(at + 1..at + 6)?;
            let shaped = offset[..2].iter().all(u8::is_ascii_digit)
                && offset[2] == b':'
                && offset[3..].iter().all(u8::is_ascii_digit);
            if !shaped {
                return None;
            }
            at += 6;
        }
        // `aws logs tail --format short` writes no zone.
        _ => {}
    }
    let blanks = count(&line[at..], is_blank);
    if blanks == 0 {
        return None;
    }
    at += blanks;
    if line.get(at) == Some(&b'{') {
        return Some(at);
    }
    // A log stream's name, then blanks or a line break (the message pretty-printed after it).
    let name = count(&line[at..], |byte| !byte.is_ascii_whitespace());
    if name == 0 || matches!(line[at], b'[' | b'"') {
        return None;
    }
    at += name;
    let mut gap = count(&line[at..], is_blank);
    if line[at + gap..].starts_with(b"\r\n") {
        gap += 2;
    } else if line[at + gap..].starts_with(b"\n") {
        gap += 1;
    }
    (gap > 0 && line.get(at + gap) == Some(&b'{')).then_some(at + gap)
}

fn is_blank(byte: u8) -> bool {
    matches!(byte, b' ' | b'\t')
}

fn count(bytes: &[u8], wanted: impl Fn(u8) -> bool) -> usize {
    bytes.iter().take_while(|byte| wanted(**byte)).count()
}

#[cfg(test)]
mod tests {
    use super::prefix_len;
    use proptest::prelude::*;

    proptest! {
        /// Whatever follows a timestamp (the branches past the shape are the ones bytes at
        /// random never reach), telling the prefix never panics, and a prefix found always ends
        /// at a brace.
        #[test]
        fn any_text_after_a_timestamp_is_told_without_panicking(
            zone in prop::sample::select(vec!["", "Z", ".1Z", ".123456+09:00", "-05:00", "+0"]),
            rest in prop::collection::vec(prop::sample::select(b" \t\r\n{[\"ab1".to_vec()), 0..24),
        ) {
            let mut line = format!("2024-06-01T10:00:01{zone}").into_bytes();
            line.extend(rest);
            if let Some(length) = prefix_len(&line) {
                prop_assert_eq!(line[length], b'{');
            }
        }
    }

    #[test]
    fn a_log_lines_timestamp_before_an_object_is_a_prefix() {
        for (line, length) in [
            // create-export-task
            (
                &b"2024-06-01T10:00:01.123Z {\"eventVersion\":\"1.08\"}"[..],
                25,
            ),
            (b"2024-06-01T10:00:01Z\t{}", 21),
            (b"2024-06-01T10:00:01.123456789+09:00  {", 37),
            // aws logs tail: detailed, short, json
            (
                b"2024-06-01T10:00:01.123000+00:00 111122223333_CloudTrail_us-east-1 {}",
                67,
            ),
            (b"2024-06-01T10:00:01 {}", 20),
            (b"2024-06-01T10:00:01+00:00 stream\n{\n", 33),
            (b"2024-06-01T10:00:01+00:00 stream \r\n{", 35),
        ] {
            assert_eq!(
                prefix_len(line),
                Some(length),
                "{:?}",
                String::from_utf8_lossy(line)
            );
            assert_eq!(line[length], b'{');
        }
    }

    #[test]
    fn numbers_and_other_lines_are_not() {
        for line in [
            &b"2024"[..],
            b"2024-06-01T10:00:01.123Z",
            b"2024-06-01T10:00:01.123Z plain text",
            b"2024-06-01T10:00:01.123Z[1]",
            b"2024-06-01 10:00:01 {}",
            b"2024-06-01T10:00:01.Z {}",
            b"2024-06-01T10:00:01+0900 {}",
            b"12345 {}",
            b"2024-06-01T10:00:01.123Z\n{}",
            b"2024-06-01T10:00:01Z stream\n\n{}",
            b"2024-06-01T10:00:01Z two words {}",
            b"2024-06-01T10:00:01Z [1] {}",
        ] {
            assert_eq!(
                prefix_len(line),
                None,
                "{:?}",
                String::from_utf8_lossy(line)
            );
        }
    }
}
