//! `serve --db dynamodb://…`: servers sharing one DynamoDB table in a moto server of the test's
//! own.

use crate::iam_account;
use crate::moto::Moto;
use crate::s3_follow::{aws_env, aws_env_as};
use crate::server::{self, post, start_with_env, Server};
use crate::threshold::{archived_minutes_ago, rule_config};
use serde_json::{json, Value};
use tempfile::TempDir;

/// A `serve` on the table `iamwatch-incidents` of `moto`, in `dir`.
fn serve_on(moto: &Moto, dir: &TempDir) -> Server {
    let db = ["--db", "dynamodb://iamwatch-incidents"];
    start_with_env(
        dir.path(),
        "",
        &db,
        &aws_env(dir.path(), &moto.endpoint, "us-east-1"),
    )
}

#[tokio::test]
async fn two_servers_share_one_table_and_a_kill_9_after_202_loses_nothing() {
    let moto = Moto::start_serial();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (serve_on(&moto, &dir_a), serve_on(&moto, &dir_b));
    // Fewer than PostgreSQL's thousand: moto copies the whole table at each transaction (to
    // restore it if refused), so its writes slow as the table grows.
    server::share_one_store(a, &b, "ddb", 2, 40).await;
}

#[tokio::test]
async fn every_dashboard_sees_every_incident_whichever_server_stored_it() {
    let moto = Moto::start_serial();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let (a, b) = (serve_on(&moto, &dir_a), serve_on(&moto, &dir_b));
    server::every_dashboard_sees_every_incident(&a, &b, "ddb-live").await;
}

/// The statements of the policy the README gives for `serve` on a DynamoDB table, their
/// resources opened (`*`): what moto can hold against the calls is their actions.
fn readme_statements() -> Vec<Value> {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let section = &readme[readme.find("## DynamoDB").expect("a DynamoDB section")..];
    let start = section
        .find("```json\n")
        .expect("a policy in the DynamoDB section")
        + 8;
    let length = section[start..].find("```").unwrap();
    let policy: Value = serde_json::from_str(&section[start..start + length]).unwrap();
    let mut statements = policy["Statement"].as_array().unwrap().clone();
    for statement in &mut statements {
        statement["Resource"] = json!("*");
    }
    statements
}

#[tokio::test]
async fn servers_on_a_table_need_only_what_the_readme_grants() {
    let moto = Moto::start_serial();
    let iam = aws_sdk_iam::Client::new(&moto.sdk_config());
    let key = iam_account::user_holding(&iam, "iamwatch", readme_statements()).await;
    moto.check_iam(true);

    let start = |dir: &TempDir| {
        let env = aws_env_as(dir.path(), &moto.endpoint, &key);
        start_with_env(
            dir.path(),
            &rule_config(dir.path()),
            &["--db", "dynamodb://iamwatch-incidents"],
            &env,
        )
    };
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    // The first makes the table; each follows the other's writes through its stream.
    let a = start(&dir_a);
    let b = start(&dir_b);
    server::every_dashboard_sees_every_incident(&a, &b, "ddb-iam").await;
    // Counted, then recalled by a server started again.
    for (id, minutes) in [("a0", 8), ("a1", 7)] {
        let call = archived_minutes_ago(id, minutes, "198.51.100.1");
        let (status, summary) = post(&a, call.to_string()).await;
        assert_eq!(status, 202, "{summary}\n{}", a.log());
    }
    a.kill();
    let again = start(&dir_a);
    let third = archived_minutes_ago("a2", 6, "198.51.100.1");
    let (status, summary) = post(&again, third.to_string()).await;
    moto.check_iam(false);
    assert_eq!(
        (status, summary["incidents"].as_u64()),
        (202, Some(1)),
        "{summary}\n{}",
        again.log()
    );
    for log in [again.log(), b.log()] {
        assert!(!log.contains("AccessDenied"), "{log}");
    }
}
