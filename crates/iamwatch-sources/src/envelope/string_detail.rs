//! EventBridge events whose `detail` is a JSON string holding the record, as forwarders write
//! them: an input transformer with `"<detail>"` in quotes, or a function that `json.dumps` the
//! detail before sending the event on. The record inside is read, with a note saying so.

/// Said of every record read out of a string detail.
pub(super) const NOTE: &str = "EventBridge detail was a JSON string; the object in it was read";

/// The object a string `detail` holds (its text, unescaped); `None` when the detail is not a
/// string, or is a string holding no object.
pub(super) fn unquoted(detail: &str) -> Option<String> {
    if !detail.starts_with('"') {
        return None;
    }
    let text: String = serde_json::from_str(detail).ok()?;
    let object = text.trim_start();
    object.starts_with('{').then(|| object.to_string())
}

#[cfg(test)]
mod tests {
    use super::super::{visit_document, EnvelopeKind, Item};

    /// A record's event name, envelope, envelope time and notes; or a problem, as text.
    type Seen = Result<(String, EnvelopeKind, String, Vec<String>), String>;

    fn read(event: &serde_json::Value) -> Vec<Seen> {
        let mut seen = Vec::new();
        visit_document(event.to_string().as_bytes(), false, &mut |item| {
            seen.push(match item {
                Item::Record(record) => Ok((
                    record.doc.event_name.or_empty().to_string(),
                    record.envelope,
                    record.envelope_time.unwrap_or_default().to_string(),
                    record.notes.to_vec(),
                )),
                Item::Problem { problem, .. } => Err(problem.to_string()),
                _ => Err("something else".to_string()),
            })
        });
        seen
    }

    fn event(detail: serde_json::Value) -> serde_json::Value {
        serde_json::json!({
            "version": "0", "detail-type": "AWS API Call via CloudTrail", "source": "aws.iam",
            "time": "2024-06-01T00:00:05Z", "detail": detail,
        })
    }

    const RECORD: &str =
        r#" {"eventName":"DeleteUser","eventSource":"iam.amazonaws.com","eventID":"e1"}"#;

    #[test]
    fn a_record_in_a_string_detail_is_read_with_a_note() {
        let seen = read(&event(RECORD.into()));
        assert_eq!(
            seen,
            [Ok((
                "DeleteUser".to_string(),
                EnvelopeKind::EventBridge,
                "2024-06-01T00:00:05Z".to_string(),
                vec![super::NOTE.to_string()],
            ))]
        );
        // The same record as an object: no note.
        let object: serde_json::Value = serde_json::from_str(RECORD).unwrap();
        assert!(matches!(&read(&event(object))[..], [Ok((_, _, _, notes))] if notes.is_empty()));
    }

    #[test]
    fn a_string_detail_holding_no_object_is_still_a_problem() {
        for detail in ["not json", "[1, 2]", "42", ""] {
            let seen = read(&event(detail.into()));
            assert!(
                matches!(&seen[..], [Err(text)] if text.contains("detail is not an object")),
                "{detail:?}: {seen:?}"
            );
        }
        // A string holding an object that is no record is said to be one.
        let seen = read(&event(r#"{"id":"f"}"#.into()));
        assert!(
            matches!(&seen[..], [Err(text)] if text.contains("not a CloudTrail record")),
            "{seen:?}"
        );
    }
}
