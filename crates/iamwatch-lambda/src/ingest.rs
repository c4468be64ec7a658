//! Events in an invocation → incidents: the delivery read as `serve` reads a request, the log
//! files an S3 notification names read from S3 (the function's trigger chose the bucket),
//! unreadable input kept.

use crate::function::{Function, FunctionError};
use iamwatch_core::Incident;
use iamwatch_pipeline::{read_delivery, read_object_into, BadRecord, IngestSummary, S3Notice};
use serde::Serialize;

/// What an invocation of events did; the function's answer.
#[derive(Debug, Default, Serialize)]
pub struct Summary {
    /// As `serve` answers a request.
    #[serde(flatten)]
    pub ingest: IngestSummary,
    /// S3 objects read for the notifications in the invocation.
    pub s3_objects: u64,
    /// WebSocket connections reached with the new incidents.
    pub broadcast: crate::broadcast::Broadcast,
}

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
        let (mut chunk, whole) =
            read_delivery(payload.as_bytes(), source, "invocation", &self.detector);
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
        let summary = Summary {
            ingest: IngestSummary::of_read(&chunk),
            s3_objects,
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
