//! Unwraps whatever AWS put around a CloudTrail record.
//!
//! One framed value goes in; out come, through a callback, one [`Item::Record`] per CloudTrail
//! record found inside (EventBridge `detail`, SNS `Message`, SQS `body`, nested `Records`), or
//! an [`Item::Problem`] saying precisely why a value is not one. A record whose fields have the
//! wrong JSON types is repaired (objects where text belongs are written out as text, a string
//! `userIdentity` becomes its `arn`) and carries a note saying so, rather than being dropped.

mod api_answers;
mod cloudwatch_logs;
mod encoded;
#[cfg(test)]
mod found;
mod lambda_sources;
mod repair;
mod s3_notice;
mod search_exports;
mod string_detail;

use repair::{repair, Repaired};
mod unreadable_text;

use crate::document::{Document, Raw};
pub use s3_notice::S3ObjectRef;
use serde_json::value::RawValue;

/// Nested envelopes deeper than this are refused: real deliveries nest at most three deep
/// (SQS → SNS → EventBridge).
const MAX_NESTING: u8 = 6;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnvelopeKind {
    /// An element of a CloudTrail log file's `Records`.
    CloudTrailFile,
    EventBridge,
    Sns,
    Sqs,
    /// A CloudWatch Logs subscription's batch (the trail logs to a log group).
    CloudWatchLogs,
    /// The LookupEvents API's answer (`aws cloudtrail lookup-events`).
    LookupEvents,
    /// A Kinesis Data Streams record (a CloudWatch Logs subscription or an EventBridge rule
    /// writing to a stream, read by Lambda).
    Kinesis,
    /// An Amazon Data Firehose record handed to a transformation Lambda or an HTTP endpoint.
    Firehose,
    /// A record with no envelope: JSON Lines or a bare array.
    Bare,
    /// A hit of an Elasticsearch or OpenSearch index (`_source`), alone or in a search answer.
    SearchIndex,
    /// A Splunk search result (`_raw`), alone or in an export's line.
    Splunk,
}

impl EnvelopeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CloudTrailFile => "cloudtrail_file",
            Self::EventBridge => "eventbridge",
            Self::Sns => "sns",
            Self::Sqs => "sqs",
            Self::CloudWatchLogs => "cloudwatch_logs",
            Self::LookupEvents => "lookup_events",
            Self::Kinesis => "kinesis",
            Self::Firehose => "firehose",
            Self::Bare => "bare",
            Self::SearchIndex => "search_index",
            Self::Splunk => "splunk",
        }
    }
}

/// A CloudTrail record found in the input.
#[derive(Debug)]
pub struct RecordItem<'r> {
    pub doc: &'r Document<'r>,
    /// The record's own JSON text (for an EventBridge event, its `detail`).
    pub raw: &'r [u8],
    /// The outermost envelope the record came in.
    pub envelope: EnvelopeKind,
    /// EventBridge envelope fields, used when the record lacks its own.
    pub envelope_time: Option<&'r str>,
    pub envelope_account: Option<&'r str>,
    pub envelope_region: Option<&'r str>,
    /// Position inside a nested `Records` array (SNS/SQS batches), when there is one.
    pub nested_index: Option<u64>,
    /// Repairs made to read the record.
    pub notes: &'r [String],
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Not valid JSON; line and column are within the value.
    InvalidJson {
        line: usize,
        column: usize,
        message: String,
    },
    /// Valid JSON, but not an object.
    NotAnObject {
        found: &'static str,
    },
    /// An object that is none of the shapes iamwatch reads.
    Unrecognised {
        reason: String,
    },
    /// A shape AWS does deliver that this path does not read.
    Unsupported {
        reason: String,
    },
    /// An S3 object notification: it names log files without holding their records. A reader
    /// that can fetch from S3 may follow it; otherwise it says which objects to scan.
    S3Notice {
        objects: Vec<S3ObjectRef>,
    },
    NestedTooDeep,
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidJson {
                line,
                column,
                message,
            } => {
                write!(f, "invalid JSON at line {line}, column {column}: {message}")
            }
            Self::NotAnObject { found } => write!(f, "expected a JSON object, found {found}"),
            Self::Unrecognised { reason } | Self::Unsupported { reason } => f.write_str(reason),
            Self::S3Notice { objects } => f.write_str(&s3_notice::unread_reason(objects)),
            Self::NestedTooDeep => write!(f, "envelopes nested more than {MAX_NESTING} deep"),
        }
    }
}

