//! A real `iamwatch serve` process on a free port with a temporary store, and clients for it.

use futures_util::StreamExt;
use serde_json::Value;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

pub const TOKEN: &str = "test-token-5f1c0a9e";

pub struct Server {
    child: Child,
    pub address: SocketAddr,
    /// Everything the server wrote to stderr so far.
    pub log: Arc<Mutex<String>>,
}

/// Extra config lines, written to the config file after the defaults below.
pub fn start(dir: &Path, config: &str) -> Server {
    start_with(dir, config, &[])
}

/// Like [`start`], with extra command-line arguments.
pub fn start_with(dir: &Path, config: &str, extra: &[&str]) -> Server {
    start_with_env(dir, config, extra, &[])
}

/// Like [`start_with`], with extra environment variables.
pub fn start_with_env(dir: &Path, config: &str, extra: &[&str], env: &[(&str, String)]) -> Server {
    let config_path = dir.join("iamwatch.toml");
    std::fs::write(
        &config_path,
        format!(
            "dead_letter = {:?}\n{config}\n",
            dir.join("deadletter.jsonl").display().to_string()
        ),
    )
    .unwrap();
    let mut command = Command::new(env!("CARGO_BIN_EXE_iamwatch"));
    command
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path)
        // A store of the test's own unless it names one.
        .args(if extra.contains(&"--db") {
            Vec::new()
        } else {
            vec!["--db".into(), dir.join("incidents.db").into_os_string()]
        })
        .args(extra)
        .env("IAMWATCH_TOKEN", TOKEN)
        .env("RUST_LOG", "info")
        .envs(env.iter().map(|(name, value)| (name, value)));
    // A token file given is the token (the test token beside it would be refused).
    if env.iter().any(|(name, _)| *name == "IAMWATCH_TOKEN_FILE") {
        command.env_remove("IAMWATCH_TOKEN");
    }
    let mut child = command
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start iamwatch serve");
    let stderr = child.stderr.take().unwrap();
    let log = Arc::new(Mutex::new(String::new()));
    let (found, address) = std::sync::mpsc::channel();
    let shared = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { break };
            if let Some(rest) = line.strip_prefix("iamwatch serve: listening on http://") {
                let _ = found.send(rest.parse::<SocketAddr>().unwrap());
            }
            let mut log = shared.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
    let address = match address.recv_timeout(Duration::from_secs(30)) {
        Ok(address) => address,
        Err(_) => {
            let _ = child.kill();
            panic!("serve did not start:\n{}", log.lock().unwrap());
        }
    };
    Server {
        child,
        address,
        log,
    }
}

/// The address a `serve` started with its stderr piped listens on, read from the line it
/// writes (its later lines drained so that it never blocks on a full pipe).
pub fn listening_address(child: &mut Child) -> String {
    let stderr = child.stderr.take().expect("stderr piped");
    let (found, address) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("iamwatch serve: listening on http://") {
                let _ = found.send(rest.to_string());
            }
        }
    });
    address
        .recv_timeout(Duration::from_secs(30))
        .expect("serve listens")
}

impl Server {
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.address)
    }

    pub fn stream_url(&self, query: &str) -> String {
        format!("ws://{}/v1/stream?token={TOKEN}{query}", self.address)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `kill -9`.
    pub fn kill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends the signal `name` (`HUP`, …) to the server.
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name}");
    }

    /// Whether the server is still running.
    pub fn is_running(&mut self) -> bool {
        self.child.try_wait().unwrap().is_none()
    }

    /// SIGTERM, then the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "serve did not stop on SIGTERM");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, then the exit status and everything logged.
    pub fn terminate_keeping_log(self) -> (std::process::ExitStatus, String) {
        let log = Arc::clone(&self.log);
        let status = self.terminate();
        // The reader thread may still be draining the last lines.
        std::thread::sleep(Duration::from_millis(200));
        let text = log.lock().unwrap().clone();
        (status, text)
    }

    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `serve` with `config` as its config file, expected not to start: what it said on stderr.
