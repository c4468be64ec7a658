//! A scan commits without waiting for the disk and syncs at its end: a `kill -9` part way must
//! still leave every incident it printed stored, and a re-scan must complete the rest without
//! making any twice. A first scan writes through a rollback journal; another process opening
//! its store meanwhile puts it back in WAL mode, and the scan must go on there.

use crate::helpers::*;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

const RECORDS: usize = 3_000;
/// Two store batches (1,024 incidents each) printed: two commits happened.
const PRINTED_BEFORE_KILL: usize = 2_048;

/// The test's records, event ids `{prefix}-0` onwards: each makes an incident.
fn records(prefix: &str) -> Vec<String> {
    (0..RECORDS)
        .map(|n| delete_user_record(prefix, n))
        .collect()
}

/// Writes `records` to the scan's standard input, a line each, and flushes: it stays open.
fn send(stdin: &mut std::process::ChildStdin, records: &[String]) {
    stdin
        .write_all((records.join("\n") + "\n").as_bytes())
        .expect("write stdin");
    stdin.flush().expect("flush stdin");
}

fn incident_ids(lines: &str) -> Vec<String> {
    lines
        .lines()
        .map(|line| {
            let incident: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            incident["incident_id"].as_str().expect("an id").to_string()
        })
        .collect()
}

#[test]
fn a_scan_killed_part_way_keeps_every_incident_it_printed() {
    let workspace = Workspace::new();
    let records = records("kill");
    let mut child = scan_stdin_command(&workspace, &["--format", "jsonl"])
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn iamwatch");
    // Every record is sent, and standard input stays open: the scan waits for more.
    let mut stdin = child.stdin.take().expect("stdin");
    send(&mut stdin, &records);
    let mut output = BufReader::new(child.stdout.take().expect("stdout"));
    let printed = read_lines(&child, &mut output, PRINTED_BEFORE_KILL);
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    drop(stdin);

    let stored = stored_incident_ids(&workspace);
    let printed = incident_ids(&printed);
    let missing: Vec<&String> = printed.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(missing.is_empty(), "printed but not stored: {missing:?}");

    // The rest, once, and nothing twice.
    let file = workspace.write("all.jsonl", (records.join("\n") + "\n").as_bytes());
    let rescan = workspace.scan(&["--format", "jsonl"], &[&file]);
    assert_success(&rescan);
    let summary = stderr(&rescan);
    let already = stored.len();
    assert!(
        summary.contains(&format!(
            "incidents: {} new, {already} already stored",
            RECORDS - already
        )),
        "{summary}"
    );
    assert_eq!(stored_incident_ids(&workspace).len(), RECORDS);
}

/// The next `count` lines the child prints. If it never prints them, reading would wait forever:
/// the child is killed after a minute, and this fails.
fn read_lines(child: &std::process::Child, output: &mut impl BufRead, count: usize) -> String {
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
    });
    let mut printed = String::new();
    for lines in 0..count {
        let read = output.read_line(&mut printed).expect("read stdout");
        assert!(read > 0, "the scan stopped after {lines} incidents");
    }
    let _ = done.send(());
    watchdog.join().expect("watchdog");
    printed
}

/// Whether the database file's header says WAL mode (bytes 18 and 19: 2), not a rollback
/// journal (1).
fn in_wal_mode(database: &std::path::Path) -> bool {
    let header = std::fs::read(database).expect("read the database");
    header[18] == 2 && header[19] == 2
}

#[test]
fn a_first_scan_goes_on_when_another_process_opens_its_store() {
    let workspace = Workspace::new();
    let records = records("open");
    let (first, rest) = records.split_at(PRINTED_BEFORE_KILL);
    let mut child = scan_stdin_command(&workspace, &["--format", "jsonl"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn iamwatch");
    let mut stdin = child.stdin.take().expect("stdin");
    send(&mut stdin, first);
    let mut output = BufReader::new(child.stdout.take().expect("stdout"));
    read_lines(&child, &mut output, PRINTED_BEFORE_KILL);
    // Into an empty store the scan writes through a rollback journal.
    assert!(!in_wal_mode(&workspace.db()));
    // Another process opens the store, as every connection does, in WAL mode.
    let listed = workspace.incidents(&["list", "--limit", "1"]);
    assert_success(&listed);
    assert!(in_wal_mode(&workspace.db()));
    send(&mut stdin, rest);
    drop(stdin);
    // The rest of its output, read to its end so that the scan never waits for the pipe.
    let mut rest_printed = String::new();
    std::io::Read::read_to_string(&mut output, &mut rest_printed).expect("read stdout");
    assert_eq!(rest_printed.lines().count(), rest.len());
    let finished = child.wait_with_output().expect("the scan ends");
    assert!(
        finished.status.success(),
        "{}",
        String::from_utf8_lossy(&finished.stderr)
    );
    let summary = String::from_utf8_lossy(&finished.stderr);
    assert!(
        summary.contains(&format!("incidents: {RECORDS} new, 0 already stored")),
        "{summary}"
    );
    assert_eq!(stored_incident_ids(&workspace).len(), RECORDS);
    assert!(in_wal_mode(&workspace.db()));
}

/// Every incident id in the workspace's store, read page by page.
fn stored_incident_ids(workspace: &Workspace) -> std::collections::BTreeSet<String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    let store = iamwatch_store::SqliteStore::open(workspace.db()).expect("open the store");
    let mut ids = std::collections::BTreeSet::new();
    let mut cursor = None;
    loop {
        let query = iamwatch_store::IncidentQuery {
            cursor,
            limit: iamwatch_store::IncidentQuery::MAX_LIMIT,
            ..Default::default()
        };
        let page = runtime
            .block_on(iamwatch_store::IncidentStore::list(&store, &query))
            .expect("list");
        for incident in page.incidents {
            assert!(ids.insert(incident.incident_id), "an incident listed twice");
        }
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return ids,
        }
    }
}
