//! Events in an invocation → incidents: the pipeline `scan` and `serve` use, the log files an
//! S3 notification names read from S3 (the function's trigger chose the bucket), unreadable
//! input kept.

use crate::function::{Function, FunctionError};
use iamwatch_core::Incident;
use iamwatch_pipeline::{read_body_into, read_object_into, BadRecord, Chunk, S3Notice};
use serde::Serialize;

/// What an invocation of events did; the function's answer.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// CloudTrail records read.
    pub accepted: u64,
    /// New incidents stored.
    pub incidents: u64,
    /// Incidents whose event was already stored (a redelivery).
    pub duplicates: u64,
    /// Records that could not be read (kept in the dead-letter queue).
    pub rejected: u64,
    pub skipped: u64,
    /// Values holding no event (digest files, SNS handshakes).
    pub ignored: u64,
    /// S3 objects read for the notifications in the invocation.
    pub s3_objects: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Ids of the incidents found (new or already stored), in input order.
    pub incident_ids: Vec<String>,
    /// WebSocket connections reached with the new incidents.
    pub broadcast: crate::broadcast::Broadcast,
}

/// Errors listed in an answer, at most (every one is kept).
const ERRORS_SHOWN: usize = 20;

/// What reading an invocation found, before anything is stored.
pub struct Read {
    pub incidents: Vec<Incident>,
    pub summary: Summary,
    pub bad: Vec<BadRecord>,
    /// Nothing in the payload could be read: the whole of it, to be kept.
    pub whole: Option<BadRecord>,
}

impl Function {
    /// Reads the payload, and the S3 objects its notifications name.
    ///
    /// # Errors
    /// [`FunctionError::S3`] when S3 could not be reached (asking again may succeed).
    pub async fn read(&self, payload: &str, source: &str) -> Result<Read, FunctionError> {
        let mut chunk = Chunk::following_notices();
        read_body_into(
            payload.as_bytes().to_vec(),
            source,
            &self.detector,
            &mut chunk,
        );
        let mut s3_objects = 0;
        for S3Notice { objects, unread } in chunk.notices.take().unwrap_or_default() {
            for object in objects {
                match self.s3.read(&object, self.max_object_bytes).await {
                    Ok(bytes) => {
                        s3_objects += 1;
                        read_object_into(bytes, &object.to_string(), &self.detector, &mut chunk);
                    }
                    Err(error) if error.is_transient() => {
                        return Err(FunctionError::S3(error.to_string()));
                    }
                    Err(error) => chunk.bad.push(BadRecord {
                        reason: format!("S3 object notification: {error}"),
                        ..unread.clone()
                    }),
                }
            }
        }
        let nothing_read = chunk.records == 0 && chunk.ignored == 0 && s3_objects == 0;
        let whole = nothing_read.then(|| {
            if chunk.bad.is_empty() {
                chunk.bad.push(BadRecord::new(
                    source,
                    None,
                    None,
                    "no CloudTrail event found",
                ));
            }
            BadRecord::new(
                source,
                None,
                None,
                "invocation rejected: nothing in it could be read",
            )
            .with_raw(payload.as_bytes())
        });
        let summary = Summary {
            accepted: chunk.records,
            rejected: chunk.bad.len() as u64,
            skipped: chunk.skipped.len() as u64,
            ignored: chunk.ignored,
            s3_objects,
            errors: chunk
                .bad
                .iter()
                .take(ERRORS_SHOWN)
                .map(ToString::to_string)
                .collect(),
            ..Summary::default()
        };
        Ok(Read {
            incidents: chunk.incidents,
            summary,
            bad: chunk.bad,
            whole,
        })
    }
}
