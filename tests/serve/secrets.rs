//! `serve` reading its secrets from a Secrets Manager secret (`IAMWATCH_SECRETS`, in the moto
//! server): the API token and a notification destination's URL from the secret, over what the
//! environment says; a secret it cannot read stops it before it listens, naming the secret.

use crate::moto::Moto;
use crate::receiver::{self, posted_to};
use crate::s3_follow::aws_env;
use crate::server::{client, eventbridge_event, start_with_env};
use serde_json::json;
use std::process::Command;
use std::time::{Duration, Instant};

const SECRET_TOKEN: &str = "serve-token-from-the-secret-0123456789";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reads_its_token_and_destinations_from_its_secret() {
    let moto = Moto::start();
    let (base, received) = receiver::start().await;
    let hook = format!("{base}/hook-from-the-secret");
    let secrets = aws_sdk_secretsmanager::Client::new(&moto.sdk_config());
    secrets
        .create_secret()
        .name("iamwatch/serve")
        .secret_string(json!({"IAMWATCH_TOKEN": SECRET_TOKEN, "IAMWATCH_HOOK": hook}).to_string())
        .send()
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut env = aws_env(dir.path(), &moto.endpoint, "us-east-1");
    env.push(("IAMWATCH_SECRETS", "iamwatch/serve".to_string()));
    // The harness sets IAMWATCH_TOKEN in the environment too: the secret's comes first.
    let server = start_with_env(
        dir.path(),
        "[[notify]]\nkind = \"webhook\"\nname = \"hook\"\nmin_severity = \"LOW\"\nurl_env = \"IAMWATCH_HOOK\"\n",
        &[],
        &env,
    );
    let event = eventbridge_event("secret-1", "DeactivateMFADevice", "bob").to_string();
    let post = |token: &'static str| {
        client()
            .post(server.url("/v1/events"))
            .bearer_auth(token)
            .body(event.clone())
            .send()
    };
    assert_eq!(post(crate::server::TOKEN).await.unwrap().status(), 401);
    let answer = post(SECRET_TOKEN).await.unwrap();
    assert_eq!(answer.status(), 202, "{}", server.log());
    let summary: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(summary["incidents"], 1, "{summary}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while posted_to(&received, "/hook-from-the-secret").is_empty() {
        assert!(Instant::now() < deadline, "not sent:\n{}", server.log());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let log = server.log();
    assert!(
        !log.contains(SECRET_TOKEN) && !log.contains("/hook-from-the-secret"),
        "{log}"
    );
}

#[test]
fn serve_does_not_start_on_a_secret_it_cannot_read() {
    let moto = Moto::start();
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("incidents.db"))
        .envs(aws_env(dir.path(), &moto.endpoint, "us-east-1"))
        .env("IAMWATCH_SECRETS", "iamwatch/missing")
        .output()
        .unwrap();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains(
            "cannot read the secret iamwatch/missing (IAMWATCH_SECRETS): ResourceNotFoundException"
        ),
        "{said}"
    );
    assert!(
        !dir.path().join("incidents.db").exists(),
        "a store was made"
    );
}

#[test]
fn serve_gives_up_on_a_secrets_endpoint_that_never_answers() {
    // Takes connections, never answers (a proxy or an endpoint gone wrong).
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", silent.local_addr().unwrap());
    let held = std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in silent.incoming().take(8) {
            open.push(stream);
        }
        std::thread::sleep(Duration::from_secs(30));
    });
    let dir = tempfile::tempdir().unwrap();
    let started = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .args(["serve", "--listen", "127.0.0.1:0", "--db"])
        .arg(dir.path().join("incidents.db"))
        .envs(aws_env(dir.path(), &endpoint, "us-east-1"))
        .env("IAMWATCH_SECRETS", "iamwatch/serve")
        .output()
        .unwrap();
    let took = started.elapsed();
    assert!(!output.status.success());
    let said = String::from_utf8_lossy(&output.stderr);
    assert!(
        said.contains("cannot read the secret iamwatch/serve"),
        "{said}"
    );
    assert!(
        took < Duration::from_secs(15),
        "gave up after {took:?}: {said}"
    );
    drop(held);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_reads_secrets_from_the_files_iamwatch_file_variables_name() {
    let (base, received) = receiver::start().await;
    let dir = tempfile::tempdir().unwrap();
    // As Docker and Kubernetes mount secrets: one file each, a line break at the end.
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{SECRET_TOKEN}\n")).unwrap();
    let hook_file = dir.path().join("hook");
    std::fs::write(&hook_file, format!("{base}/hook-from-a-file\n")).unwrap();
    let config = dir.path().join("iamwatch.toml");
    std::fs::write(
        &config,
        "[[notify]]\nkind = \"webhook\"\nname = \"hook\"\nmin_severity = \"LOW\"\nurl_env = \"IAMWATCH_HOOK\"\n",
    )
    .unwrap();
    let start = |extra: &[(&str, String)]| {
        Command::new(env!("CARGO_BIN_EXE_iamwatch"))
            .args(["serve", "--listen", "127.0.0.1:0", "--config"])
            .arg(&config)
            .arg("--db")
            .arg(dir.path().join("incidents.db"))
            .env_remove("IAMWATCH_TOKEN")
            .env("IAMWATCH_TOKEN_FILE", &token_file)
            .env("IAMWATCH_HOOK_FILE", &hook_file)
            .envs(extra.iter().map(|(name, value)| (*name, value)))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap()
    };

    // Set both ways: refused, naming both.
    let refused = start(&[("IAMWATCH_TOKEN", "another".to_string())])
        .wait_with_output()
        .unwrap();
    assert!(!refused.status.success());
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("IAMWATCH_TOKEN and IAMWATCH_TOKEN_FILE are both set"),
        "{said}"
    );

    let mut child = start(&[]);
    let address = crate::server::listening_address(&mut child);
    let event = eventbridge_event("file-1", "DeactivateMFADevice", "bob").to_string();
    let post = |token: &'static str| {
        client()
            .post(format!("http://{address}/v1/events"))
            .bearer_auth(token)
            .body(event.clone())
            .send()
    };
    // The file's token, without its line break; no other.
    assert_eq!(post("wrong-token").await.unwrap().status(), 401);
    assert_eq!(post(SECRET_TOKEN).await.unwrap().status(), 202);
    let deadline = Instant::now() + Duration::from_secs(10);
    while posted_to(&received, "/hook-from-a-file").is_empty() {
        assert!(Instant::now() < deadline, "not sent");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
}
