//! Data written outside this team (../shared/corpus): read all of it, drop none of it.

use crate::helpers::*;
use serde_json::Value;

fn count_from_stderr(errors: &str, prefix: &str, suffix: &str) -> u64 {
    errors
        .lines()
        .find_map(|line| {
            line.split_once(prefix)
                .and_then(|(_, rest)| rest.split_once(suffix))
                .and_then(|(number, _)| number.trim().parse().ok())
        })
        .unwrap_or(0)
}

/// Records in a raw-log file, counted independently with serde_json.
fn records_in(path: &std::path::Path) -> u64 {
    let text = std::fs::read_to_string(path).unwrap();
    match serde_json::from_str::<Value>(&text) {
        Ok(Value::Array(items)) => items.len() as u64,
        Ok(Value::Object(object)) => object
            .get("Records")
            .and_then(Value::as_array)
            .map_or(1, |records| records.len() as u64),
        _ => text.lines().filter(|line| !line.trim().is_empty()).count() as u64,
    }
}

#[test]
fn every_raw_attack_log_record_is_read_and_none_is_bad() {
    let workspace = Workspace::new();
    let raw_logs = corpus().join("raw_logs");
    let output = workspace.scan(&["--format", "jsonl"], &[&raw_logs]);
    assert_success(&output);
    let mut expected = 0;
    for folder in ["stratus-red-team", "aws_dataset", "Security-Datasets"] {
        for entry in std::fs::read_dir(raw_logs.join(folder)).unwrap() {
            let path = entry.unwrap().path();
            if path
                .extension()
                .is_some_and(|extension| extension == "json")
            {
                expected += records_in(&path);
            }
        }
    }
    let errors = stderr(&output);
    assert_eq!(
        count_from_stderr(&errors, "input(s), ", " record(s)"),
        expected,
        "{errors}"
    );
    assert!(!errors.contains("unreadable"), "{errors}");
    let incidents = incidents_of(&output);
    assert!(incidents.len() > 50, "{}", incidents.len());
    // Stratus anonymised some addresses into invalid ones: classified, not dropped.
    assert!(incidents
        .iter()
        .any(|incident| incident["meta"]["ip_class"] == "invalid"));
    // Security-Datasets replaced eventTime with @timestamp.
    let notes_mention_timestamp = incidents_of(&workspace.scan(
        &["--format", "jsonl", "--skip", ""],
        &[&raw_logs.join("Security-Datasets")],
    ));
    assert!(notes_mention_timestamp
        .iter()
        .all(|incident| incident["event_time_ms"].as_i64().unwrap() > 1_500_000_000_000));
}

#[test]
fn every_panther_test_record_is_read_or_kept_as_unreadable() {
    let workspace = Workspace::new();
    let tests = std::fs::read_to_string(corpus().join("panther/tests.jsonl")).unwrap();
    let mut records = String::new();
    let mut cloudtrail_shaped = 0;
    let mut total = 0;
    for line in tests.lines() {
        let test: Value = serde_json::from_str(line).unwrap();
        total += 1;
        if test["record"]
            .get("eventName")
            .or_else(|| test["record"].get("eventname"))
            .is_some()
        {
            cloudtrail_shaped += 1;
        }
        records.push_str(&test["record"].to_string());
        records.push('\n');
    }
    let path = workspace.write("panther-records.jsonl", records.as_bytes());
    let output = workspace.scan(&["--format", "jsonl"], &[&path]);
    assert_success(&output);
    let errors = stderr(&output);
    let read = count_from_stderr(&errors, "input(s), ", " record(s)");
    let unreadable = count_from_stderr(&errors, "unreadable records: ", " (kept");
    assert_eq!(
        read, cloudtrail_shaped,
        "every record with an eventName is read: {errors}"
    );
    assert_eq!(read + unreadable, total, "none dropped: {errors}");
    let dead = std::fs::read_to_string(workspace.path("dead-letter.jsonl")).unwrap();
    assert_eq!(dead.lines().count() as u64, unreadable);
}

/// Each Stratus Red Team technique's detonation log (`../shared/corpus/raw_logs/stratus-red-team`)
/// raises at least one incident of MEDIUM or above.
#[test]
fn every_stratus_technique_raises_a_medium_or_worse_incident() {
    let folder = corpus().join("raw_logs/stratus-red-team");
    let mut files: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    let mut quiet = Vec::new();
    for file in &files {
        let workspace = Workspace::new();
        let output = workspace.scan(&["--format", "jsonl"], &[file]);
        assert_success(&output);
        let raised = incidents_of(&output).iter().any(|incident| {
            matches!(
                incident["severity"].as_str(),
                Some("MEDIUM" | "HIGH" | "CRITICAL")
            )
        });
        if !raised {
            quiet.push(file.file_name().unwrap().to_string_lossy().into_owned());
        }
    }
    assert_eq!(files.len(), 35);
    assert!(
        quiet.is_empty(),
        "techniques without a MEDIUM+ incident: {quiet:?}"
    );
}
