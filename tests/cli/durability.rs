//! A scan commits without waiting for the disk and syncs at its end: a `kill -9` part way must
//! still leave every incident it printed stored, and a re-scan must complete the rest without
//! making any twice.

use crate::helpers::*;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::time::Duration;

const RECORDS: usize = 3_000;
/// Two store batches (1,024 incidents each) printed: two commits happened.
const PRINTED_BEFORE_KILL: usize = 2_048;

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
    let records: Vec<String> = (0..RECORDS)
        .map(|n| delete_user_record("kill", n))
        .collect();
    let mut child = scan_stdin_command(&workspace, &["--format", "jsonl"])
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn iamwatch");
    // Every record is sent, and standard input stays open: the scan waits for more.
    let mut stdin = child.stdin.take().expect("stdin");
    stdin
        .write_all((records.join("\n") + "\n").as_bytes())
        .expect("write stdin");
    stdin.flush().expect("flush stdin");
    // If the scan never prints enough, reading would wait forever: kill it after a minute.
    let pid = child.id();
    let (done, finished) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(Duration::from_secs(60)).is_err() {
            let _ = std::process::Command::new("kill")
                .args(["-9", &pid.to_string()])
                .status();
        }
    });
    let mut output = BufReader::new(child.stdout.take().expect("stdout"));
    let mut printed = String::new();
    let mut lines = 0;
    while lines < PRINTED_BEFORE_KILL {
        let read = output.read_line(&mut printed).expect("read stdout");
        assert!(read > 0, "the scan stopped after {lines} incidents");
        lines += 1;
    }
    child.kill().expect("kill -9");
    let _ = done.send(());
    watchdog.join().expect("watchdog");
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
