//! Records of Lambda event sources (`"eventSource":"aws:…"`), which have an `eventName` of
//! their own and so must not pass for CloudTrail records.
//!
//! A Kinesis Data Streams record, `{"eventSource":"aws:kinesis","kinesis":{"data":"<base64>"}}`,
//! is how CloudTrail reaches Lambda through a stream, two ways: a CloudWatch Logs subscription
//! (the data is a subscription batch, gzipped) and an EventBridge rule with the stream as its
//! target (the data is the event, as JSON). Either is decoded and read as if it had come on its
//! own. Other sources' records (DynamoDB streams, …) are said to be what they are.

use super::{encoded, nested, report, visit, Context, EnvelopeKind, Item, Problem};
use crate::document::{Document, Raw};

/// Why `doc`, another Lambda event source's record, is not read; `None` when it is none.
pub(super) fn other_source(doc: &Document<'_>) -> Option<Problem> {
    doc.lambda_event_source().then(|| Problem::Unsupported {
        reason: format!(
            "a Lambda event record from {}, not a CloudTrail record",
            doc.event_source.or_empty()
        ),
    })
}

/// Reports the records (or problems) of the Kinesis record whose `kinesis` member is `record`.
pub(super) fn visit_kinesis(
    record: &Raw<'_>,
    raw: &[u8],
    context: Context<'_>,
    depth: u8,
    sink: &mut dyn FnMut(Item<'_>),
) {
    match decode(record.as_raw_str()) {
        Ok(data) => visit(
            &data,
            nested(context, EnvelopeKind::Kinesis),
            depth + 1,
            sink,
        ),
        Err(reason) => report(Problem::Unrecognised { reason }, context, raw, sink),
    }
}

/// The bytes a record's `data` stands for: base64, then gunzipped when gzip.
fn decode(record: &str) -> Result<Vec<u8>, String> {
    let data = encoded::base64_data(record, "Kinesis record", "Kinesis")?;
    if crate::input::looks_gzipped(&data) {
        encoded::gunzip(&data, "Kinesis")
    } else {
        Ok(data)
    }
}
