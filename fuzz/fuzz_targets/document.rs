//! One CloudTrail record's bytes through the fast path and the serde path: wherever the fast
//! path reads them (whole, or as the start of a `Records` array's element), the serde path must
//! read the same document. A panic is a disagreement, or a crash in either.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| iamwatch_sources::fuzzing::document(bytes));
