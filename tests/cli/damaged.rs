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
        let dead_letters = workspace.dead_letters();
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

/// A value over the 32 MB limit, and a JSON line cut short at over a megabyte, are reported
/// where they are and kept as far as the cap goes (their first megabyte, marked truncated),
/// whether they come on standard input or in a gzipped file read into memory; the records
/// around them are read.
#[test]
fn oversized_and_long_cut_short_values_are_kept_in_part_and_marked_truncated() {
    const MEGABYTE: usize = 1024 * 1024;
    let oversized = delete_user_record("huge", 2).replace(
        "\"requestParameters\":{",
        &format!(
            "\"requestParameters\":{{\"pad\":\"{}\",",
            "x".repeat(33 * MEGABYTE)
        ),
    );
    assert!(oversized.len() > 33 * MEGABYTE);
    let cut_short = format!(
        "{{\"eventVersion\":\"1.09\",\"pad\":\"{}",
        "y".repeat(2 * MEGABYTE)
    );
    let lines = [
        delete_user_record("ok", 1),
        oversized.clone(),
        cut_short.clone(),
        delete_user_record("ok", 3),
    ]
    .join("\n")
        + "\n";

    let workspace = Workspace::new();
    let gzipped = workspace.write(
        "trail.json.gz",
        &gzip(lines.as_bytes(), false, &mut crate::damage::Random(1)),
    );
    for how in ["stdin", "gzip"] {
        // The dead-letter file is appended to: each scan is checked before the next.
        let output = match how {
            "stdin" => scan_stdin(&workspace, &["--format", "jsonl"], lines.as_bytes()),
            _ => workspace.scan(&["--format", "jsonl"], &[&gzipped]),
        };
        assert_success(&output);
        let errors = stderr(&output);
        let printed: Vec<String> = incidents_of(&output)
            .iter()
            .map(|incident| {
                incident["event_id"]
                    .as_str()
                    .expect("an event id")
                    .to_string()
            })
            .collect();
        assert!(
            printed.contains(&"ok-1".to_string()),
            "{how}: {printed:?} {errors}"
        );
        assert!(
            printed.contains(&"ok-3".to_string()),
            "{how}: {printed:?} {errors}"
        );
        assert_eq!(
            summary_count(&errors, "unreadable records:"),
            2,
            "{how}: {errors}"
        );

        let dead = workspace.dead_letters();
        assert_eq!(dead.len(), 2, "{how}");
        let (too_large, cut) = (&dead[0], &dead[1]);
        assert_eq!(too_large["line"], 2, "{how}");
        assert!(
            too_large["reason"]
                .as_str()
                .unwrap()
                .contains("over the 33554432-byte limit"),
            "{how}: {too_large:?}"
        );
        assert_eq!(cut["line"], 3, "{how}");
        for (letter, whole) in [(too_large, &oversized), (cut, &cut_short)] {
            let raw = letter["raw"]
                .as_str()
                .unwrap_or_else(|| panic!("{how}: no raw kept"));
            assert_eq!(raw.len(), MEGABYTE, "{how}");
            assert!(whole.starts_with(raw), "{how}");
            assert_eq!(letter["raw_truncated"], true, "{how}");
        }
        std::fs::remove_file(workspace.path("dead-letter.jsonl")).expect("remove dead letters");
    }
}

/// A record is read when its JSON is, but a number past an `f64` (`1e400`) then fails serde's
/// parse of its request, and of the whole record that some rules' conditions read. The incident
/// says what could not be read, and by which rules, instead of the parts going missing without
/// a word (its target fell back to the event id; the rules found nothing).
#[test]
fn parts_that_cannot_be_read_are_named_in_the_incident() {
    let workspace = Workspace::new();
    let record = serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::123456789012:user/alice",
                         "accountId": "123456789012", "userName": "alice"},
        "eventTime": "2024-06-01T00:00:01Z", "eventSource": "iam.amazonaws.com",
        "eventName": "CreateAccessKey", "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.15.0",
        "requestParameters": {"userName": "bob", "n": "NUMBER"},
        "responseElements": null, "eventID": "f0000000-0000-0000-0000-000000000001",
        "eventType": "AwsApiCall", "recipientAccountId": "123456789012",
    });
    let text = record.to_string().replace("\"NUMBER\"", "1e400");
    let path = workspace.write("big-number.json", text.as_bytes());
    // No skip list: the generic IAM rule raises the incident the notes are written in.
    let output = workspace.scan(&["--format", "jsonl", "--skip", ""], &[&path]);
    assert_success(&output);
    let incidents = incidents_of(&output);
    assert_eq!(incidents.len(), 1, "{}", stderr(&output));
    let notes: Vec<&str> = incidents[0]["meta"]["notes"]
        .as_array()
        .map(|notes| notes.iter().filter_map(|note| note.as_str()).collect())
        .unwrap_or_default();
    assert!(
        notes
            .iter()
            .any(|note| note.contains("requestParameters could not be read")
                && note.contains("number out of range")),
        "{notes:?}"
    );
    assert!(
        notes.iter().any(
            |note| note.contains("iam.access_key_created_for_another_user")
                && note.contains("could not be read whole")
                && !note.contains('\n')
        ),
        "{notes:?}"
    );
}
