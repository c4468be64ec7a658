//! Stand-ins for the AWS services around a Lambda function, on this machine: the Lambda
//! runtime API (what Lambda itself serves a custom runtime: the next invocation, and where its
//! answer or error goes) and API Gateway's management API for WebSocket connections (which
//! moto answers 200 for any connection, never 410). Both run on the current Tokio runtime.

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the function answered to one invocation: its response, or the error it reported.
pub type Answer = Result<Value, Value>;

#[derive(Clone)]
struct RuntimeState {
    next: Arc<tokio::sync::Mutex<mpsc::Receiver<(String, String)>>>,
    answers: mpsc::Sender<(String, Answer)>,
}

/// The runtime API: invocations are queued by [`LambdaRuntime::invoke`], taken by the
/// function's `GET …/invocation/next`, and answered by its `POST …/response` or `…/error`.
pub struct LambdaRuntime {
    /// `host:port`, as Lambda sets `AWS_LAMBDA_RUNTIME_API`.
    pub address: String,
    queue: mpsc::Sender<(String, String)>,
    answers: mpsc::Receiver<(String, Answer)>,
    invoked: u64,
}

impl LambdaRuntime {
    pub async fn start() -> Self {
        let (queue, next) = mpsc::channel(16);
        let (answers_in, answers) = mpsc::channel(16);
        let state = RuntimeState {
            next: Arc::new(tokio::sync::Mutex::new(next)),
            answers: answers_in,
        };
        let app = axum::Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next_invocation))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(|state, id, body| answer(state, id, body, true)),
            )
            .route(
                "/2018-06-01/runtime/invocation/{id}/error",
                post(|state, id, body| answer(state, id, body, false)),
            )
            .route(
                "/2018-06-01/runtime/init/error",
                post(
                    |State(state): State<RuntimeState>, body: axum::body::Bytes| async move {
                        let error = serde_json::from_slice(&body).unwrap_or(Value::Null);
                        let _ = state.answers.send(("init".into(), Err(error))).await;
                        StatusCode::ACCEPTED
                    },
                ),
            )
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self {
            address,
            queue,
            answers,
            invoked: 0,
        }
    }

    /// Invokes the function with `payload` without waiting for an answer: an invocation whose
    /// instance dies before answering (Lambda then delivers it again).
    pub async fn invoke_unanswered(&mut self, payload: &str) {
        self.invoked += 1;
        let id = format!("request-{}", self.invoked);
        self.queue.send((id, payload.to_string())).await.unwrap();
    }

    /// Invokes the function with `payload` and waits for its answer (a minute at most).
    pub async fn invoke(&mut self, payload: &str) -> Answer {
        self.invoked += 1;
        let id = format!("request-{}", self.invoked);
        self.queue
            .send((id.clone(), payload.to_string()))
            .await
            .unwrap();
        let (answered, answer) = tokio::time::timeout(Duration::from_secs(60), self.answers.recv())
            .await
            .expect("the function answers within a minute")
            .expect("the runtime API runs");
        assert_eq!(answered, id, "the answer is to the invocation made");
        answer
    }
}

async fn next_invocation(State(state): State<RuntimeState>) -> Response {
    let Some((id, payload)) = state.next.lock().await.recv().await else {
        return StatusCode::GONE.into_response();
    };
    let deadline = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis()
        + 60_000;
    let mut headers = HeaderMap::new();
    headers.insert("lambda-runtime-aws-request-id", id.parse().unwrap());
    headers.insert(
        "lambda-runtime-deadline-ms",
        deadline.to_string().parse().unwrap(),
    );
    headers.insert(
        "lambda-runtime-invoked-function-arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:111122223333:function:iamwatch"),
    );
    headers.insert(
        "lambda-runtime-trace-id",
        HeaderValue::from_static("Root=1-5759e988-bd862e3fe1be46a994272793"),
    );
    (headers, payload).into_response()
}

async fn answer(
    State(state): State<RuntimeState>,
    Path(id): Path<String>,
    body: axum::body::Bytes,
    ok: bool,
) -> StatusCode {
    let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let answer = if ok { Ok(value) } else { Err(value) };
    let _ = state.answers.send((id, answer)).await;
    StatusCode::ACCEPTED
}

/// Messages posted to each connection, in order.
pub type Posted = Arc<Mutex<Vec<(String, Value)>>>;

/// API Gateway's management API for the stage `live`: `POST /live/@connections/{id}` is kept
/// and answered 200, or answered 410 `GoneException` for the connections in `gone`, as API
/// Gateway does for a client that went away. Returns its endpoint (the stage's URL, as the
/// template gives the function) and what it was posted.
pub async fn start_websocket_api(gone: &[&str]) -> (String, Posted) {
    let posted: Posted = Arc::default();
    let gone: Arc<HashSet<String>> = Arc::new(gone.iter().map(|id| id.to_string()).collect());
    let kept = Arc::clone(&posted);
    let app = axum::Router::new().route(
        "/live/@connections/{id}",
        post(move |Path(id): Path<String>, body: axum::body::Bytes| {
            let (kept, gone) = (Arc::clone(&kept), Arc::clone(&gone));
            async move {
                if gone.contains(&id) {
                    let mut headers = HeaderMap::new();
                    headers.insert(
                        "x-amzn-ErrorType",
                        HeaderValue::from_static("GoneException"),
                    );
                    return (StatusCode::GONE, headers, r#"{"message":null}"#).into_response();
                }
                let message = serde_json::from_slice(&body).unwrap_or(Value::Null);
                kept.lock().unwrap().push((id, message));
                StatusCode::OK.into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let endpoint = format!("http://{}/live", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (endpoint, posted)
}
