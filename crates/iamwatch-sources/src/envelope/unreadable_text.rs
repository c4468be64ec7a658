//! Text no JSON parser accepts, replaced so that the rest of a record can be read.
//!
//! A user agent is whatever the caller sent, and one byte that is not UTF-8, or one `\ud800`
//! escape without its other half, made the whole record invalid JSON: the event became a
//! dead letter instead of an incident, and whoever chose the user agent chose that too. Both
//! are replaced with U+FFFD, as `String::from_utf8_lossy` does, and the record says so.

/// The bytes with invalid UTF-8 and unpaired surrogate escapes replaced by U+FFFD, and a note
/// per kind of replacement; `None` when there is nothing to replace.
pub(super) fn replace_unreadable_text(bytes: &[u8]) -> Option<(Vec<u8>, Vec<String>)> {
    let mut notes = Vec::new();
    let text = String::from_utf8_lossy(bytes);
    if matches!(text, std::borrow::Cow::Owned(_)) {
        notes.push("bytes that are not UTF-8 were replaced with U+FFFD".to_string());
    }
    let (escaped, replaced) = replace_unpaired_surrogates(text.as_bytes());
    if replaced > 0 {
        notes.push(format!(
            "{replaced} unpaired surrogate escape(s) (\\ud800 to \\udfff) replaced with U+FFFD"
        ));
    }
    (!notes.is_empty()).then_some((escaped, notes))
}

/// Rewrites `\uD800`–`\uDFFF` escapes that are not a high surrogate followed by a low one as
/// `\ufffd`; every other escape (`\\` included) is copied as it is. Returns the count.
fn replace_unpaired_surrogates(bytes: &[u8]) -> (Vec<u8>, usize) {
    let mut out = Vec::with_capacity(bytes.len());
    let mut replaced = 0;
    let mut position = 0;
    while position < bytes.len() {
        let byte = bytes[position];
        if byte != b'\\' || position + 1 >= bytes.len() {
            out.push(byte);
            position += 1;
            continue;
        }
        let unit = (bytes[position + 1] == b'u')
            .then(|| code_unit(bytes, position + 2))
            .flatten();
        match unit {
            Some(0xD800..=0xDBFF)
                if bytes.get(position + 6..position + 8) == Some(b"\\u")
                    && matches!(code_unit(bytes, position + 8), Some(0xDC00..=0xDFFF)) =>
            {
                out.extend_from_slice(&bytes[position..position + 12]);
                position += 12;
            }
            Some(0xD800..=0xDFFF) => {
                out.extend_from_slice(b"\\ufffd");
                replaced += 1;
                position += 6;
            }
            // Any other escape, a pair's halves included, is two bytes here and the rest as text.
            _ => {
                out.extend_from_slice(&bytes[position..position + 2]);
                position += 2;
            }
        }
    }
    (out, replaced)
}

/// The four hex digits at `start`, when there are four.
fn code_unit(bytes: &[u8], start: usize) -> Option<u16> {
    let digits = std::str::from_utf8(bytes.get(start..start + 4)?).ok()?;
    u16::from_str_radix(digits, 16)
        .ok()
        .filter(|_| digits.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replaced(input: &[u8]) -> Option<String> {
        replace_unreadable_text(input).map(|(bytes, _)| String::from_utf8(bytes).unwrap())
    }

    #[test]
    fn unpaired_surrogates_are_replaced_and_pairs_and_other_escapes_are_kept() {
        assert_eq!(
            replaced(br#"{"a":"x\ud800y"}"#).as_deref(),
            Some(r#"{"a":"x\ufffdy"}"#)
        );
        assert_eq!(
            replaced(br#"{"a":"\udc00\ud83d"}"#).as_deref(),
            Some(r#"{"a":"\ufffd\ufffd"}"#)
        );
        // A pair (an emoji), an escaped backslash before "ud800", a BMP escape: nothing to do.
        assert_eq!(replaced(br#"{"a":"\ud83d\ude00 \\ud800 \u00e9 \n"}"#), None);
        // A high surrogate followed by another high one: the first is unpaired.
        assert_eq!(
            replaced(br#"{"a":"\ud800\ud83d\ude00"}"#).as_deref(),
            Some(r#"{"a":"\ufffd\ud83d\ude00"}"#)
        );
    }

    #[test]
    fn bytes_that_are_not_utf8_are_replaced_with_a_note() {
        let (bytes, notes) = replace_unreadable_text(b"{\"a\":\"x\xff\xfey\"}").unwrap();
        assert_eq!(
            String::from_utf8(bytes).unwrap(),
            "{\"a\":\"x\u{fffd}\u{fffd}y\"}"
        );
        assert_eq!(
            notes,
            ["bytes that are not UTF-8 were replaced with U+FFFD"]
        );
    }

    #[test]
    fn truncated_or_malformed_escapes_are_left_for_the_parser_to_report() {
        for input in [&br#"{"a":"\ud8"}"#[..], br#"{"a":"\uzzzz"}"#, b"\\"] {
            assert_eq!(replaced(input), None, "{input:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn the_result_always_parses_where_only_text_was_wrong(text in "\\PC{0,40}", units in proptest::collection::vec(0xD800u16..0xE000, 0..4)) {
            // Valid JSON text with unpaired surrogate escapes spliced in.
            let mut json = serde_json::to_string(&text).unwrap();
            for unit in units {
                json.insert_str(json.len() - 1, &format!("\\u{unit:04x}"));
            }
            let input = json.as_bytes();
            let fixed = replace_unreadable_text(input).map_or_else(|| input.to_vec(), |(bytes, _)| bytes);
            let value: String = serde_json::from_slice(&fixed).unwrap();
            proptest::prop_assert!(value.starts_with(&text));
        }
    }
}
