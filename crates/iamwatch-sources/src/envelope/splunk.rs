//! Events kept in Splunk and exported from there (`aws:cloudtrail` events): the search
//! results exported as JSON (the UI's Export, `splunk search … -output json`, or the REST API's
//! `search/jobs/export?output_mode=json`) are one line per event,
//! `{"preview":false,"result":{"_raw":"<record as text>","_time":…}}`, and a result alone is
//! `{"_raw":"<record>",…}`. `_raw` is the record exactly as it was indexed. Each line was a dead
//! letter ("not a CloudTrail record"), its record unread. Only input nothing else took is looked
//! at here, so the typed read of every other value is unchanged.

use super::{nested, visit, Context, EnvelopeKind, Item};
use serde::Deserialize;
use std::borrow::Cow;

#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    result: Option<SearchResult<'a>>,
    #[serde(borrow, rename = "_raw")]
    raw: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct SearchResult<'a> {
    #[serde(borrow, rename = "_raw")]
    raw: Option<Cow<'a, str>>,
}

/// Reports the record in `raw` if it is a Splunk result (or an export's line holding one), and
/// says whether it was.
pub(super) fn visit_result(
    raw: &[u8],
    context: Context<'_>,
    depth: u8,
    sink: &mut dyn FnMut(Item<'_>),
) -> bool {
    let Ok(line) = serde_json::from_slice::<Line<'_>>(raw) else {
        return false;
    };
    let Some(record) = line.result.and_then(|result| result.raw).or(line.raw) else {
        return false;
    };
    visit(
        record.as_bytes(),
        nested(context, EnvelopeKind::Splunk),
        depth + 1,
        sink,
    );
    true
}

#[cfg(test)]
mod tests {
    use crate::envelope::found::seen;
    use crate::envelope::EnvelopeKind;

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
