//! An HTTP receiver on this machine standing in for chat services and webhook endpoints: keeps
//! every body posted to it with its path and headers, and answers `/down` with 500, `/gone`
//! with 404 and anything else with 200; the first post to `/hang-once` is kept and never
//! answered (a destination that hangs while the sender dies).

use serde_json::Value;
use std::sync::{Arc, Mutex};

/// Bodies posted to the receiver: path, headers, body (JSON, or null).
pub type Received = Arc<Mutex<Vec<(String, axum::http::HeaderMap, Value)>>>;

/// Starts a receiver on a free port of the current Tokio runtime: its base URL, and what it gets.
pub async fn start() -> (String, Received) {
    start_on(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
}

/// The same on `port` of 127.0.0.1 (a destination that was down, up again).
#[allow(dead_code)] // the serve tests' only
pub async fn start_on_port(port: u16) -> (String, Received) {
    start_on(
        tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap(),
    )
}

fn start_on(listener: tokio::net::TcpListener) -> (String, Received) {
    let received: Received = Arc::default();
    let kept = Arc::clone(&received);
    let hung = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let app = axum::Router::new().fallback(
        move |uri: axum::http::Uri, headers: axum::http::HeaderMap, body: axum::body::Bytes| {
            let kept = Arc::clone(&kept);
            let hung = Arc::clone(&hung);
            async move {
                let path = uri.path().to_string();
                let status = match path.as_str() {
                    "/down" => 500,
                    "/gone" => 404,
                    _ => 200,
                };
                let body = serde_json::from_slice(&body).unwrap_or(Value::Null);
                let hang =
                    path == "/hang-once" && !hung.swap(true, std::sync::atomic::Ordering::SeqCst);
                kept.lock().unwrap().push((path, headers, body));
                if hang {
                    std::future::pending::<()>().await;
                }
                axum::http::StatusCode::from_u16(status).unwrap()
            }
        },
    );
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, received)
}

/// What was posted to `path`.
#[allow(dead_code)] // the CLI's tests read the bodies whole
pub fn posted_to(received: &Received, path: &str) -> Vec<(String, axum::http::HeaderMap, Value)> {
    received
        .lock()
        .unwrap()
        .iter()
        .filter(|(posted, _, _)| posted == path)
        .cloned()
        .collect()
}
