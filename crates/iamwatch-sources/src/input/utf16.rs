//! Text saved as UTF-16 with a byte-order mark, read as the UTF-8 it stands for.
//!
//! CloudTrail writes UTF-8, but events exported on Windows often are not: PowerShell 5's `>`
//! and `Out-File` write UTF-16LE with a BOM, which no JSON parser reads (each record would be a
//! dead letter, `not JSON: "\u{FFFD}\u{FFFD}{\0\"\0e…"`). Such an input is recognised by its
//! BOM alone (`FF FE` or `FE FF`; without one, UTF-16 is not guessed) and decoded on the way in,
//! so the framer and everything after it see UTF-8 and count lines as in the file. An unpaired
//! surrogate, or an odd byte at the end, becomes U+FFFD, as a lone invalid byte of UTF-8 does.

use std::io::{self, Read};

/// The byte order a UTF-16 BOM names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Order {
    Little,
    Big,
}

/// The byte order of text that starts with a UTF-16 BOM, or `None`.
pub fn byte_order(head: &[u8]) -> Option<Order> {
    match head {
        // `FF FE 00 00` is the UTF-32LE BOM: not UTF-16 (and not read).
        [0xFF, 0xFE, 0, 0, ..] => None,
        [0xFF, 0xFE, ..] => Some(Order::Little),
        [0xFE, 0xFF, ..] => Some(Order::Big),
        _ => None,
    }
}

/// The UTF-8 of `bytes`, UTF-16 after its BOM (which is not kept).
pub fn decode_all(bytes: &[u8], order: Order) -> Vec<u8> {
    let mut decoder = Decoder::new(order);
    decoder
        .raw
        .extend_from_slice(bytes.get(2..).unwrap_or_default());
    decoder.decode(true);
    decoder.out
}

/// UTF-16 units not yet decoded, and the UTF-8 decoded and not yet read.
struct Decoder {
    order: Order,
    raw: Vec<u8>,
    out: Vec<u8>,
    /// How much of `out` has been read.
    taken: usize,
}

impl Decoder {
    fn new(order: Order) -> Self {
        Self {
            order,
            raw: Vec::new(),
            out: Vec::new(),
            taken: 0,
        }
    }

    /// Decodes what `raw` holds into `out`. Unless `at_end`, an odd byte and a high surrogate
    /// at the end wait for the bytes after them.
    fn decode(&mut self, at_end: bool) {
        let unit = |pair: &[u8]| match self.order {
            Order::Little => u16::from_le_bytes([pair[0], pair[1]]),
            Order::Big => u16::from_be_bytes([pair[0], pair[1]]),
        };
        let mut whole = self.raw.len() / 2 * 2;
        if !at_end && whole >= 2 && (0xD800..0xDC00).contains(&unit(&self.raw[whole - 2..whole])) {
            whole -= 2;
        }
        let units = self.raw[..whole].chunks_exact(2).map(unit);
        let mut buffer = [0u8; 4];
        for decoded in char::decode_utf16(units) {
            let character = decoded.unwrap_or(char::REPLACEMENT_CHARACTER);
            self.out
                .extend_from_slice(character.encode_utf8(&mut buffer).as_bytes());
        }
        self.raw.drain(..whole);
        if at_end && !self.raw.is_empty() {
            self.raw.clear();
            self.out
                .extend_from_slice(char::REPLACEMENT_CHARACTER.to_string().as_bytes());
        }
    }
}

/// Where a [`Sniffing`] reader is.
enum State {
    /// Nothing read yet.
    Start,
    /// Not UTF-16: the first bytes, read to look at them, are handed out again first.
    Plain {
        head: [u8; 4],
        length: usize,
    },
    Utf16(Decoder),
}

/// A reader that looks at the first four bytes of `inner` (a UTF-32LE BOM starts as UTF-16LE's
/// does): after a UTF-16 BOM it hands out the text as UTF-8, otherwise the bytes as they are
/// (with no copy past the first four).
pub struct Sniffing<R> {
    inner: R,
    state: State,
}

impl<R: Read> Sniffing<R> {
    pub fn new(inner: R) -> Self {
        Self {
            inner,
            state: State::Start,
        }
    }
}

/// Raw UTF-16 read from the input per refill.
const CHUNK: usize = 64 * 1024;

