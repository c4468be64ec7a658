//! What the envelope tests of each source look at: the records a value gives, in brief.

use super::{visit_document, EnvelopeKind, Item};
use crate::document::Document;

/// A record's name (its event name, unless told otherwise), envelope, and index in the value
/// that carried it.
pub(super) type Found = (String, EnvelopeKind, Option<u64>);

/// What each item of `json` is: a record found (named by its event name), or the problem's text.
pub(super) fn seen(json: &str) -> Vec<Result<Found, String>> {
    seen_by(json, |doc| doc.event_name.or_empty().to_string())
}

/// [`seen`], each record named by `name`.
pub(super) fn seen_by(
    json: &str,
    name: impl Fn(&Document<'_>) -> String,
) -> Vec<Result<Found, String>> {
    let mut seen = Vec::new();
    visit_document(json.as_bytes(), false, &mut |item| {
        seen.push(match item {
            Item::Record(record) => Ok((name(record.doc), record.envelope, record.nested_index)),
            Item::Problem { problem, .. } => Err(problem.to_string()),
            other => Err(format!("{other:?}")),
        });
    });
    seen
}
