//! CloudTrail delivered through CloudWatch Logs: a trail that logs to a log group, and a
//! subscription filter that forwards the group to Lambda (`{"awslogs":{"data":"…"}}`, the
//! batch gzipped and base64-encoded) or to Firehose (the batch itself, a `DATA_MESSAGE` whose
//! `logEvents` each carry one CloudTrail record as their `message`).

use super::encoded;
use super::{visit, Context, EnvelopeKind, Item, Problem};
use crate::document::{Document, Raw};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Deserialize)]
struct LogEvent<'a> {
    #[serde(borrow)]
    message: Cow<'a, str>,
}

/// A CloudWatch Logs subscription payload, as it came.
pub(super) enum Payload<'d> {
    /// To Lambda: `awslogs`, holding the batch gzipped and base64-encoded.
    Lambda(&'d Raw<'d>),
    /// To Firehose: the batch itself, of this `messageType`, with its `logEvents`.
    Batch {
        message_type: &'d str,
        log_events: &'d Raw<'d>,
    },
}

/// The payload `doc` is, if it is one.
pub(super) fn payload<'d>(doc: &'d Document<'d>) -> Option<Payload<'d>> {
    match (&doc.awslogs, &doc.log_events) {
        (Some(awslogs), _) => Some(Payload::Lambda(awslogs)),
        (None, Some(log_events)) => Some(Payload::Batch {
            message_type: doc.message_type.or_empty(),
            log_events,
        }),
        (None, None) => None,
    }
}

/// Reports the records (or problems) of a subscription payload to `sink`.
pub(super) fn visit_payload(
    payload: Payload<'_>,
    raw: &[u8],
    context: Context<'_>,
    depth: u8,
    sink: &mut dyn FnMut(Item<'_>),
) {
    let problem =
        |problem, sink: &mut dyn FnMut(Item<'_>)| super::report(problem, context, raw, sink);
    let inner = super::nested(context, EnvelopeKind::CloudWatchLogs);
    match payload {
        Payload::Lambda(awslogs) => match decode_lambda_payload(awslogs.as_raw_str()) {
            Ok(batch) => visit(&batch, inner, depth + 1, sink),
            Err(reason) => problem(Problem::Unrecognised { reason }, sink),
        },
        Payload::Batch {
            message_type: "CONTROL_MESSAGE",
            ..
        } => sink(Item::Ignored {
            reason: "CloudWatch Logs control message",
        }),
        Payload::Batch { log_events, .. } => {
            match serde_json::from_str::<Vec<LogEvent<'_>>>(log_events.as_raw_str()) {
                Ok(events) => {
                    for (position, event) in events.iter().enumerate() {
                        let element = Context {
                            nested_index: Some(position as u64),
                            ..inner
                        };
                        visit(event.message.as_bytes(), element, depth + 1, sink);
                    }
                }
                Err(error) => problem(
                    Problem::Unrecognised {
                        reason: format!("CloudWatch Logs logEvents unreadable: {error}"),
                    },
                    sink,
                ),
            }
        }
    }
}

/// The batch inside `{"data": "<base64 of gzip>"}`.
fn decode_lambda_payload(payload: &str) -> Result<Vec<u8>, String> {
    let compressed = encoded::base64_data(payload, "CloudWatch Logs awslogs", "CloudWatch Logs")?;
    encoded::gunzip(&compressed, "CloudWatch Logs")
}
