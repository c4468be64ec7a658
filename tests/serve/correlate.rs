//! The stateful detections in `serve`: failed sign-ins posted one by one, as EventBridge
//! delivers them, raise a brute-force incident that is stored and pushed to dashboards.

use crate::server::{self, post, start};
use serde_json::{json, Value};

/// A failed console sign-in of alice as EventBridge delivers it, `second` seconds after 9:00.
fn failed_sign_in(event_id: &str, second: u32) -> Value {
    let at = format!("2024-06-01T09:{:02}:{:02}Z", second / 60, second % 60);
    failed_sign_in_at(event_id, &at)
}

/// The same at `at` (RFC 3339).
fn failed_sign_in_at(event_id: &str, at: &str) -> Value {
    json!({
        "version": "0", "id": format!("eb-{event_id}"),
        "detail-type": "AWS Console Sign In via CloudTrail", "source": "aws.signin",
        "account": "111122223333", "time": at, "region": "us-east-1", "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {"type": "IAMUser", "principalId": "AIDAEXAMPLE",
                "arn": "arn:aws:iam::111122223333:user/alice", "accountId": "111122223333",
                "userName": "alice"},
            "eventTime": at, "eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin",
            "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
            "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15",
            "errorMessage": "Failed authentication", "requestParameters": null,
            "responseElements": {"ConsoleLogin": "Failure"},
            "additionalEventData": {"LoginTo": "https://console.aws.amazon.com/console/home",
                "MobileVersion": "No", "MFAUsed": "No"},
            "eventID": event_id, "readOnly": false, "eventType": "AwsConsoleSignIn",
            "managementEvent": true, "recipientAccountId": "111122223333",
            "eventCategory": "Management"
        }
    })
}

#[tokio::test]
async fn failed_sign_ins_posted_one_by_one_raise_a_brute_force_incident_seen_live() {
    let dir = tempfile::tempdir().unwrap();
    // The config's threshold, not the default five.
    let server = start(
        dir.path(),
        "[correlate.brute_force]\nfailures = 3\nwindow_minutes = 5\n",
    );
    let mut socket = server::connect(&server).await;
    for n in 0..2 {
        let (status, summary) = post(
            &server,
            failed_sign_in(&format!("fail-{n}"), n * 30).to_string(),
        )
        .await;
        assert_eq!(
            (status, summary["incidents"].as_u64()),
            (202, Some(1)),
            "{summary}"
        );
    }
    let third = failed_sign_in("fail-2", 60).to_string();
    let (status, summary) = post(&server, third.clone()).await;
    assert_eq!(status, 202);
    assert_eq!(
        summary["incidents"], 2,
        "the failure and the brute force: {summary}"
    );

    let mut live = None;
    for _ in 0..4 {
        let message = server::next_json(&mut socket)
            .await
            .expect("a live message");
        if message["incident"]["rule_id"] == "correlate.brute_force" {
            live = Some(message);
            break;
        }
    }
    let live = live.expect("the brute-force incident reaches the dashboard");
    assert_eq!(live["type"], "incident.created");
    assert_eq!(live["incident"]["event_id"], "fail-2/correlate.brute_force");
    assert_eq!(live["incident"]["resource"], "alice");
    assert_eq!(live["incident"]["severity"], "HIGH");
    assert_eq!(
        live["incident"]["title"]["ko"],
        "5분 안에 alice 콘솔 로그인 3회 실패"
    );

    // Delivered again (EventBridge retries): nothing new.
    let (_, summary) = post(&server, third).await;
    assert_eq!(
        (
            summary["incidents"].as_u64(),
            summary["duplicates"].as_u64()
        ),
        (Some(0), Some(1)),
        "{summary}"
    );
    // What the detections hold: alice's failures, and her address's.
    assert_eq!(
        server::metric(&server, "iamwatch_correlation_keys").await,
        2.0
    );
    let (status, page) = server::get(&server, "/v1/incidents?rule=correlate.brute_force").await;
    assert_eq!(status, 200);
    assert_eq!(page["incidents"].as_array().unwrap().len(), 1, "{page}");
}

/// RFC 3339 for `minutes` before now: `serve` recalls incidents of recent events only.
fn minutes_ago(minutes: i64) -> String {
    iamwatch_core::time::format_rfc3339_ms(iamwatch_core::time::now_ms() - minutes * 60_000)
}

