//! The framer's fast path inside an object or array: 64 bytes at a time, the way simdjson finds
//! structure. A block's quotes, backslashes, openings and closings become bitmasks (16-byte SIMD
//! compares through `wide`, which keeps this crate free of `unsafe`); the bytes inside strings
//! follow from the unescaped quotes by a prefix XOR, and only the brackets outside strings are
//! visited one by one. A CloudTrail record is about 1,400 bytes and 70 strings, so this replaces
//! some 70 string searches and the bytes between them with 23 blocks.
//!
//! Anything unusual (a backslash outside a string, which is not JSON) hands the block back to
//! the byte-by-byte scanner, so malformed input is framed exactly as before.

use wide::u8x16;

pub(super) const BLOCK: usize = 64;

/// Where the fast path stopped.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Stop {
    /// The value ends just before this position (one past its closing bracket).
    End(usize),
    /// Go on byte by byte from here: fewer than [`BLOCK`] bytes are left, or the block starting
    /// here needs the careful scanner.
    Resume(usize),
}

/// Scans whole blocks from `position` while inside a value (`depth > 0`), updating `depth` and
/// `in_string` for the bytes it passes.
pub(super) fn scan_blocks(
    window: &[u8],
    mut position: usize,
    depth: &mut u32,
    in_string: &mut bool,
) -> Stop {
    debug_assert!(*depth > 0);
    // The first byte of the next block is escaped by a backslash ending this one.
    let mut escape_carry = false;
    while let Some(block) = window.get(position..position + BLOCK) {
        let masks = Masks::of(block);
        let (escaped, carry_out) = escaped_bytes(masks.backslashes, escape_carry);
        let mut inside = prefix_xor(masks.quotes & !escaped);
        if *in_string {
            inside = !inside;
        }
        if masks.backslashes & !inside != 0 {
            break;
        }
        let opens = masks.opens & !inside;
        let closes = masks.closes & !inside;
        let mut brackets = opens | closes;
        while brackets != 0 {
            let at = brackets.trailing_zeros();
            if opens >> at & 1 == 1 {
                *depth += 1;
            } else {
                *depth -= 1;
                if *depth == 0 {
                    // A closing bracket outside a string: the value ends out of any string.
                    *in_string = false;
                    return Stop::End(position + at as usize + 1);
                }
            }
            brackets &= brackets - 1;
        }
        *in_string = inside >> 63 == 1;
        escape_carry = carry_out;
        position += BLOCK;
    }
    if escape_carry {
        // The byte scanner has no pending-escape state: hand it the backslash again (it is
        // inside a string, where the scanner steps over it and the byte it escapes).
        position -= 1;
    }
    Stop::Resume(position)
}

/// One block's bytes of interest, bit `i` for byte `i`.
struct Masks {
    quotes: u64,
    backslashes: u64,
    /// `{` and `[`.
    opens: u64,
    /// `}` and `]`.
    closes: u64,
}

impl Masks {
    fn of(block: &[u8]) -> Self {
        let mut masks = Self {
            quotes: 0,
            backslashes: 0,
            opens: 0,
            closes: 0,
        };
        for (index, chunk) in block.chunks_exact(16).enumerate() {
            let lanes = u8x16::new(chunk.try_into().unwrap_or([0; 16]));
            let shift = index * 16;
            masks.quotes |= lanes_equal(lanes, b'"') << shift;
            masks.backslashes |= lanes_equal(lanes, b'\\') << shift;
            masks.opens |= (lanes_equal(lanes, b'{') | lanes_equal(lanes, b'[')) << shift;
            masks.closes |= (lanes_equal(lanes, b'}') | lanes_equal(lanes, b']')) << shift;
        }
        masks
    }
}

fn lanes_equal(lanes: u8x16, byte: u8) -> u64 {
    u64::from(lanes.simd_eq(u8x16::splat(byte)).to_bitmask())
}

/// The bytes escaped by a backslash, and whether the block's last byte escapes the next
/// block's first. A backslash escapes the byte after it unless it is escaped itself; runs of
/// backslashes are rare enough to walk one at a time.
fn escaped_bytes(backslashes: u64, carry_in: bool) -> (u64, bool) {
    let mut escaped = u64::from(carry_in);
    let mut escaping = backslashes & !escaped;
    let mut carry_out = false;
    while escaping != 0 {
        let lowest = escaping & escaping.wrapping_neg();
        let next = lowest << 1;
        carry_out |= next == 0;
        escaped |= next;
        escaping &= !(lowest | next);
    }
    (escaped, carry_out)
}

/// Bit `i` of the result is the XOR of bits `0..=i`: set from an opening quote up to (not
/// including) its closing quote.
fn prefix_xor(mut bits: u64) -> u64 {
    bits ^= bits << 1;
    bits ^= bits << 2;
    bits ^= bits << 4;
    bits ^= bits << 8;
    bits ^= bits << 16;
    bits ^= bits << 32;
    bits
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_mark_each_byte_of_interest_at_its_position() {
        let mut block = [b'a'; BLOCK];
        block[0] = b'"';
        block[17] = b'\\';
        block[33] = b'[';
        block[34] = b'{';
        block[62] = b']';
        block[63] = b'}';
        let masks = Masks::of(&block);
        assert_eq!(masks.quotes, 1);
        assert_eq!(masks.backslashes, 1 << 17);
        assert_eq!(masks.opens, 1 << 33 | 1 << 34);
        assert_eq!(masks.closes, 1 << 62 | 1 << 63);
    }

    #[test]
    fn escapes_pair_up_backslashes_and_carry_over_the_block_end() {
        // `\\` escapes only its second backslash; `\\\"` escapes the quote.
        assert_eq!(escaped_bytes(0b11, false), (0b10, false));
        assert_eq!(escaped_bytes(0b111, false), (0b1010, false));
        assert_eq!(escaped_bytes(0b1, true), (0b1, false));
        assert_eq!(escaped_bytes(1 << 63, false), (0, true));
    }

    #[test]
    fn prefix_xor_covers_each_string_from_its_opening_quote() {
        assert_eq!(prefix_xor(0b1_0010), 0b0_1110);
        assert_eq!(prefix_xor(0b10_0101_0010), 0b01_1100_1110);
    }

    #[test]
    fn a_value_ending_in_the_second_block_ends_there() {
        let text = format!(r#"{{"a":"{}","b":[1,{{"c":"}}"}}]}}"#, "x".repeat(70));
        let window = [text.as_bytes(), &[b' '; BLOCK]].concat();
        let (mut depth, mut in_string) = (1, false);
        assert_eq!(
            scan_blocks(&window, 1, &mut depth, &mut in_string),
            Stop::End(text.len())
        );
        assert_eq!((depth, in_string), (0, false));
    }

    #[test]
    fn a_backslash_outside_a_string_goes_back_to_the_byte_scanner() {
        let window = [br#"{"a":1,\"b":2}"#.as_slice(), &[b' '; BLOCK]].concat();
        let (mut depth, mut in_string) = (1, false);
        assert_eq!(
            scan_blocks(&window, 1, &mut depth, &mut in_string),
            Stop::Resume(1)
        );
        assert_eq!((depth, in_string), (1, false));
    }
}
