//! CloudTrail events as the LookupEvents API answers (`aws cloudtrail lookup-events`, boto3's
//! `lookup_events`): the last 90 days of management events, with or without a trail, which is
//! how many an investigation starts. The answer is `{"Events":[…],"NextToken":…}`; each event
//! summarises its record and carries the record itself, as text, in `CloudTrailEvent`. One
//! event alone (`jq -c '.Events[]'` writes them one per line) is read too.

use super::{nested, report, visit, Context, EnvelopeKind, Item, Problem};
use crate::document::Document;
use serde_json::value::RawValue;

/// Reports the records in `doc` if it is a LookupEvents answer or one of its events, and says
/// whether it was.
pub(super) fn visit_answer(
    doc: &Document<'_>,
    raw: &[u8],
    context: Context<'_>,
    depth: u8,
    sink: &mut dyn FnMut(Item<'_>),
) -> bool {
    let inner = nested(context, EnvelopeKind::LookupEvents);
    if let Some(record) = doc.cloudtrail_event.as_str() {
        visit(record.as_bytes(), inner, depth + 1, sink);
        return true;
    }
    let Some(events) = &doc.events else {
        return false;
    };
    match serde_json::from_str::<Vec<&RawValue>>(events.as_raw_str()) {
        Ok(events) => {
            for (position, event) in events.iter().enumerate() {
                let element = Context {
                    nested_index: Some(position as u64),
                    ..inner
                };
                visit(event.get().as_bytes(), element, depth + 1, sink);
            }
        }
        Err(_) => report(
            Problem::Unrecognised {
                reason: "\"Events\" is not an array".into(),
            },
            context,
            raw,
            sink,
        ),
    }
    true
}
