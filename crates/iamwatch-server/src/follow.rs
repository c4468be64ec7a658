//! S3 notifications in an ingested body (an organisation trail's SNS topic announcing each log
//! file it delivers, or an S3 event): the log files they name are read from the buckets
//! `[s3] follow` lists, as if their records had been posted. Notifications from other buckets
//! stay dead letters saying what to do.

use crate::error::ApiError;
use crate::state::AppState;
use iamwatch_pipeline::{read_object_into, BadRecord, Chunk, S3Notice};
use iamwatch_sources::{Problem, S3ObjectRef};

/// Reads into `chunk` the objects its held-back notifications name, from followed buckets.
///
/// # Errors
/// [`ApiError::Unavailable`] when S3 could not be reached or failed: nothing of the body is
/// stored, and the sender (SNS, EventBridge) delivers it again later. An object S3 refuses
/// (gone, access denied) or one too large becomes a dead letter instead: asking again would
/// get the same answer.
pub async fn follow(state: &AppState, mut chunk: Chunk) -> Result<Chunk, ApiError> {
    let Some(notices) = chunk.notices.take() else {
        return Ok(chunk);
    };
    for S3Notice { objects, unread } in notices {
        let mut not_followed: Vec<S3ObjectRef> = Vec::new();
        for object in objects {
            let reader = state
                .s3
                .as_ref()
                .filter(|_| state.config.s3.follows(&object.bucket));
            let Some(reader) = reader else {
                not_followed.push(object);
                continue;
            };
            match reader.read(&object, state.config.s3.max_object_bytes).await {
                Ok(bytes) => {
                    state
                        .metrics
                        .s3_objects
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    chunk = read_object(state, chunk, bytes, &object).await?;
                }
                Err(error) if error.is_transient() => {
                    tracing::warn!(%error, "cannot read a log file an S3 notification names; the sender is asked to deliver it again");
                    return Err(ApiError::Unavailable(format!(
                        "cannot read a log file an S3 notification names: {error}"
                    )));
                }
                Err(error) => chunk.bad.push(BadRecord {
                    reason: format!("S3 object notification: {error}"),
                    ..unread.clone()
                }),
            }
        }
        if !not_followed.is_empty() {
            let reason = Problem::S3Notice {
                objects: not_followed,
            }
            .to_string();
            chunk.bad.push(BadRecord {
                reason: format!(
                    "{reason}, or list the bucket in `[s3] follow` (IAMWATCH_S3_FOLLOW) for serve to read it"
                ),
                ..unread
            });
        }
    }
    Ok(chunk)
}

/// An object's records read into `chunk` on the blocking pool (a log file is megabytes of
/// gzip); its unreadable records are dead letters naming `s3://bucket/key`.
async fn read_object(
    state: &AppState,
    mut chunk: Chunk,
    bytes: Vec<u8>,
    object: &S3ObjectRef,
) -> Result<Chunk, ApiError> {
    let detector = state.rules.current();
    let source = object.to_string();
    tokio::task::spawn_blocking(move || {
        read_object_into(bytes, &source, &detector, &mut chunk);
        chunk
    })
    .await
    .map_err(|error| ApiError::Internal(error.to_string()))
}
