//! Epoch-millisecond time without a calendar library: CloudTrail writes one timestamp per
//! record and parsing it is on the hot path, so this is a small hand-written parser that also
//! accepts the variants real exports carry (`YYYY-MM-DD HH:MM:SS`, fractions, offsets).

use std::time::{SystemTime, UNIX_EPOCH};

const MS_PER_DAY: i64 = 86_400_000;

/// Milliseconds since the Unix epoch, now.
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as i64)
        .unwrap_or(0)
}

/// Parses an ISO 8601 / RFC 3339 timestamp into epoch milliseconds.
///
/// Accepts `T` or a space between date and time, optional fractional seconds (any number of
/// digits, truncated to milliseconds), and `Z`, `+HH:MM`, `+HHMM` or no zone (read as UTC,
/// which is what CloudTrail and its exports mean). Returns `None` for anything else.
pub fn parse_timestamp_ms(text: &str) -> Option<i64> {
    let bytes = text.trim().as_bytes();
    if bytes.len() < 19 {
        return None;
    }
    let year = digits(bytes, 0, 4)?;
    let month = digits(bytes, 5, 2)?;
    let day = digits(bytes, 8, 2)?;
    let hour = digits(bytes, 11, 2)?;
    let minute = digits(bytes, 14, 2)?;
    let second = digits(bytes, 17, 2)?;
    if bytes[4] != b'-' || bytes[7] != b'-' || bytes[13] != b':' || bytes[16] != b':' {
        return None;
    }
    if !matches!(bytes[10], b'T' | b't' | b' ') {
        return None;
    }
    if !(1..=12).contains(&month) || day < 1 || day > days_in_month(year, month) {
        return None;
    }
    if hour > 23 || minute > 59 || second > 60 {
        return None;
    }
    let mut position = 19;
    let mut millis = 0i64;
    if bytes.get(position) == Some(&b'.') || bytes.get(position) == Some(&b',') {
        position += 1;
        let fraction_start = position;
        let mut scale = 100;
        while let Some(digit) = bytes.get(position).filter(|byte| byte.is_ascii_digit()) {
            millis += i64::from(digit - b'0') * scale;
            scale /= 10;
            position += 1;
        }
        if position == fraction_start {
            return None;
        }
    }
    let offset_ms = match bytes.get(position) {
        None => 0,
        Some(b'Z' | b'z') if position + 1 == bytes.len() => 0,
        Some(sign @ (b'+' | b'-')) => {
            let rest = &bytes[position + 1..];
            let (hours, minutes) = match rest.len() {
                5 if rest[2] == b':' => (digits(rest, 0, 2)?, digits(rest, 3, 2)?),
                4 => (digits(rest, 0, 2)?, digits(rest, 2, 2)?),
                2 => (digits(rest, 0, 2)?, 0),
                _ => return None,
            };
            let magnitude = (hours * 60 + minutes) * 60_000;
            if *sign == b'+' {
                magnitude
            } else {
                -magnitude
            }
        }
        _ => return None,
    };
    let days = days_from_civil(year, month, day);
    let seconds_of_day = hour * 3600 + minute * 60 + second.min(59);
    Some(days * MS_PER_DAY + seconds_of_day * 1000 + millis - offset_ms)
}

/// Parts of a UTC (or shifted) timestamp, for formatting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DateTimeParts {
    pub year: i64,
    pub month: i64,
    pub day: i64,
    pub hour: i64,
    pub minute: i64,
    pub second: i64,
    pub millis: i64,
}

/// Splits epoch milliseconds, shifted by `offset_minutes` east of UTC, into calendar parts.
pub fn parts(epoch_ms: i64, offset_minutes: i64) -> DateTimeParts {
    let shifted = epoch_ms + offset_minutes * 60_000;
    let days = shifted.div_euclid(MS_PER_DAY);
    let ms_of_day = shifted.rem_euclid(MS_PER_DAY);
    let (year, month, day) = civil_from_days(days);
    DateTimeParts {
        year,
        month,
        day,
        hour: ms_of_day / 3_600_000,
        minute: ms_of_day / 60_000 % 60,
        second: ms_of_day / 1000 % 60,
        millis: ms_of_day % 1000,
    }
}

/// Reads a Unix epoch written as digits, as some exports write event times: ten digits are
/// seconds, thirteen are milliseconds (what those exports write for any time from 2001 to
/// 2286). Anything else is `None`: a shorter or longer number says nothing certain about its
/// unit.
pub fn parse_epoch_ms(text: &str) -> Option<i64> {
    let digits = text.trim();
    if !digits.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let value: i64 = digits.parse().ok()?;
    match digits.len() {
        10 => Some(value * 1000),
        13 => Some(value),
        _ => None,
    }
}

