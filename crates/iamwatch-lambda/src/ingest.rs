//! Events in an invocation → incidents: the delivery read as `serve` reads a request, the log
//! files an S3 notification names read from S3 (the function's trigger chose the bucket),
//! unreadable input kept. An SQS batch may be read message by message, so that a message that
//! cannot be read now is the only one SQS delivers again (partial batch responses).

use crate::function::{Function, FunctionError};
use iamwatch_core::Incident;
use iamwatch_pipeline::{
    read_delivery, read_object_into, BadRecord, Chunk, IngestSummary, S3Notice,
};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

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
    /// The SQS messages to be delivered again, read message by message: Lambda's partial batch
    /// response (`ReportBatchItemFailures` on the event source mapping).
    #[serde(rename = "batchItemFailures", skip_serializing_if = "Vec::is_empty")]
    pub batch_item_failures: Vec<BatchItemFailure>,
}

/// A message of an SQS batch the function could not read now, by its id.
#[derive(Debug, PartialEq, Eq, Serialize)]
pub struct BatchItemFailure {
    #[serde(rename = "itemIdentifier")]
    pub item_identifier: String,
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
    /// Reads the payload, and the S3 objects its notifications name; an SQS batch message by
    /// message when partial batch responses are on.
    ///
    /// # Errors
    /// [`FunctionError::S3`] when S3 could not be reached (asking again may succeed).
    pub async fn read(&self, payload: &str, source: &str) -> Result<Read, FunctionError> {
        if self.partial_batches {
            if let Some(messages) = sqs_messages(payload) {
                return Ok(self.read_messages(messages, source).await);
            }
        }
        let (mut chunk, whole) =
            read_delivery(payload.as_bytes(), source, "invocation", &self.detector);
        let s3_objects = self.follow(&mut chunk).await?;
        Ok(read_of(chunk, s3_objects, whole, Vec::new()))
    }

    /// Reads an SQS batch a message at a time. A message whose log files S3 cannot give now,
    /// or of which nothing could be read with no dead-letter queue to keep it in, is left out
    /// whole (what it gave is dropped: its delivery again gives it) and named for SQS to
    /// deliver again; the others go on.
    async fn read_messages(&self, messages: Vec<Message<'_>>, source: &str) -> Read {
        let mut all = Chunk::following_notices();
        let mut s3_objects = 0;
        let mut failures = Vec::new();
        for (position, message) in messages.into_iter().enumerate() {
            let source = format!("{source} message {}", message.id);
            let body = format!("{{\"Records\":[{}]}}", message.raw.get());
            let (mut chunk, mut whole) =
                read_delivery(body.as_bytes(), &source, "SQS message", &self.detector);
            // Where the message is in the batch, as when the batch is read whole (a notice's
            // too: it becomes a bad record when S3 refuses its file).
            let notices = chunk.notices.iter_mut().flatten();
            let unread = notices.map(|notice| &mut notice.unread);
            for bad in chunk.bad.iter_mut().chain(unread).chain(whole.as_mut()) {
                bad.record = Some(position as u64);
            }
            let outcome = match self.follow(&mut chunk).await {
                Ok(objects) => match whole {
                    Some(_) if self.dead_letters.is_none() => Err(
                        "nothing in it could be read, and there is no dead-letter queue"
                            .to_string(),
                    ),
                    Some(whole) => {
                        chunk.bad.push(whole);
                        Ok(objects)
                    }
                    None => Ok(objects),
                },
                Err(error) => Err(error.to_string()),
            };
            match outcome {
                Ok(objects) => {
                    s3_objects += objects;
                    all.absorb(chunk);
                }
                Err(reason) => {
                    tracing::warn!(message = %message.id, %reason, "SQS message left for SQS to deliver again");
                    failures.push(BatchItemFailure {
                        item_identifier: message.id,
                    });
                }
            }
        }
        read_of(all, s3_objects, None, failures)
    }

