//! A scan commits without waiting for the disk and syncs at its end: a `kill -9` part way must
//! still leave every incident it printed stored, and a re-scan must complete the rest without
//! making any twice, whether the kill comes between commits or inside one. A first scan writes
//! through a rollback journal; another process opening its store meanwhile puts it back in WAL
//! mode, and the scan must go on there.

use crate::helpers::*;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const RECORDS: usize = 3_000;
/// Incidents per store batch: one commit each.
const BATCH: usize = 1_024;
/// Two store batches printed: two commits happened.
const PRINTED_BEFORE_KILL: usize = 2 * BATCH;

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

/// `iamwatch scan --format jsonl -` on the workspace's store, sent every record; its standard
/// input stays open (until the handle returned is dropped), so the scan waits for more.
fn spawn_scan(
    workspace: &Workspace,
    records: &[String],
) -> (std::process::Child, std::process::ChildStdin) {
    let mut child = scan_stdin_command(workspace, &["--format", "jsonl"])
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn iamwatch");
    let mut stdin = child.stdin.take().expect("stdin");
    send(&mut stdin, records);
    (child, stdin)
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
    let (mut child, stdin) = spawn_scan(&workspace, &records);
    let mut output = BufReader::new(child.stdout.take().expect("stdout"));
    let printed = read_lines(&child, &mut output, PRINTED_BEFORE_KILL);
    child.kill().expect("kill -9");
    child.wait().expect("reap");
    drop(stdin);

    let stored = stored_incident_ids(&workspace);
    assert_printed_are_stored(&incident_ids(&printed), &stored, "");
    assert_rescan_completes(&workspace, &records, stored.len(), "");
}

/// Every incident printed is in `stored`; `context` names the attempt in a failure.
fn assert_printed_are_stored(
    printed: &[String],
    stored: &std::collections::BTreeSet<String>,
    context: &str,
) {
    let missing: Vec<&String> = printed.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{context}printed but not stored: {missing:?}"
    );
}

/// A re-scan of every record stores the rest, once, and nothing twice: its summary counts
/// `already` of them stored, and the store ends up with each record's incident.
fn assert_rescan_completes(
    workspace: &Workspace,
    records: &[String],
    already: usize,
    context: &str,
) {
    let file = workspace.write("all.jsonl", (records.join("\n") + "\n").as_bytes());
    let rescan = workspace.scan(&["--format", "jsonl"], &[&file]);
    assert_success(&rescan);
    let summary = stderr(&rescan);
    assert!(
        summary.contains(&format!(
            "incidents: {} new, {already} already stored",
            RECORDS - already
        )),
        "{context}{summary}"
    );
    assert_eq!(stored_incident_ids(workspace).len(), RECORDS, "{context}");
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
    use std::io::Read;
    let mut header = [0u8; 20];
    std::fs::File::open(database)
        .and_then(|mut file| file.read_exact(&mut header))
        .expect("read the database header");
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

/// A `kill -9` while a first scan's commit is under way (its rollback journal holds the pages
/// the commit overwrites: a hot journal once the process is gone) must lose nothing: the next
/// open rolls the commit back, and the store is whole, holds every incident printed and whole
/// batches only, has its listing indexes again, and a re-scan completes the rest once. The
/// kill is aimed at the moment the journal is seen holding something; the commit may still
/// finish first, so kills are repeated until enough of them landed inside one.
#[test]
fn a_first_scan_killed_inside_a_commit_loses_nothing_it_printed() {
    const INSIDE_WANTED: usize = 6;
    const ATTEMPTS: usize = 40;
    let records = records("hot");
    let mut inside = 0;
    for attempt in 0..ATTEMPTS {
        if inside == INSIDE_WANTED {
            break;
        }
        let workspace = Workspace::new();
        let journal = workspace.path("iamwatch.db-journal");
        let (mut child, stdin) = spawn_scan(&workspace, &records);
        let printed = PrintedLines::follow(child.stdout.take().expect("stdout"));
        // After the first batch is printed, the next commit under way: at every other attempt
        // as soon as its journal holds a page, else once it writes pages to the database too.
        // (A poll descheduled through every commit sees them all printed: a miss, killed too.)
        let deadline = Instant::now() + Duration::from_secs(60);
        while (printed.count() < BATCH || file_len(&journal) == 0) && printed.count() < RECORDS {
            assert!(
                Instant::now() < deadline,
                "attempt {attempt}: no commit seen"
            );
            std::thread::yield_now();
        }
        if attempt % 2 == 1 {
            let before = file_len(&workspace.db());
            while file_len(&journal) > 0 && file_len(&workspace.db()) == before {
                std::hint::spin_loop();
            }
        }
        child.kill().expect("kill -9");
        child.wait().expect("reap");
        drop(stdin);
        let printed = incident_ids(&printed.all());
        let hot = file_len(&journal) > 0;
        inside += usize::from(hot);

        // The next open recovers the store (and builds the indexes the load had dropped).
        assert_success(&workspace.incidents(&["list", "--limit", "1"]));
        let database = rusqlite::Connection::open(workspace.db()).expect("open");
        let integrity: String = database
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .expect("integrity check");
        assert_eq!(integrity, "ok", "attempt {attempt}");
        let indexes: i64 = database
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE type = 'index' AND name LIKE 'incidents_by_%'",
                [],
                |row| row.get(0),
            )
            .expect("indexes");
        assert_eq!(indexes, 3, "attempt {attempt}");
        drop(database);
        let context = format!("attempt {attempt}: ");
        let stored = stored_incident_ids(&workspace);
        assert_printed_are_stored(&printed, &stored, &context);
        // The commit the kill interrupted was rolled back: its incidents are not stored.
        assert!(
            !hot || stored.len() < RECORDS,
            "attempt {attempt}: a hot journal, yet every incident stored"
        );
        assert_rescan_completes(&workspace, &records, stored.len(), &context);
    }
    assert_eq!(
        inside, INSIDE_WANTED,
        "of {ATTEMPTS} kills, {inside} landed inside a commit"
    );
}

fn file_len(path: &std::path::Path) -> u64 {
    std::fs::metadata(path).map_or(0, |metadata| metadata.len())
}

/// A child's output lines, read on a thread of their own as they come: whole lines only (a
/// kill may cut the last one short).
struct PrintedLines {
    count: Arc<AtomicUsize>,
    reader: std::thread::JoinHandle<String>,
}

impl PrintedLines {
    fn follow(output: std::process::ChildStdout) -> Self {
        let count = Arc::new(AtomicUsize::new(0));
        let counted = Arc::clone(&count);
        let reader = std::thread::spawn(move || {
            let mut output = BufReader::new(output);
            let mut lines = String::new();
            let mut line = String::new();
            while output.read_line(&mut line).is_ok_and(|read| read > 0) {
                if line.ends_with('\n') {
                    lines.push_str(&line);
                    counted.fetch_add(1, Ordering::SeqCst);
                }
                line.clear();
            }
            lines
        });
        Self { count, reader }
    }

    fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    /// Every whole line, once the child's output has ended.
    fn all(self) -> String {
        self.reader.join().expect("the reader thread")
    }
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