/// A "since" a person or a client writes, in epoch milliseconds: a span back from `now_ms`
/// (`90s`, `30m`, `24h`, `7d`, `2w`), a day (`2024-06-01`, its start in UTC), an RFC 3339 time,
/// or epoch milliseconds. `None` for anything else, or a span past the epoch.
pub fn parse_since(text: &str, now_ms: i64) -> Option<i64> {
    let text = text.trim();
    if let Ok(epoch_ms) = text.parse::<i64>() {
        return Some(epoch_ms);
    }
    if let Some(day) = text
        .get(..10)
        .filter(|_| text.len() == 10)
        .and_then(|day| parse_timestamp_ms(&format!("{day}T00:00:00Z")))
    {
        return Some(day);
    }
    if let Some(time) = parse_timestamp_ms(text) {
        return Some(time);
    }
    let unit_ms: i64 = match text.as_bytes().last()? {
        b's' => 1_000,
        b'm' => 60_000,
        b'h' => 3_600_000,
        b'd' => MS_PER_DAY,
        b'w' => 7 * MS_PER_DAY,
        _ => return None,
    };
    let count = &text[..text.len() - 1];
    if count.is_empty() || !count.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    let span = count.parse::<i64>().ok()?.checked_mul(unit_ms)?;
    now_ms.checked_sub(span).filter(|since| *since >= 0)
}

/// `2024-06-01T00:00:05.000Z`
pub fn format_rfc3339_ms(epoch_ms: i64) -> String {
    let p = parts(epoch_ms, 0);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
        p.year, p.month, p.day, p.hour, p.minute, p.second, p.millis
    )
}

/// `2024-06-01 09:00:05` in the zone `offset_minutes` east of UTC (KST is +540).
pub fn format_local(epoch_ms: i64, offset_minutes: i64) -> String {
    let p = parts(epoch_ms, offset_minutes);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        p.year, p.month, p.day, p.hour, p.minute, p.second
    )
}

/// `20240601-000005`, the time part of an incident id (UTC).
pub fn format_compact(epoch_ms: i64) -> String {
    let mut text = String::with_capacity(15);
    push_compact(&mut text, epoch_ms);
    text
}

/// Appends [`format_compact`]'s text to `out`. Digit by digit, not through `format!`: every
/// incident id carries it, and the formatting machinery cost more than the rest of the id.
pub fn push_compact(out: &mut String, epoch_ms: i64) {
    let p = parts(epoch_ms, 0);
    if !(0..=9999).contains(&p.year) {
        // Years of other widths, as `format!` pads them.
        out.push_str(&format!(
            "{:04}{:02}{:02}-{:02}{:02}{:02}",
            p.year, p.month, p.day, p.hour, p.minute, p.second
        ));
        return;
    }
    for (value, width, then) in [
        (p.year, 4, ""),
        (p.month, 2, ""),
        (p.day, 2, "-"),
        (p.hour, 2, ""),
        (p.minute, 2, ""),
        (p.second, 2, ""),
    ] {
        push_digits(out, value, width);
        out.push_str(then);
    }
}

/// `value` (0 ≤ value < 10^width) in `width` digits, zero-padded.
fn push_digits(out: &mut String, value: i64, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10i64.pow(place)) % 10;
        out.push(char::from(b'0' + digit as u8));
    }
}

fn digits(bytes: &[u8], start: usize, count: usize) -> Option<i64> {
    let slice = bytes.get(start..start + count)?;
    let mut value = 0i64;
    for byte in slice {
        if !byte.is_ascii_digit() {
            return None;
        }
        value = value * 10 + i64::from(byte - b'0');
    }
    Some(value)
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(year) => 29,
        _ => 28,
    }
}

