//! Scan behaviour: deduplication, bad input, errors, output discipline.

use crate::helpers::*;

#[test]
fn scanning_the_same_events_twice_creates_each_incident_once() {
    let workspace = Workspace::new();
    let first = workspace.scan(&["--format", "jsonl"], &[&fixture("seed_events.jsonl")]);
    assert_success(&first);
    let second = workspace.scan(&["--format", "jsonl"], &[&fixture("seed_events.jsonl")]);
    assert_success(&second);
    let ids = |output| {
        incidents_of(output)
            .iter()
            .map(|incident| incident["incident_id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    let first_ids = ids(&first);
    assert_eq!(
        first_ids,
        ids(&second),
        "a re-scan reports the same stored incidents"
    );
    assert!(
        stderr(&second).contains(&format!(
            "incidents: 0 new, {} already stored",
            first_ids.len()
        )),
        "{}",
        stderr(&second)
    );

    let listed = workspace.incidents(&["list", "--format", "jsonl", "--limit", "1000"]);
    assert_success(&listed);
    assert_eq!(incidents_of(&listed).len(), first_ids.len());
}

/// A re-scan over more than a batch: after its first batch, found stored, the store looks the
/// next batches' incidents up before writing anything. Each is reported as stored, an
/// acknowledged one as acknowledged, and none twice.
#[test]
fn a_rescan_of_several_batches_reports_every_incident_as_stored() {
    const RECORDS: usize = 3_000;
    let workspace = Workspace::new();
    let records: Vec<String> = (0..RECORDS)
        .map(|n| delete_user_record("again", n))
        .collect();
    let file = workspace.write("day.jsonl", (records.join("\n") + "\n").as_bytes());
    let first = workspace.scan(&["--format", "jsonl"], &[&file]);
    assert_success(&first);
    let first = incidents_of(&first);
    assert_eq!(first.len(), RECORDS);
    // The last one is in the third batch of 1,024.
    let last = first[RECORDS - 1]["incident_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_success(&workspace.incidents(&["ack", &last]));

    let again = workspace.scan(&["--format", "jsonl"], &[&file]);
    assert_success(&again);
    assert!(
        stderr(&again).contains(&format!("incidents: 0 new, {RECORDS} already stored")),
        "{}",
        stderr(&again)
    );
    let again = incidents_of(&again);
    let field = |incidents: &[serde_json::Value], name: &str| -> Vec<String> {
        let values = incidents.iter().map(|incident| incident[name].to_string());
        values.collect()
    };
    assert_eq!(field(&again, "incident_id"), field(&first, "incident_id"));
    assert_eq!(field(&again, "meta"), field(&first, "meta"));
    let statuses = field(&again, "status");
    assert_eq!(statuses[RECORDS - 1], "\"ACKNOWLEDGED\"");
    assert!(statuses[..RECORDS - 1]
        .iter()
        .all(|status| status == "\"NEW\""));
    let listed = workspace.incidents(&["list", "--format", "jsonl", "--limit", "5000"]);
    assert_success(&listed);
    assert_eq!(incidents_of(&listed).len(), RECORDS);
}

#[test]
fn jsonl_output_is_only_incidents_and_the_summary_goes_to_stderr() {
    let workspace = Workspace::new();
    let output = workspace.scan(&["--format", "jsonl"], &[&fixture("seed_events.jsonl")]);
    assert_success(&output);
    for line in stdout(&output).lines() {
        let incident: serde_json::Value = serde_json::from_str(line).unwrap();
        for field in [
            "incident_id",
            "event_id",
            "event_name",
            "event_type",
            "rule_id",
            "title",
            "resource",
            "severity",
            "status",
            "meta",
            "source",
            "account",
            "region",
            "event_time_ms",
            "created_at",
            "updated_at",
        ] {
            assert!(incident.get(field).is_some(), "{field} missing in {line}");
        }
    }
    assert!(
        stderr(&output).starts_with("scanned 1 input(s), 48 record(s)"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn bad_records_are_reported_with_file_line_and_reason_kept_and_counted() {
    let workspace = Workspace::new();
    let good = std::fs::read_to_string(fixture("seed_events.jsonl")).unwrap();
    let first_good = good.lines().nth(2).unwrap();
    let content = format!(
        "{first_good}\n{{\"eventName\": \"DeleteUser\", \"eventSource\": }}\n[1, 2]\n{{\"actor\": \"okta\"}}\nthis is not json\n{first_good_again}\n{{\"Records\": [{{\"eventName\": \"CreateUser\"",
        first_good_again = good.lines().nth(3).unwrap()
    );
    let path = workspace.write("mixed.jsonl", content.as_bytes());
    let output = workspace.scan(&["--format", "jsonl"], &[&path]);
    assert_success(&output);
    let errors = stderr(&output);
    let name = path.display().to_string();
    assert!(
        errors.contains(&format!(
            "warning: {name}:2: record 1: invalid JSON at column"
        )),
        "{errors}"
    );
    // A top-level array is a list of records: each element is judged on its own.
    assert!(
        errors.contains(&format!(
            "warning: {name}:3: record 2: expected a JSON object, found a number"
        )),
        "{errors}"
    );
    assert!(
        errors.contains(&format!(
            "warning: {name}:3: record 3: expected a JSON object, found a number"
        )),
        "{errors}"
    );
    assert!(
        errors.contains(&format!("warning: {name}:4: record 4: no eventName")),
        "{errors}"
    );
    assert!(
        errors.contains(&format!("warning: {name}:5: record 5: not JSON")),
        "{errors}"
    );
    assert!(
        errors.contains(&format!(
            "warning: {name}:7: record 7: input ends inside a value"
        )),
        "{errors}"
    );
    assert!(errors.contains("unreadable records: 6"), "{errors}");
    assert_eq!(
        incidents_of(&output).len(),
        2,
        "the good records around the bad ones are still scanned"
    );

    let dead: Vec<serde_json::Value> = std::fs::read_to_string(workspace.path("dead-letter.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(dead.len(), 6);
    assert_eq!(dead[0]["line"], 2);
    assert_eq!(
        dead[0]["raw"],
        "{\"eventName\": \"DeleteUser\", \"eventSource\": }"
    );
    assert!(dead
        .iter()
        .all(|entry| entry["source"] == name.as_str() && entry["reason"].is_string()));
    // The input ends inside a record: what it holds of it is kept.
    assert_eq!(
        (dead[5]["line"].as_u64(), dead[5]["raw"].as_str()),
        (Some(7), Some("{\"eventName\": \"CreateUser\""))
    );

    let strict = workspace.scan(&["--strict"], &[&path]);
    assert_eq!(strict.status.code(), Some(3), "{}", stderr(&strict));
}

#[test]
fn a_json_line_cut_short_costs_that_line_alone_and_is_kept() {
    let workspace = Workspace::new();
    let good: Vec<String> = std::fs::read_to_string(fixture("seed_events.jsonl"))
        .unwrap()
        .lines()
        .skip(2)
        .take(4)
        .map(str::to_string)
        .collect();
    // A shipper that died mid-write: the second line stops halfway.
    let cut = &good[1][..good[1].len() / 2];
    let content = format!("{}\n{cut}\n{}\n{}\n", good[0], good[2], good[3]);
    let path = workspace.write("shipped.jsonl", content.as_bytes());
    let output = workspace.scan(&["--format", "jsonl"], &[&path]);
    assert_success(&output);
    let errors = stderr(&output);
    assert!(
        errors.contains(&format!(
            "warning: {}:2: record 1: the value does not end on its line",
            path.display()
        )),
        "{errors}"
    );
    assert_eq!(incidents_of(&output).len(), 3, "{errors}");
    let dead = std::fs::read_to_string(workspace.path("dead-letter.jsonl")).unwrap();
    let dead: Vec<serde_json::Value> = dead
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(dead.len(), 1);
    assert_eq!(
        (dead[0]["line"].as_u64(), dead[0]["raw"].as_str()),
        (Some(2), Some(cut))
    );
}

#[test]
fn a_missing_file_is_a_clear_error() {
    let workspace = Workspace::new();
    let missing = workspace.path("no-such-trail.json.gz");
    let output = workspace.scan(&[], &[&missing]);
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(
        stderr(&output).trim(),
        format!("error: {}: no such file or directory", missing.display())
    );
}

#[test]
fn corrupt_gzip_is_reported_and_the_other_inputs_still_scanned() {
    let workspace = Workspace::new();
    let mut corrupt = vec![0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 0xff];
    corrupt.extend_from_slice(b"definitely not deflate data");
    let bad = workspace.write("broken.json.gz", &corrupt);
    let output = workspace.scan(
        &["--format", "jsonl"],
        &[&bad, &fixture("seed_events.jsonl")],
    );
    assert_success(&output);
    assert!(
        stderr(&output).contains(&format!("warning: {}: read failed", bad.display())),
        "{}",
        stderr(&output)
    );
    assert_eq!(incidents_of(&output).len(), 46);
}

#[test]
fn korean_table_shows_times_in_kst() {
    let workspace = Workspace::new();
    let output = workspace.scan(&["--lang", "ko"], &[&fixture("seed_events.jsonl")]);
    assert_success(&output);
    let table = stdout(&output);
    assert!(table.starts_with("시각 (KST)"), "{table}");
    // 2024-06-01T09:00:14Z is 18:00:14 in Seoul.
    assert!(table.contains("2024-06-01 18:00:14  심각"), "{table}");
    assert!(
        stderr(&output).contains("인시던트: 신규 46건"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn skip_list_is_configurable() {
    let workspace = Workspace::new();
    let output = workspace.scan(
        &["--format", "jsonl", "--skip", ""],
        &[&fixture("seed_events.jsonl")],
    );
    assert_success(&output);
    let creates = incidents_of(&output)
        .into_iter()
        .filter(|incident| incident["event_name"] == "CreateAccessKey")
        .count();
    assert_eq!(creates, 2);
    assert!(!stderr(&output).contains("skipped"), "{}", stderr(&output));
}

/// The dead-letter file is never read as input: scanning the directory it is kept in (as
/// `iamwatch scan .` does with the default path) read the last run's dead letters as records
/// and kept each again, doubling the file at every run.
#[test]
fn a_scan_of_the_directory_holding_the_dead_letters_does_not_read_them() {
    let workspace = Workspace::new();
    workspace.write("records.json", delete_user_record("dl", 1).as_bytes());
    workspace.write("bad.json", b"{\"eventName\": broken\n");
    let dead_letters = workspace.path("dead-letter.jsonl");
    for run in 1..=3 {
        // The directory as another spelling of it, as `.` would be.
        let directory = workspace.dir.path().join(".");
        let output = workspace.scan(&["--format", "jsonl"], &[&directory]);
        assert_success(&output);
        let errors = stderr(&output);
        assert!(
            errors.contains("unreadable records: 1 "),
            "run {run}: {errors}"
        );
        let kept = std::fs::read_to_string(&dead_letters).unwrap();
        assert_eq!(kept.lines().count(), run, "run {run}: {kept}");
        assert!(kept.lines().all(|line| line.contains("bad.json")), "{kept}");
    }
}

/// The issue's progress bar: on stderr when it is a terminal and the input is large (over
/// 64 MiB), never when stderr is a file or pipe. A pseudo-terminal comes from util-linux's
/// `script`, as a user's shell gives one.
#[test]
fn a_large_scan_draws_a_progress_bar_on_a_terminal_only() {
    let workspace = Workspace::new();
    // 70 MB in few records: each carries 4 KB of request text no rule reads.
    let padding = "a".repeat(4096);
    let mut log = String::from("{\"Records\":[");
    for n in 0..17_000 {
        if n > 0 {
            log.push(',');
        }
        log.push_str(&format!(
            r#"{{"eventVersion":"1.08","eventTime":"2024-06-01T00:00:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","eventID":"pb-{n}","readOnly":true,"requestParameters":{{"filter":"{padding}"}},"userIdentity":{{"type":"IAMUser","userName":"alice"}}}}"#
        ));
    }
    log.push_str("]}");
    assert!(log.len() > 65 * 1024 * 1024);
    let input = workspace.write("large.json", log.as_bytes());
    drop(log);
    let command = format!(
        "{} scan --db {} --dead-letter {} {} > /dev/null",
        env!("CARGO_BIN_EXE_iamwatch"),
        workspace.path("pty.db").display(),
        workspace.path("dead-letter.jsonl").display(),
        input.display()
    );
    let terminal = std::process::Command::new("script")
        .args(["--quiet", "--return", "--command", &command])
        .arg(workspace.path("typescript"))
        .env_remove("IAMWATCH_DB")
        .output()
        .expect("util-linux script");
    assert_success(&terminal);
    // The terminal saw the bar (drawn with its byte counts and eta), then the summary.
    let screen = String::from_utf8_lossy(&terminal.stdout).into_owned();
    assert!(screen.contains("eta"), "{screen}");
    assert!(screen.contains("17000 record(s)"), "{screen}");

    let piped = workspace.scan(&[], &[&input]);
    assert_success(&piped);
    assert!(!stderr(&piped).contains("eta"), "{}", stderr(&piped));
    assert!(
        stderr(&piped).contains("17000 record(s)"),
        "{}",
        stderr(&piped)
    );
}
