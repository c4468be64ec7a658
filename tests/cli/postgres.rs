//! `--db postgres://…`: the scan and the `incidents` commands on this machine's PostgreSQL
//! server, each test in a schema of its own (`IAMWATCH_TEST_POSTGRES` names another server).

use crate::helpers::*;
use iamwatch_store::postgres::scratch::ScratchSchema;
use std::process::Output;

fn scan_into(url: &str, workspace: &Workspace, paths: &[&std::path::Path]) -> Output {
    iamwatch()
        .args(["scan", "--format", "jsonl", "--db", url, "--dead-letter"])
        .arg(workspace.path("pg-dead-letter.jsonl"))
        .args(paths)
        .output()
        .expect("run iamwatch")
}

fn incidents_in(url: &str, args: &[&str]) -> Output {
    iamwatch()
        .arg("incidents")
        .args(args)
        .args(["--db", url])
        .output()
        .expect("run iamwatch")
}

#[test]
fn a_scan_into_postgres_stores_what_a_scan_into_sqlite_stores() {
    let schema = ScratchSchema::create_blocking().unwrap();
    let url = schema.url();
    let workspace = Workspace::new();
    let trail = repo_root().join("samples/cloudtrail");

    let sqlite = workspace.scan(&["--format", "jsonl"], &[&trail]);
    assert_success(&sqlite);
    let postgres = scan_into(&url, &workspace, &[&trail]);
    assert_success(&postgres);
    let found = without_store_times(&postgres);
    assert!(found.len() > 100, "{} incidents", found.len());
    assert_eq!(found, without_store_times(&sqlite));
    assert!(
        stderr(&postgres).contains(&format!("incidents: {} new, 0 already stored", found.len())),
        "{}",
        stderr(&postgres)
    );
    // The summary names the store, never with a password.
    let shown = schema.location().to_string();
    assert!(shown.starts_with("postgres://"), "{shown}");
    assert!(
        stderr(&postgres).contains(&format!("store: {shown}")),
        "{}",
        stderr(&postgres)
    );

    // Scanned again: the same incidents, every one already stored.
    let again = scan_into(&url, &workspace, &[&trail]);
    assert_success(&again);
    assert_eq!(without_store_times(&again), found);
    assert!(
        stderr(&again).contains(&format!("incidents: 0 new, {} already stored", found.len())),
        "{}",
        stderr(&again)
    );

    // Listed whole, the two stores give the same incidents in the same order.
    let all = ["--format", "jsonl", "--all"];
    let listed = incidents_in(&url, &[&["list"][..], &all].concat());
    assert_success(&listed);
    let from_sqlite = workspace.incidents(&[&["list"][..], &all].concat());
    assert_eq!(
        without_store_times(&listed),
        without_store_times(&from_sqlite)
    );
    assert_eq!(incidents_of(&listed).len(), found.len());
    let critical = incidents_in(
        &url,
        &["list", "--severity", "CRITICAL", "--format", "jsonl"],
    );
    let critical_sqlite =
        workspace.incidents(&["list", "--severity", "CRITICAL", "--format", "jsonl"]);
    assert_eq!(
        without_store_times(&critical),
        without_store_times(&critical_sqlite)
    );
    let text = [
        "list",
        "--text",
        "AdministratorAccess",
        "--format",
        "jsonl",
        "--all",
    ];
    assert_eq!(
        without_store_times(&incidents_in(&url, &text)),
        without_store_times(&workspace.incidents(&text))
    );

    // The lifecycle, then the incident and its history as `show` prints them.
    let id = incidents_of(&critical)[0]["incident_id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_lifecycle(|args| incidents_in(&url, args), &id);
    // A rescan reports the incident as it is stored now.
    let third = scan_into(&url, &workspace, &[&trail]);
    let resolved: Vec<_> = incidents_of(&third)
        .into_iter()
        .filter(|incident| incident["incident_id"] == id.as_str())
        .collect();
    assert_eq!(resolved.len(), 1);
    assert_eq!(resolved[0]["status"], "RESOLVED");
    schema.drop_blocking().unwrap();
}

#[test]
fn the_incidents_commands_refuse_a_database_without_incidents_and_create_nothing() {
    let schema = ScratchSchema::create_blocking().unwrap();
    let listed = incidents_in(&schema.url(), &["list"]);
    assert!(!listed.status.success());
    assert!(
        stderr(&listed).contains("no incidents there yet"),
        "{}",
        stderr(&listed)
    );
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    assert_eq!(
        runtime.block_on(schema.tables()).unwrap(),
        Vec::<String>::new()
    );
    schema.drop_blocking().unwrap();
}

#[test]
fn a_postgres_server_out_of_reach_is_a_clear_error_without_the_password() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let workspace = Workspace::new();
    let url = format!("postgres://alice:hunter2@127.0.0.1:{port}/incidents");
    let scanned = scan_into(&url, &workspace, &[&fixture("seed_events.jsonl")]);
    assert!(!scanned.status.success());
    let message = stderr(&scanned);
    assert!(
        message.contains(&format!(
            "cannot open the incident store postgres://alice@127.0.0.1:{port}/incidents"
        )),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
    // Through the environment, as a service would be configured.
    let listed = iamwatch()
        .args(["incidents", "list"])
        .env("IAMWATCH_DB", &url)
        .output()
        .unwrap();
    assert!(!listed.status.success());
    assert!(!stderr(&listed).contains("hunter2"), "{}", stderr(&listed));
}
