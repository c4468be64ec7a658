//! Where a run of string text stops (`"`, `\`, and optionally a control byte), looked for
//! sixteen bytes at a time with SIMD compares (through `wide`, so no `unsafe`). The framer and
//! the document fast path both scan strings this way; most strings of a CloudTrail record
//! (keys, names, ids) end within the first sixteen bytes.

use wide::u8x16;

/// Position of the first `"` or `\` in `bytes`, or with `CONTROL` also of a byte below 0x20.
#[inline]
pub(crate) fn first_stop<const CONTROL: bool>(bytes: &[u8]) -> Option<usize> {
    // `chunks_exact`, whose chunks never fail the conversion below: `as_chunks::<16>()` reads
    // more simply but ran 7.6% more instructions on the typed read alone (callgrind).
    let mut chunks = bytes.chunks_exact(16);
    let mut offset = 0;
    for chunk in &mut chunks {
        let stops = stops::<CONTROL>(chunk.try_into().unwrap_or([0; 16]));
        if stops != 0 {
            return Some(offset + stops.trailing_zeros() as usize);
        }
        offset += 16;
    }
    // The last few bytes, padded with spaces, which stop nothing.
    let tail = chunks.remainder();
    let mut padded = [b' '; 16];
    padded[..tail.len()].copy_from_slice(tail);
    let stops = stops::<CONTROL>(padded);
    (stops != 0).then(|| offset + stops.trailing_zeros() as usize)
}

/// One bit per byte that stops a run of string text.
#[inline]
fn stops<const CONTROL: bool>(chunk: [u8; 16]) -> u32 {
    let lanes = u8x16::new(chunk);
    let mut stops = lanes.simd_eq(u8x16::splat(b'"')) | lanes.simd_eq(u8x16::splat(b'\\'));
    if CONTROL {
        // Bytes below 0x20 are those left unchanged by a minimum with 0x1f.
        stops |= lanes.min(u8x16::splat(0x1f)).simd_eq(lanes);
    }
    stops.to_bitmask()
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
                0..70,
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
