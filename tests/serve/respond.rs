//! `[respond]`: playbooks `serve` runs by itself on new incidents, against the moto server's IAM:
//! carried out only when enabled and not a dry run, recorded in the incident's history either way.

use crate::moto::Moto;
use crate::server::{self, post, start_with_env, Server};
use serde_json::Value;
use std::path::Path;
use std::time::{Duration, Instant};

/// Someone turned `user`'s access key `key_id` back on: the seed fixture's UpdateAccessKey.
pub(crate) fn key_reactivated(user: &str, key_id: &str, event_id: &str) -> Value {
    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/seed_events.jsonl");
    let mut record: Value = std::fs::read_to_string(fixture)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .find(|record| record["eventName"] == "UpdateAccessKey")
        .unwrap();
    record["eventID"] = event_id.into();
    record["requestParameters"]["userName"] = user.into();
    record["requestParameters"]["accessKeyId"] = key_id.into();
    record["requestParameters"]["status"] = "Active".into();
    record
}

pub(crate) async fn user_with_key(iam: &aws_sdk_iam::Client, user: &str) -> String {
    iam.create_user().user_name(user).send().await.unwrap();
    let created = iam
        .create_access_key()
        .user_name(user)
        .send()
        .await
        .unwrap();
    created.access_key().unwrap().access_key_id().to_string()
}

pub(crate) async fn key_status(iam: &aws_sdk_iam::Client, user: &str) -> String {
    let listed = iam.list_access_keys().user_name(user).send().await.unwrap();
    listed.access_key_metadata()[0]
        .status()
        .unwrap()
        .as_str()
        .to_string()
}

/// Posts the record; the incident's id.
async fn incident_of(server: &Server, record: &Value) -> String {
    let (status, summary) = post(server, record.to_string()).await;
    assert_eq!(status, 202, "{summary}");
    summary["incident_ids"][0].as_str().unwrap().to_string()
}

/// The notes `auto-response` left in the incident's history, waiting up to `wait` for one.
async fn responses(server: &Server, id: &str, wait: Duration) -> Vec<String> {
    let deadline = Instant::now() + wait;
    loop {
        let (status, incident) = server::get(server, &format!("/v1/incidents/{id}")).await;
        assert_eq!(status, 200);
        let notes: Vec<String> = incident["history"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|entry| entry["actor"] == "auto-response")
            .map(|entry| entry["note"].as_str().unwrap().to_string())
            .collect();
        if !notes.is_empty() || Instant::now() > deadline {
            return notes;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

const RULES: &str =
    "[[respond.auto]]\nrule = \"iam.access_key_change\"\nplaybook = \"deactivate-key\"\n";

/// `serve` in a folder `name` of its own under `dir`, with `respond` (its `[respond]` table)
/// before the rules.
fn serve_in(dir: &Path, name: &str, respond: &str, env: &[(&'static str, String)]) -> Server {
    let own = dir.join(name);
    std::fs::create_dir_all(&own).unwrap();
    start_with_env(&own, &format!("{respond}{RULES}"), &[], env)
}

#[tokio::test(flavor = "multi_thread")]
async fn playbooks_run_by_themselves_only_when_enabled_and_dry_run_unless_told() {
    let moto = Moto::start();
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    let dir = tempfile::tempdir().unwrap();
    let env = crate::s3_follow::aws_env(dir.path(), &moto.endpoint, "us-east-1");

    // Listed but not enabled: nothing runs, nothing is recorded.
    let key = user_with_key(&iam, "off").await;
    let server = serve_in(dir.path(), "off", "", &env);
    let id = incident_of(&server, &key_reactivated("off", &key, "auto-off-1")).await;
    assert!(responses(&server, &id, Duration::from_millis(1500))
        .await
        .is_empty());
    assert_eq!(key_status(&iam, "off").await, "Active");
    drop(server);

    // Enabled, dry run by default: recorded as what would be done, the key untouched.
    let key = user_with_key(&iam, "dry").await;
    let server = serve_in(dir.path(), "dry", "[respond]\nenabled = true\n", &env);
    let id = incident_of(&server, &key_reactivated("dry", &key, "auto-dry-1")).await;
    let notes = responses(&server, &id, Duration::from_secs(20)).await;
    assert_eq!(
        notes,
        [format!(
            "automatic response (dry run) deactivate-key: would: UpdateAccessKey: access key {key} of user dry → Inactive"
        )]
    );
    assert_eq!(key_status(&iam, "dry").await, "Active");
    drop(server);

    // Enabled and not a dry run: the key made inactive, the history says so, and a dashboard
    // connected meanwhile hears the change.
    let key = user_with_key(&iam, "live").await;
    let server = serve_in(
        dir.path(),
        "live",
        "[respond]\nenabled = true\ndry_run = false\n",
        &env,
    );
    let mut socket = server::connect(&server).await;
    let id = incident_of(&server, &key_reactivated("live", &key, "auto-live-1")).await;
    let notes = responses(&server, &id, Duration::from_secs(20)).await;
    assert_eq!(
        notes,
        [format!(
            "automatic response deactivate-key executed: done: UpdateAccessKey: access key {key} of user live → Inactive: {key} is inactive"
        )]
    );
    assert_eq!(key_status(&iam, "live").await, "Inactive");
    let mut kinds = Vec::new();
    while kinds.len() < 2 {
        let message = server::next_json(&mut socket)
            .await
            .expect("a live message");
        if message["incident"]["incident_id"] == id.as_str() {
            kinds.push(message["type"].as_str().unwrap().to_string());
        }
    }
    assert_eq!(kinds, ["incident.created", "incident.updated"]);
}

#[test]
fn an_unknown_playbook_stops_serve_naming_it() {
    let stderr = server::refused_start("[[respond.auto]]\nrule = \"x\"\nplaybook = \"nuke\"\n");
    assert!(
        stderr.contains("[[respond.auto]] #1: unknown playbook \"nuke\""),
        "{stderr}"
    );
}