pub fn refused_start(config: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let config_path = dir.path().join("iamwatch.toml");
    std::fs::write(&config_path, config).unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_path)
        .arg("--db")
        .arg(dir.path().join("incidents.db"))
        .output()
        .unwrap();
    assert!(!output.status.success(), "serve started with {config}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

pub async fn post(server: &Server, body: impl Into<reqwest::Body>) -> (u16, Value) {
    post_to(server.url("/v1/events"), body).await
}

/// Like [`post`], with the ingest URL owned (for spawned tasks).
pub async fn post_to(url: String, body: impl Into<reqwest::Body>) -> (u16, Value) {
    let response = post_response(url, body).await;
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// An authenticated POST, answered as it came (for tests that read its headers).
pub async fn post_response(url: String, body: impl Into<reqwest::Body>) -> reqwest::Response {
    client()
        .post(url)
        .bearer_auth(TOKEN)
        .body(body)
        .send()
        .await
        .unwrap()
}

pub async fn get(server: &Server, path: &str) -> (u16, Value) {
    let response = client()
        .get(server.url(path))
        .header("x-api-key", TOKEN)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn patch(server: &Server, path: &str, body: Value) -> (u16, Value) {
    let response = client()
        .patch(server.url(path))
        .bearer_auth(TOKEN)
        .json(&body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub async fn metric(server: &Server, name: &str) -> f64 {
    let text = client()
        .get(server.url("/metrics"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
        .unwrap_or_else(|| panic!("no metric {name} in\n{text}"))
}

/// Polls `/metrics` until `name` reads `value`; fails after 15 s.
pub async fn wait_for_metric(server: &Server, name: &str, value: f64) {
    let deadline = Instant::now() + Duration::from_secs(15);
    while metric(server, name).await != value {
        assert!(Instant::now() < deadline, "{name} never became {value}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A live-stream client, past its hello.
pub async fn connect(server: &Server) -> Socket {
    let (mut socket, _) = tokio_tungstenite::connect_async(server.stream_url(""))
        .await
        .expect("connect to the live stream");
    let hello = next_json(&mut socket).await.expect("hello");
    assert_eq!(hello["type"], "hello");
    socket
}

/// The next JSON text message, or `None` when the stream ends or 10 s pass.
pub async fn next_json(socket: &mut Socket) -> Option<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .ok()??
            .ok()?;
        match message {
            Message::Text(text) => return serde_json::from_str(&text).ok(),
            Message::Close(_) => return None,
            _ => {}
        }
    }
}

/// One CloudTrail record as an EventBridge event, with the given id.
pub fn eventbridge_event(event_id: &str, event_name: &str, user: &str) -> Value {
    serde_json::json!({
        "version": "0",
        "id": format!("eb-{event_id}"),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": "111122223333",
        "time": "2024-06-01T09:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": record(event_id, event_name, user),
    })
}

/// An SNS HTTP notification (as a subscription delivers it) carrying `message`.
pub fn sns_notification(message_id: &str, message: &Value) -> Value {
    serde_json::json!({
        "Type": "Notification", "MessageId": message_id,
        "TopicArn": "arn:aws:sns:us-east-1:111122223333:trail",
        "Message": message.to_string(),
        "Timestamp": "2024-06-01T09:00:01.000Z", "SignatureVersion": "1",
        "Signature": "x", "SigningCertURL": "https://x"
    })
}

pub fn record(event_id: &str, event_name: &str, user: &str) -> Value {
    serde_json::json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE", "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333", "accessKeyId": "AKIAEXAMPLEALICE0001", "userName": "alice"},
        "eventTime": "2024-06-01T09:00:00Z",
        "eventSource": "iam.amazonaws.com",
        "eventName": event_name,
        "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.23",
        "userAgent": "aws-cli/2.17.20 md/awscrt#0.20.11 ua/2.0 os/linux#6.5.0",
        "requestParameters": {"userName": user},
        "responseElements": null,
        "requestID": format!("req-{event_id}"),
        "eventID": event_id,
        "readOnly": false,
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": "111122223333",
        "eventCategory": "Management"
    })
}

/// Posts `files` log files of `records` DeleteUser records each (events `<prefix><file>-…`), all
/// at once; the ids of the incidents acknowledged, every post having been answered 202.
pub async fn post_log_files(
    server: &Server,
    prefix: &str,
    files: usize,
    records: usize,
) -> Vec<String> {
    let posts = (0..files).map(|file| post(server, log_file(&format!("{prefix}{file}"), records)));
    let mut acknowledged = Vec::new();
    for (status, summary) in futures_util::future::join_all(posts).await {
        assert_eq!(status, 202, "{summary}");
        acknowledged.extend(incident_ids(&summary));
    }
    acknowledged
}

/// The ids an ingest answer (`202`) names.
pub fn incident_ids(summary: &Value) -> Vec<String> {
    summary["incident_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|id| id.as_str().unwrap().to_string())
        .collect()
}

/// A CloudTrail log file of `count` DeleteUser records with ids `{prefix}-{n}`, each by an
/// administrator of its own (`admin-{prefix}-{n}`): hundreds of deletions by one caller in a
/// second would also be a burst, an incident of its own.
pub fn log_file(prefix: &str, count: usize) -> String {
    let records: Vec<Value> = (0..count)
        .map(|n| {
            let mut record = record(&format!("{prefix}-{n}"), "DeleteUser", &format!("user{n}"));
            let caller = format!("admin-{prefix}-{n}");
            record["userIdentity"]["arn"] =
                format!("arn:aws:iam::111122223333:user/{caller}").into();
            record["userIdentity"]["userName"] = caller.into();
            record
        })
        .collect();
    serde_json::json!({ "Records": records }).to_string()
}

/// Two servers `a` and `b` on one store: the same event delivered to each makes one incident
/// (the second a duplicate); an incident acknowledged through one is seen so through the
/// other; `files` log files of `records` events acknowledged by `a`, which is then `kill -9`ed,
/// are all read through `b`.
pub async fn share_one_store(a: Server, b: &Server, prefix: &str, files: usize, records: usize) {
    let (status, first) = post(
        &a,
        eventbridge_event(&format!("{prefix}-1"), "DeleteUser", "bob").to_string(),
    )
    .await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["incidents"], 1);
    let id = first["incident_ids"][0].as_str().unwrap().to_string();
    // The same event delivered to the other server: stored already, no second incident.
    let (status, again) = post(
        b,
        eventbridge_event(&format!("{prefix}-1"), "DeleteUser", "bob").to_string(),
    )
    .await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["duplicates"], 1);
    assert_eq!(again["incident_ids"][0], id.as_str());

    // Read and acknowledged through one, seen so through the other.
    let (status, listed) = get(b, "/v1/incidents").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["incidents"].as_array().unwrap().len(), 1);
    let path = format!("/v1/incidents/{id}");
    let (status, changed) = patch(
        b,
        &path,
        serde_json::json!({"status": "ACKNOWLEDGED", "actor": "alice", "note": "looking"}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let (status, seen) = get(&a, &path).await;
    assert_eq!(status, 200);
    assert_eq!(seen["status"], "ACKNOWLEDGED");
    assert_eq!(seen["history"].as_array().unwrap().len(), 2);

    // Events acknowledged by one server, which is then killed: all stored.
    let acknowledged = post_log_files(&a, prefix, files, records).await;
    assert_eq!(acknowledged.len(), files * records);
    a.kill();
    for id in &acknowledged {
        let (status, _) = get(b, &format!("/v1/incidents/{id}")).await;
        assert_eq!(status, 200, "{id} lost");
    }
    let (status, health) = get(b, "/healthz").await;
    assert_eq!(status, 200, "{health}");
}

/// Two servers `a` and `b` on one store, a dashboard on each: every incident and every
/// acknowledgement reaches both, whichever server stored it, each once.
pub async fn every_dashboard_sees_every_incident(a: &Server, b: &Server, prefix: &str) {
    let mut watching_a = connect(a).await;
    let mut watching_b = connect(b).await;

    let (status, posted) = post(
        a,
        eventbridge_event(&format!("{prefix}-1"), "DeleteUser", "bob").to_string(),
    )
    .await;
    assert_eq!(status, 202, "{posted}");
    let id = posted["incident_ids"][0].as_str().unwrap().to_string();
    for socket in [&mut watching_a, &mut watching_b] {
        let message = next_json(socket).await.expect("incident message");
        assert_eq!(message["type"], "incident.created");
        assert_eq!(message["incident"]["incident_id"], id.as_str());
        assert_eq!(message["incident"]["event_type"]["ko"], "사용자 삭제");
    }
    let path = format!("/v1/incidents/{id}");
    let (status, _) = patch(
        b,
        &path,
        serde_json::json!({"status": "ACKNOWLEDGED", "actor": "alice"}),
    )
    .await;
    assert_eq!(status, 200);
    for socket in [&mut watching_a, &mut watching_b] {
        let message = next_json(socket).await.expect("update message");
        assert_eq!(message["type"], "incident.updated");
        assert_eq!(message["incident"]["status"], "ACKNOWLEDGED");
    }
    // Each message once: a server does not hear its own announcements back.
    let (status, _) = post(
        b,
        eventbridge_event(&format!("{prefix}-2"), "DeleteUser", "carol").to_string(),
    )
    .await;
    assert_eq!(status, 202);
    for socket in [&mut watching_a, &mut watching_b] {
        let message = next_json(socket).await.expect("incident message");
        assert_eq!(
            message["incident"]["event_id"],
            format!("{prefix}-2").as_str()
        );
    }
    for socket in [&mut watching_a, &mut watching_b] {
        let extra =
            tokio::time::timeout(std::time::Duration::from_millis(1500), next_json(socket)).await;
        assert!(extra.is_err(), "no second message: {extra:?}");
    }
}

/// Every message waiting in `queue`, its body, deleted as read (a queue that answers no more
/// messages is drained).
pub async fn drain_queue(sqs: &aws_sdk_sqs::Client, queue: &str) -> Vec<String> {
    let mut bodies = Vec::new();
    loop {
        let received = sqs
            .receive_message()
            .queue_url(queue)
            .max_number_of_messages(10)
            .send()
            .await
            .unwrap();
        if received.messages().is_empty() {
            return bodies;
        }
        for message in received.messages() {
            bodies.push(message.body().unwrap().to_string());
            sqs.delete_message()
                .queue_url(queue)
                .receipt_handle(message.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
    }
}
