//! Unreadable input, kept: each bad record (where, why, its raw text) as one message of an SQS
//! queue, the function's dead-letter queue. Without a queue the records are logged whole
//! (CloudWatch Logs keeps them).

use aws_sdk_sqs::types::SendMessageBatchRequestEntry;
use iamwatch_pipeline::BadRecord;

/// SQS takes ten messages a request.
const PER_REQUEST: usize = 10;
/// SQS's largest message; a longer record is kept with its raw text cut (the log has it whole).
const LARGEST_MESSAGE: usize = 256 * 1024;

#[derive(Debug, thiserror::Error)]
#[error("cannot keep unreadable input in {queue}: {message}")]
pub struct DeadLetterError {
    pub queue: String,
    pub message: String,
}

#[derive(Clone, Debug)]
pub struct DeadLetters {
    client: aws_sdk_sqs::Client,
    queue_url: String,
}

impl DeadLetters {
    pub fn new(client: aws_sdk_sqs::Client, queue_url: String) -> Self {
        Self { client, queue_url }
    }

    /// Sends every record to the queue.
    ///
    /// # Errors
    /// When SQS refuses a request or any of its messages: the invocation then fails, and
    /// Lambda delivers it again (the records found again are sent again).
    pub async fn keep(&self, records: &[BadRecord]) -> Result<(), DeadLetterError> {
        for (batch, group) in records.chunks(PER_REQUEST).enumerate() {
            let entries = group
                .iter()
                .enumerate()
                .map(|(index, record)| {
                    SendMessageBatchRequestEntry::builder()
                        .id(format!("r{}", batch * PER_REQUEST + index))
                        .message_body(message_of(record))
                        .build()
                        .map_err(|error| self.error(error.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let sent = self
                .client
                .send_message_batch()
                .queue_url(&self.queue_url)
                .set_entries(Some(entries))
                .send()
                .await
                .map_err(|error| self.error(iamwatch_aws::explain(&error)))?;
            if let Some(failed) = sent.failed().first() {
                return Err(self.error(format!(
                    "{}: {}",
                    failed.code(),
                    failed.message().unwrap_or_default()
                )));
            }
        }
        Ok(())
    }

    fn error(&self, message: String) -> DeadLetterError {
        DeadLetterError {
            queue: self.queue_url.clone(),
            message,
        }
    }
}

/// The record as the dead-letter file of `serve` holds it: one JSON object.
fn message_of(record: &BadRecord) -> String {
    let text = serde_json::to_string(record).unwrap_or_default();
    if text.len() <= LARGEST_MESSAGE {
        return text;
    }
    let mut cut = record.clone();
    if let Some(raw) = cut.raw.as_mut() {
        let mut end = (LARGEST_MESSAGE / 2).min(raw.len());
        while !raw.is_char_boundary(end) {
            end -= 1;
        }
        raw.truncate(end);
        cut.raw_truncated = true;
    }
    serde_json::to_string(&cut).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_too_long_for_a_message_is_kept_cut_and_said_so() {
        let long = "é".repeat(LARGEST_MESSAGE);
        let record = BadRecord::new("lambda", Some(1), Some(0), "bad").with_raw(long.as_bytes());
        let message = message_of(&record);
        assert!(message.len() <= LARGEST_MESSAGE, "{}", message.len());
        let read: serde_json::Value = serde_json::from_str(&message).unwrap();
        assert_eq!(read["raw_truncated"], true);
        assert_eq!(read["reason"], "bad");
        let short = BadRecord::new("lambda", Some(1), Some(0), "bad").with_raw(b"{oops");
        let read: serde_json::Value = serde_json::from_str(&message_of(&short)).unwrap();
        assert_eq!(read["raw"], "{oops");
    }
}
