//! `GET /v1/stream`: the live WebSocket. Each client gets every new or changed incident as
//! `{"type":"incident.created"|"incident.updated","incident":{…}}` through its own bounded
//! queue in the [`iamwatch_live::Hub`]. A client that falls behind, stops answering pings, or
//! stops draining its socket is disconnected (close code 1008 or 1011) and resyncs with
//! `since`; the others never wait for it. A client whose token is no longer accepted (the
//! tokens were replaced on SIGHUP) is disconnected with close code 4401.

use crate::error::ApiError;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use futures_util::SinkExt;
use iamwatch_core::Incident;
use iamwatch_live::{Ended, Subscription};
use serde::Deserialize;
use std::time::{Duration, Instant};

/// A socket write that takes longer than this means the client is not reading.
const SEND_TIMEOUT: Duration = Duration::from_secs(5);

/// The message for one incident event, serialised once for every client. The raw CloudTrail
/// record stays out (clients fetch it with the incident).
pub fn message(kind: &str, incident: &Incident) -> LiveMessage {
    Utf8Bytes::from(incident.live_message(kind))
}

/// A live message: a WebSocket text frame's payload, shared by every client (no copy each).
pub type LiveMessage = Utf8Bytes;

/// The hub the server publishes incidents to.
pub type LiveHub = iamwatch_live::Hub<LiveMessage>;

#[derive(Debug, Default, Deserialize)]
pub struct StreamParams {
    /// The token, for clients that cannot set headers (browsers).
    pub token: Option<String>,
    /// Resync: first send every incident created or updated at or after this time.
    pub since: Option<String>,
}

/// The largest message a live client may send: pongs and close frames are a few bytes.
const MAX_CLIENT_MESSAGE_BYTES: usize = 16 * 1024;

pub async fn stream(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(params): Query<StreamParams>,
    upgrade: WebSocketUpgrade,
) -> Result<Response, ApiError> {
    // Told of token changes from before the check on: a replacement meanwhile is not missed.
    let token_changes = state.auth.changes();
    state.authorize(&headers, params.token.as_deref())?;
    // Kept to be checked again whenever the tokens change.
    let offered = crate::auth::Auth::offered(&headers, params.token.as_deref());
    let since = match &params.since {
        None => None,
        Some(text) => Some(
            crate::api::parse_since(text)
                .ok_or_else(|| ApiError::bad_request(format!("since: {text:?} is not a time")))?,
        ),
    };
    // Subscribe before the upgrade completes so nothing published meanwhile is missed.
    let subscription = state.hub.subscribe();
    // Clients only send pongs and close frames. Keep the read buffer small: it is zeroed on
    // every read attempt, and the loop below polls for reads after every message it sends.
    // Anything larger than a client ever needs to send ends the connection (1009) instead of
    // being buffered: the library's default takes messages up to 64 MB.
    Ok(upgrade
        .read_buffer_size(4096)
        .max_message_size(MAX_CLIENT_MESSAGE_BYTES)
        .max_frame_size(MAX_CLIENT_MESSAGE_BYTES)
        .on_upgrade(move |socket| {
            run(socket, state, subscription, since, (offered, token_changes))
        }))
}

async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await,
        Ok(Ok(()))
    )
}

async fn send_all(socket: &mut WebSocket, batch: Vec<LiveMessage>) -> bool {
    let write = async {
        for message in batch {
            socket.feed(Message::Text(message)).await?;
        }
        socket.flush().await
    };
    matches!(tokio::time::timeout(SEND_TIMEOUT, write).await, Ok(Ok(())))
}

async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = send(socket, Message::Close(Some(frame))).await;
}

async fn run(
    mut socket: WebSocket,
    state: AppState,
    mut subscription: Subscription<LiveMessage>,
    since: Option<i64>,
    (offered, mut token_changes): (crate::auth::Offered, tokio::sync::watch::Receiver<u64>),
) {
    let hello = serde_json::json!({
        "type": "hello",
        "server_time_ms": iamwatch_core::time::now_ms(),
        "client": subscription.id(),
    });
    if !send(&mut socket, Message::Text(hello.to_string().into())).await {
        return;
    }
    if let Some(since) = since {
        if !resync(&mut socket, &state, since).await {
            return;
        }
    }
    let interval = Duration::from_secs(state.config.stream.ping_interval_secs.max(1));
    let mut ping = tokio::time::interval(interval);
    ping.tick().await;
    let mut last_heard = Instant::now();
    let mut shutdown = state.shutdown.clone();
    loop {
        tokio::select! {
            next = subscription.next() => match next {
                Ok(message) => {
                    // A commit publishes its incidents in one burst: write what is already
                    // queued together and flush once, not one syscall per message.
                    let mut batch = vec![message];
                    while batch.len() < 256 {
                        match subscription.try_next() {
                            Some(message) => batch.push(message),
                            None => break,
                        }
                    }
                    if !send_all(&mut socket, batch).await {
                        state.metrics.ws_stalled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        tracing::info!(client = subscription.id(), "live client not draining its socket; disconnected");
                        return;
                    }
                }
                Err(Ended::TooSlow) => {
                    tracing::info!(client = subscription.id(), "live client too slow; disconnected");
                    close(&mut socket, 1008, "too slow: reconnect with since to resync").await;
                    return;
                }
                Err(Ended::Closed) => {
                    close(&mut socket, 1001, "server going away").await;
                    return;
                }
            },
            received = socket.recv() => match received {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => last_heard = Instant::now(),
            },
            _ = ping.tick() => {
                if last_heard.elapsed() > interval * 2 {
                    state.metrics.ws_unresponsive.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    tracing::info!(client = subscription.id(), "live client stopped answering pings; disconnected");
                    return;
                }
                if !send(&mut socket, Message::Ping(Vec::new().into())).await {
                    return;
                }
            }
            _ = shutdown.changed() => {
                close(&mut socket, 1001, "server shutting down").await;
                return;
            }
            Ok(()) = token_changes.changed() => {
                if !state.auth.accepts(&offered) {
                    tracing::info!(client = subscription.id(), "live client's token no longer accepted; disconnected");
                    close(&mut socket, 4401, "token no longer accepted").await;
                    return;
                }
            }
        }
    }
}

/// Sends every incident created or updated since `since`, oldest page first is not needed:
/// clients key incidents by id, so order within the resync does not matter.
async fn resync(socket: &mut WebSocket, state: &AppState, since: i64) -> bool {
    let mut query = iamwatch_store::IncidentQuery {
        since_ms: Some(since),
        limit: iamwatch_store::IncidentQuery::MAX_LIMIT,
        ..Default::default()
    };
    loop {
        let Ok(page) = state.store.list(&query).await else {
            close(socket, 1011, "store unavailable").await;
            return false;
        };
        for incident in &page.incidents {
            let text = message("incident.updated", incident);
            if !send(socket, Message::Text(text)).await {
                return false;
            }
        }
        match page.next_cursor {
            Some(cursor) => query.cursor = Some(cursor),
            None => break,
        }
    }
    let done = serde_json::json!({"type": "resync.done", "since": since});
    send(socket, Message::Text(done.to_string().into())).await
}
