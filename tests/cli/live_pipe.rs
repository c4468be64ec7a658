//! A pipe that stays open (`tail -f … | iamwatch scan -`): what has come in is judged and shown
//! while the scan waits for more, not when the pipe closes or a batch fills.

use crate::helpers::*;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;
use std::sync::mpsc;
use std::time::Duration;

/// A handful of records, far fewer than a batch of frames handed to the workers (512).
const RECORDS: usize = 3;

/// Reads `count` lines from the scan's output on a thread of its own; the lines, or `None` if
/// they did not all come within `limit`.
fn read_lines_within(
    output: impl std::io::Read + Send + 'static,
    count: usize,
    limit: Duration,
) -> Option<Vec<String>> {
    let (lines_sender, lines) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(output).lines().take(count) {
            let Ok(line) = line else { return };
            if lines_sender.send(line).is_err() {
                return;
            }
        }
    });
    (0..count).map(|_| lines.recv_timeout(limit).ok()).collect()
}

#[test]
fn records_on_an_open_pipe_are_shown_without_waiting_for_more() {
    incidents_come_while_the_pipe_is_open(&[]);
}

/// One core (`--jobs 1`, or a machine with one) takes the same way.
#[test]
fn records_on_an_open_pipe_are_shown_on_one_core_too() {
    incidents_come_while_the_pipe_is_open(&["--jobs", "1"]);
}

/// A named pipe given as a path (`mkfifo`, or `<(tail -f …)`) is a stream too, also on one core.
#[cfg(unix)]
#[test]
fn records_on_an_open_named_pipe_are_shown() {
    let workspace = Workspace::new();
    let (child, writer) = scan_named_pipe(&workspace, &["--jobs", "1"]);
    shown_while_open(child, writer, Encoding::Plain);
}

/// A gzipped named pipe (`<(aws s3 cp s3://…/file.json.gz -)`) is inflated as it comes, not read
/// whole first: its size on disk is 0, which once took it for a small file, so the scan read the
/// stream to its end, holding all of it in memory, before it judged anything.
#[cfg(unix)]
#[test]
fn records_on_an_open_gzipped_named_pipe_are_shown() {
    let workspace = Workspace::new();
    let (child, writer) = scan_named_pipe(&workspace, &[]);
    shown_while_open(child, writer, Encoding::Gzip);
}

/// A scan (JSON lines, with `options`) of a named pipe made for it, and the pipe's writing end.
#[cfg(unix)]
fn scan_named_pipe(
    workspace: &Workspace,
    options: &[&str],
) -> (std::process::Child, std::fs::File) {
    let fifo = workspace.path("events.pipe");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .expect("run mkfifo");
    assert!(made.success());
    let mut arguments = vec!["--format", "jsonl"];
    arguments.extend_from_slice(options);
    let child = workspace
        .scan_command(&arguments)
        .arg(&fifo)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn iamwatch");
    // Opening a named pipe for writing waits until the scan opens it for reading.
    let writer = std::fs::OpenOptions::new()
        .write(true)
        .open(&fifo)
        .expect("open the pipe");
    (child, writer)
}

fn incidents_come_while_the_pipe_is_open(jobs: &[&str]) {
    let workspace = Workspace::new();
    let mut options = vec!["--format", "jsonl"];
    options.extend_from_slice(jobs);
    let mut child = scan_stdin_command(&workspace, &options)
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn iamwatch");
    let stdin = child.stdin.take().expect("stdin");
    shown_while_open(child, stdin, Encoding::Plain);
}

/// How the records are written into the pipe.
enum Encoding {
    Plain,
    /// One whole gzip member; the pipe stays open after it.
    Gzip,
}

/// Writes the records into `input` and keeps it open: their incidents must come anyway.
fn shown_while_open(mut child: std::process::Child, mut input: impl Write, encoding: Encoding) {
    let records: Vec<String> = (0..RECORDS)
        .map(|n| delete_user_record("pipe", n))
        .collect();
    let lines = (records.join("\n") + "\n").into_bytes();
    let bytes = match encoding {
        Encoding::Plain => lines,
        Encoding::Gzip => {
            let mut encoder =
                flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
            encoder.write_all(&lines).expect("gzip the records");
            encoder.finish().expect("gzip the records")
        }
    };
    input.write_all(&bytes).expect("write the records");
    input.flush().expect("flush the records");

    // The input stays open: the incidents must come anyway, within seconds (a commit
    // waits at most one second; the rest is slack for a loaded machine).
    let shown = read_lines_within(
        child.stdout.take().expect("stdout"),
        RECORDS,
        Duration::from_secs(20),
    );
    let _ = child.kill();
    child.wait().expect("reap");
    drop(input);
    let shown = shown.expect("incidents for the records piped in, while the pipe is open");

    let mut event_ids: Vec<String> = shown
        .iter()
        .map(|line| {
            let incident: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
            incident["event_id"]
                .as_str()
                .expect("an event id")
                .to_string()
        })
        .collect();
    event_ids.sort();
    assert_eq!(event_ids, ["pipe-0", "pipe-1", "pipe-2"]);
}
