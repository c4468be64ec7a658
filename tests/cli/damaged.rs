//! Damaged trails: whatever the damage, a scan ends normally, every record it could not read
//! is reported and kept, and every incident it prints is stored.
//!
//! The parsers' own property tests check them one by one; this runs the whole binary on log
//! files damaged the way real ones are (bytes changed by a bad disk or a careless edit, pieces
//! cut out or repeated by a shipper, gzip streams cut short) so that a panic or a record lost
//! between the stages shows here.

use crate::helpers::*;
use flate2::write::GzEncoder;
use std::io::Write;

/// Damaged variants scanned: each is a process start, a few milliseconds.
const VARIANTS: u64 = 48;

/// A small deterministic generator (SplitMix64): the same variants on every run, so that a
/// failure names a variant that can be scanned again by hand.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, bound: usize) -> usize {
        (self.next() % bound as u64) as usize
    }
}

/// The seed events as one CloudTrail log file, pretty-printed as CloudTrail's console download
/// is (so that damage lands on lines of their own as well as inside them).
fn trail() -> Vec<u8> {
    let records = serde_json::json!({ "Records": seed_records() });
    serde_json::to_vec_pretty(&records).expect("JSON")
}

/// `bytes` with 1 to 24 pieces of damage: a byte replaced by one that matters to a JSON
/// reader (or breaks UTF-8), a run of bytes cut out, or a run repeated elsewhere.
fn damage(bytes: &[u8], random: &mut Random) -> Vec<u8> {
    const BYTES: &[u8] = b"{}[]\",:\\ \n\x00\xff\xc3tfn0-e.u";
    let mut damaged = bytes.to_vec();
    for _ in 0..1 + random.below(24) {
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

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).expect("gzip");
    encoder.finish().expect("gzip")
}

/// The number a summary line starting with `prefix` gives, or 0 when there is no such line.
fn summary_count(errors: &str, prefix: &str) -> usize {
    errors
        .lines()
        .find_map(|line| line.strip_prefix(prefix))
        .map(|rest| {
            let digits: String = rest
                .trim_start()
                .chars()
                .take_while(char::is_ascii_digit)
                .collect();
            digits.parse().expect("a count")
        })
        .unwrap_or(0)
}

#[test]
fn damaged_trails_are_scanned_to_the_end_and_nothing_unread_is_lost() {
    let trail = trail();
    let mut random = Random(0x1a3_5eed);
    let mut unreadable_seen = 0;
    for variant in 0..VARIANTS {
        let mut bytes = damage(&trail, &mut random);
        let mut name = format!("variant-{variant}.json");
        if variant % 3 == 0 {
            bytes = gzip(&bytes);
            name.push_str(".gz");
            if variant % 2 == 0 {
                // A delivery cut short: the gzip stream ends early.
                bytes.truncate(bytes.len() / 2 + random.below(bytes.len() / 2));
            }
        }
        let workspace = Workspace::new();
        let path = workspace.write(&name, &bytes);
        let output = workspace.scan(&["--format", "jsonl"], &[&path]);
        let errors = stderr(&output);
        let context = format!("variant {variant} ({name}): {errors}");
        assert!(output.status.success(), "{context}");
        assert!(!errors.contains("panicked"), "{context}");

        // Every record not read is counted, and kept in the dead-letter file, one line each,
        // naming the file it came from.
        let unreadable = summary_count(&errors, "unreadable records:");
        let dead_letters: Vec<serde_json::Value> =
            std::fs::read_to_string(workspace.path("dead-letter.jsonl"))
                .unwrap_or_default()
                .lines()
                .map(|line| serde_json::from_str(line).expect("a dead letter is JSON"))
                .collect();
        assert_eq!(dead_letters.len(), unreadable, "{context}");
        assert!(
            dead_letters.iter().all(|dead| {
                dead["source"] == path.display().to_string().as_str() && dead["reason"].is_string()
            }),
            "{context}"
        );
        unreadable_seen += unreadable;

        // Every incident printed is stored, once.
        let printed = incidents_of(&output);
        assert_eq!(
            summary_count(&errors, "incidents:"),
            printed.len(),
            "{context}"
        );
        let stored = workspace.incidents(&["list", "--all", "--format", "jsonl"]);
        assert_success(&stored);
        let mut printed_ids: Vec<&str> = printed
            .iter()
            .map(|incident| incident["incident_id"].as_str().expect("an id"))
            .collect();
        let stored_incidents = incidents_of(&stored);
        let mut stored_ids: Vec<&str> = stored_incidents
            .iter()
            .map(|incident| incident["incident_id"].as_str().expect("an id"))
            .collect();
        printed_ids.sort_unstable();
        stored_ids.sort_unstable();
        assert_eq!(printed_ids, stored_ids, "{context}");
    }
    // The damage is real: records were lost to it, and kept.
    assert!(unreadable_seen > VARIANTS as usize, "{unreadable_seen}");
}
