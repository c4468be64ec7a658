//! Where a run of string text stops (`"`, `\`, and optionally a control byte), looked for
//! eight bytes at a time: most strings of a CloudTrail record (keys, names, ids) are short, and
//! a word-at-a-time test costs a few instructions where a `memchr2` call costs tens. The framer
//! and the document fast path both scan strings this way.

/// Position of the first `"` or `\` in `bytes`, or with `CONTROL` also of a byte below 0x20.
#[inline]
pub(crate) fn first_stop<const CONTROL: bool>(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const QUOTES: u64 = ONES * b'"' as u64;
    const BACKSLASHES: u64 = ONES * b'\\' as u64;
    let mut words = bytes.chunks_exact(8);
    let mut offset = 0;
    for word in &mut words {
        let Ok(word) = <[u8; 8]>::try_from(word) else {
            break;
        };
        let word = u64::from_le_bytes(word);
        // A byte equal to the one sought becomes zero after the XOR; the classic zero-byte test
        // sets the high bit of the lowest such byte exactly (a borrow can only mark bytes above
        // it), so the lowest bit of any of the masks is the first match. Bytes below 0x20 are
        // those that borrow when 0x20 is taken from each byte.
        let quotes = word ^ QUOTES;
        let backslashes = word ^ BACKSLASHES;
        let mut found =
            quotes.wrapping_sub(ONES) & !quotes | backslashes.wrapping_sub(ONES) & !backslashes;
        if CONTROL {
            found |= word.wrapping_sub(ONES * 0x20) & !word;
        }
        let found = found & HIGHS;
        if found != 0 {
            return Some(offset + (found.trailing_zeros() / 8) as usize);
        }
        offset += 8;
    }
    words
        .remainder()
        .iter()
        .position(|byte| matches!(byte, b'"' | b'\\') || (CONTROL && *byte < 0x20))
        .map(|found| offset + found)
}

#[cfg(test)]
mod tests {
    use super::first_stop;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn the_first_stop_is_found_as_a_byte_by_byte_search_finds_it(
            bytes in prop::collection::vec(
                prop::sample::select(b"ab\"\\\t\x1f \x7f\xc3\xa9".to_vec()),
                0..40,
            ),
        ) {
            let quote_or_backslash = |byte: &u8| matches!(byte, b'"' | b'\\');
            prop_assert_eq!(first_stop::<false>(&bytes), bytes.iter().position(quote_or_backslash));
            prop_assert_eq!(
                first_stop::<true>(&bytes),
                bytes.iter().position(|byte| quote_or_backslash(byte) || *byte < 0x20)
            );
        }
    }
}
