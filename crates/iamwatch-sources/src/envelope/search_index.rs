//! Events kept in Elasticsearch or OpenSearch and exported from there: a trail shipped raw
//! (Logstash's `cloudtrail` codec, a Lambda forwarder) is a document per record, and an export
//! (`elasticdump`, a scroll written to a file, a `_search` answer saved) wraps each record in
//! its hit: `{"_index":…,"_id":…,"_source":<record>}`, or `{"hits":{"hits":[<hit>,…]}}` for an
//! answer. Each was one dead letter ("not a CloudTrail record"), its records unread. Only input
//! nothing else took is looked at here, so the typed read of every other value is unchanged.

use super::{nested, visit, visit_elements, Context, EnvelopeKind, Item};
use crate::document::Raw;
use serde::Deserialize;
use serde_json::value::RawValue;

#[derive(Deserialize)]
struct Hit<'a> {
    #[serde(borrow, rename = "_source")]
    source: Option<&'a RawValue>,
    #[serde(borrow)]
    hits: Option<Hits<'a>>,
}

#[derive(Deserialize)]
struct Hits<'a> {
    #[serde(borrow)]
    hits: Option<&'a RawValue>,
}

/// Reports the records in `raw` if it is a search hit or a search answer, and says whether it
/// was.
pub(super) fn visit_hits(
    raw: &[u8],
    context: Context<'_>,
    depth: u8,
    sink: &mut dyn FnMut(Item<'_>),
) -> bool {
    let Ok(hit) = serde_json::from_slice::<Hit<'_>>(raw) else {
        return false;
    };
    let inner = nested(context, EnvelopeKind::SearchIndex);
    if let Some(source) = hit.source {
        visit(source.get().as_bytes(), inner, depth + 1, sink);
        return true;
    }
    match hit.hits.and_then(|hits| hits.hits) {
        Some(hits) => {
            let hits = Raw::checked(hits.get());
            visit_elements(&hits, "hits", inner, context, raw, depth, sink);
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
}
