use crate::server::{self, post, start};
use futures_util::StreamExt;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_client_that_stops_reading_is_dropped_and_the_others_keep_receiving() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let stalled = server::connect(&server).await;
    let mut reading = server::connect(&server).await;
    // Enough incidents (about 18 MB of messages) to fill the stalled client's socket buffers
    // (at most ~10 MB on Linux by default) and then its queue.
    let reader = tokio::spawn(async move {
        let mut seen = 0;
        while seen < 10_000 {
            match server::next_json(&mut reading).await {
                Some(message) if message["type"] == "incident.created" => seen += 1,
                Some(_) => {}
                None => break,
            }
        }
        seen
    });
    for batch in 0..20 {
        let (status, summary) = post(&server, server::log_file(&format!("slow{batch}"), 500)).await;
        assert_eq!(
            (status, summary["incidents"].as_u64()),
            (202, Some(500)),
            "{summary}"
        );
    }
    assert_eq!(
        reader.await.unwrap(),
        10_000,
        "the reading client missed incidents"
    );
    // The stalled one is gone from the registry.
    server::wait_for_metric(&server, "iamwatch_ws_clients", 0.0).await;
    assert!(server::metric(&server, "iamwatch_ws_dropped_total{reason=\"slow\"}").await >= 1.0);
    // Its stream ends short of everything.
    let received = stalled
        .filter_map(|message| async move { message.ok() })
        .count();
    let received = tokio::time::timeout(Duration::from_secs(20), received)
        .await
        .unwrap();
    assert!(received < 10_000, "{received}");
}

#[tokio::test]
async fn closed_clients_leave_the_registry() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let clients: Vec<_> =
        futures_util::future::join_all((0..20).map(|_| server::connect(&server))).await;
    assert_eq!(server::metric(&server, "iamwatch_ws_clients").await, 20.0);
    drop(clients); // without a close handshake: the TCP connections just go
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        // Publishing finds them gone if reading has not noticed already.
        post(
            &server,
            server::eventbridge_event(
                &format!("ev-{}", Instant::now().elapsed().as_nanos()),
                "DeleteUser",
                "x",
            )
            .to_string(),
        )
        .await;
        if server::metric(&server, "iamwatch_ws_clients").await == 0.0 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "closed clients stayed registered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn a_client_sending_a_large_message_is_cut_off_and_the_others_keep_receiving() {
    use futures_util::SinkExt;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let mut bulky = server::connect(&server).await;
    let mut quiet = server::connect(&server).await;
    // Clients only ever send pongs and close frames; a megabyte is not buffered.
    let big = "x".repeat(1 << 20);
    let _ = bulky
        .send(tokio_tungstenite::tungstenite::Message::Text(big.into()))
        .await;
    let deadline = Instant::now() + Duration::from_secs(10);
    while server::metric(&server, "iamwatch_ws_clients").await != 1.0 {
        assert!(
            Instant::now() < deadline,
            "the bulky client stayed connected"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(server::next_json(&mut bulky).await, None);
    post(
        &server,
        server::eventbridge_event("ev-after-bulky", "DeleteUser", "x").to_string(),
    )
    .await;
    let message = server::next_json(&mut quiet).await.expect("an incident");
    assert_eq!(message["incident"]["event_id"], "ev-after-bulky");
}

#[tokio::test]
async fn a_reconnecting_client_resyncs_with_since() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let since = iamwatch_now_ms();
    let (_, summary) = post(&server, server::log_file("missed", 3)).await;
    assert_eq!(summary["incidents"], 3);
    let (mut socket, _) =
        tokio_tungstenite::connect_async(server.stream_url(&format!("&since={since}")))
            .await
            .unwrap();
    let mut resynced = Vec::new();
    loop {
        let message = server::next_json(&mut socket)
            .await
            .expect("resync message");
        match message["type"].as_str() {
            Some("incident.updated") => resynced.push(
                message["incident"]["event_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            ),
            Some("resync.done") => break,
            _ => {}
        }
    }
    resynced.sort();
    assert_eq!(resynced, ["missed-0", "missed-1", "missed-2"]);
}

fn iamwatch_now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

#[tokio::test]
async fn the_demo_replays_sample_events_as_new_incidents() {
    let dir = tempfile::tempdir().unwrap();
    let server = server::start_with(dir.path(), "", &["--demo", "--demo-interval-ms", "20"]);
    let mut watcher = server::connect(&server).await;
    let mut seen = std::collections::BTreeSet::new();
    while seen.len() < 5 {
        let message = server::next_json(&mut watcher)
            .await
            .expect("demo incidents keep coming");
        assert_eq!(message["type"], "incident.created");
        let event_id = message["incident"]["event_id"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(event_id.starts_with("demo-"), "{event_id}");
        // Replayed as happening now, not at the sample's 2024 time.
        let age = iamwatch_now_ms() - message["incident"]["event_time_ms"].as_i64().unwrap();
        assert!((0..60_000).contains(&age), "{age}");
        seen.insert(event_id);
    }
}

#[tokio::test]
async fn a_client_that_never_answers_pings_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "[stream]\nping_interval_secs = 1\n");
    // Handshake done, then silence: this client never reads, so it never answers a ping.
    let (_silent, _) = tokio_tungstenite::connect_async(server.stream_url(""))
        .await
        .unwrap();
    let mut answering = server::connect(&server).await;
    let answering_task = tokio::spawn(async move {
        // Reading makes tungstenite answer pings.
        while let Some(Ok(_)) = answering.next().await {}
    });
    assert_eq!(server::metric(&server, "iamwatch_ws_clients").await, 2.0);
    server::wait_for_metric(&server, "iamwatch_ws_clients", 1.0).await;
    assert_eq!(
        server::metric(
            &server,
            "iamwatch_ws_dropped_total{reason=\"unresponsive\"}"
        )
        .await,
        1.0
    );
    // The answering client is still there a few intervals later.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(server::metric(&server, "iamwatch_ws_clients").await, 1.0);
    answering_task.abort();
}
