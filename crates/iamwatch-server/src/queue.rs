//! `[sqs] queues`: `serve` reads SQS queues itself, for deployments that take CloudTrail from a
//! queue rather than over an HTTPS endpoint open to SNS (a trail's SNS topic or an EventBridge
//! rule delivering to SQS, or a trail bucket's S3 event notifications).
//!
//! Each message's body is read as a posted body is ([`crate::ingest::ingest_body`]: SNS
//! envelopes, EventBridge events, S3 notifications whose log files are read from followed
//! buckets). The message is deleted only once its incidents are committed, or once what could
//! not be read is kept as a dead letter: a process killed before that leaves it in the queue,
//! SQS delivers it again after its visibility timeout, and its events make no second incident.
//! A failure that may pass (S3 or the store) leaves the message for SQS to deliver again; a
//! queue's redrive policy decides when it gives up.

use crate::error::ApiError;
use crate::state::AppState;
use aws_sdk_sqs::types::{DeleteMessageBatchRequestEntry, Message};
use aws_sdk_sqs::Client;
use axum::body::Bytes;
use iamwatch_pipeline::BadRecord;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// A client for SQS with the environment's AWS configuration; a receive may `wait` for
/// messages, so its answer is given that long and more.
pub async fn client_from_env(wait: Duration) -> Client {
    let shared = iamwatch_aws::sdk_config_from_env().await;
    let timeouts = aws_sdk_sqs::config::timeout::TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(10))
        .read_timeout(wait + Duration::from_secs(10))
        .build();
    let config = aws_sdk_sqs::config::Builder::from(&shared)
        .timeout_config(timeouts)
        .build();
    Client::from_conf(config)
}

/// Reads `queue_url` until the server shuts down.
pub async fn run(state: AppState, client: Client, queue_url: String) {
    let mut shutdown = state.shutdown.clone();
    let wait = state.config.sqs.wait().as_secs() as i32;
    let mut failed_in_a_row = 0u32;
    tracing::info!(queue = %queue_url, "reading SQS queue");
    while !*shutdown.borrow() {
        let receive = client
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(wait)
            .send();
        let received = tokio::select! {
            received = receive => received,
            _ = shutdown.changed() => return,
        };
        let messages = match received {
            Ok(output) => {
                failed_in_a_row = 0;
                output.messages.unwrap_or_default()
            }
            Err(error) => {
                failed_in_a_row += 1;
                state.metrics.sqs_failures.fetch_add(1, Ordering::Relaxed);
                let pause = backoff(failed_in_a_row);
                tracing::warn!(queue = %queue_url, error = %iamwatch_aws::explain(&error), retry_in_secs = pause.as_secs(), "cannot receive from SQS");
                tokio::select! {
                    () = tokio::time::sleep(pause) => continue,
                    _ = shutdown.changed() => return,
                }
            }
        };
        // Together: a notice's log file waits tens of milliseconds for S3, and an organisation
        // trail sends one per account and region every five minutes. Parsing is bounded by
        // the permits all bodies share.
        let handled = messages
            .into_iter()
            .map(|message| handle(&state, &queue_url, message));
        let done: Vec<String> = futures_util::future::join_all(handled)
            .await
            .into_iter()
            .flatten()
            .collect();
        delete(&state, &client, &queue_url, done).await;
    }
}

