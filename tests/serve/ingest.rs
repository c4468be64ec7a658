use crate::server::{self, eventbridge_event, post, start, TOKEN};
use serde_json::json;
use std::io::{Read, Write};

#[tokio::test]
async fn an_event_is_stored_and_reaches_two_live_clients() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let mut first = server::connect(&server).await;
    let mut second = server::connect(&server).await;

    let (status, summary) = post(
        &server,
        eventbridge_event("ev-1", "DeleteUser", "bob").to_string(),
    )
    .await;
    assert_eq!(status, 202, "{summary}");
    assert_eq!(summary["accepted"], 1);
    assert_eq!(summary["incidents"], 1);
    assert_eq!(summary["duplicates"], 0);
    let id = summary["incident_ids"][0].as_str().unwrap().to_string();

    for socket in [&mut first, &mut second] {
        let message = server::next_json(socket).await.expect("incident message");
        assert_eq!(message["type"], "incident.created");
        assert_eq!(message["incident"]["incident_id"], id.as_str());
        assert_eq!(message["incident"]["event_id"], "ev-1");
        assert_eq!(message["incident"]["resource"], "bob");
        assert_eq!(message["incident"]["event_type"]["ko"], "사용자 삭제");
        assert!(message["incident"].get("raw").is_none());
    }
    let (status, stored) = server::get(&server, &format!("/v1/incidents/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(stored["status"], "NEW");
    assert!(stored["raw"].as_str().unwrap().contains("\"ev-1\""));
}

#[tokio::test]
async fn the_same_event_id_makes_one_incident_however_often_it_arrives() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let body = eventbridge_event("dup-1", "DeleteUser", "bob").to_string();
    let (_, first) = post(&server, body.clone()).await;
    assert_eq!(first["incidents"], 1);
    // Again, and ten times at once (in the same group commit, most likely).
    let posts = (0..10).map(|_| post(&server, body.clone()));
    let results = futures_util::future::join_all(posts).await;
    for (status, summary) in &results {
        assert_eq!(*status, 202);
        assert_eq!(summary["incidents"], 0, "{summary}");
        assert_eq!(summary["duplicates"], 1, "{summary}");
        assert_eq!(summary["incident_ids"], first["incident_ids"]);
    }
    // A log file holding it again with a new event makes exactly one more.
    let mut records =
        serde_json::from_str::<serde_json::Value>(&server::log_file("other", 2)).unwrap();
    records["Records"][0]["eventID"] = json!("dup-1");
    let (_, summary) = post(&server, records.to_string()).await;
    assert_eq!(
        (
            summary["incidents"].as_u64(),
            summary["duplicates"].as_u64()
        ),
        (Some(1), Some(1))
    );
    let (_, page) = server::get(&server, "/v1/incidents").await;
    assert_eq!(page["incidents"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn a_wrong_or_missing_token_is_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let client = server::client();
    let body = eventbridge_event("ev-auth", "DeleteUser", "bob").to_string();
    let attempts = [
        client.post(server.url("/v1/events")).body(body.clone()),
        client
            .post(server.url("/v1/events"))
            .bearer_auth("wrong")
            .body(body.clone()),
        client
            .post(server.url("/v1/events"))
            .header("x-api-key", format!("{TOKEN}x"))
            .body(body.clone()),
        client.get(server.url("/v1/incidents")),
        client
            .get(server.url("/v1/incidents"))
            .bearer_auth(&TOKEN[..TOKEN.len() - 1]),
        client.get(server.url("/v1/incidents/inc-x")),
        client
            .patch(server.url("/v1/incidents/inc-x"))
            .json(&json!({"status": "ACKNOWLEDGED"})),
        client.get(server.url("/metrics")),
    ];
    for attempt in attempts {
        let response = attempt.send().await.unwrap();
        assert_eq!(response.status().as_u16(), 401);
        assert!(response.headers().contains_key("www-authenticate"));
    }
    let refused =
        tokio_tungstenite::connect_async(format!("ws://{}/v1/stream?token=nope", server.address))
            .await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 401)
        }
        other => panic!("the stream accepted a wrong token: {:?}", other.map(|_| ())),
    }
    // Nothing got in.
    let (_, page) = server::get(&server, "/v1/incidents").await;
    assert_eq!(page["incidents"], json!([]));
    // The right token works as basic-auth password too (SNS HTTPS subscriptions).
    let response = client
        .post(server.url("/v1/events"))
        .basic_auth("sns", Some(TOKEN))
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 202);
    // The page itself and the health check need no token.
    for open_path in ["/", "/healthz"] {
        let response = client.get(server.url(open_path)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "{open_path}");
    }
}

