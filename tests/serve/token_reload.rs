//! The token read again on SIGHUP: a token file listing two tokens lets senders move from one
//! to the other without a refusal; dropping the old one refuses it and closes the live streams
//! opened with it; a file left empty leaves the tokens in force.

use crate::server::{self, client, next_json, start_with_env, Server};
use futures_util::StreamExt;
use std::time::Duration;
use tokio_tungstenite::tungstenite::Message;

const OLD: &str = "old-token-0123456789abcdef";
const NEW: &str = "new-token-fedcba9876543210";

async fn post_with(server: &Server, token: &str, event_id: &str) -> u16 {
    client()
        .post(server.url("/v1/events"))
        .bearer_auth(token)
        .body(server::eventbridge_event(event_id, "DeleteUser", "bob").to_string())
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

async fn stream_with(server: &Server, token: &str) -> server::Socket {
    let url = format!("ws://{}/v1/stream?token={token}", server.address);
    let (mut socket, _) = tokio_tungstenite::connect_async(url)
        .await
        .expect("the live stream takes the token");
    let hello = next_json(&mut socket).await.expect("hello");
    assert_eq!(hello["type"], "hello");
    socket
}

/// Sends SIGHUP and waits for the reload's `times`-th line saying `text`.
async fn hang_up(server: &Server, text: &str, times: usize) {
    server.signal("HUP");
    crate::reload::wait_for_log(server, text, times).await;
}

/// The close frame's code the server ends `socket` with, skipping the messages before it.
async fn close_code(socket: &mut server::Socket) -> Option<u16> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => return frame.map(|frame| frame.code.into()),
            Ok(Some(Ok(_))) => {}
            _ => return None,
        }
    }
}

#[tokio::test]
async fn the_token_is_read_again_on_sighup_and_a_revoked_one_is_refused_and_disconnected() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("token");
    std::fs::write(&token_file, format!("{OLD}\n")).unwrap();
    let server = start_with_env(
        dir.path(),
        "",
        &[],
        &[("IAMWATCH_TOKEN_FILE", token_file.display().to_string())],
    );
    assert_eq!(post_with(&server, OLD, "t-1").await, 202);
    assert_eq!(post_with(&server, NEW, "t-2").await, 401);
    let mut old_stream = stream_with(&server, OLD).await;

    // Both while the senders move: each accepted, the stream opened with the old one kept.
    std::fs::write(&token_file, format!("{NEW}\n{OLD}\n")).unwrap();
    let reloaded = "SIGHUP: the token read again and in force";
    hang_up(&server, reloaded, 1).await;
    assert!(server.log().contains("tokens=2"), "{}", server.log());
    assert_eq!(post_with(&server, NEW, "t-3").await, 202);
    assert_eq!(post_with(&server, OLD, "t-4").await, 202);
    let created = next_json(&mut old_stream).await.expect("still streaming");
    assert_eq!(created["type"], "incident.created", "{created}");
    let mut new_stream = stream_with(&server, NEW).await;

    // The old one dropped: refused, and its stream closed; the new one's stream goes on.
    std::fs::write(&token_file, format!("{NEW}\n")).unwrap();
    hang_up(&server, reloaded, 2).await;
    assert_eq!(post_with(&server, OLD, "t-5").await, 401);
    assert_eq!(close_code(&mut old_stream).await, Some(4401));
    assert_eq!(post_with(&server, NEW, "t-6").await, 202);
    let mut created = Vec::new();
    while let Some(message) = next_json(&mut new_stream).await {
        if message["type"] == "incident.created" {
            created.push(
                message["incident"]["event_id"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
        if created.contains(&"t-6".to_string()) {
            break;
        }
    }
    assert!(created.contains(&"t-6".to_string()), "{created:?}");

    // A file left empty would open the server to anyone: the token in force stays.
    std::fs::write(&token_file, "").unwrap();
    hang_up(&server, "SIGHUP: the token not replaced", 1).await;
    assert_eq!(post_with(&server, NEW, "t-7").await, 202);
    assert_eq!(
        client()
            .post(server.url("/v1/events"))
            .body(server::eventbridge_event("t-8", "DeleteUser", "bob").to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        401
    );
    // A file gone: the tokens in force stay, and it says why.
    std::fs::remove_file(&token_file).unwrap();
    hang_up(&server, "SIGHUP: cannot read the token again", 1).await;
    assert_eq!(post_with(&server, NEW, "t-9").await, 202);
    let log = server.log();
    assert!(
        !log.contains(OLD) && !log.contains(NEW),
        "no token logged:\n{log}"
    );
}
