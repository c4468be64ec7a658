//! What the tests of input shapes share: an output's incidents in brief, the ways of writing
//! records down, and the check that a shape reads as the seed events do.

use crate::helpers::*;
use flate2::write::GzEncoder;
use serde_json::Value;
use std::io::Write;

/// (event id, rule, severity, resource) of each incident, in order.
pub fn summary(output: &std::process::Output) -> Vec<(String, String, String, String)> {
    incidents_of(output)
        .iter()
        .map(|incident| {
            let field = |name: &str| incident[name].as_str().unwrap_or_default().to_string();
            (
                field("event_id"),
                field("rule_id"),
                field("severity"),
                field("resource"),
            )
        })
        .collect()
}

/// `values` as JSON Lines.
pub fn json_lines(values: &[Value]) -> Vec<u8> {
    values
        .iter()
        .map(|value| value.to_string() + "\n")
        .collect::<String>()
        .into_bytes()
}

pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::default());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

/// Scans `bytes` written to a file `name`, and holds its incidents to `expected` (the seed
/// events' own), each in `envelope`, with all `records` read and none unreadable.
pub fn assert_reads_as(
    expected: &[(String, String, String, String)],
    records: usize,
    shape: &str,
    name: &str,
    bytes: &[u8],
    envelope: &str,
) {
    let workspace = Workspace::new();
    let path = workspace.write(name, bytes);
    let output = workspace.scan(&["--format", "jsonl"], &[&path]);
    assert_success(&output);
    assert_eq!(summary(&output), expected, "{shape}");
    assert!(
        incidents_of(&output)
            .iter()
            .all(|incident| incident["meta"]["envelope"] == envelope),
        "{shape}"
    );
    assert!(
        stderr(&output).contains(&format!("{records} record(s)")),
        "{shape}: {}",
        stderr(&output)
    );
    assert!(
        !stderr(&output).contains("unreadable"),
        "{shape}: {}",
        stderr(&output)
    );
}

/// The incidents the seed events make, scanned from the fixture: what every shape is held to.
pub fn seed_baseline() -> Vec<(String, String, String, String)> {
    let workspace = Workspace::new();
    let baseline = workspace.scan(&["--format", "jsonl"], &[&fixture("seed_events.jsonl")]);
    assert_success(&baseline);
    let expected = summary(&baseline);
    assert!(expected.len() > 40);
    expected
}