#[tokio::test]
async fn bad_bodies_are_400_naming_the_problem_and_kept() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "[ingest]\nmax_body_bytes = 100000\n");
    let (status, answer) = post(&server, "{\"Records\": [ {\"eventName\": }").await;
    assert_eq!(status, 400, "{answer}");
    assert!(
        answer["errors"][0]
            .as_str()
            .unwrap()
            .contains("invalid JSON at column 15"),
        "{answer}"
    );
    let (status, _) = post(&server, "").await;
    assert_eq!(status, 400);
    // Part good, part bad: the good part is stored, the bad counted and named.
    let body = format!(
        "{}\nnot json\n",
        eventbridge_event("ev-mixed", "DeleteUser", "bob")
    );
    let (status, summary) = post(&server, body).await;
    assert_eq!(status, 202, "{summary}");
    assert_eq!(
        (summary["incidents"].as_u64(), summary["rejected"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(
        summary["errors"][0].as_str().unwrap().contains(":2:"),
        "{summary}"
    );
    // Too large.
    let (status, answer) = post(&server, "x".repeat(100_001)).await;
    assert_eq!(status, 413, "{answer}");
    // Everything unreadable is in the dead-letter file, the raw text with it.
    let kept = std::fs::read_to_string(dir.path().join("deadletter.jsonl")).unwrap();
    assert!(kept.contains("invalid JSON at column 15"), "{kept}");
    assert!(kept.contains("not json"), "{kept}");
    assert!(kept
        .lines()
        .all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()));
}

#[tokio::test]
async fn gzipped_log_files_and_sns_notifications_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(server::log_file("gz", 3).as_bytes())
        .unwrap();
    let (status, summary) = post(&server, encoder.finish().unwrap()).await;
    assert_eq!(
        (status, summary["incidents"].as_u64()),
        (202, Some(3)),
        "{summary}"
    );

    let notification = server::sns_notification(
        "m-1",
        &eventbridge_event("sns-1", "DeleteLoginProfile", "carol"),
    );
    let (status, summary) = post(&server, notification.to_string()).await;
    assert_eq!(
        (status, summary["incidents"].as_u64()),
        (202, Some(1)),
        "{summary}"
    );

    // A Kinesis stream's records, as a Lambda forwarding its batch would post them, and a
    // LookupEvents answer.
    let event = eventbridge_event("kinesis-1", "DeactivateMFADevice", "dave");
    let data = base64::Engine::encode(
        &base64::engine::general_purpose::STANDARD,
        event.to_string(),
    );
    let kinesis = json!({"Records": [{"kinesis": {"data": data}, "eventSource": "aws:kinesis", "eventName": "aws:kinesis:record"}]});
    let lookup = json!({"Events": [{"EventId": "lookup-1", "CloudTrailEvent": eventbridge_event("lookup-1", "DeleteUser", "erin")["detail"].to_string()}]});
    for body in [kinesis, lookup] {
        let (status, summary) = post(&server, body.to_string()).await;
        assert_eq!(
            (status, summary["incidents"].as_u64()),
            (202, Some(1)),
            "{summary}"
        );
    }
}

