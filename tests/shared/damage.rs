//! Input damaged the way real input is: bytes changed by a bad disk or a careless edit, pieces
//! cut out or repeated by a shipper, gzip streams cut short. Deterministic, so that a failing
//! variant can be made again by hand. Shared by the `cli` and `serve` tests.

use flate2::write::GzEncoder;
use std::io::Write;

/// A small deterministic generator (SplitMix64).
pub struct Random(pub u64);

impl Random {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// `bytes` with 1 to `most` pieces of damage: a byte replaced by one that matters to a JSON
/// reader (or breaks UTF-8), a run of bytes cut out, or a run repeated elsewhere.
pub fn damage(bytes: &[u8], most: usize, random: &mut Random) -> Vec<u8> {
    const BYTES: &[u8] = b"{}[]\",:\\ \n\x00\xff\xc3tfn0-e.u";
    let mut damaged = bytes.to_vec();
    for _ in 0..1 + random.below(most) {
        if damaged.is_empty() {
            break;
        }
        let at = random.below(damaged.len());
        match random.below(3) {
            0 => damaged[at] = BYTES[random.below(BYTES.len())],
            1 => {
                let end = (at + 1 + random.below(60)).min(damaged.len());
                damaged.drain(at..end);
            }
            _ => {
                let from = random.below(damaged.len());
                let end = (from + 1 + random.below(90)).min(damaged.len());
                let piece = damaged[from..end].to_vec();
                damaged.splice(at..at, piece);
            }
        }
    }
    damaged
}

/// `bytes` gzipped; with `cut`, the stream is cut short somewhere in its second half.
pub fn gzip(bytes: &[u8], cut: bool, random: &mut Random) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    let mut gzipped = encoder.finish().expect("gzip");
    if cut {
        let half = gzipped.len() / 2;
        gzipped.truncate(half + random.below(half.max(1)));
    }
    gzipped
}
