//! What the envelope tests of each source look at: the records a value gives, in brief.

use super::{visit_document, EnvelopeKind, Item};

/// A record's event name, envelope, and index in the value that carried it.
pub(super) type Found = (String, EnvelopeKind, Option<u64>);

/// What each item of `json` is: a record found, or the problem's text.
pub(super) fn seen(json: &str) -> Vec<Result<Found, String>> {
    let mut seen = Vec::new();
    visit_document(json.as_bytes(), false, &mut |item| {
        seen.push(match item {
            Item::Record(record) => Ok((
                record.doc.event_name.or_empty().to_string(),
                record.envelope,
                record.nested_index,
            )),
            Item::Problem { problem, .. } => Err(problem.to_string()),
            other => Err(format!("{other:?}")),
        });
    });
    seen
}