#[tokio::test]
async fn an_sns_subscription_is_confirmed_for_a_configured_topic_only() {
    // A real local HTTP receiver stands in for SNS's SubscribeURL endpoint.
    let receiver = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = receiver.local_addr().unwrap().port();
    let (visited, visits) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for stream in receiver.incoming() {
            let mut stream = stream.unwrap();
            let mut request = [0u8; 2048];
            let length = stream.read(&mut request).unwrap();
            let line = String::from_utf8_lossy(&request[..length])
                .lines()
                .next()
                .unwrap_or_default()
                .to_string();
            stream
                .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n")
                .unwrap();
            let _ = visited.send(line);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "[sns]\nconfirm_topics = [\"arn:aws:sns:us-east-1:111122223333:trail\"]\nsubscribe_url_prefixes = [\"http://127.0.0.1:{port}/\"]\n"
    );
    let server = start(dir.path(), &config);
    let handshake = |topic: &str, token: &str| {
        json!({
        "Type": "SubscriptionConfirmation", "MessageId": "m", "Token": token, "TopicArn": topic,
        "Message": "You have chosen to subscribe to the topic",
        "SubscribeURL": format!("http://127.0.0.1:{port}/?Action=ConfirmSubscription&Token={token}"),
        "Timestamp": "2024-06-01T09:00:00.000Z", "SignatureVersion": "1", "Signature": "x", "SigningCertURL": "https://x"
    }).to_string()
    };
    let (status, summary) = post(
        &server,
        handshake("arn:aws:sns:us-east-1:999999999999:other", "unlisted"),
    )
    .await;
    assert_eq!(status, 202, "{summary}");
    let (status, summary) = post(
        &server,
        handshake("arn:aws:sns:us-east-1:111122223333:trail", "listed"),
    )
    .await;
    assert_eq!(
        (status, summary["ignored"].as_u64()),
        (202, Some(1)),
        "{summary}"
    );
    let visit = visits
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("SubscribeURL visited");
    assert!(
        visit.starts_with("GET /?Action=ConfirmSubscription&Token=listed "),
        "{visit}"
    );
    assert!(
        visits
            .recv_timeout(std::time::Duration::from_millis(500))
            .is_err(),
        "an unlisted topic was confirmed"
    );
    assert!(server.log().contains("not confirmed automatically"));
}

