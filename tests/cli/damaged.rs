//! Damaged trails: whatever the damage, a scan ends normally, every record it could not read
//! is reported and kept, and every incident it prints is stored.
//!
//! The parsers' own property tests check them one by one; this runs the whole binary on log
//! files damaged the way real ones are (bytes changed by a bad disk or a careless edit, pieces
//! cut out or repeated by a shipper, gzip streams cut short) so that a panic or a record lost
//! between the stages shows here.

use crate::damage::{damage, gzip, Random};
use crate::helpers::*;

/// Damaged variants scanned: each is a process start, a few milliseconds.
const VARIANTS: u64 = 48;

/// The seed events as one CloudTrail log file, pretty-printed as CloudTrail's console download
/// is (so that damage lands on lines of their own as well as inside them).
fn trail() -> Vec<u8> {
    let records = serde_json::json!({ "Records": seed_records() });
    serde_json::to_vec_pretty(&records).expect("JSON")
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
        let mut bytes = damage(&trail, 24, &mut random);
        let mut name = format!("variant-{variant}.json");
        if variant % 3 == 0 {
            // Half of these are deliveries cut short.
            bytes = gzip(&bytes, variant % 2 == 0, &mut random);
            name.push_str(".gz");
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
