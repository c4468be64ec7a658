//! S3 object notifications name log files without holding their records: an S3 event (an
//! element of its `Records`: `{"eventSource":"aws:s3","s3":{"bucket":{…},"object":{"key":…}}}`)
//! or CloudTrail's own notice of files delivered (the message of a trail's SNS topic:
//! `{"s3Bucket":…,"s3ObjectKey":[…]}`). The framing reports them as a problem holding the
//! objects they name: `serve` may follow them (fetching the objects from buckets its config
//! lists), and otherwise the problem says which `s3://` locations to scan for the records.

use serde::Deserialize;
use std::fmt;

/// An object an S3 notification names: a bucket and a key, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3ObjectRef {
    pub bucket: String,
    pub key: String,
}

impl fmt::Display for S3ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.key)
    }
}

#[derive(Deserialize)]
struct Notice {
    #[serde(rename = "s3Bucket")]
    bucket: Option<String>,
    #[serde(rename = "s3ObjectKey", default)]
    keys: Vec<String>,
    s3: Option<S3Entity>,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: Option<Named>,
    object: Option<Keyed>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

#[derive(Deserialize)]
struct Keyed {
    key: String,
}

/// The message S3 sends when a bucket's event notifications are set up (to a queue, a topic or
/// a function), to show they reach it: `{"Service":"Amazon S3","Event":"s3:TestEvent",…}`. It
/// names no object.
pub(super) fn is_test_event(raw: &[u8]) -> bool {
    #[derive(Deserialize)]
    struct Announced<'a> {
        #[serde(rename = "Service", borrow)]
        service: Option<&'a str>,
        #[serde(rename = "Event", borrow)]
        event: Option<&'a str>,
    }
    serde_json::from_slice::<Announced<'_>>(raw).is_ok_and(|announced| {
        announced.service == Some("Amazon S3") && announced.event == Some("s3:TestEvent")
    })
}

/// Locations shown in full; the rest are counted.
const SHOWN: usize = 3;

/// Why a notification was not read: the `iamwatch scan` command line that reads what it names.
pub(super) fn unread_reason(objects: &[S3ObjectRef]) -> String {
    let locations: Vec<String> = objects
        .iter()
        .map(|object| quoted(&object.to_string()))
        .collect();
    match locations.len() {
        0 => "S3 object notification: the log file it names must be read from S3, not from this input".to_string(),
        1 => format!(
            "S3 object notification: read the log file it names with `iamwatch scan {}`",
            locations[0]
        ),
        count => {
            let shown = locations[..count.min(SHOWN)].join(" ");
            let more = match count.saturating_sub(SHOWN) {
                0 => String::new(),
                left => format!(" and {left} more"),
            };
            format!("S3 object notification: read the {count} log files it names with `iamwatch scan {shown}`{more}")
        }
    }
}

/// The objects a notification names (none when it cannot be read as one).
pub(super) fn objects(raw: &[u8]) -> Vec<S3ObjectRef> {
    let Ok(notice) = serde_json::from_slice::<Notice>(raw) else {
        return Vec::new();
    };
    let mut named: Vec<(String, String)> = Vec::new();
    if let Some(bucket) = notice.bucket {
        named.extend(notice.keys.into_iter().map(|key| (bucket.clone(), key)));
    }
    if let Some(S3Entity {
        bucket: Some(Named { name }),
        object: Some(Keyed { key }),
    }) = notice.s3
    {
        // S3 events carry the key form-encoded (a space as `+`); CloudTrail's notice does not.
        named.push((name, form_decoded(&key)));
    }
    named
        .into_iter()
        .filter(|(bucket, key)| !bucket.is_empty() && !key.is_empty())
        .map(|(bucket, key)| S3ObjectRef { bucket, key })
        .collect()
}

