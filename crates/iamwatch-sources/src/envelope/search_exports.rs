//! Events kept in a search engine and exported from there. Each was one dead letter ("not a
//! CloudTrail record"), its records unread. Only input nothing else took is looked at here, and
//! parsed once for every shape below, so the typed read of every other value is unchanged.
//!
//! - Elasticsearch or OpenSearch: a trail shipped raw (Logstash's `cloudtrail` codec, a Lambda
//!   forwarder) is a document per record, and an export (`elasticdump`, a scroll written to a
//!   file, a `_search` answer saved) wraps each record in its hit:
//!   `{"_index":…,"_id":…,"_source":<record>}`, or `{"hits":{"hits":[<hit>,…]}}` for an answer.
//! - Splunk (`aws:cloudtrail` events): search results exported as JSON (the UI's Export,
//!   `splunk search … -output json`, the REST API's `search/jobs/export?output_mode=json`) are a
//!   line per event, `{"preview":false,"result":{"_raw":"<record as text>","_time":…}}`, and a
//!   result alone is `{"_raw":"<record>",…}`. `_raw` is the record exactly as it was indexed.

use super::{nested, visit, visit_elements, Context, EnvelopeKind, Item};
use crate::document::Raw;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::borrow::Cow;

/// The members of every shape told here; a value holds those of one. The nested ones are read
/// only when present, so a member of another shape (an index answer's `"result":"created"`)
/// does not keep the others from being told.
#[derive(Deserialize)]
struct Exported<'a> {
    #[serde(borrow, rename = "_source")]
    source: Option<&'a RawValue>,
    #[serde(borrow)]
    hits: Option<&'a RawValue>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
    #[serde(borrow, rename = "_raw")]
    splunk_raw: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Hits<'a> {
    #[serde(borrow)]
    hits: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct SplunkResult<'a> {
    #[serde(borrow, rename = "_raw")]
    splunk_raw: Option<Cow<'a, str>>,
}

/// Reports the records in `raw` if it is a search hit, a search answer or a Splunk result, and
/// says whether it was.
pub(super) fn visit_exported(
    raw: &[u8],
    context: Context<'_>,
    depth: u8,
    sink: &mut dyn FnMut(Item<'_>),
) -> bool {
    let Ok(exported) = serde_json::from_slice::<Exported<'_>>(raw) else {
        return false;
    };
    if let Some(source) = exported.source {
        let inner = nested(context, EnvelopeKind::SearchIndex);
        visit(source.get().as_bytes(), inner, depth + 1, sink);
        return true;
    }
    let nested_hits = exported.hits.and_then(|hits| {
        let hits: Hits<'_> = serde_json::from_str(hits.get()).ok()?;
        hits.hits
    });
    if let Some(hits) = nested_hits {
        let inner = nested(context, EnvelopeKind::SearchIndex);
        let hits = Raw::checked(hits.get());
        visit_elements(&hits, "hits", inner, context, raw, depth, sink);
        return true;
    }
    let splunk = exported.result.and_then(|result| {
        let result: SplunkResult<'_> = serde_json::from_str(result.get()).ok()?;
        result.splunk_raw
    });
    match splunk.or(exported.splunk_raw) {
        Some(record) => {
            let inner = nested(context, EnvelopeKind::Splunk);
            visit(record.as_bytes(), inner, depth + 1, sink);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use crate::envelope::found::seen;
    use crate::envelope::EnvelopeKind;

    const HIT: &str =
        r#"{"_index":"ct","_id":"1","_source":{"eventName":"CreateUser","eventID":"e1"}}"#;

    #[test]
    fn a_hit_and_a_search_answer_give_their_records() {
        assert_eq!(
            seen(HIT),
            [Ok(("CreateUser".into(), EnvelopeKind::SearchIndex, None))]
        );
        let answer =
            format!(r#"{{"took":1,"hits":{{"total":{{"value":2}},"hits":[{HIT},{HIT}]}}}}"#);
        assert_eq!(
            seen(&answer),
            [0, 1].map(|n| Ok(("CreateUser".into(), EnvelopeKind::SearchIndex, Some(n))))
        );
        // An answer with no hits holds no records, and says nothing.
        assert_eq!(seen(r#"{"took":1,"hits":{"hits":[]}}"#), []);
    }

    #[test]
    fn other_documents_are_still_not_cloudtrail() {
        for json in [
            r#"{"_index":"ct","_id":"1"}"#,
            r#"{"hits":{"total":0}}"#,
            r#"{"hits":{"hits":{"_source":{}}}}"#,
            r#"{"_source":{"message":"hello","level":"info"},"x":1}"#,
        ] {
            let found = seen(json);
            assert!(
                matches!(&found[..], [Err(problem)] if !problem.is_empty()),
                "{json}: {found:?}"
            );
        }
    }

    #[test]
    fn an_exported_result_gives_its_record() {
        let record = r#"{"eventName":"DeleteUser","eventID":"e1"}"#;
        let text = serde_json::to_string(record).unwrap();
        for line in [
            format!(
                r#"{{"preview":false,"offset":0,"result":{{"_raw":{text},"_time":"2024-06-01T10:00:00.000+00:00","sourcetype":"aws:cloudtrail"}}}}"#
            ),
            format!(r#"{{"_raw":{text},"host":"x"}}"#),
        ] {
            assert_eq!(
                seen(&line),
                [Ok(("DeleteUser".into(), EnvelopeKind::Splunk, None))],
                "{line}"
            );
        }
    }

    #[test]
    fn other_results_are_still_not_cloudtrail() {
        for line in [
            r#"{"preview":false,"lastrow":true}"#,
            r#"{"result":{"count":"3"}}"#,
            r#"{"result":{"_raw":"Jun  1 10:00:00 host sshd[1]: Accepted"}}"#,
        ] {
            let found = seen(line);
            assert!(
                matches!(&found[..], [Err(problem)] if !problem.is_empty()),
                "{line}: {found:?}"
            );
        }
    }
}