// Howard Hinnant's days_from_civil: proleptic Gregorian date → days since 1970-01-01.
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let shifted_year = if month <= 2 { year - 1 } else { year };
    let era = shifted_year.div_euclid(400);
    let year_of_era = shifted_year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let shifted = days + 719_468;
    let era = shifted.div_euclid(146_097);
    let day_of_era = shifted - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_since_is_a_span_back_from_now_a_day_a_time_or_epoch_ms() {
        let now = parse_timestamp_ms("2024-06-08T12:00:00Z").unwrap();
        let hours = |n: i64| now - n * 3_600_000;
        assert_eq!(parse_since("24h", now), Some(hours(24)));
        assert_eq!(parse_since(" 7d ", now), Some(hours(7 * 24)));
        assert_eq!(parse_since("2w", now), Some(hours(14 * 24)));
        assert_eq!(parse_since("30m", now), Some(now - 30 * 60_000));
        assert_eq!(parse_since("90s", now), Some(now - 90_000));
        assert_eq!(
            parse_since("2024-06-01", now),
            parse_timestamp_ms("2024-06-01T00:00:00Z")
        );
        assert_eq!(
            parse_since("2024-06-01T09:30:00+09:00", now),
            parse_timestamp_ms("2024-06-01T00:30:00Z")
        );
        assert_eq!(parse_since("1717200000000", now), Some(1_717_200_000_000));
        for refused in [
            "",
            "h",
            "-1h",
            "1.5h",
            "24 h",
            "24x",
            "yesterday",
            "2024-13-01",
            "2024-06-0",
            "99999999999999999d",
            "20000w",
        ] {
            assert_eq!(parse_since(refused, now), None, "{refused:?}");
        }
    }

    #[test]
    fn cloudtrail_timestamp_parses_to_epoch_ms() {
        assert_eq!(parse_timestamp_ms("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(
            parse_timestamp_ms("2024-06-01T00:00:05Z"),
            Some(1_717_200_005_000)
        );
        assert_eq!(
            parse_timestamp_ms("2024-02-29T12:30:00Z"),
            Some(1_709_209_800_000)
        );
    }

    #[test]
    fn export_variants_parse() {
        let expected = Some(1_673_384_642_000);
        assert_eq!(parse_timestamp_ms("2023-01-10 21:04:02"), expected);
        assert_eq!(parse_timestamp_ms("2023-01-10T21:04:02"), expected);
        assert_eq!(parse_timestamp_ms("2023-01-11T06:04:02+09:00"), expected);
        assert_eq!(parse_timestamp_ms("2023-01-10T16:04:02-0500"), expected);
        assert_eq!(
            parse_timestamp_ms("2023-01-10T21:04:02.792Z"),
            Some(1_673_384_642_792)
        );
        assert_eq!(
            parse_timestamp_ms("2023-01-10T21:04:02.123456Z"),
            Some(1_673_384_642_123)
        );
    }

    #[test]
    fn malformed_timestamps_are_rejected() {
        for bad in [
            "",
            "yesterday",
            "2023-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2023-01-10X21:04:02Z",
            "2023-01-10T21:04:02Zjunk",
            "2023-01-10T21:04:02.Z",
            "2023-01-10T24:00:00Z",
        ] {
            assert_eq!(parse_timestamp_ms(bad), None, "{bad}");
        }
    }

    #[test]
    fn epochs_in_seconds_or_milliseconds_are_read_and_other_numbers_are_not() {
        assert_eq!(parse_epoch_ms("1717200005"), Some(1_717_200_005_000));
        assert_eq!(parse_epoch_ms("1717200005123"), Some(1_717_200_005_123));
        assert_eq!(parse_epoch_ms(" 1717200005 "), Some(1_717_200_005_000));
        for unclear in [
            "",
            "0",
            "17172000051",
            "1717200005.5",
            "-1717200005",
            "2024-06-01",
        ] {
            assert_eq!(parse_epoch_ms(unclear), None, "{unclear}");
        }
    }

    #[test]
    fn formatting_round_trips_and_shifts_to_kst() {
        let epoch_ms = 1_717_200_005_123;
        assert_eq!(format_rfc3339_ms(epoch_ms), "2024-06-01T00:00:05.123Z");
        assert_eq!(
            parse_timestamp_ms(&format_rfc3339_ms(epoch_ms)),
            Some(epoch_ms)
        );
        assert_eq!(format_local(epoch_ms, 540), "2024-06-01 09:00:05");
        assert_eq!(format_compact(epoch_ms), "20240601-000005");
        assert_eq!(format_compact(-1000), "19691231-235959");
    }

    #[test]
    fn compact_time_is_what_format_pads() {
        // Two thousand times from 1874 to 2375, and years of other widths (1 BC, 10000 AD).
        let years_of_other_widths = [-62_198_755_200_000, 253_402_300_800_000];
        for epoch_ms in (0..2_000)
            .map(|step| step * 7_919_999_123_i64 - 3_000_000_000_000)
            .chain(years_of_other_widths)
        {
            let p = parts(epoch_ms, 0);
            let expected = format!(
                "{:04}{:02}{:02}-{:02}{:02}{:02}",
                p.year, p.month, p.day, p.hour, p.minute, p.second
            );
            assert_eq!(format_compact(epoch_ms), expected);
        }
    }

    #[test]
    fn civil_conversion_agrees_for_every_day_of_several_centuries() {
        for days in (-200_000..200_000).step_by(7) {
            let (year, month, day) = civil_from_days(days);
            assert_eq!(days_from_civil(year, month, day), days);
        }
    }
}
