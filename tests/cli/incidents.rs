//! `iamwatch incidents`: the lifecycle over the stored incidents.

use crate::helpers::*;

#[test]
fn incidents_are_listed_filtered_shown_and_moved_through_their_lifecycle() {
    let workspace = Workspace::new();
    assert_success(&workspace.scan(&[], &[&fixture("seed_events.jsonl")]));

    let critical = workspace.incidents(&["list", "--severity", "CRITICAL", "--format", "jsonl"]);
    assert_success(&critical);
    let critical = incidents_of(&critical);
    assert_eq!(critical.len(), 7);
    assert!(critical
        .iter()
        .all(|incident| incident["severity"] == "CRITICAL"));
    let id = critical[0]["incident_id"].as_str().unwrap().to_string();

    let acked = workspace.incidents(&["ack", &id, "--note", "on it", "--actor", "alice"]);
    assert_success(&acked);
    assert_eq!(stdout(&acked).trim(), format!("{id} is now ACKNOWLEDGED"));
    let again = workspace.incidents(&["ack", &id]);
    assert!(!again.status.success());
    assert!(
        stderr(&again).contains("cannot go from ACKNOWLEDGED to ACKNOWLEDGED"),
        "{}",
        stderr(&again)
    );
    assert_success(&workspace.incidents(&["resolve", &id, "--actor", "alice"]));

    let shown = workspace.incidents(&["show", &id, "--lang", "ko"]);
    assert_success(&shown);
    let shown: serde_json::Value = serde_json::from_str(&stdout(&shown)).unwrap();
    assert_eq!(shown["status"], "RESOLVED");
    assert_eq!(shown["history"].as_array().unwrap().len(), 3);
    assert_eq!(shown["history"][1]["note"], "on it");
    assert!(shown["event_time"].as_str().unwrap().ends_with("KST"));
    assert_eq!(shown["raw"]["eventID"], shown["event_id"]);

    let open = workspace.incidents(&[
        "list",
        "--status",
        "NEW,ACKNOWLEDGED",
        "--format",
        "jsonl",
        "--limit",
        "1000",
    ]);
    assert_eq!(incidents_of(&open).len(), 45);
    let unknown = workspace.incidents(&["show", "inc-20000101-000000-NOSUCH"]);
    assert!(!unknown.status.success());
}