#[tokio::test]
async fn requests_beyond_the_parsing_limit_get_429_with_retry_after() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "[ingest]\nmax_parsing = 1\n");
    // Hold the only slot: a request whose body never finishes arriving. (If a probe below
    // happened to hold the slot at that moment, the held request itself is refused; try again.)
    let head = format!(
        "POST /v1/events HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\ncontent-length: 1000\r\n\r\n{{\"Records\":["
    );
    let held = loop {
        let mut held = tokio::net::TcpStream::connect(server.address)
            .await
            .unwrap();
        tokio::io::AsyncWriteExt::write_all(&mut held, head.as_bytes())
            .await
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        let mut answer = [0u8; 64];
        match held.try_read(&mut answer) {
            Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => break held,
            _ => continue, // answered already: it did not get the slot
        }
    };
    let response = server::post_response(
        server.url("/v1/events"),
        eventbridge_event("ev-busy", "DeleteUser", "bob").to_string(),
    )
    .await;
    assert_eq!(response.status().as_u16(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    drop(held);
    assert!(
        server::metric(
            &server,
            "iamwatch_ingest_requests_total{outcome=\"overloaded\"}"
        )
        .await
            >= 1.0
    );
    // The slot comes back once the held request is gone.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while post(
        &server,
        eventbridge_event("ev-after", "DeleteUser", "bob").to_string(),
    )
    .await
    .0 != 202
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the server stayed overloaded"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_stalled_store_fills_the_commit_queue_and_gets_503_never_a_false_202() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "[ingest]\ncommit_queue = 1\n");
    // Another process holds SQLite's write lock for a while: commits wait for it.
    let db = dir.path().join("incidents.db");
    let mut holder = std::process::Command::new("python3")
        .args([
            "-c",
            "import sqlite3,sys,time\nc=sqlite3.connect(sys.argv[1],isolation_level=None)\nc.execute('BEGIN EXCLUSIVE')\nprint('locked',flush=True)\ntime.sleep(3)\nc.execute('COMMIT')",
        ])
        .arg(&db)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("python3 with sqlite3");
    let mut line = String::new();
    std::io::BufReader::new(holder.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert_eq!(line.trim(), "locked");

    let first = tokio::spawn(server::post_to(
        server.url("/v1/events"),
        eventbridge_event("stall-1", "DeleteUser", "a").to_string(),
    ));
    // The committer takes it (the queue is empty again) and waits for the lock.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    server::wait_for_metric(&server, "iamwatch_commit_queue_depth", 0.0).await;
    let second = tokio::spawn(server::post_to(
        server.url("/v1/events"),
        eventbridge_event("stall-2", "DeleteUser", "b").to_string(),
    ));
    // It fills the queue.
    server::wait_for_metric(&server, "iamwatch_commit_queue_depth", 1.0).await;
    let response = server::post_response(
        server.url("/v1/events"),
        eventbridge_event("stall-3", "DeleteUser", "c").to_string(),
    )
    .await;
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "1");

    // Once the lock goes, the two queued requests are stored and only then answered 202.
    for request in [first, second] {
        let (status, summary) = request.await.unwrap();
        assert_eq!(status, 202, "{summary}");
        let id = summary["incident_ids"][0].as_str().unwrap().to_string();
        assert_eq!(
            server::get(&server, &format!("/v1/incidents/{id}")).await.0,
            200
        );
    }
    assert!(holder.wait().unwrap().success());
    // The refused one was not stored: the sender retries it.
    let (_, page) = server::get(&server, "/v1/incidents").await;
    let stored: Vec<&str> = page["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap())
        .collect();
    assert_eq!(stored.len(), 2, "{stored:?}");
    assert!(!stored.contains(&"stall-3"), "{stored:?}");
}

/// A Firehose stream delivering to serve as an HTTP endpoint destination: its access key is the
/// token, its body gzipped when the stream compresses, and only a 200 echoing the request id
/// counts as delivered (a 202 or another body made Firehose retry, then give up).
#[tokio::test]
async fn a_firehose_http_endpoint_delivery_is_answered_as_firehose_requires() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), "");
    let record = |n: usize, event: &serde_json::Value| {
        let data = base64::Engine::encode(
            &base64::engine::general_purpose::STANDARD,
            event.to_string(),
        );
        json!({"data": data, "recordId": format!("r{n}")})
    };
    let events = [
        eventbridge_event("fh-1", "DeleteUser", "bob"),
        eventbridge_event("fh-2", "DeactivateMFADevice", "carol"),
    ];
    let body = json!({"requestId": "5f0e8a4c-0000-4000-8000-000000000001", "timestamp": 1_717_200_000_000_i64,
        "records": events.iter().enumerate().map(|(n, event)| record(n, event)).collect::<Vec<_>>()});
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(body.to_string().as_bytes()).unwrap();
    let gzipped = gzip.finish().unwrap();
    let deliver = |key: &'static str| {
        server::client()
            .post(server.url("/v1/events"))
            .header("x-amz-firehose-protocol-version", "1.0")
            .header("x-amz-firehose-request-id", "req-7")
            .header("x-amz-firehose-access-key", key)
            .header("content-type", "application/json")
            .header("content-encoding", "gzip")
            .body(gzipped.clone())
            .send()
    };
    for attempt in 0..2 {
        let response = deliver(TOKEN).await.unwrap();
        assert_eq!(response.status().as_u16(), 200, "attempt {attempt}");
        let answer: serde_json::Value = response.json().await.unwrap();
        assert_eq!(answer["requestId"], "req-7", "{answer}");
        assert!(answer["timestamp"].as_i64().unwrap() > 1_700_000_000_000);
        assert_eq!(answer.as_object().unwrap().len(), 2, "{answer}");
    }
    // Delivered twice (Firehose retries), stored once.
    let (_, listed) = server::get(&server, "/v1/incidents").await;
    let mut ids: Vec<&str> = listed["incidents"]
        .as_array()
        .unwrap_or_else(|| panic!("{listed}"))
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["fh-1", "fh-2"]);

    let refused = deliver("wrong-key").await.unwrap();
    assert_eq!(refused.status().as_u16(), 401);
    let answer: serde_json::Value = refused.json().await.unwrap();
    assert_eq!(answer["requestId"], "req-7", "{answer}");
    assert!(
        answer["errorMessage"].as_str().unwrap().contains("token"),
        "{answer}"
    );
}
