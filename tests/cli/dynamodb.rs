//! `--db dynamodb://TABLE`: the scan and the `incidents` commands on a DynamoDB table, in a
//! moto server of the test's own, the AWS settings from the environment as a user sets them.

use crate::helpers::*;
use crate::moto::Moto;
use std::path::Path;
use std::process::{Command, Output};

fn run(workspace: &Workspace, moto: &Moto, command: &mut Command) -> Output {
    workspace
        .with_aws(command, &moto.endpoint, "us-east-1")
        .output()
        .expect("run iamwatch")
}

fn scan_into(workspace: &Workspace, moto: &Moto, table: &str, paths: &[&Path]) -> Output {
    let mut command = iamwatch();
    command
        .args(["scan", "--format", "jsonl", "--db", table, "--dead-letter"])
        .arg(workspace.path("dynamodb-dead-letter.jsonl"))
        .args(paths);
    run(workspace, moto, &mut command)
}

fn incidents_in(workspace: &Workspace, moto: &Moto, table: &str, args: &[&str]) -> Output {
    let mut command = iamwatch();
    command.arg("incidents").args(args).args(["--db", table]);
    run(workspace, moto, &mut command)
}

#[test]
fn a_scan_into_dynamodb_stores_what_a_scan_into_sqlite_stores() {
    let moto = Moto::start_serial();
    let workspace = Workspace::new();
    let table = "dynamodb://iamwatch-incidents";
    let trail = repo_root().join("samples/cloudtrail");

    let sqlite = workspace.scan(&["--format", "jsonl"], &[&trail]);
    assert_success(&sqlite);
    let scanned = scan_into(&workspace, &moto, table, &[&trail]);
    assert_success(&scanned);
    let found = without_store_times(&scanned);
    assert!(found.len() > 100, "{} incidents", found.len());
    assert_eq!(found, without_store_times(&sqlite));
    assert!(
        stderr(&scanned).contains(&format!("incidents: {} new, 0 already stored", found.len())),
        "{}",
        stderr(&scanned)
    );
    assert!(
        stderr(&scanned).contains(&format!("store: {table}")),
        "{}",
        stderr(&scanned)
    );

    let again = scan_into(&workspace, &moto, table, &[&trail]);
    assert_success(&again);
    assert_eq!(without_store_times(&again), found);
    assert!(
        stderr(&again).contains(&format!("incidents: 0 new, {} already stored", found.len())),
        "{}",
        stderr(&again)
    );

    // The listings give what SQLite's give, in the same order.
    for listing in [
        &["list", "--format", "jsonl", "--all"][..],
        &["list", "--severity", "CRITICAL", "--format", "jsonl"],
        &[
            "list",
            "--text",
            "administratoraccess",
            "--format",
            "jsonl",
            "--all",
        ],
        &[
            "list", "--status", "NEW", "--limit", "7", "--format", "jsonl",
        ],
    ] {
        let listed = incidents_in(&workspace, &moto, table, listing);
        assert_success(&listed);
        let expected = without_store_times(&workspace.incidents(listing));
        assert!(!expected.is_empty(), "{listing:?}");
        assert_eq!(without_store_times(&listed), expected, "{listing:?}");
    }

    // The lifecycle, then the incident and its history as `show` prints them.
    let critical = incidents_in(
        &workspace,
        &moto,
        table,
        &["list", "--severity", "CRITICAL", "--format", "jsonl"],
    );
    let id = incidents_of(&critical)[0]["incident_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_lifecycle(|args| incidents_in(&workspace, &moto, table, args), &id);
}

#[test]
fn the_incidents_commands_refuse_a_table_that_is_not_there_and_create_nothing() {
    let moto = Moto::start_serial();
    let workspace = Workspace::new();
    let listed = incidents_in(&workspace, &moto, "dynamodb://mistyped", &["list"]);
    assert!(!listed.status.success());
    assert!(
        stderr(&listed).contains("dynamodb://mistyped: no such table"),
        "{}",
        stderr(&listed)
    );
    // A scan creates it.
    let scanned = scan_into(
        &workspace,
        &moto,
        "dynamodb://mistyped",
        &[&fixture("seed_events.jsonl")],
    );
    assert_success(&scanned);
    assert_success(&incidents_in(
        &workspace,
        &moto,
        "dynamodb://mistyped",
        &["list"],
    ));
}

#[test]
fn dynamodb_out_of_reach_is_a_clear_error() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let workspace = Workspace::new();
    let mut command = iamwatch();
    command
        .args(["scan", "--db", "dynamodb://incidents"])
        .arg(fixture("seed_events.jsonl"));
    let scanned = workspace
        .with_aws(
            &mut command,
            &format!("http://127.0.0.1:{port}"),
            "us-east-1",
        )
        .output()
        .unwrap();
    assert!(!scanned.status.success());
    let message = stderr(&scanned);
    assert!(
        message.contains("cannot open the incident store dynamodb://incidents"),
        "{message}"
    );
    assert!(message.contains("cannot read the table"), "{message}");
}