impl<R: Read> Read for Sniffing<R> {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        loop {
            match &mut self.state {
                State::Start => {
                    let mut head = [0u8; 4];
                    let mut length = 0;
                    while length < head.len() {
                        match self.inner.read(&mut head[length..]) {
                            Ok(0) => break,
                            Ok(count) => length += count,
                            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                            Err(error) => return Err(error),
                        }
                    }
                    self.state = match byte_order(&head[..length]) {
                        Some(order) => {
                            let mut decoder = Decoder::new(order);
                            decoder.raw.extend_from_slice(&head[2..length]);
                            State::Utf16(decoder)
                        }
                        None => State::Plain { head, length },
                    };
                }
                State::Plain { head, length } => {
                    if *length == 0 {
                        return self.inner.read(buffer);
                    }
                    let count = (*length).min(buffer.len());
                    buffer[..count].copy_from_slice(&head[..count]);
                    head.copy_within(count.., 0);
                    *length -= count;
                    return Ok(count);
                }
                State::Utf16(decoder) => {
                    if decoder.taken < decoder.out.len() {
                        let ready = &decoder.out[decoder.taken..];
                        let count = ready.len().min(buffer.len());
                        buffer[..count].copy_from_slice(&ready[..count]);
                        decoder.taken += count;
                        return Ok(count);
                    }
                    decoder.out.clear();
                    decoder.taken = 0;
                    let held = decoder.raw.len();
                    decoder.raw.resize(held + CHUNK, 0);
                    let count = loop {
                        match self.inner.read(&mut decoder.raw[held..]) {
                            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
                            other => break other,
                        }
                    };
                    let count = match count {
                        Ok(count) => count,
                        Err(error) => {
                            decoder.raw.truncate(held);
                            return Err(error);
                        }
                    };
                    decoder.raw.truncate(held + count);
                    decoder.decode(count == 0);
                    if count == 0 && decoder.out.is_empty() {
                        return Ok(0);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Hands out `data` a few bytes at a time, so that units and surrogate pairs are split
    /// across reads.
    struct Trickle<'a>(&'a [u8], usize);

    impl Read for Trickle<'_> {
        fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
            let count = self.1.min(buffer.len()).min(self.0.len());
            buffer[..count].copy_from_slice(&self.0[..count]);
            self.0 = &self.0[count..];
            Ok(count)
        }
    }

    fn utf16(text: &str, order: Order) -> Vec<u8> {
        let mut bytes = match order {
            Order::Little => vec![0xFF, 0xFE],
            Order::Big => vec![0xFE, 0xFF],
        };
        for unit in text.encode_utf16() {
            bytes.extend_from_slice(&match order {
                Order::Little => unit.to_le_bytes(),
                Order::Big => unit.to_be_bytes(),
            });
        }
        bytes
    }

    fn read_all(reader: impl Read) -> Vec<u8> {
        let mut out = Vec::new();
        let mut reader = reader;
        reader.read_to_end(&mut out).unwrap();
        out
    }

    #[test]
    fn utf16_with_a_bom_reads_as_its_utf8_in_any_split() {
        let text = "{\"eventName\":\"액세스 키 생성 🔑\"}\r\n{\"n\":2}";
        for order in [Order::Little, Order::Big] {
            let bytes = utf16(text, order);
            assert_eq!(decode_all(&bytes, order), text.as_bytes());
            for step in [1, 2, 3, 5, 4096] {
                let read = read_all(Sniffing::new(Trickle(&bytes, step)));
                assert_eq!(
                    String::from_utf8(read).unwrap(),
                    text,
                    "{order:?} by {step}"
                );
            }
        }
    }

    #[test]
    fn other_input_passes_through_unchanged() {
        for bytes in [
            &b""[..],
            b"{",
            b"{}",
            b"\xEF\xBB\xBF{\"a\":1}",
            b"\x1f\x8b\x08\x00",
            b"\xFF\xFE\x00\x00{",
            b"\xFF",
        ] {
            for step in [1, 3, 100] {
                assert_eq!(read_all(Sniffing::new(Trickle(bytes, step))), bytes);
            }
        }
    }

    proptest::proptest! {
        /// Any bytes, read in any pieces: without a BOM they come out as they went in; after
        /// one, as UTF-8 that decodes to what the units decode to, whatever the split.
        #[test]
        fn any_bytes_in_any_pieces_read_as_their_whole(
            mut bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..200),
            bom in proptest::sample::select(vec![None, Some(Order::Little), Some(Order::Big)]),
            step in 1usize..9,
        ) {
            let mark: &[u8] = match bom {
                Some(Order::Little) => &[0xFF, 0xFE],
                Some(Order::Big) => &[0xFE, 0xFF],
                None => &[],
            };
            bytes.splice(0..0, mark.iter().copied());
            let read = read_all(Sniffing::new(Trickle(&bytes, step)));
            match byte_order(&bytes) {
                None => proptest::prop_assert_eq!(read, bytes),
                Some(order) => {
                    proptest::prop_assert!(std::str::from_utf8(&read).is_ok());
                    proptest::prop_assert_eq!(read, decode_all(&bytes, order));
                }
            }
        }
    }

    #[test]
    fn unpaired_surrogates_and_an_odd_last_byte_become_replacement_characters() {
        let mut bytes = vec![0xFF, 0xFE];
        for unit in [u16::from(b'a'), 0xD83D, u16::from(b'b'), 0xDC00] {
            bytes.extend_from_slice(&unit.to_le_bytes());
        }
        bytes.push(b'c');
        for step in [1, 2, 64] {
            let read = read_all(Sniffing::new(Trickle(&bytes, step)));
            assert_eq!(
                String::from_utf8(read).unwrap(),
                "a\u{FFFD}b\u{FFFD}\u{FFFD}"
            );
        }
    }
}
