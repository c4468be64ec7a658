//! Records whose typed parse failed, rewritten so that they parse: a field of the wrong JSON
//! type is written out as text (or dropped when it is a lower-cased twin of a key), and each
//! change becomes a note of the record.

use super::{unreadable_text, Problem};
use iamwatch_core::json::kind_of;
use serde_json::{Map, Value};

/// Keys the typed [`Document`] reads as text, at the top level and in the objects it reads
/// (`userIdentity`, `insightDetails`, …); a test holds these lists to the document's keys.
const TEXT_KEYS: &[&str] = &[
    "eventVersion",
    "eventTime",
    "@timestamp",
    "p_event_time",
    "vpcEndpointId",
    "messageType",
    "@message",
    "state",
    "insightType",
    "userId",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "errorCode",
    "errorMessage",
    "eventID",
    "readOnly",
    "eventType",
    "recipientAccountId",
    "managementEvent",
    "eventCategory",
    "detail-type",
    "source",
    "account",
    "region",
    "time",
    "Type",
    "Message",
    "SubscribeURL",
    "TopicArn",
    "body",
    "CloudTrailEvent",
    "digestPublicKeyFingerprint",
    "deliveryStreamArn",
    "requestId",
    "type",
    "principalId",
    "arn",
    "accountId",
    "accessKeyId",
    "userName",
    "invokedBy",
    "mfaAuthenticated",
    "creationDate",
];
/// Keys the typed [`Document`] reads as objects.
const OBJECT_KEYS: &[&str] = &[
    "userIdentity",
    "sessionContext",
    "sessionIssuer",
    "attributes",
    "Sns",
    "insightDetails",
    "onBehalfOf",
];

/// A record rewritten so that it parses.
pub(super) struct Repaired {
    /// What the typed parse reads.
    pub(super) document: Vec<u8>,
    /// Each change, in words.
    pub(super) notes: Vec<String>,
    /// The record's own text with unreadable text replaced, when there was any: it stands for
    /// the raw record from then on (rules parse it whole, incidents keep it).
    pub(super) raw: Option<Vec<u8>>,
}

/// Rewrites a record whose typed parse failed into one that parses, noting each change.
pub(super) fn repair(bytes: &[u8]) -> Result<Repaired, Problem> {
    let invalid_json = |error: serde_json::Error| Problem::InvalidJson {
        line: error.line(),
        column: error.column(),
        message: error
            .to_string()
            .split(" at line")
            .next()
            .unwrap_or_default()
            .to_string(),
    };
    let (mut value, mut notes, raw): (Value, _, _) = match serde_json::from_slice(bytes) {
        Ok(value) => (value, Vec::new(), None),
        // The problem reported is the first one, at its place in the input as it came.
        Err(error) => match unreadable_text::replace_unreadable_text(bytes) {
            Some((replaced, notes)) => match serde_json::from_slice(&replaced) {
                Ok(value) => (value, notes, Some(replaced)),
                Err(_) => return Err(invalid_json(error)),
            },
            None => return Err(invalid_json(error)),
        },
    };
    let Value::Object(map) = &mut value else {
        return Err(Problem::NotAnObject {
            found: kind_of(&value),
        });
    };
    repair_object(map, "", &mut notes);
    Ok(Repaired {
        document: serde_json::to_vec(&value).unwrap_or_default(),
        notes,
        raw,
    })
}

fn repair_object(map: &mut Map<String, Value>, path: &str, notes: &mut Vec<String>) {
    // Both `eventName` and `eventname`: keep the canonical spelling.
    let keys: Vec<String> = map.keys().cloned().collect();
    for key in &keys {
        let canonical = TEXT_KEYS
            .iter()
            .chain(OBJECT_KEYS)
            .chain(&[
                "requestParameters",
                "responseElements",
                "additionalEventData",
            ])
            .find(|known| known.eq_ignore_ascii_case(key) && *known != key);
        if let Some(canonical) = canonical {
            if map.contains_key(*canonical) {
                map.remove(key);
                notes.push(format!("dropped duplicate key {path}{key}"));
            }
        }
    }
    for (key, field) in map.iter_mut() {
        let is_text_key = TEXT_KEYS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(key));
        let is_object_key = OBJECT_KEYS
            .iter()
            .any(|known| known.eq_ignore_ascii_case(key));
        match field {
            Value::Object(inner) if is_object_key => {
                repair_object(inner, &format!("{path}{key}."), notes)
            }
            Value::Object(_) | Value::Array(_) if is_text_key => {
                notes.push(format!("{path}{key} was {}, read as text", kind_of(field)));
                *field = Value::String(field.to_string());
            }
            Value::Null | Value::Object(_) => {}
            other if is_object_key => {
                notes.push(format!("{path}{key} was {}, not an object", kind_of(other)));
                let text = other
                    .as_str()
                    .map_or_else(|| other.to_string(), str::to_string);
                let mut replacement = Map::new();
                if key.eq_ignore_ascii_case("userIdentity") {
                    replacement.insert("arn".into(), Value::String(text));
                }
                *other = Value::Object(replacement);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{OBJECT_KEYS, TEXT_KEYS};

    /// Keys whose value the document keeps as it comes, whatever its type (raw members,
    /// envelopes' payloads): nothing to repair.
    const ANY_VALUE_KEYS: &[&str] = &[
        "requestParameters",
        "responseElements",
        "additionalEventData",
        "detail",
        "Messages",
        "Records",
        "s3",
        "s3ObjectKey",
        "events",
        "kinesis",
        "records",
        "awslogs",
        "logEvents",
    ];

    /// Each key the typed document reads is one the repair knows how to treat: a key added to
    /// the document without a place here made every record whose value there had the wrong
    /// type a dead letter, where the repair would have read it with a note.
    #[test]
    fn every_key_the_document_reads_is_classified() {
        let known = |key: &str| {
            TEXT_KEYS
                .iter()
                .chain(OBJECT_KEYS)
                .chain(ANY_VALUE_KEYS)
                .any(|listed| listed.eq_ignore_ascii_case(key))
        };
        let unknown: Vec<(&str, &str)> = crate::document::keys_by_struct()
            .into_iter()
            .flat_map(|(name, keys)| keys.into_iter().map(move |key| (name, key)))
            .filter(|(_, key)| !known(key))
            .collect();
        assert!(
            unknown.is_empty(),
            "(struct, key) unclassified: {unknown:?}"
        );
    }
}
