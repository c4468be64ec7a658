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

#[test]
fn a_store_that_is_not_there_is_an_error_not_an_empty_list() {
    let workspace = Workspace::new();
    for args in [
        &["list"][..],
        &["show", "inc-20240601-000000-ABCDEF"],
        &["ack", "inc-20240601-000000-ABCDEF"],
    ] {
        let output = workspace.incidents(args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert_eq!(
            stderr(&output).lines().next().unwrap_or_default(),
            format!(
                "error: no incident store at {}: `iamwatch scan` and `iamwatch serve` create one; --db or IAMWATCH_DB names it",
                workspace.db().display()
            )
        );
        assert!(stdout(&output).is_empty(), "{args:?}");
        // Nothing left behind: a mistyped path does not become an empty store.
        assert!(!workspace.db().exists(), "{args:?}");
    }
}

fn listed_ids(output: &std::process::Output) -> Vec<String> {
    assert_success(output);
    incidents_of(output)
        .iter()
        .map(|incident| incident["incident_id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn a_list_longer_than_a_page_is_read_page_by_page_and_can_be_continued() {
    const RECORDS: usize = 2_500; // two and a half store pages of 1,000
    let workspace = Workspace::new();
    let records: Vec<String> = (0..RECORDS)
        .map(|n| delete_user_record("page", n))
        .collect();
    let file = workspace.write("users.jsonl", (records.join("\n") + "\n").as_bytes());
    assert_success(&workspace.scan(&[], &[&file]));

    let everything = listed_ids(&workspace.incidents(&["list", "--all", "--format", "jsonl"]));
    assert_eq!(everything.len(), RECORDS);
    let distinct: std::collections::BTreeSet<&String> = everything.iter().collect();
    assert_eq!(distinct.len(), RECORDS, "an incident listed twice");

    // More than a page, and the rest from the cursor it prints.
    let first = workspace.incidents(&["list", "--limit", "1500", "--format", "jsonl"]);
    let first_ids = listed_ids(&first);
    assert_eq!(first_ids, everything[..1500]);
    let hint = stderr(&first);
    let cursor = hint
        .trim()
        .strip_prefix("more incidents: list them with --cursor ")
        .unwrap_or_else(|| panic!("no cursor in {hint:?}"));
    let rest = workspace.incidents(&[
        "list", "--cursor", cursor, "--limit", "5000", "--format", "jsonl",
    ]);
    assert_eq!(listed_ids(&rest), everything[1500..]);
    assert!(stderr(&rest).trim().is_empty(), "{}", stderr(&rest));
}

#[test]
fn the_store_and_language_may_come_before_the_subcommand() {
    let workspace = Workspace::new();
    assert_success(&workspace.scan(&[], &[&fixture("seed_events.jsonl")]));
    let db = workspace.db();
    let before = iamwatch()
        .args(["incidents", "--db"])
        .arg(&db)
        .args(["--lang", "ko", "list", "--format", "jsonl"])
        .output()
        .expect("run iamwatch");
    assert_success(&before);
    let after = workspace.incidents(&["list", "--lang", "ko", "--format", "jsonl"]);
    assert_eq!(stdout(&before), stdout(&after));
    let listed = incidents_of(&before);
    assert!(!listed.is_empty());
    let id = listed[0]["incident_id"].as_str().unwrap();
    let acked = iamwatch()
        .args(["incidents", "--lang", "ko", "--db"])
        .arg(&db)
        .args(["ack", id])
        .output()
        .expect("run iamwatch");
    assert_success(&acked);
    assert_eq!(stdout(&acked).trim(), format!("{id} 상태: ACKNOWLEDGED"));
}

#[test]
fn a_list_since_a_time_holds_only_what_was_created_or_changed_since() {
    let workspace = Workspace::new();
    assert_success(&workspace.scan(&[], &[&fixture("seed_events.jsonl")]));
    let all = incidents_of(&workspace.incidents(&["list", "--all", "--format", "jsonl"]));
    assert!(all.len() > 10);
    let within_the_hour =
        workspace.incidents(&["list", "--since", "1h", "--all", "--format", "jsonl"]);
    assert_success(&within_the_hour);
    assert_eq!(incidents_of(&within_the_hour).len(), all.len());

    // After the scan, one incident acknowledged: only it changed since then.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let after_scan = iamwatch_core::time::now_ms();
    std::thread::sleep(std::time::Duration::from_millis(20));
    let id = all[3]["incident_id"].as_str().unwrap();
    assert_success(&workspace.incidents(&["ack", id]));
    for since in [
        after_scan.to_string(),
        iamwatch_core::time::format_rfc3339_ms(after_scan),
    ] {
        let changed = workspace.incidents(&["list", "--since", &since, "--format", "jsonl"]);
        assert_success(&changed);
        assert_eq!(listed_ids(&changed), [id], "--since {since}");
    }

    let tomorrow = workspace.incidents(&["list", "--since", "2999-01-01", "--format", "jsonl"]);
    assert_success(&tomorrow);
    assert!(listed_ids(&tomorrow).is_empty());
    let refused = workspace.incidents(&["list", "--since", "yesterday"]);
    assert!(!refused.status.success());
    assert!(
        stderr(&refused).contains("a span back from now (30m, 24h, 7d)"),
        "{}",
        stderr(&refused)
    );
}
