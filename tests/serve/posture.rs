//! `[posture] interval_hours`: `serve` judging the moto server's IAM when it starts, the result
//! at `GET /v1/posture` and in `/metrics`.

use crate::iam_account;
use crate::moto::Moto;
use crate::server::{self, start_with_env};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread")]
async fn serve_scans_the_accounts_posture_and_shows_the_latest() {
    let moto = Moto::start_with_managed_policies();
    iam_account::make_account(&iam_account::client(&moto)).await;
    let dir = tempfile::tempdir().unwrap();
    let env = crate::s3_follow::aws_env(dir.path(), &moto.endpoint, "us-east-1");
    let server = start_with_env(dir.path(), "[posture]\ninterval_hours = 24\n", &[], &env);

    let deadline = Instant::now() + Duration::from_secs(30);
    let snapshot = loop {
        let (status, body) = server::get(&server, "/v1/posture").await;
        if status == 200 {
            break body;
        }
        assert_eq!(status, 503, "{body}");
        assert!(Instant::now() < deadline, "no posture scan finished");
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(snapshot["users"], 4);
    let principals = snapshot["principals"].as_array().unwrap();
    let direct = principals
        .iter()
        .find(|principal| principal["name"] == "admin-direct")
        .unwrap();
    assert_eq!(direct["risk"], 80);
    assert_eq!(direct["findings"][1]["id"], "user.console_without_mfa");
    assert_eq!(direct["findings"][1]["severity"], "CRITICAL");
    assert_eq!(
        direct["findings"][1]["reason"]["ko"],
        "MFA 없이 콘솔 비밀번호 사용 가능"
    );
    let critical: usize = principals
        .iter()
        .flat_map(|principal| principal["findings"].as_array().unwrap())
        .filter(|finding| finding["severity"] == "CRITICAL")
        .count();
    assert_eq!(
        server::metric(&server, "iamwatch_posture_findings{severity=\"CRITICAL\"}").await,
        critical as f64
    );
    assert_eq!(
        server::metric(&server, "iamwatch_posture_failing").await,
        0.0
    );

    // The token is needed, as for every route but /healthz.
    let status = server::client()
        .get(server.url("/v1/posture"))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
}

#[tokio::test]
async fn posture_is_off_unless_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let server = server::start(dir.path(), "");
    let (status, body) = server::get(&server, "/v1/posture").await;
    assert_eq!(status, 404, "{body}");
    assert!(body.to_string().contains("interval_hours"), "{body}");
}