/// One message read; its receipt handle when nothing of it needs SQS to deliver it again.
async fn handle(state: &AppState, queue_url: &str, message: Message) -> Option<String> {
    state.metrics.sqs_received.fetch_add(1, Ordering::Relaxed);
    let Message {
        message_id,
        receipt_handle,
        body,
        ..
    } = message;
    let id = message_id.as_deref().unwrap_or("?");
    let source = format!("SQS {} message {id}", queue_name(queue_url));
    let body = body.unwrap_or_default();
    let outcome = if body.trim().is_empty() {
        keep_empty(state, &source).await
    } else {
        // A parsing permit, waited for: a queue is read as fast as bodies are, no faster.
        let permit = state.parsing.clone().acquire_owned().await.ok();
        match crate::ingest::ingest_body(state, Bytes::from(body), source.clone(), permit).await {
            // Nothing readable: kept in full as a dead letter by the ingest.
            Ok(_) | Err(ApiError::BadRequest { .. }) => Ok(()),
            Err(error) => Err(error.to_string()),
        }
    };
    match outcome {
        Ok(()) => receipt_handle,
        Err(reason) => {
            state.metrics.sqs_failures.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(%source, %reason, "message left in its queue for SQS to deliver again");
            None
        }
    }
}

/// Deletes the messages whose receipt handles are `done`, in one request (SQS bills by the
/// request, and takes ten at once). One that is not deleted is delivered again later: its
/// events are already stored, so it makes no second incident.
async fn delete(state: &AppState, client: &Client, queue_url: &str, done: Vec<String>) {
    if done.is_empty() {
        return;
    }
    let count = done.len() as u64;
    let entries: Result<Vec<_>, _> = done
        .into_iter()
        .enumerate()
        .map(|(index, receipt)| {
            DeleteMessageBatchRequestEntry::builder()
                .id(index.to_string())
                .receipt_handle(receipt)
                .build()
        })
        .collect();
    let sent = match entries {
        Ok(entries) => {
            client
                .delete_message_batch()
                .queue_url(queue_url)
                .set_entries(Some(entries))
                .send()
                .await
        }
        Err(error) => {
            tracing::error!(%error, "cannot build a request to delete messages");
            state
                .metrics
                .sqs_failures
                .fetch_add(count, Ordering::Relaxed);
            return;
        }
    };
    match sent {
        Ok(answer) => {
            let failed = answer.failed();
            for entry in failed {
                tracing::warn!(queue = %queue_url, code = entry.code(), message = entry.message(), "cannot delete a message read from SQS");
            }
            let failed = failed.len() as u64;
            state
                .metrics
                .sqs_deleted
                .fetch_add(count.saturating_sub(failed), Ordering::Relaxed);
            state
                .metrics
                .sqs_failures
                .fetch_add(failed, Ordering::Relaxed);
        }
        Err(error) => {
            state
                .metrics
                .sqs_failures
                .fetch_add(count, Ordering::Relaxed);
            tracing::warn!(queue = %queue_url, error = %iamwatch_aws::explain(&error), "cannot delete messages read from SQS");
        }
    }
}

/// A message with nothing in it, kept as a dead letter (SQS allows a body of spaces).
async fn keep_empty(state: &AppState, source: &str) -> Result<(), String> {
    let bad = BadRecord::new(source, None, None, "an empty message");
    let dead_letter = state.dead_letter.clone();
    tokio::task::spawn_blocking(move || dead_letter.keep([&bad]))
        .await
        .map_err(|error| error.to_string())?
        .map_err(|error| format!("cannot keep an empty message: {error}"))
}

/// `trail-events` of `https://sqs.us-east-1.amazonaws.com/111122223333/trail-events`.
fn queue_name(queue_url: &str) -> &str {
    queue_url
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or(queue_url)
}

/// 1, 2, 4 … seconds, at most a minute, after receives failing in a row.
fn backoff(failed_in_a_row: u32) -> Duration {
    Duration::from_secs(1u64 << failed_in_a_row.saturating_sub(1).min(6))
        .min(Duration::from_secs(60))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_is_named_by_the_last_part_of_its_url() {
        assert_eq!(
            queue_name("https://sqs.us-east-1.amazonaws.com/111122223333/trail-events"),
            "trail-events"
        );
        assert_eq!(queue_name("http://127.0.0.1:5000/123456789012/q/"), "q");
    }

    #[test]
    fn receives_failing_in_a_row_wait_longer_up_to_a_minute() {
        let waits: Vec<u64> = (1..=9).map(|n| backoff(n).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
    }
}