#[tokio::test]
async fn a_serve_killed_and_started_again_remembers_what_its_detections_had_counted() {
    let dir = tempfile::tempdir().unwrap();
    let config = "[correlate.brute_force]\nfailures = 3\nwindow_minutes = 5\n";
    let before = start(dir.path(), config);
    for (n, minutes) in [(0, 30), (1, 29)] {
        let failure = failed_sign_in_at(&format!("fail-{n}"), &minutes_ago(minutes));
        let (status, summary) = post(&before, failure.to_string()).await;
        assert_eq!(
            (status, summary["incidents"].as_u64()),
            (202, Some(1)),
            "{summary}"
        );
    }
    // A user created a day and 20 minutes ago: its MFA grace ran out 20 minutes ago by the
    // clock, after the latest event this server saw; its check of the clock comes a minute
    // after its start, and it is killed before.
    let mut created = server::eventbridge_event("create-frank", "CreateUser", "frank");
    let at = minutes_ago(24 * 60 + 20);
    created["time"] = json!(at);
    created["detail"]["eventTime"] = json!(at);
    let (status, _) = post(&before, created.to_string()).await;
    assert_eq!(status, 202);
    let (_, page) = server::get(&before, "/v1/incidents?rule=correlate.user_without_mfa").await;
    assert_eq!(page["incidents"], json!([]), "not yet: {page}");
    before.kill();

    let after = start(dir.path(), config);
    let log = after.log();
    assert!(
        log.contains("the stateful detections recalled 3 stored incidents"),
        "{log}"
    );
    let third = failed_sign_in_at("fail-2", &minutes_ago(28));
    let (status, summary) = post(&after, third.to_string()).await;
    assert_eq!(status, 202);
    assert_eq!(
        summary["incidents"], 2,
        "the failure and the brute force its two before the restart complete: {summary}"
    );
    let (_, page) = server::get(&after, "/v1/incidents?rule=correlate.brute_force").await;
    assert_eq!(
        page["incidents"][0]["event_id"], "fail-2/correlate.brute_force",
        "{page}"
    );
    // The grace that ran out while no server watched is raised by the first check.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, page) = server::get(&after, "/v1/incidents?rule=correlate.user_without_mfa").await;
        if let Some(raised) = page["incidents"].as_array().and_then(|found| found.first()) {
            assert_eq!(
                raised["event_id"],
                "create-frank/correlate.user_without_mfa"
            );
            assert_eq!(raised["resource"], "frank");
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no user_without_mfa: {page}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_brute_force_raised_while_the_store_failed_is_stored_when_it_is_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(
        dir.path(),
        "[correlate.brute_force]\nfailures = 3\nwindow_minutes = 5\n",
    );
    for n in 0..2 {
        let failure = failed_sign_in(&format!("fail-{n}"), n * 30);
        let (status, _) = post(&server, failure.to_string()).await;
        assert_eq!(status, 202);
    }
    // The store refuses every insert (a trigger of the test's, beside the running server).
    let database = rusqlite::Connection::open(dir.path().join("incidents.db")).unwrap();
    database
        .busy_timeout(std::time::Duration::from_secs(10))
        .unwrap();
    database
        .execute_batch(
            "CREATE TRIGGER store_down BEFORE INSERT ON incidents \
             BEGIN SELECT RAISE(ABORT, 'the test took the store down'); END;",
        )
        .unwrap();
    let third = failed_sign_in("fail-2", 60).to_string();
    let (status, summary) = post(&server, third.clone()).await;
    assert_eq!(
        status, 503,
        "the sender is told to deliver it again: {summary}"
    );

    database.execute_batch("DROP TRIGGER store_down;").unwrap();
    let mut socket = server::connect(&server).await;
    let (status, summary) = post(&server, third).await;
    assert_eq!(status, 202, "{summary}");
    // The failure is new; the brute force its first delivery completed is stored with it.
    let (_, page) = server::get(&server, "/v1/incidents?rule=correlate.brute_force").await;
    let found = page["incidents"].as_array().unwrap();
    assert_eq!(found.len(), 1, "{page}");
    assert_eq!(found[0]["event_id"], "fail-2/correlate.brute_force");
    let mut live = Vec::new();
    while live.len() < 2 {
        let message = server::next_json(&mut socket)
            .await
            .expect("a live message");
        live.push(
            message["incident"]["event_id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
    }
    live.sort();
    assert_eq!(live, ["fail-2", "fail-2/correlate.brute_force"]);
}

#[test]
fn a_misspelt_correlate_setting_stops_serve_naming_it() {
    let said = server::refused_start("[correlate.brute_force]\nfailure = 3\n");
    assert!(said.contains("failure"), "{said}");
}
