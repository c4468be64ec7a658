//! `[[notify]]`: `serve` sending new incidents to every kind of destination at once, each a
//! real server on this machine: chat and webhook receivers (HTTP), an SMTP server (aiosmtpd,
//! requiring a login), an SNS topic of the moto server read through SQS queues subscribed to
//! it; and one destination that always fails, which must hold up nothing.

use crate::moto::Moto;
use crate::receiver::{self, posted_to};
use crate::server::{self, post, start_with_env, wait_for_metric, Server};
use serde_json::Value;
use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// aiosmtpd on a free port, keeping what it accepts in `dir` (`tests/shared/smtp_server.py`).
struct Smtp {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl Smtp {
    fn start(dir: &Path, user: &str, password: &str) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/shared/smtp_server.py");
        std::fs::create_dir_all(dir).unwrap();
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .unwrap()
            .port();
        let mut child = Command::new("python3")
            .arg(script)
            .args([&port.to_string(), dir.to_str().unwrap(), user, password])
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("python3 runs");
        let mut ready = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut ready)
            .unwrap();
        assert_eq!(
            ready.trim(),
            "ready",
            "the SMTP server started (pip install aiosmtpd)"
        );
        Self {
            child,
            port,
            dir: dir.to_path_buf(),
        }
    }

    fn mails(&self) -> Vec<Value> {
        let mut names: Vec<_> = std::fs::read_dir(&self.dir)
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
            .collect();
        names.sort();
        names
            .iter()
            .map(|path| {
                let mut mail: Value =
                    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
                // Mail's line ends are CRLF on the wire and after decoding.
                let body = mail["body"].as_str().unwrap_or("").replace("\r\n", "\n");
                mail["body"] = Value::String(body);
                mail
            })
            .collect()
    }
}

