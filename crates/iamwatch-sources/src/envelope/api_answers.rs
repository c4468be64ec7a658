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
//! - GetQueryResults (`aws cloudtrail get-query-results`, CloudTrail Lake) is not read: its rows
//!   hold only the columns the query chose, each as text (nested fields in Trino's `{k=v, …}`
//!   notation, not JSON). It is said so, with what to do instead, rather than "no eventName".

use super::{nested, visit, visit_elements, Context, EnvelopeKind, Item, Problem};
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

/// The problem of a CloudTrail Lake query answer, if `raw` is one. Looked for only in input
/// nothing else took.
pub(super) fn lake_answer(raw: &[u8]) -> Option<Problem> {
    memchr::memmem::find(raw, b"\"QueryResultRows\"").map(|_| Problem::Unsupported {
        reason: "a CloudTrail Lake query answer (get-query-results) holds only the query's columns, as text, and is not read; scan the trail's log files (CloudTrail writes them to S3 as .json.gz), or the event history downloaded as JSON".into(),
    })
}

#[cfg(test)]
mod tests {
    use crate::envelope::found::seen;

    /// A Lake answer was "no eventName"; it says what it is and what to scan instead. A record
    /// holding the word is still a record.
    #[test]
    fn a_lake_query_answer_says_what_it_is() {
        let answer = r#"{"QueryStatus":"FINISHED","QueryStatistics":{"ResultsCount":1},"QueryResultRows":[[{"eventID":"e1"},{"eventName":"DeleteUser"}]]}"#;
        let found = seen(answer);
        assert!(
            matches!(&found[..], [Err(problem)] if problem.starts_with("a CloudTrail Lake query answer") && problem.contains(".json.gz")),
            "{found:?}"
        );
        let record = r#"{"eventName":"StartQuery","eventID":"e2","requestParameters":{"queryStatement":"\"QueryResultRows\""}}"#;
        assert!(matches!(&seen(record)[..], [Ok(_)]));
    }
}
