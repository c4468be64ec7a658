//! `POST /v1/events`: anything `scan` reads, answered 202 once its incidents are durable.

use crate::error::ApiError;
use crate::state::AppState;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use iamwatch_pipeline::read_delivery;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub use iamwatch_pipeline::IngestSummary;

pub async fn post_events(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    let firehose = crate::firehose::request_id(&headers);
    let outcome = accept_events(state, &headers, body).await;
    match firehose {
        Some(request_id) => {
            crate::firehose::answer(request_id, outcome, iamwatch_core::time::now_ms())
        }
        None => outcome.into_response(),
    }
}

async fn accept_events(
    state: AppState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let started = Instant::now();
    state.authorize(headers, None)?;
    let Ok(permit) = state.parsing.clone().try_acquire_owned() else {
        state
            .metrics
            .requests_overloaded
            .fetch_add(1, Ordering::Relaxed);
        return Err(ApiError::Overloaded {
            status: StatusCode::TOO_MANY_REQUESTS,
            reason: "too many requests are being read at once",
        });
    };
    let body = axum::body::to_bytes(body, state.config.ingest.max_body_bytes)
        .await
        .map_err(|_| ApiError::TooLarge {
            limit: state.config.ingest.max_body_bytes,
        })?;
    let request = state.next_request.fetch_add(1, Ordering::Relaxed);
    let source = format!("POST /v1/events #{request}");
    let summary = ingest_body(&state, body, source, Some(permit)).await;
    match summary {
        Ok(summary) => {
            state.metrics.ingest_latency.observe(started.elapsed());
            state
                .metrics
                .requests_accepted
                .fetch_add(1, Ordering::Relaxed);
            Ok((StatusCode::ACCEPTED, Json(summary)).into_response())
        }
        Err(error) => {
            if matches!(error, ApiError::BadRequest { .. }) {
                state
                    .metrics
                    .requests_rejected
                    .fetch_add(1, Ordering::Relaxed);
            }
            Err(error)
        }
    }
}

/// Reads, detects, stores and broadcasts one body. Shared by the HTTP route and the demo.
///
/// # Errors
/// [`ApiError::BadRequest`] when nothing in the body can be read; [`ApiError::Overloaded`]
/// when the commit queue is full; [`ApiError::Unavailable`] when the store fails.
pub async fn ingest_body(
    state: &AppState,
    body: Bytes,
    source: String,
    permit: Option<tokio::sync::OwnedSemaphorePermit>,
) -> Result<IngestSummary, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest {
            message:
                "the body is empty; send an EventBridge event, a CloudTrail log file or records"
                    .to_string(),
            errors: Vec::new(),
        });
    }
    state.metrics.parsing.fetch_add(1, Ordering::Relaxed);
    // A single EventBridge event parses in tens of microseconds: cheaper here than the thread
    // hand-off to the blocking pool. Log files (up to megabytes) go to the pool.
    let detector = state.rules.current();
    let read = if body.len() <= INLINE_PARSE_BYTES {
        Ok(read_delivery(&body, &source, "request", &detector))
    } else {
        tokio::task::spawn_blocking(move || read_delivery(&body, &source, "request", &detector))
            .await
    };
    state.metrics.parsing.fetch_sub(1, Ordering::Relaxed);
    let (chunk, mut whole) = read.map_err(|error| ApiError::Internal(error.to_string()))?;
    // Log files an S3 notification names are read under the same permit: a body's bytes in
    // memory are bounded by `max_parsing` whether they were posted or fetched.
    let mut chunk = crate::follow::follow(state, chunk).await?;
    drop(permit);
    if !chunk.bad.is_empty() {
        // The records go to the blocking pool and come back: no copy of their raw text.
        let dead_letter = state.dead_letter.clone();
        let (bad, kept_whole) = (std::mem::take(&mut chunk.bad), whole.take());
        let (bad, kept_whole, kept) = tokio::task::spawn_blocking(move || {
            let kept = dead_letter.keep(bad.iter().chain(&kept_whole));
            (bad, kept_whole, kept)
        })
        .await
        .map_err(|error| ApiError::Internal(error.to_string()))?;
        chunk.bad = bad;
        whole = kept_whole;
        for bad in chunk.bad.iter().chain(&whole) {
            tracing::warn!(bad = %bad, "unreadable input kept in the dead-letter file");
        }
        if let Err(error) = kept {
            tracing::error!(path = %state.dead_letter.path().display(), %error, "cannot write the dead-letter file");
            return Err(ApiError::Unavailable(format!(
                "cannot keep unreadable input: {error}"
            )));
        }
    }
    let rejected = chunk.bad.len() as u64;
    state
        .metrics
        .records
        .fetch_add(chunk.records, Ordering::Relaxed);
    state
        .metrics
        .bad_records
        .fetch_add(rejected, Ordering::Relaxed);
    state
        .metrics
        .skipped
        .fetch_add(chunk.skipped.len() as u64, Ordering::Relaxed);
    let mut summary = IngestSummary::of_read(&chunk);
    if whole.is_some() {
        return Err(ApiError::BadRequest {
            message: "nothing in the body could be read as CloudTrail".to_string(),
            errors: summary.errors,
        });
    }
    for confirmation in &chunk.confirmations {
        crate::sns::confirm(state, confirmation.clone());
    }
    let incidents = chunk.incidents;
    if incidents.is_empty() {
        return Ok(summary);
    }
    let receiver = state.committer.submit(incidents).map_err(|_| {
        state
            .metrics
            .requests_overloaded
            .fetch_add(1, Ordering::Relaxed);
        ApiError::Overloaded {
            status: StatusCode::SERVICE_UNAVAILABLE,
            reason: "the commit queue is full",
        }
    })?;
    let stored = receiver
        .await
        .map_err(|_| ApiError::Unavailable("the committer stopped".to_string()))?
        .map_err(ApiError::Unavailable)?;
    for entry in stored {
        summary.count_stored(entry.incident.incident_id, entry.created);
    }
    Ok(summary)
}

/// Bodies up to this size are parsed on the async worker itself.
const INLINE_PARSE_BYTES: usize = 64 * 1024;
