//! What `serve` owes a notification destination survives `kill -9`: an incident stored while
//! its destination was down is sent once the server is started again and the destination is up.

use crate::receiver::{self, posted_to};
use crate::server::{self, post, start};
use std::time::{Duration, Instant};

/// A webhook destination on a port nothing listens on yet (down: connections refused, retried):
/// the port, and the config naming it.
fn hook_down() -> (u16, String) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let config = format!(
        "[[notify]]\nkind = \"webhook\"\nname = \"hook\"\nmin_severity = \"LOW\"\nurl = \"http://127.0.0.1:{port}/hook\"\n"
    );
    (port, config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_notification_owed_when_serve_was_killed_is_sent_when_it_starts_again() {
    let dir = tempfile::tempdir().unwrap();
    let (port, config) = hook_down();
    let outbox = dir.path().join("incidents.db-notify-outbox.jsonl");
    let before = start(dir.path(), &config);
    let event = server::eventbridge_event("owed-1", "DeleteUser", "mallory");
    let (status, summary) = post(&before, event.to_string()).await;
    assert_eq!(
        (status, summary["incidents"].as_u64()),
        (202, Some(1)),
        "{summary}"
    );
    let id = summary["incident_ids"][0].as_str().unwrap().to_string();
    let owed = std::fs::read_to_string(&outbox).unwrap();
    assert!(owed.contains(&id) && owed.contains("\"hook\""), "{owed}");
    // Killed between the retries (the first at once, the next after 1 s).
    tokio::time::sleep(Duration::from_millis(300)).await;
    before.kill();

    let (_, received) = receiver::start_on_port(port).await;
    let after = start(dir.path(), &config);
    let deadline = Instant::now() + Duration::from_secs(15);
    while posted_to(&received, "/hook").is_empty() {
        assert!(
            Instant::now() < deadline,
            "not sent after the restart:\n{}",
            after.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let posted = posted_to(&received, "/hook");
    assert_eq!(posted.len(), 1);
    assert_eq!(posted[0].2["incident"]["incident_id"], id.as_str());
    assert!(
        after
            .log()
            .contains("sending again the notifications owed when the last process stopped"),
        "{}",
        after.log()
    );
    // Sent: nothing owed any more.
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::metadata(&outbox).unwrap().len() > 0 {
        assert!(
            Instant::now() < deadline,
            "{}",
            std::fs::read_to_string(&outbox).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Delivered again: not new, so not owed (nor sent).
    let (status, summary) = post(&after, event.to_string()).await;
    assert_eq!(
        (status, summary["duplicates"].as_u64()),
        (202, Some(1)),
        "{summary}"
    );
    assert_eq!(
        std::fs::metadata(&outbox).unwrap().len(),
        0,
        "owed: {}",
        std::fs::read_to_string(&outbox).unwrap()
    );
    // Started once more: nothing is sent again.
    after.kill();
    let again = start(dir.path(), &config);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(posted_to(&received, "/hook").len(), 1, "{}", again.log());
}

/// The system calls of `serve` (`pid`, every thread) while `during` runs, as `strace -y` writes
/// them (file descriptors followed by their paths).
async fn traced<F: std::future::Future<Output = ()>>(
    pid: u32,
    dir: &std::path::Path,
    during: F,
) -> Vec<String> {
    let trace = dir.join("strace.txt");
    let mut strace = std::process::Command::new("strace")
        .args([
            "-f",
            "-y",
            "-e",
            "trace=write,pwrite64,fsync,fdatasync",
            "-o",
        ])
        .arg(&trace)
        .args(["-p", &pid.to_string()])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("strace (Debian's strace) runs");
    // Attached once it says so for the threads (`Process N attached` on its stderr).
    let stderr = strace.stderr.take().unwrap();
    let (attached, told) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        use std::io::BufRead;
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("attached") {
                let _ = attached.send(());
            }
        }
    });
    told.recv_timeout(Duration::from_secs(10))
        .expect("strace attaches");
    tokio::time::sleep(Duration::from_millis(300)).await;
    during.await;
    // Detached by SIGINT, the trace written out.
    let _ = std::process::Command::new("kill")
        .args(["-INT", &strace.id().to_string()])
        .status();
    let _ = strace.wait();
    std::fs::read_to_string(&trace)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_is_owed_is_on_the_disk_before_the_incidents_are() {
    let dir = tempfile::tempdir().unwrap();
    let (_, config) = hook_down();
    let server = start(dir.path(), &config);
    let event = server::eventbridge_event("synced-1", "DeleteUser", "mallory");
    let lines = traced(server.pid(), dir.path(), async {
        let (status, summary) = post(&server, event.to_string()).await;
        assert_eq!(
            (status, summary["incidents"].as_u64()),
            (202, Some(1)),
            "{summary}"
        );
    })
    .await;
    let position = |what: &dyn Fn(&str) -> bool, after: usize| {
        lines
            .iter()
            .enumerate()
            .skip(after)
            .find(|(_, line)| what(line))
            .map(|(index, _)| index)
    };
    let is_sync = |line: &str| line.contains("fsync(") || line.contains("fdatasync(");
    let owed = position(
        &|line| line.contains("notify-outbox.jsonl>") && line.contains("\\\"owe\\\""),
        0,
    )
    .unwrap_or_else(|| panic!("what is owed is written:\n{}", lines.join("\n")));
    let outbox_synced = position(
        &|line| is_sync(line) && line.contains("notify-outbox.jsonl>"),
        owed,
    );
    let store_synced = position(
        &|line| {
            is_sync(line) && (line.contains("incidents.db>") || line.contains("incidents.db-wal>"))
        },
        owed,
    )
    .unwrap_or_else(|| panic!("the store syncs its commit:\n{}", lines.join("\n")));
    assert!(
        outbox_synced.is_some_and(|synced| synced < store_synced),
        "the outbox is synced before the store's commit:\n{}",
        lines.join("\n")
    );
}
