use crate::server::{self, post, start};
use futures_util::StreamExt;
use std::process::Command;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn kill_9_after_202_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let acknowledged = server::post_log_files(&server, "k", 20, 50).await;
    assert_eq!(acknowledged.len(), 1000);
    server.kill();
    let server = start(dir.path(), "");
    for id in &acknowledged {
        let (status, _) = server::get(&server, &format!("/v1/incidents/{id}")).await;
        assert_eq!(status, 200, "{id} lost");
    }
}

#[tokio::test]
async fn sigterm_finishes_in_flight_work_and_exits_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let mut watcher = server::connect(&server).await;
    post(&server, server::log_file("t", 10)).await;
    let status = server.terminate();
    assert!(status.success(), "{status:?}");
    // The live client is told with a close frame ("going away"), not cut off.
    let mut close_code = None;
    while let Ok(Some(Ok(message))) =
        tokio::time::timeout(std::time::Duration::from_secs(10), watcher.next()).await
    {
        if let Message::Close(frame) = message {
            close_code = frame.map(|frame| u16::from(frame.code));
            break;
        }
    }
    assert_eq!(close_code, Some(1001));
}

#[test]
fn without_a_token_serve_refuses_a_non_loopback_address() {
    let output = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .args(["serve", "--listen", "0.0.0.0:0", "--db"])
        .arg(std::env::temp_dir().join("iamwatch-never-created.db"))
        .env_remove("IAMWATCH_TOKEN")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("IAMWATCH_TOKEN"), "{stderr}");
    assert!(stderr.contains("0.0.0.0"), "{stderr}");
}

#[tokio::test]
async fn json_logs_are_one_object_per_line_and_never_hold_the_token() {
    let dir = tempfile::tempdir().unwrap();
    let server = server::start_with(dir.path(), "", &["--json-logs"]);
    // Something worth a warning: an unreadable record.
    post(&server, "not json at all").await;
    let (status, log) = server.terminate_keeping_log();
    assert!(status.success(), "{status:?}\n{log}");
    let json_lines: Vec<serde_json::Value> = log
        .lines()
        .filter(|line| line.starts_with('{'))
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect();
    assert!(
        json_lines
            .iter()
            .any(|line| line["fields"]["message"] == "serving"),
        "{log}"
    );
    assert!(
        json_lines.iter().any(|line| line["level"] == "WARN"),
        "{log}"
    );
    assert!(!log.contains(server::TOKEN), "the token was logged");
}

#[test]
fn sigterm_right_after_the_listening_line_is_a_clean_stop() {
    // Scripts and service managers may stop serve as soon as it says it listens: the signal
    // must already be handled then, not kill the process (exit by signal, not success). The
    // signal goes the instant the line is read, as a service manager's would.
    use std::io::BufRead;
    for round in 0..20 {
        let dir = tempfile::tempdir().unwrap();
        let mut child = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
            .args(["serve", "--listen", "127.0.0.1:0", "--db"])
            .arg(dir.path().join("incidents.db"))
            .env("IAMWATCH_TOKEN", server::TOKEN)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let pid = rustix::process::Pid::from_child(&child);
        let mut log = String::new();
        let mut lines = std::io::BufReader::new(child.stderr.take().unwrap()).lines();
        for line in lines.by_ref() {
            let line = line.unwrap();
            let listening = line.starts_with("iamwatch serve: listening on");
            if listening {
                rustix::process::kill_process(pid, rustix::process::Signal::TERM).unwrap();
            }
            log.push_str(&line);
            log.push('\n');
            if listening {
                break;
            }
        }
        for line in lines {
            log.push_str(&line.unwrap_or_default());
            log.push('\n');
        }
        let status = child.wait().unwrap();
        assert!(status.success(), "round {round}: {status:?}\n{log}");
    }
}