#[derive(Debug)]
pub enum Item<'r> {
    Record(RecordItem<'r>),
    Problem {
        problem: Problem,
        nested_index: Option<u64>,
        raw: &'r [u8],
    },
    /// An SNS subscription handshake: an HTTP endpoint must visit `subscribe_url` to confirm.
    SubscriptionConfirmation {
        topic_arn: &'r str,
        subscribe_url: &'r str,
    },
    /// Valid input that holds no event, such as a CloudTrail digest file.
    Ignored {
        reason: &'static str,
    },
}

#[derive(Clone, Copy)]
struct Context<'e> {
    envelope: Option<EnvelopeKind>,
    default_kind: EnvelopeKind,
    nested_index: Option<u64>,
    eventbridge: Option<EventBridgeFields<'e>>,
    /// Repairs made to read the envelopes around the value: they hold for every record inside.
    notes: &'e [String],
}

#[derive(Clone, Copy)]
struct EventBridgeFields<'e> {
    time: Option<&'e str>,
    account: Option<&'e str>,
    region: Option<&'e str>,
}

/// Parses one framed value and reports every record (or problem) inside it to `sink`.
/// `in_records` says the value came from a CloudTrail file's `Records` array.
pub fn visit_document(bytes: &[u8], in_records: bool, sink: &mut dyn FnMut(Item<'_>)) {
    visit(bytes, Context::top(in_records), 0, sink);
}

/// [`visit_document`] for a value already read into `doc` (by [`Document::parse_plain_prefix`]);
/// `raw` is its text.
pub(crate) fn visit_parsed(
    doc: &Document<'_>,
    raw: &[u8],
    in_records: bool,
    sink: &mut dyn FnMut(Item<'_>),
) {
    dispatch(doc, raw, Context::top(in_records), 0, &[], sink);
}

impl Context<'_> {
    /// A framed value's context: no envelope around it yet.
    fn top(in_records: bool) -> Self {
        Self {
            envelope: None,
            default_kind: if in_records {
                EnvelopeKind::CloudTrailFile
            } else {
                EnvelopeKind::Bare
            },
            nested_index: None,
            eventbridge: None,
            notes: &[],
        }
    }
}

fn visit(bytes: &[u8], context: Context<'_>, depth: u8, sink: &mut dyn FnMut(Item<'_>)) {
    if depth > MAX_NESTING {
        sink(Item::Problem {
            problem: Problem::NestedTooDeep,
            nested_index: context.nested_index,
            raw: bytes,
        });
        return;
    }
    let mut doc = Document::default();
    match Document::parse_into(bytes, &mut doc) {
        Ok(()) => dispatch(&doc, bytes, context, depth, &[], sink),
        Err(first_error) => match repair(bytes) {
            Ok(Repaired {
                document,
                mut notes,
                raw,
            }) => match Document::parse(&document) {
                Ok(doc) => {
                    note_duplicate_key(&first_error, &mut notes);
                    let raw = raw.as_deref().unwrap_or(bytes);
                    dispatch(&doc, raw, context, depth, &notes, sink)
                }
                Err(_) => sink(Item::Problem {
                    problem: Problem::Unrecognised {
                        reason: format!("unreadable fields: {first_error}"),
                    },
                    nested_index: context.nested_index,
                    raw: bytes,
                }),
            },
            Err(problem) => sink(Item::Problem {
                problem,
                nested_index: context.nested_index,
                raw: bytes,
            }),
        },
    }
}

/// A key given twice is no CloudTrail record's doing, and two readers of such a record may
/// disagree on its value: the typed parse refuses it, the repair keeps the last value (as
/// serde_json does), and the incident says so. Only the first such key is known (the typed
/// parse stops there); a lower-cased twin of a key is noted by the repair itself.
fn note_duplicate_key(error: &sonic_rs::Error, notes: &mut Vec<String>) {
    let message = error.to_string();
    let Some((_, rest)) = message.split_once("duplicate field `") else {
        return;
    };
    let Some((key, _)) = rest.split_once('`') else {
        return;
    };
    if !notes
        .iter()
        .any(|note| note.starts_with("dropped duplicate key"))
    {
        notes.insert(0, format!("duplicate key {key}: the last value was read"));
    }
}

