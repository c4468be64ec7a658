//! Records of Lambda event sources (`"eventSource":"aws:…"`), which have an `eventName` of
//! their own and so must not pass for CloudTrail records.
//!
//! A Kinesis Data Streams record, `{"eventSource":"aws:kinesis","kinesis":{"data":"<base64>"}}`,
//! is how CloudTrail reaches Lambda through a stream, two ways: a CloudWatch Logs subscription
//! (the data is a subscription batch, gzipped) and an EventBridge rule with the stream as its
//! target (the data is the event, as JSON). Either is decoded and read as if it had come on its
//! own. Other sources' records (DynamoDB streams, …) are said to be what they are.

use super::{nested, report, visit, Context, EnvelopeKind, Item, Problem};
use crate::document::{Document, Raw};
use base64::Engine;
use serde::Deserialize;
use std::borrow::Cow;
use std::io::Read;

/// Decoded data is at most this large: a Kinesis record holds at most 1 MB (10 MB on
/// on-demand streams), so anything larger is not one (and might be a decompression bomb).
const MAX_DATA_BYTES: u64 = 64 * 1024 * 1024;

#[derive(Deserialize)]
struct KinesisPayload<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
}

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
    let payload: KinesisPayload<'_> = serde_json::from_str(record)
        .map_err(|error| format!("Kinesis record without data: {error}"))?;
    let data = base64::engine::general_purpose::STANDARD
        .decode(payload.data.as_bytes())
        .map_err(|error| format!("Kinesis data is not base64: {error}"))?;
    if !crate::input::looks_gzipped(&data) {
        return Ok(data);
    }
    let mut inflated = Vec::new();
    flate2::read::MultiGzDecoder::new(data.as_slice())
        .take(MAX_DATA_BYTES + 1)
        .read_to_end(&mut inflated)
        .map_err(|error| format!("Kinesis data is not gzip: {error}"))?;
    if inflated.len() as u64 > MAX_DATA_BYTES {
        return Err(format!(
            "Kinesis data inflates to more than {MAX_DATA_BYTES} bytes"
        ));
    }
    Ok(inflated)
}
