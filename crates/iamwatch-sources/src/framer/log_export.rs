//! Lines of a CloudWatch Logs export: a log group exported to S3 (`create-export-task`, or the
//! console's "Export data to Amazon S3") is written as lines of `<timestamp> <message>`, the
//! timestamp in ISO 8601 with milliseconds (`2024-06-01T10:00:01.123Z`). A trail delivered to
//! CloudWatch Logs and exported so has a CloudTrail record as each message. The timestamp was
//! framed as a number, and every line was a dead letter ("trailing characters") beside the
//! record read after it. The prefix is passed over; the record carries its own time.

use super::Framer;
use std::io::{self, Read};

/// The longest prefix told: a timestamp with nanoseconds and an offset, and a few blanks.
const LOOKAHEAD: usize = 48;

impl<R: Read> Framer<R> {
    /// At a digit at the top level: the length of an export's timestamp and the blanks after
    /// it, when a JSON object follows them on the line; `None` for anything else (a number).
    pub(super) fn export_prefix_len(&mut self) -> io::Result<Option<usize>> {
        while self.end - self.start < LOOKAHEAD && !self.eof {
            if !self.fill()? {
                break;
            }
        }
        Ok(prefix_len(&self.buf[self.start..self.end]))
    }
}

/// `YYYY-MM-DDTHH:MM:SS`, an optional fraction, `Z` or an offset, one or more spaces or tabs,
/// then `{`: the length up to the brace.
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
        let digits = line[at + 1..]
            .iter()
            .take_while(|b| b.is_ascii_digit())
            .count();
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
        _ => return None,
    }
    let blanks = line[at..]
        .iter()
        .take_while(|b| matches!(b, b' ' | b'\t'))
        .count();
    (blanks > 0 && line.get(at + blanks) == Some(&b'{')).then_some(at + blanks)
}

#[cfg(test)]
mod tests {
    use super::prefix_len;

    #[test]
    fn an_export_timestamp_before_an_object_is_a_prefix() {
        for (line, length) in [
            (
                &b"2024-06-01T10:00:01.123Z {\"eventVersion\":\"1.08\"}"[..],
                25,
            ),
            (b"2024-06-01T10:00:01Z\t{}", 21),
            (b"2024-06-01T10:00:01.123456789+09:00  {", 37),
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