/// Reports `problem` with `raw`, at the place `context` gives.
fn report(problem: Problem, context: Context<'_>, raw: &[u8], sink: &mut dyn FnMut(Item<'_>)) {
    sink(Item::Problem {
        problem,
        nested_index: context.nested_index,
        raw,
    });
}

fn dispatch(
    doc: &Document<'_>,
    raw: &[u8],
    context: Context<'_>,
    depth: u8,
    notes: &[String],
    sink: &mut dyn FnMut(Item<'_>),
) {
    // What was repaired to read an envelope (a byte that is not UTF-8 in an EventBridge event,
    // say) is said of each record inside it too: the record itself reads clean.
    let joined;
    let notes: &[String] = match (context.notes.is_empty(), notes.is_empty()) {
        (true, _) => notes,
        (false, true) => context.notes,
        (false, false) => {
            joined = [context.notes, notes].concat();
            &joined
        }
    };
    let context = Context { notes, ..context };
    let problem = |problem, sink: &mut dyn FnMut(Item<'_>)| report(problem, context, raw, sink);
    if doc.looks_like_record() {
        let eventbridge = context.eventbridge;
        sink(Item::Record(RecordItem {
            doc,
            raw,
            envelope: context.envelope.unwrap_or(context.default_kind),
            envelope_time: eventbridge.and_then(|fields| fields.time),
            envelope_account: eventbridge.and_then(|fields| fields.account),
            envelope_region: eventbridge.and_then(|fields| fields.region),
            nested_index: context.nested_index,
            notes,
        }));
        return;
    }
    if let Some(detail) = &doc.detail {
        if !doc.detail_type.is_some() && !doc.source.is_some() {
            return problem(unrecognised(), sink);
        }
        // A forwarder that wrote the detail as a JSON string (an input transformer's `"<detail>"`,
        // a `json.dumps` of it): the object inside is read, and each record says so.
        let unquoted = string_detail::unquoted(detail.as_raw_str());
        let with_note;
        let notes = match unquoted {
            Some(_) => {
                with_note = [notes, &[string_detail::NOTE.to_string()]].concat();
                &with_note[..]
            }
            None => notes,
        };
        let inner = Context {
            envelope: context.envelope.or(Some(EnvelopeKind::EventBridge)),
            eventbridge: Some(EventBridgeFields {
                time: doc.time.as_str(),
                account: doc.account.as_str(),
                region: doc.region.as_str(),
            }),
            notes,
            ..context
        };
        let detail_bytes = unquoted
            .as_deref()
            .unwrap_or(detail.as_raw_str())
            .as_bytes();
        // An EventBridge event from another service (a GuardDuty finding, say) is not a
        // CloudTrail record: say which it is instead of a generic complaint.
        if !detail_bytes.starts_with(b"{") {
            return problem(
                Problem::Unrecognised {
                    reason: "EventBridge event whose detail is not an object".into(),
                },
                sink,
            );
        }
        let mut reported_non_record = false;
        visit(detail_bytes, inner, depth + 1, &mut |item| match item {
            Item::Problem {
                problem: Problem::Unrecognised { .. },
                ..
            } if !reported_non_record => {
                reported_non_record = true;
                sink(Item::Problem {
                    problem: Problem::Unsupported {
                        reason: format!(
                            "EventBridge event of detail-type {:?} from {:?} is not a CloudTrail record",
                            doc.detail_type.or_empty(),
                            doc.source.or_empty()
                        ),
                    },
                    nested_index: context.nested_index,
                    raw,
                })
            }
            other => sink(other),
        });
        return;
    }
    if let Some(sns) = &doc.sns {
        return match sns.message.as_str() {
            Some(message) => visit(
                message.as_bytes(),
                nested(context, EnvelopeKind::Sns),
                depth + 1,
                sink,
            ),
            None => problem(
                Problem::Unrecognised {
                    reason: "SNS record without a Message".into(),
                },
                sink,
            ),
        };
    }
    match doc.sns_type.as_str() {
        Some("Notification") => {
            return match doc.message.as_str() {
                Some(message) => visit(
                    message.as_bytes(),
                    nested(context, EnvelopeKind::Sns),
                    depth + 1,
                    sink,
                ),
                None => problem(
                    Problem::Unrecognised {
                        reason: "SNS notification without a Message".into(),
                    },
                    sink,
                ),
            };
        }
        Some("SubscriptionConfirmation") => {
            return sink(Item::SubscriptionConfirmation {
                topic_arn: doc.topic_arn.or_empty(),
                subscribe_url: doc.subscribe_url.or_empty(),
            });
        }
        Some("UnsubscribeConfirmation") => {
            return sink(Item::Ignored {
                reason: "SNS unsubscribe confirmation",
            })
        }
        _ => {}
    }
    if let Some(body) = doc.body.as_str() {
        return visit(
            body.as_bytes(),
            nested(context, EnvelopeKind::Sqs),
            depth + 1,
            sink,
        );
    }
    if let Some(payload) = cloudwatch_logs::payload(doc) {
        return cloudwatch_logs::visit_payload(payload, raw, context, depth, sink);
    }
    if api_answers::visit_answer(doc, raw, context, depth, sink) {
        return;
    }
    if let Some(record) = &doc.kinesis {
        return lambda_sources::visit_kinesis(record, raw, context, depth, sink);
    }
    if let Some(records) = lambda_sources::firehose_records(doc) {
        return lambda_sources::visit_firehose(records, raw, context, depth, sink);
    }
    if let Some(records) = &doc.records {
        return visit_elements(records, "Records", context, context, raw, depth, sink);
    }
    if let Some(message) = doc.log_message.as_str() {
        let inner = nested(context, EnvelopeKind::CloudWatchLogs);
        return visit(message.as_bytes(), inner, depth + 1, sink);
    }
    if doc.s3.is_some() || doc.s3_object_key.is_some() {
        return problem(
            Problem::S3Notice {
                objects: s3_notice::objects(raw),
            },
            sink,
        );
    }
    if doc.digest_fingerprint.is_some() {
        return sink(Item::Ignored {
            reason: "CloudTrail digest file",
        });
    }
    if search_exports::visit_exported(raw, context, depth, sink) {
        return;
    }
    if let Some(lake) = api_answers::lake_answer(raw) {
        return problem(lake, sink);
    }
    if s3_notice::is_test_event(raw) {
        return sink(Item::Ignored {
            reason: "S3 test event (sent when a bucket's notifications are set up)",
        });
    }
    problem(
        lambda_sources::other_source(doc).unwrap_or_else(unrecognised),
        sink,
    )
}

/// Visits each element of `list`, the array member `name` of the value `raw`, in `inner` at
/// its position; a `list` that is not an array is a problem of `raw`, reported in `context`.
fn visit_elements(
    list: &Raw<'_>,
    name: &str,
    inner: Context<'_>,
    context: Context<'_>,
    raw: &[u8],
    depth: u8,
    sink: &mut dyn FnMut(Item<'_>),
) {
    match serde_json::from_str::<Vec<&RawValue>>(list.as_raw_str()) {
        Ok(elements) => {
            for (position, element) in elements.iter().enumerate() {
                let element_context = Context {
                    nested_index: Some(position as u64),
                    ..inner
                };
                visit(element.get().as_bytes(), element_context, depth + 1, sink);
            }
        }
        Err(_) => report(
            Problem::Unrecognised {
                reason: format!("{name:?} is not an array"),
            },
            context,
            raw,
            sink,
        ),
    }
}

fn unrecognised() -> Problem {
    Problem::Unrecognised {
        reason: "no eventName: not a CloudTrail record, EventBridge event, SNS, SQS or CloudWatch Logs message, LookupEvents or ReceiveMessage answer, or search index hit or Splunk result"
            .into(),
    }
}

fn nested(context: Context<'_>, kind: EnvelopeKind) -> Context<'_> {
    Context {
        envelope: context.envelope.or(Some(kind)),
        ..context
    }
}

#[cfg(test)]
mod tests;