impl Drop for Smtp {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A topic in moto, with two queues subscribed: one takes everything, one (a filter policy
/// on the `severity` attribute) only CRITICAL.
struct Topic {
    arn: String,
    sqs: aws_sdk_sqs::Client,
    all: String,
    critical: String,
}

async fn topic(moto: &Moto) -> Topic {
    let config = moto.sdk_config();
    let (sns, sqs) = (
        aws_sdk_sns::Client::new(&config),
        aws_sdk_sqs::Client::new(&config),
    );
    let arn = sns
        .create_topic()
        .name("iamwatch-incidents")
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let mut urls = Vec::new();
    for (name, filter) in [
        ("everything", None),
        ("critical", Some(r#"{"severity": ["CRITICAL"]}"#)),
    ] {
        let url = sqs
            .create_queue()
            .queue_name(name)
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_string();
        let mut subscribe = sns
            .subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint(format!("arn:aws:sqs:us-east-1:123456789012:{name}"));
        if let Some(policy) = filter {
            subscribe = subscribe.attributes("FilterPolicy", policy);
        }
        subscribe.send().await.unwrap();
        urls.push(url);
    }
    let critical = urls.pop().unwrap();
    let all = urls.pop().unwrap();
    Topic {
        arn,
        sqs,
        all,
        critical,
    }
}

impl Topic {
    /// Every message waiting in `queue` (deleted as read): the SNS envelope's `Message`, parsed.
    async fn drain(&self, queue: &str) -> Vec<(Value, Value)> {
        crate::server::drain_queue(&self.sqs, queue)
            .await
            .iter()
            .map(|body| {
                let envelope: Value = serde_json::from_str(body).unwrap();
                let inner: Value =
                    serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
                (envelope, inner)
            })
            .collect()
    }
}

async fn wait_until<T>(what: &str, mut check: impl AsyncFnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(value) = check().await {
            return value;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The stored incidents' ids, at or above `severity`.
async fn stored_ids(server: &Server, severities: &[&str]) -> BTreeSet<String> {
    let (status, listed) = server::get(server, "/v1/incidents?limit=500").await;
    assert_eq!(status, 200);
    listed["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|incident| severities.contains(&incident["severity"].as_str().unwrap()))
        .map(|incident| incident["incident_id"].as_str().unwrap().to_string())
        .collect()
}

/// The ids of the incidents `documents` carry (`{"incident": {…}}`, as webhooks and SNS send).
fn incident_ids<'a>(documents: impl Iterator<Item = &'a Value>) -> BTreeSet<String> {
    documents
        .map(|document| {
            document["incident"]["incident_id"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect()
}

const SLACK_TOKEN_PATH: &str = "/slack/T0000/B0000/XoXoSecretPathToken";
const SMTP_PASSWORD: &str = "smtp-pa55word-9f2";

#[tokio::test(flavor = "multi_thread")]
async fn new_incidents_reach_every_destination_by_severity_and_a_failing_one_holds_up_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (base, received) = receiver::start().await;
    let smtp = Smtp::start(&dir.path().join("mail"), "iamwatch", SMTP_PASSWORD);
    let moto = Moto::start();
    let topic = topic(&moto).await;
    let config = format!(
        r#"
[[notify]]
kind = "webhook"
name = "hook"
min_severity = "LOW"
url = "{base}/hook"
secret_env = "HOOK_KEY"

[[notify]]
kind = "slack"
name = "slack-ko"
lang = "ko"
url_env = "SLACK_URL"
dashboard_url = "https://iamwatch.example.com"

[[notify]]
kind = "discord"
name = "discord-down"
min_severity = "LOW"
url = "{base}/down"

[[notify]]
kind = "email"
name = "mail-ko"
lang = "ko"
smtp_host = "127.0.0.1"
smtp_port = {port}
smtp_tls = "none"
username = "iamwatch"
password_env = "SMTP_PASSWORD"
from = "iamwatch <iamwatch@example.com>"
to = ["security@example.com", "oncall@example.com"]

[[notify]]
kind = "sns"
name = "topic"
min_severity = "MEDIUM"
topic_arn = "{arn}"
"#,
        port = smtp.port,
        arn = topic.arn,
    );
    let mut env = crate::s3_follow::aws_env(dir.path(), &moto.endpoint, "us-east-1");
    env.push(("HOOK_KEY", "hook-signing-key".to_string()));
    env.push(("SLACK_URL", format!("{base}{SLACK_TOKEN_PATH}")));
    env.push(("SMTP_PASSWORD", SMTP_PASSWORD.to_string()));
    let server = start_with_env(dir.path(), &config, &[], &env);

    let seed = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed_events.jsonl"),
    )
    .unwrap();
    let started = Instant::now();
    let (status, summary) = post(&server, seed.clone()).await;
    assert_eq!(status, 202, "{summary}");
    // Stored and answered while the failing destination is still being retried (its
    // retries take 1 + 2 + 4 + 8 s).
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    assert!(summary["accepted"].as_u64().unwrap() >= 40, "{summary}");

    let everything = stored_ids(&server, &["CRITICAL", "HIGH", "MEDIUM", "LOW"]).await;
    let high_and_up = stored_ids(&server, &["CRITICAL", "HIGH"]).await;
    let medium_and_up = stored_ids(&server, &["CRITICAL", "HIGH", "MEDIUM"]).await;
    let critical = stored_ids(&server, &["CRITICAL"]).await;
    let created = everything.len() as u64;
    assert!(!critical.is_empty() && critical.len() < high_and_up.len());
    assert!(high_and_up.len() < medium_and_up.len() && medium_and_up.len() < everything.len());

    // The webhook: every incident once, signed, as the API shows it.
    let hooked = wait_until("the webhook's deliveries", async || {
        let bodies = posted_to(&received, "/hook");
        (bodies.len() == everything.len()).then_some(bodies)
    })
    .await;
    assert_eq!(
        incident_ids(hooked.iter().map(|(_, _, body)| body)),
        everything
    );
    for (_, headers, body) in &hooked {
        assert_eq!(headers["x-iamwatch-event"], "incident.created");
        assert!(headers["x-iamwatch-signature"]
            .to_str()
            .unwrap()
            .starts_with("sha256="));
        assert_eq!(body["type"], "incident.created");
    }

    // Slack, in Korean: the HIGH and CRITICAL ones, in digests of up to ten.
    let slack_ids = wait_until("Slack's messages", async || {
        let mut ids = BTreeSet::new();
        for (_, _, body) in posted_to(&received, SLACK_TOKEN_PATH) {
            for block in body["blocks"].as_array().unwrap() {
                let text = block["text"]["text"].as_str().unwrap_or("");
                if let Some(at) = text.find("#incident=") {
                    let id: String = text[at + 10..].chars().take_while(|c| *c != '|').collect();
                    ids.insert(id);
                }
            }
        }
        (ids.len() == high_and_up.len()).then_some(ids)
    })
    .await;
    assert_eq!(slack_ids, high_and_up);
    let slack_text = posted_to(&received, SLACK_TOKEN_PATH)
        .iter()
        .map(|(_, _, body)| body.to_string())
        .collect::<String>();
    assert!(
        slack_text.contains("발생 시각") && slack_text.contains(" KST"),
        "{slack_text}"
    );

    // Email, in Korean, to both addresses, after logging in: every HIGH and CRITICAL incident.
    let mails = wait_until("the mails", async || {
        let mails = smtp.mails();
        let mailed: usize = mails
            .iter()
            .map(|mail| {
                mail["body"]
                    .as_str()
                    .unwrap()
                    .matches("인시던트: inc-")
                    .count()
            })
            .sum();
        (mailed == high_and_up.len()).then_some(mails)
    })
    .await;
    for mail in &mails {
        assert_eq!(mail["login"], "iamwatch");
        assert_eq!(mail["mail_from"], "iamwatch@example.com");
        assert_eq!(
            mail["rcpt_to"],
            serde_json::json!(["security@example.com", "oncall@example.com"])
        );
        assert_eq!(mail["content_type"], "text/plain");
        assert_eq!(mail["charset"], "utf-8");
        let subject = mail["subject"].as_str().unwrap();
        assert!(subject.starts_with("[iamwatch] "), "{subject}");
        assert!(
            subject.contains("높음") || subject.contains("심각"),
            "{subject}"
        );
        assert!(mail["body"].as_str().unwrap().contains(" KST\n"), "{mail}");
    }
    let mailed_ids: BTreeSet<String> = mails
        .iter()
        .flat_map(|mail| {
            let body = mail["body"].as_str().unwrap().to_string();
            body.lines()
                .filter_map(|line| line.strip_prefix("인시던트: "))
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect();
    assert_eq!(mailed_ids, high_and_up);

    // SNS: MEDIUM and up, one message each; the queue with a filter policy on the severity
    // attribute only the CRITICAL ones.
    let mut from_topic = Vec::new();
    wait_until("the topic's messages", async || {
        from_topic.extend(topic.drain(&topic.all).await);
        (from_topic.len() >= medium_and_up.len()).then_some(())
    })
    .await;
    assert_eq!(
        incident_ids(from_topic.iter().map(|(_, inner)| inner)),
        medium_and_up
    );
    assert_eq!(from_topic.len(), medium_and_up.len(), "each once");
    for (envelope, inner) in &from_topic {
        assert_eq!(
            envelope["MessageAttributes"]["severity"]["Value"],
            inner["incident"]["severity"]
        );
        assert!(envelope["Subject"]
            .as_str()
            .unwrap()
            .starts_with("[iamwatch] "));
    }
    let only_critical = topic.drain(&topic.critical).await;
    assert_eq!(
        incident_ids(only_critical.iter().map(|(_, inner)| inner)),
        critical
    );

    // The same events again: duplicates, nothing notified twice; and the failing destination
    // did not slow this post either.
    let started = Instant::now();
    let (status, again) = post(&server, seed).await;
    assert_eq!(status, 202);
    assert_eq!(again["duplicates"].as_u64(), Some(created), "{again}");
    assert!(started.elapsed() < Duration::from_secs(5));
    let label = |name: &str, kind: &str, outcome: &str| {
        format!("iamwatch_notifications_total{{destination=\"{name}\",kind=\"{kind}\",outcome=\"{outcome}\"}}")
    };
    wait_for_metric(
        &server,
        &label("hook", "webhook", "sent"),
        everything.len() as f64,
    )
    .await;
    wait_for_metric(
        &server,
        &label("topic", "sns", "sent"),
        medium_and_up.len() as f64,
    )
    .await;
    // The failing one: every incident offered, none sent, retried meanwhile.
    assert_eq!(
        server::metric(&server, &label("discord-down", "discord", "sent")).await,
        0.0
    );
    assert!(
        server::metric(
            &server,
            "iamwatch_notification_retries_total{destination=\"discord-down\",kind=\"discord\"}"
        )
        .await
            >= 1.0
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    let hooked_again = posted_to(&received, "/hook").len();
    assert_eq!(
        hooked_again,
        everything.len(),
        "duplicates are not notified"
    );

    // Secrets stay out of the log: the Slack URL's token and the SMTP password.
    let (_, log) = server.terminate_keeping_log();
    assert!(log.contains("notifications on"), "{log}");
    assert!(!log.contains("XoXoSecretPathToken"), "{log}");
    assert!(!log.contains(SMTP_PASSWORD), "{log}");
    assert!(!log.contains("hook-signing-key"), "{log}");
}

#[test]
fn a_destination_that_cannot_be_used_stops_serve_with_the_table_and_field_named() {
    let stderr = server::refused_start(
        "[[notify]]\nkind = \"discord\"\nurl = \"https://discord.example/api/webhooks/1/x\"\n\
         [[notify]]\nkind = \"email\"\nname = \"ops\"\nsmtp_host = \"mail.example.com\"\nfrom = \"iamwatch@example.com\"\n",
    );
    assert!(
        stderr.contains("[[notify]] #2 (email \"ops\"): `to` needs at least one address"),
        "{stderr}"
    );
}