/// `text` decoded as `application/x-www-form-urlencoded`; a `%` not followed by two hex digits
/// is kept as it is.
fn form_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while at < bytes.len() {
        let hex = |offset: usize| {
            bytes
                .get(at + offset)
                .and_then(|byte| (*byte as char).to_digit(16))
        };
        match bytes[at] {
            b'+' => decoded.push(b' '),
            b'%' => {
                if let (Some(high), Some(low)) = (hex(1), hex(2)) {
                    decoded.push((high * 16 + low) as u8);
                    at += 3;
                    continue;
                }
                decoded.push(b'%');
            }
            byte => decoded.push(byte),
        }
        at += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// `text` as a shell reads it back: bare when it holds only safe characters, else in single
/// quotes (a quote inside written `'\''`).
fn quoted(text: &str) -> String {
    let safe = text.bytes().all(|byte| {
        byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'.' | b'_' | b'-' | b':' | b'=')
    });
    if safe {
        text.to_string()
    } else {
        format!("'{}'", text.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(json: &str) -> String {
        unread_reason(&objects(json.as_bytes()))
    }

    #[test]
    fn a_notification_names_the_locations_to_scan() {
        assert_eq!(
            reason(r#"{"s3Bucket":"trail","s3ObjectKey":["AWSLogs/1/CloudTrail/us-east-1/2026/12/05/1_CloudTrail_x.json.gz"]}"#),
            "S3 object notification: read the log file it names with `iamwatch scan s3://trail/AWSLogs/1/CloudTrail/us-east-1/2026/12/05/1_CloudTrail_x.json.gz`"
        );
        let keys: Vec<String> = (1..=5).map(|n| format!("\"k{n}.json.gz\"")).collect();
        assert_eq!(
            reason(&format!(r#"{{"s3Bucket":"trail","s3ObjectKey":[{}]}}"#, keys.join(","))),
            "S3 object notification: read the 5 log files it names with `iamwatch scan s3://trail/k1.json.gz s3://trail/k2.json.gz s3://trail/k3.json.gz` and 2 more"
        );
        assert_eq!(
            reason(
                r#"{"eventSource":"aws:s3","s3":{"bucket":{"name":"trail"},"object":{"key":"logs/a+day%2Fit's.json"}}}"#
            ),
            r"S3 object notification: read the log file it names with `iamwatch scan 's3://trail/logs/a day/it'\''s.json'`"
        );
        // Naming nothing readable: the reason as before.
        assert_eq!(
            reason(r#"{"eventSource":"aws:s3","s3":{"bucket":{"name":"b"}}}"#),
            "S3 object notification: the log file it names must be read from S3, not from this input"
        );
    }

    proptest::proptest! {
        #[test]
        fn any_key_form_encoded_decodes_to_itself(key in "\\PC{0,40}", raw in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..40)) {
            let encoded: String = key
                .bytes()
                .map(|byte| match byte {
                    b' ' => "+".to_string(),
                    byte if byte.is_ascii_alphanumeric() => (byte as char).to_string(),
                    byte => format!("%{byte:02X}"),
                })
                .collect();
            proptest::prop_assert_eq!(form_decoded(&encoded), key);
            // Anything else is decoded without a panic.
            let _ = form_decoded(&String::from_utf8_lossy(&raw));
        }

        #[test]
        fn a_quoted_location_reads_back_as_itself_in_a_shell(key in "[ -~]{1,20}") {
            let location = format!("s3://trail/{key}");
            let output = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", quoted(&location)))
                .output()
                .expect("sh");
            proptest::prop_assert_eq!(String::from_utf8_lossy(&output.stdout), location);
        }
    }

    #[test]
    fn only_s3s_test_event_is_one() {
        let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-06T09:00:00.000Z","Bucket":"trail","RequestId":"5582815E1AEA5ADF","HostId":"8cLeGAmw"}"#;
        assert!(is_test_event(test_event.as_bytes()));
        assert!(!is_test_event(
            br#"{"Service":"Amazon S3","Event":"s3:ObjectCreated:Put"}"#
        ));
        assert!(!is_test_event(br#"{"Event":"s3:TestEvent"}"#));
        assert!(!is_test_event(b"[1,2]"));
    }

    #[test]
    fn form_decoding_keeps_what_is_not_an_escape() {
        assert_eq!(form_decoded("a%20b+c%2"), "a b c%2");
        assert_eq!(form_decoded("%zz%E2%9C%93"), "%zz✓");
    }
}
