//! A whole input (a CloudTrail log file, JSON Lines, an array, an envelope) read in place and
//! by the framer alone, in memory and a few bytes at a time: both must yield the same records,
//! problems and positions. The first byte picks the chunk size, so that values cross refills
//! at every offset.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    if let Some((&chunk, input)) = bytes.split_first() {
        iamwatch_sources::fuzzing::framing(input, usize::from(chunk) + 1);
    }
});
