use crate::server::{self, patch, post, start};
use serde_json::json;

#[tokio::test]
async fn the_lifecycle_is_enforced_kept_in_history_and_broadcast() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let (_, summary) = post(
        &server,
        server::eventbridge_event("ev-life", "DeactivateMFADevice", "bob").to_string(),
    )
    .await;
    let id = summary["incident_ids"][0].as_str().unwrap().to_string();
    let mut watcher = server::connect(&server).await;
    let path = format!("/v1/incidents/{id}");

    let (status, changed) = patch(
        &server,
        &path,
        json!({"status": "ACKNOWLEDGED", "assignee": "alice", "actor": "alice", "note": "looking"}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    assert_eq!(changed["status"], "ACKNOWLEDGED");
    assert_eq!(changed["assignee"], "alice");
    let message = server::next_json(&mut watcher).await.unwrap();
    assert_eq!(message["type"], "incident.updated");
    assert_eq!(message["incident"]["status"], "ACKNOWLEDGED");

    let (status, answer) = patch(&server, &path, json!({"status": "NEW"})).await;
    assert_eq!(status, 409, "{answer}");
    let (status, _) = patch(&server, &path, json!({"status": "DONE"})).await;
    assert_eq!(status, 400);
    // The fields as an array, in the struct's order: not a documented body.
    let (status, answer) = patch(&server, &path, json!(["RESOLVED", "mallory", null, null])).await;
    assert_eq!(status, 400, "{answer}");
    let (status, answer) = patch(&server, &path, json!({"assignee": "a".repeat(201)})).await;
    assert_eq!(status, 400, "{answer}");
    assert_eq!(
        answer["error"],
        "assignee is 201 characters long; at most 200"
    );
    let (status, _) = patch(
        &server,
        "/v1/incidents/inc-nope",
        json!({"status": "RESOLVED"}),
    )
    .await;
    assert_eq!(status, 404);
    let (status, resolved) = patch(
        &server,
        &path,
        json!({"status": "RESOLVED", "note": "key rotated"}),
    )
    .await;
    assert_eq!(status, 200);
    let history = resolved["history"].as_array().unwrap();
    let moves: Vec<_> = history
        .iter()
        .map(|entry| (entry["from_status"].clone(), entry["to_status"].clone()))
        .collect();
    assert!(
        moves.contains(&(json!("NEW"), json!("ACKNOWLEDGED"))),
        "{history:?}"
    );
    assert!(
        moves.contains(&(json!("ACKNOWLEDGED"), json!("RESOLVED"))),
        "{history:?}"
    );
    assert!(history.iter().any(|entry| entry["actor"] == "alice"));
}

#[tokio::test]
async fn listing_filters_and_pages() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    post(&server, server::log_file("page", 25)).await; // DeleteUser: MEDIUM or above
    post(
        &server,
        server::eventbridge_event("root-1", "DeactivateMFADevice", "bob").to_string(),
    )
    .await;
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let (status, page) = server::get(&server, &format!("/v1/incidents?limit=10{cursor}")).await;
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["incidents"]
                .as_array()
                .unwrap()
                .iter()
                .map(|incident| incident["event_id"].as_str().unwrap().to_string()),
        );
        match page["next_cursor"].as_str() {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 26);
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 26);
    let (_, page) = server::get(&server, "/v1/incidents?text=DeactivateMFADevice").await;
    assert_eq!(page["incidents"].as_array().unwrap().len(), 1);
    let (_, page) = server::get(&server, "/v1/incidents?status=RESOLVED").await;
    assert_eq!(page["incidents"], json!([]));
    let (status, answer) = server::get(&server, "/v1/incidents?severity=HUGE").await;
    assert_eq!(status, 400);
    assert!(
        answer["error"].as_str().unwrap().contains("severity"),
        "{answer}"
    );
    let (status, answer) = server::get(&server, "/v1/incidents?colour=red").await;
    assert_eq!(status, 400, "{answer}");
}

#[tokio::test]
async fn openapi_metrics_and_health_are_served() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let document: serde_json::Value = server::client()
        .get(server.url("/v1/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(document["paths"]["/v1/events"]["post"].is_object());
    post(&server, server::log_file("m", 4)).await;
    assert_eq!(server::metric(&server, "iamwatch_events_total").await, 4.0);
    assert_eq!(
        server::metric(&server, "iamwatch_ingest_seconds_count").await,
        1.0
    );
    let (status, health) = server::get(&server, "/healthz").await;
    assert_eq!((status, health["status"].as_str()), (200, Some("ok")));
}

#[tokio::test]
async fn rules_are_configured_from_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    // A rule file's rule and a rule written in code (the Kali rule), configured alike.
    let config = "[rules]\ndisable = [\"ec2.image_created_or_copied\", \"useragent.pentest_distribution\"]\n[rules.severity]\n\"s3.bucket_deleted\" = \"CRITICAL\"\n";
    let server = start(dir.path(), config);
    let mut deleted = server::record("cfg-1", "DeleteBucket", "x");
    deleted["eventSource"] = json!("s3.amazonaws.com");
    deleted["requestParameters"] = json!({"bucketName": "audit-logs"});
    let (status, summary) = post(&server, deleted.to_string()).await;
    assert_eq!(
        (status, summary["incidents"].as_u64()),
        (202, Some(1)),
        "{summary}"
    );
    let id = summary["incident_ids"][0].as_str().unwrap();
    let (_, incident) = server::get(&server, &format!("/v1/incidents/{id}")).await;
    assert_eq!(incident["severity"], "CRITICAL", "{incident}");
    assert_eq!(incident["rule_id"], "s3.bucket_deleted");

    let mut image = server::record("cfg-2", "CreateImage", "x");
    image["eventSource"] = json!("ec2.amazonaws.com");
    let (_, summary) = post(&server, image.to_string()).await;
    assert_eq!(summary["incidents"], 0, "a disabled rule fired: {summary}");

    let mut from_kali = server::record("cfg-3", "DescribeInstances", "x");
    from_kali["eventSource"] = json!("ec2.amazonaws.com");
    from_kali["readOnly"] = json!(true);
    from_kali["userAgent"] =
        json!("aws-cli/2.15.30 Python/3.11.8 Linux/6.6.9-amd64 exe/x86_64.kali.2024");
    let (_, summary) = post(&server, from_kali.to_string()).await;
    assert_eq!(
        summary["incidents"], 0,
        "a disabled code rule fired: {summary}"
    );
}
