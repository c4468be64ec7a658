//! What the AWS CLI or an SDK prints for a call that returns events, saved to a file.
//!
//! - LookupEvents (`aws cloudtrail lookup-events`, boto3's `lookup_events`): the last 90 days
//!   of management events, with or without a trail, which is how many an investigation starts.
//!   The answer is `{"Events":[…],"NextToken":…}`; each event summarises its record and carries
//!   the record itself, as text, in `CloudTrailEvent`. One event alone (`jq -c '.Events[]'`
//!   writes them one per line) is read too.
//! - ReceiveMessage (`aws sqs receive-message`), as when a queue's dead letters are looked at:
//!   `{"Messages":[{"MessageId":…,"Body":"<event>"}]}`, each body read as a Lambda's SQS
//!   message's is.

use super::{nested, visit, visit_elements, Context, EnvelopeKind, Item};
use crate::document::Document;

/// Reports the records in `doc` if it is a LookupEvents answer or one of its events, or a
/// ReceiveMessage answer, and says whether it was.
pub(super) fn visit_answer(
    doc: &Document<'_>,
    raw: &[u8],
    context: Context<'_>,
    depth: u8,
    sink: &mut dyn FnMut(Item<'_>),
) -> bool {
    if let Some(record) = doc.cloudtrail_event.as_str() {
        let inner = nested(context, EnvelopeKind::LookupEvents);
        visit(record.as_bytes(), inner, depth + 1, sink);
        return true;
    }
    let (list, name, kind) = match (&doc.events, &doc.messages) {
        (Some(events), _) => (events, "Events", EnvelopeKind::LookupEvents),
        (None, Some(messages)) => (messages, "Messages", EnvelopeKind::Sqs),
        (None, None) => return false,
    };
    visit_elements(list, name, nested(context, kind), context, raw, depth, sink);
    true
}
