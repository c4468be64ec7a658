//! `serve --db postgres://…`: servers sharing one PostgreSQL store, each test in a schema of its
//! own on this machine's server.

use crate::server::{self, start_with};
use iamwatch_store::postgres::scratch::ScratchSchema;

#[tokio::test]
async fn two_servers_share_one_store_and_a_kill_9_after_202_loses_nothing() {
    let schema = ScratchSchema::create().await.unwrap();
    let url = schema.url();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_with(dir_a.path(), "", &["--db", &url]);
    let b = start_with(dir_b.path(), "", &["--db", &url]);

    server::share_one_store(a, &b, "pg", 10, 100).await;
    drop(b);
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn serve_does_not_start_on_a_postgres_server_out_of_reach_and_says_so_without_the_password() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let dir = tempfile::tempdir().unwrap();
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env(
            "IAMWATCH_DB",
            format!("postgres://iamwatch:hunter2@127.0.0.1:{port}/incidents"),
        )
        .env("IAMWATCH_TOKEN", server::TOKEN)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let message = String::from_utf8_lossy(&output.stderr);
    assert!(
        message.contains(&format!(
            "cannot open the incident store postgres://iamwatch@127.0.0.1:{port}/incidents"
        )),
        "{message}"
    );
    assert!(!message.contains("hunter2"), "{message}");
}

#[tokio::test]
async fn every_dashboard_sees_every_incident_whichever_server_stored_it() {
    let schema = ScratchSchema::create().await.unwrap();
    let url = schema.url();
    let (dir_a, dir_b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = start_with(dir_a.path(), "", &["--db", &url]);
    let b = start_with(dir_b.path(), "", &["--db", &url]);
    server::every_dashboard_sees_every_incident(&a, &b, "live").await;
    drop((a, b));
    schema.drop_schema().await.unwrap();
}

#[tokio::test]
async fn connections_the_server_drops_are_made_again_and_nothing_acknowledged_is_lost() {
    // As a PostgreSQL restart or failover does to every connection: here only this test's, told
    // apart by their application name.
    let schema = ScratchSchema::create().await.unwrap();
    let name = format!("iwtest {}", schema.name());
    let url = format!(
        "{}&application_name={}",
        schema.url(),
        name.replace(' ', "%20")
    );
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), "", &["--db", &url]);
    let mut acknowledged = server::post_log_files(&server, "before", 4, 25).await;

    let admin = ScratchSchema::admin().await.unwrap();
    let cut: i64 = admin
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = $1",
            &[&name],
        )
        .await
        .unwrap()
        .get(0);
    assert!(cut >= 1, "no connection of the server's was found");

    // Each delivery is stored (202) or refused for a retry (503 with Retry-After), never lost:
    // the sender (EventBridge, SNS) delivers again what was refused.
    for file in 0..4 {
        let body = server::log_file(&format!("after{file}"), 25);
        let mut answered = false;
        for _attempt in 0..5 {
            let response = server::post_response(server.url("/v1/events"), body.clone()).await;
            let status = response.status().as_u16();
            if status == 503 {
                assert!(response.headers().contains_key("retry-after"));
                tokio::time::sleep(std::time::Duration::from_millis(200)).await;
                continue;
            }
            assert_eq!(status, 202);
            let summary: serde_json::Value = response.json().await.unwrap();
            acknowledged.extend(server::incident_ids(&summary));
            answered = true;
            break;
        }
        assert!(answered, "file {file} refused five times");
    }
    assert_eq!(acknowledged.len(), 200);
    let (status, health) = server::get(&server, "/healthz").await;
    assert_eq!(status, 200, "{health}");
    for id in &acknowledged {
        let (status, _) = server::get(&server, &format!("/v1/incidents/{id}")).await;
        assert_eq!(status, 200, "{id} lost");
    }
    drop(server);
    schema.drop_schema().await.unwrap();
}