    /// Reads the log files the notifications in `chunk` name into it; how many were read.
    async fn follow(&self, chunk: &mut Chunk) -> Result<u64, FunctionError> {
        let mut s3_objects = 0;
        for S3Notice { objects, unread } in chunk.notices.take().unwrap_or_default() {
            for object in objects {
                match self.s3.read(&object, self.max_object_bytes).await {
                    Ok(bytes) => {
                        s3_objects += 1;
                        read_object_into(bytes, &object.to_string(), &self.detector, chunk);
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
        Ok(s3_objects)
    }
}

fn read_of(
    chunk: Chunk,
    s3_objects: u64,
    whole: Option<BadRecord>,
    batch_item_failures: Vec<BatchItemFailure>,
) -> Read {
    let summary = Summary {
        ingest: IngestSummary::of_read(&chunk),
        s3_objects,
        batch_item_failures,
        ..Summary::default()
    };
    Read {
        incidents: chunk.incidents,
        summary,
        bad: chunk.bad,
        whole,
    }
}

/// A message of an SQS batch: its id, and the record Lambda gave it in.
struct Message<'p> {
    id: String,
    raw: &'p RawValue,
}

/// The messages of `payload` when it is an SQS batch (`{"Records": [...]}`, every record from
/// `aws:sqs` with a `messageId`); `None` for anything else, read as one delivery.
fn sqs_messages(payload: &str) -> Option<Vec<Message<'_>>> {
    #[derive(Deserialize)]
    struct Batch<'p> {
        #[serde(rename = "Records", borrow)]
        records: Vec<&'p RawValue>,
    }
    #[derive(Deserialize)]
    struct Fields {
        #[serde(rename = "messageId")]
        message_id: String,
        #[serde(rename = "eventSource")]
        event_source: String,
    }
    let batch: Batch<'_> = serde_json::from_str(payload).ok()?;
    if batch.records.is_empty() {
        return None;
    }
    batch
        .records
        .into_iter()
        .map(|raw| {
            let fields: Fields = serde_json::from_str(raw.get()).ok()?;
            (fields.event_source == "aws:sqs" && !fields.message_id.is_empty()).then_some(Message {
                id: fields.message_id,
                raw,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_sqs_batch_is_told_by_every_record_and_read_by_message() {
        let batch = r#"{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"{}"},{"messageId":"m2","eventSource":"aws:sqs","body":"[1]","attributes":{}}]}"#;
        let messages = sqs_messages(batch).unwrap();
        let ids: Vec<&str> = messages.iter().map(|message| message.id.as_str()).collect();
        assert_eq!(ids, ["m1", "m2"]);
        assert_eq!(
            messages[1].raw.get(),
            r#"{"messageId":"m2","eventSource":"aws:sqs","body":"[1]","attributes":{}}"#
        );
        // Not all from SQS, no id, no records, no batch: read as one delivery.
        let mixed = r#"{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"{}"},{"Sns":{"Message":"{}"},"EventSource":"aws:sns"}]}"#;
        assert!(sqs_messages(mixed).is_none());
        assert!(
            sqs_messages(r#"{"Records":[{"messageId":"","eventSource":"aws:sqs"}]}"#).is_none()
        );
        assert!(sqs_messages(r#"{"Records":[]}"#).is_none());
        assert!(sqs_messages(r#"{"detail-type":"AWS API Call via CloudTrail"}"#).is_none());
        assert!(sqs_messages("not json").is_none());
    }

    #[test]
    fn failures_are_in_the_answer_only_when_there_are_some() {
        let mut summary = Summary::default();
        let answer = serde_json::to_value(&summary).unwrap();
        assert!(answer.get("batchItemFailures").is_none(), "{answer}");
        summary.batch_item_failures.push(BatchItemFailure {
            item_identifier: "m2".into(),
        });
        let answer = serde_json::to_value(&summary).unwrap();
        assert_eq!(
            answer["batchItemFailures"],
            serde_json::json!([{"itemIdentifier": "m2"}])
        );
    }
}
