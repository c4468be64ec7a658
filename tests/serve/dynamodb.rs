//! `serve --db dynamodb://…`: servers sharing one DynamoDB table in a moto server of the test's
//! own.

use crate::moto::Moto;
use crate::s3_follow::aws_env;
use crate::server::{self, start_with_env, Server};
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
