//! CloudTrail delivered through CloudWatch Logs: a trail that logs to a log group, and a
//! subscription filter that forwards the group to Lambda (`{"awslogs":{"data":"…"}}`, the
//! batch gzipped and base64-encoded) or to Firehose (the batch itself, a `DATA_MESSAGE` whose
//! `logEvents` each carry one CloudTrail record as their `message`); or the group read back
//! with `aws logs filter-log-events` or `get-log-events`, whose answers list the same log
//! events under `events`.

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
    match (&doc.awslogs, &doc.log_events, &doc.log_events_answer) {
        (Some(awslogs), _, _) => Some(Payload::Lambda(awslogs)),
        (None, Some(log_events), _) => Some(Payload::Batch {
            message_type: doc.message_type.or_empty(),
            log_events,
        }),
        // A CLI answer has no message type: its events are data.
        (None, None, Some(log_events)) => Some(Payload::Batch {
            message_type: "",
            log_events,
        }),
        (None, None, None) => None,
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

#[cfg(test)]
mod tests {
    use super::super::found::{seen_by, Found};
    use super::super::EnvelopeKind;
    use serde_json::json;

    fn record(id: &str) -> String {
        json!({"eventName": "DeleteUser", "eventSource": "iam.amazonaws.com", "eventID": id})
            .to_string()
    }

    /// Each record of `answer` (written as the CLI prints it) by its event id, envelope and
    /// position; or a problem, as text.
    fn read(answer: &serde_json::Value) -> Vec<Result<Found, String>> {
        let text = serde_json::to_string_pretty(answer).unwrap();
        seen_by(&text, |doc| doc.event_id.or_empty().to_string())
    }

    #[test]
    fn the_cli_answers_for_a_log_group_are_read_event_by_event_or_alone() {
        let filter_log_events = json!({
            "events": [
                {"logStreamName": "111122223333_CloudTrail_us-east-1", "timestamp": 1717200001000_u64,
                 "message": record("a"), "ingestionTime": 1717200002000_u64, "eventId": "38001"},
                {"logStreamName": "111122223333_CloudTrail_us-east-1", "timestamp": 1717200001000_u64,
                 "message": record("b"), "ingestionTime": 1717200002000_u64, "eventId": "38002"},
            ],
            "searchedLogStreams": [],
        });
        let kind = EnvelopeKind::CloudWatchLogs;
        assert_eq!(
            read(&filter_log_events),
            [
                Ok(("a".into(), kind, Some(0))),
                Ok(("b".into(), kind, Some(1)))
            ]
        );
        let get_log_events = json!({
            "events": [{"timestamp": 1717200001000_u64, "message": record("c"), "ingestionTime": 1717200002000_u64}],
            "nextForwardToken": "f/1", "nextBackwardToken": "b/1",
        });
        assert_eq!(read(&get_log_events), [Ok(("c".into(), kind, Some(0)))]);
        // One log event alone, as `jq -c '.events[]'` writes them, and a Logs Insights result.
        let alone = &filter_log_events["events"][1];
        assert_eq!(read(alone), [Ok(("b".into(), kind, None))]);
        let insights = json!({"@timestamp": "2024-06-01 00:00:01.000", "@message": record("d")});
        assert_eq!(read(&insights), [Ok(("d".into(), kind, None))]);
        // A message that is no record is said to be so, with its position.
        let damaged = json!({"events": [{"message": "{\"eventName\": 1"}]});
        assert!(
            matches!(&read(&damaged)[..], [Err(_)]),
            "{:?}",
            read(&damaged)
        );
    }
}
