//! `serve --db dynamodb://…`: servers sharing one DynamoDB table in a moto server of the test's
//! own.

use crate::moto::Moto;
use crate::s3_follow::aws_env;
use crate::server::{self, eventbridge_event, post, start_with_env};
use serde_json::json;

#[tokio::test]
async fn two_servers_share_one_table_and_a_kill_9_after_202_loses_nothing() {
    let moto = Moto::start_serial();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let db = ["--db", "dynamodb://iamwatch-incidents"];
    let a = start_with_env(
        dir_a.path(),
        "",
        &db,
        &aws_env(dir_a.path(), &moto.endpoint, "us-east-1"),
    );
    let b = start_with_env(
        dir_b.path(),
        "",
        &db,
        &aws_env(dir_b.path(), &moto.endpoint, "us-east-1"),
    );

    let (status, first) = post(
        &a,
        eventbridge_event("ddb-1", "DeleteUser", "bob").to_string(),
    )
    .await;
    assert_eq!(status, 202, "{first}");
    assert_eq!(first["incidents"], 1);
    let id = first["incident_ids"][0].as_str().unwrap().to_string();
    // The same event delivered to the other server: stored already, no second incident.
    let (status, again) = post(
        &b,
        eventbridge_event("ddb-1", "DeleteUser", "bob").to_string(),
    )
    .await;
    assert_eq!(status, 202, "{again}");
    assert_eq!(again["duplicates"], 1);
    assert_eq!(again["incident_ids"][0], id.as_str());

    // Read and acknowledged through one, seen so through the other.
    let (status, listed) = server::get(&b, "/v1/incidents").await;
    assert_eq!(status, 200, "{listed}");
    assert_eq!(listed["incidents"].as_array().unwrap().len(), 1);
    let path = format!("/v1/incidents/{id}");
    let (status, changed) = server::patch(
        &b,
        &path,
        json!({"status": "ACKNOWLEDGED", "actor": "alice", "note": "looking"}),
    )
    .await;
    assert_eq!(status, 200, "{changed}");
    let (status, seen) = server::get(&a, &path).await;
    assert_eq!(status, 200);
    assert_eq!(seen["status"], "ACKNOWLEDGED");
    assert_eq!(seen["history"].as_array().unwrap().len(), 2);

    // Events acknowledged by one server, which is then killed: all stored.
    let acknowledged = server::post_log_files(&a, "ddb", 3, 100).await;
    assert_eq!(acknowledged.len(), 300);
    a.kill();
    for id in &acknowledged {
        let (status, _) = server::get(&b, &format!("/v1/incidents/{id}")).await;
        assert_eq!(status, 200, "{id} lost");
    }
    let (status, health) = server::get(&b, "/healthz").await;
    assert_eq!(status, 200, "{health}");
}
