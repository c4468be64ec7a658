//! `deploy/systemd/iamwatch.service`: a unit systemd accepts, hardened (its offline security
//! analysis OK), whose service runs as its lines say: `serve` with the example config from its
//! state directory (the store and dead letters land there), its token from the environment
//! file, stopped by SIGTERM within `TimeoutStopSec` having lost nothing.

use crate::server::{client, listening_address};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn unit_path() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/systemd/iamwatch.service")
}

/// The unit's `Key=value` lines of `[Service]`, in order.
fn service_lines(unit: &str) -> Vec<(String, String)> {
    let mut in_service = false;
    let mut lines = Vec::new();
    for line in unit.lines().map(str::trim) {
        if line.starts_with('[') {
            in_service = line == "[Service]";
        } else if in_service && !line.starts_with('#') {
            if let Some((key, value)) = line.split_once('=') {
                lines.push((key.to_string(), value.to_string()));
            }
        }
    }
    lines
}

/// The unit with its binary replaced by the one under test, written in `dir`.
fn unit_for_this_build(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(unit_path())
        .unwrap()
        .replace("/usr/local/bin/iamwatch", env!("CARGO_BIN_EXE_iamwatch"));
    let path = dir.join("iamwatch.service");
    std::fs::write(&path, text).unwrap();
    path
}

fn systemd_analyze(args: &[&str], unit: &Path) -> std::process::Output {
    Command::new("systemd-analyze")
        .args(args)
        .arg(unit)
        .output()
        .expect("systemd-analyze runs (Debian's systemd package)")
}

#[test]
fn systemd_accepts_the_unit_and_finds_it_hardened() {
    let dir = tempfile::tempdir().unwrap();
    let unit = unit_for_this_build(dir.path());
    let verified = systemd_analyze(&["verify"], &unit);
    let said = String::from_utf8_lossy(&verified.stderr);
    assert!(
        verified.status.success() && said.trim().is_empty(),
        "{said}"
    );

    // Exposure 0 (locked down) to 10 (exposed); `--threshold` takes tenths.
    let security = systemd_analyze(&["security", "--offline=yes", "--threshold=20"], &unit);
    let report = String::from_utf8_lossy(&security.stdout);
    assert!(security.status.success(), "{report}");
    let overall = report
        .lines()
        .find(|line| line.contains("Overall exposure level"))
        .unwrap_or_else(|| panic!("{report}"));
    assert!(overall.contains(" OK"), "{overall}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_service_runs_as_its_unit_says() {
    let unit = std::fs::read_to_string(unit_path()).unwrap();
    let lines = service_lines(&unit);
    let value = |key: &str| -> &str {
        lines
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
            .unwrap_or_else(|| panic!("{key} in the unit"))
    };
    let state = tempfile::tempdir().unwrap();
    let etc = tempfile::tempdir().unwrap();
    // The config as the unit's comments install it: the example, unchanged.
    let config = etc.path().join("iamwatch.toml");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("iamwatch.example.toml"),
        &config,
    )
    .unwrap();
    let token = "systemd-unit-test-token-0123456789abcdef";
    let environment = etc.path().join("iamwatch.env");
    std::fs::write(&environment, format!("IAMWATCH_TOKEN={token}\n")).unwrap();
    assert_eq!(value("EnvironmentFile"), "/etc/iamwatch/iamwatch.env");
    assert_eq!(value("WorkingDirectory"), "/var/lib/iamwatch");
    assert_eq!(value("StateDirectory"), "iamwatch");

    // ExecStart, with this machine's paths for the unit's; a free port for the example's.
    let mut words = value("ExecStart").split_whitespace();
    assert_eq!(words.next(), Some("/usr/local/bin/iamwatch"));
    let args: Vec<String> = words
        .map(|word| match word {
            "/etc/iamwatch/iamwatch.toml" => config.display().to_string(),
            other => other.to_string(),
        })
        .chain(["--listen".to_string(), "127.0.0.1:0".to_string()])
        .collect();
    let mut child = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .args(&args)
        .current_dir(state.path())
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(
            std::fs::read_to_string(&environment)
                .unwrap()
                .lines()
                .filter_map(|line| line.split_once('='))
                .map(|(name, value)| (name.to_string(), value.to_string())),
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let address = listening_address(&mut child);

    // The token from the environment file; an event stored, a bad record kept, in the state
    // directory.
    let post = |body: String, token: &str| {
        client()
            .post(format!("http://{address}/v1/events"))
            .bearer_auth(token)
            .body(body)
            .send()
    };
    assert_eq!(post("{}".into(), "wrong").await.unwrap().status(), 401);
    let record = json!({"eventVersion": "1.08", "eventTime": "2024-06-01T09:00:00Z",
        "eventSource": "iam.amazonaws.com", "eventName": "CreateAccessKey",
        "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333", "userName": "alice"},
        "requestParameters": {"userName": "bob"}, "eventID": "unit-1",
        "recipientAccountId": "111122223333"});
    let body = format!(
        "{}\n{{\"Records\": 7}}\n",
        json!({"Records": [record.clone()]})
    );
    let answer = post(body, token).await.unwrap();
    assert_eq!(answer.status(), 202);
    let summary: Value = answer.json().await.unwrap();
    assert_eq!(summary["incidents"], 1, "{summary}");
    assert!(state.path().join("iamwatch.db").exists());
    assert!(state.path().join("iamwatch-deadletter.jsonl").exists());

    // Reloaded as `systemctl reload` does (the rule files read again): it goes on serving.
    let reload: Vec<String> = value("ExecReload")
        .split_whitespace()
        .map(|word| word.replace("$MAINPID", &child.id().to_string()))
        .collect();
    assert_eq!(&reload[..2], ["/bin/kill", "-HUP"], "{reload:?}");
    let reloaded = Command::new(&reload[0])
        .args(&reload[1..])
        .status()
        .unwrap();
    assert!(reloaded.success());
    // SIGHUP's default action would end the process as soon as it is scheduled.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        child.try_wait().unwrap().is_none(),
        "serve ended at its ExecReload"
    );
    let mut again = record;
    again["eventID"] = json!("unit-2");
    let answer = post(json!({"Records": [again]}).to_string(), token)
        .await
        .unwrap();
    assert_eq!(answer.status(), 202);

    // Stopped as systemd stops it: SIGTERM, within TimeoutStopSec.
    let stop: u64 = value("TimeoutStopSec")
        .trim_end_matches('s')
        .parse()
        .unwrap();
    assert_eq!(value("KillSignal"), "SIGTERM");
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(stop);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "still running after TimeoutStopSec"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status}");
}
