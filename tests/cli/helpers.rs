use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixture(name: &str) -> PathBuf {
    repo_root().join("tests/fixtures").join(name)
}

/// A CloudTrail record of an administrator deleting a user, eventID `{prefix}-{n}`, `n` seconds
/// after midnight on 2024-06-01: each `n` is its own event, and each becomes a MEDIUM incident.
/// Each `n` has an administrator of its own (`admin-{n}`): thousands of deletions by one caller
/// would also be bursts, incidents of their own.
pub fn delete_user_record(prefix: &str, n: usize) -> String {
    serde_json::json!({
        "eventVersion": "1.09",
        "eventTime": format!("2024-06-01T{:02}:{:02}:{:02}Z", n / 3600 % 24, n / 60 % 60, n % 60),
        "eventSource": "iam.amazonaws.com", "eventName": "DeleteUser", "awsRegion": "us-east-1",
        "eventID": format!("{prefix}-{n}"), "recipientAccountId": "111122223333",
        "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.17.0 Python/3.11 Linux/6.1",
        "userIdentity": {"type": "IAMUser", "userName": format!("admin-{n}"), "accountId": "111122223333"},
        "requestParameters": {"userName": format!("user-{n}")}
    })
    .to_string()
}

/// `../shared/corpus`, beside the project (CI clones it there).
pub fn corpus() -> PathBuf {
    let path = repo_root().join("../shared/corpus");
    assert!(
        path.is_dir(),
        "the shared corpus is expected at {}",
        path.display()
    );
    path
}

/// A temporary folder with a database path in it.
pub struct Workspace {
    pub dir: tempfile::TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn db(&self) -> PathBuf {
        self.path("iamwatch.db")
    }

    pub fn write(&self, name: &str, content: &[u8]) -> PathBuf {
        let path = self.path(name);
        std::fs::File::create(&path)
            .and_then(|mut file| file.write_all(content))
            .expect("write file");
        path
    }

    /// `iamwatch scan --db <db> --dead-letter <dl> <extra>`, inputs still to be added.
    pub fn scan_command(&self, extra: &[&str]) -> Command {
        let mut command = iamwatch();
        command
            .arg("scan")
            .arg("--db")
            .arg(self.db())
            .arg("--dead-letter")
            .arg(self.path("dead-letter.jsonl"))
            .args(extra);
        command
    }

    /// Runs a scan of `paths`.
    pub fn scan(&self, extra: &[&str], paths: &[&Path]) -> Output {
        self.scan_command(extra)
            .args(paths)
            .output()
            .expect("run iamwatch")
    }

    /// The dead letters of the last scan (`scan_command` writes them here).
    pub fn dead_letters(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.path("dead-letter.jsonl"))
            .unwrap_or_default()
            .lines()
            .map(|line| serde_json::from_str(line).expect("a dead letter is JSON"))
            .collect()
    }

    pub fn incidents(&self, args: &[&str]) -> Output {
        let mut command = iamwatch();
        command
            .arg("incidents")
            .arg(args[0])
            .arg("--db")
            .arg(self.db())
            .args(&args[1..]);
        command.output().expect("run iamwatch")
    }
}

impl Workspace {
    /// `command` with its AWS settings pointing at `endpoint` (a moto server) in `region`, and
    /// nothing from the machine's own AWS configuration.
    pub fn with_aws<'c>(
        &self,
        command: &'c mut Command,
        endpoint: &str,
        region: &str,
    ) -> &'c mut Command {
        command
            .env("AWS_ENDPOINT_URL", endpoint)
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", region)
            .env("AWS_CONFIG_FILE", self.path("no-aws-config"))
            .env(
                "AWS_SHARED_CREDENTIALS_FILE",
                self.path("no-aws-credentials"),
            )
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL_S3")
            .env_remove("AWS_ENDPOINT_URL_DYNAMODB")
            .env_remove("AWS_SESSION_TOKEN")
    }
}

pub fn iamwatch() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_iamwatch"));
    command
        .env_remove("IAMWATCH_DB")
        .env_remove("IAMWATCH_GEOIP")
        .env_remove("IAMWATCH_LANG");
    command
}

/// `iamwatch scan <extra> -` on the workspace's store, standard input and output piped.
pub fn scan_stdin_command(workspace: &Workspace, extra: &[&str]) -> Command {
    let mut command = workspace.scan_command(extra);
    command
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped());
    command
}

/// Runs a scan reading `stdin_bytes` from standard input (`-`).
pub fn scan_stdin(workspace: &Workspace, extra: &[&str], stdin_bytes: &[u8]) -> Output {
    run_with_stdin(&mut scan_stdin_command(workspace, extra), stdin_bytes)
}

/// Runs `command` (its stdin and stdout piped) with `stdin_bytes` on its standard input.
pub fn run_with_stdin(command: &mut Command, stdin_bytes: &[u8]) -> Output {
    let mut child = command
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn iamwatch");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin_bytes)
        .expect("write stdin");
    child.wait_with_output().expect("wait for iamwatch")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn assert_success(output: &Output) {
    assert!(
        output.status.success(),
        "iamwatch failed ({:?}): {}",
        output.status,
        stderr(output)
    );
}

/// Incident JSON objects printed by `--format jsonl`.
pub fn incidents_of(output: &Output) -> Vec<serde_json::Value> {
    stdout(output)
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"))
        })
        .collect()
}

/// Seed fixture records, one JSON value per record.
pub fn seed_records() -> Vec<serde_json::Value> {
    std::fs::read_to_string(fixture("seed_events.jsonl"))
        .expect("seed fixture")
        .lines()
        .map(|line| serde_json::from_str(line).expect("fixture line is JSON"))
        .collect()
}

/// The incidents of a JSON lines output without the times they were stored at (two stores,
/// two moments).
pub fn without_store_times(output: &Output) -> Vec<serde_json::Value> {
    incidents_of(output)
        .into_iter()
        .map(|mut incident| {
            let object = incident.as_object_mut().unwrap();
            object.remove("created_at");
            object.remove("updated_at");
            incident
        })
        .collect()
}

/// Incident `id` (NEW) taken through its lifecycle by `incidents` (the `incidents` command with
/// these arguments, on some store): acknowledged with a note, refused a second time, resolved,
/// then shown with its history and raw event.
pub fn assert_lifecycle(incidents: impl Fn(&[&str]) -> Output, id: &str) {
    let acked = incidents(&["ack", id, "--note", "on it", "--actor", "alice"]);
    assert_success(&acked);
    assert_eq!(stdout(&acked).trim(), format!("{id} is now ACKNOWLEDGED"));
    let twice = incidents(&["ack", id]);
    assert!(!twice.status.success());
    assert!(stderr(&twice).contains("cannot go from ACKNOWLEDGED to ACKNOWLEDGED"));
    assert_success(&incidents(&["resolve", id, "--actor", "bob"]));
    let shown = incidents(&["show", id]);
    assert_success(&shown);
    let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(shown["status"], "RESOLVED");
    let history = shown["history"].as_array().unwrap();
    let moves: Vec<(&str, &str)> = history
        .iter()
        .map(|entry| {
            (
                entry["actor"].as_str().unwrap(),
                entry["to_status"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        moves,
        [
            ("iamwatch", "NEW"),
            ("alice", "ACKNOWLEDGED"),
            ("bob", "RESOLVED")
        ]
    );
    assert_eq!(shown["raw"]["eventID"], shown["event_id"]);
}
