//! One delivered body read whole: an HTTP ingest request or a Lambda invocation's payload.
//!
//! Everything `scan` reads is accepted here too (detection is by content), gzip included, and
//! bad records are reported exactly as a scan reports them.

use crate::bad_record::BadRecord;
use crate::scan::{read_input, Chunk};
use iamwatch_detect::Detector;
use iamwatch_sources::input::{as_utf8, open_bytes, open_reader, readable_format};
use iamwatch_sources::{InputData, InputError};
use serde::Serialize;

/// Reads `body` and returns what it held. `source` names the delivery in bad-record reports
/// (a request id, say).
pub fn read_body(body: Vec<u8>, source: &str, detector: &Detector) -> Chunk {
    let mut chunk = Chunk::default();
    read_body_into(body, source, detector, &mut chunk);
    chunk
}

/// [`read_body`] adding to `chunk` (one that holds S3 notifications back, say).
pub fn read_body_into(body: Vec<u8>, source: &str, detector: &Detector, chunk: &mut Chunk) {
    // An archive is one problem, as a scan says it of a file, not a dead letter per piece of
    // binary.
    let opened = if iamwatch_sources::looks_gzipped(&body) {
        open_reader(Box::new(std::io::Cursor::new(body)), source).map(InputData::Stream)
    } else {
        // UTF-16 text (PowerShell's `Invoke-RestMethod -InFile` of a file Windows saved so)
        // reads as the UTF-8 it stands for, as `scan` reads such a file.
        readable_format(&body, source).map(|()| InputData::Memory(as_utf8(body)))
    };
    read_opened(opened, source, detector, chunk);
}

/// A delivery (`serve`'s request, the Lambda function's invocation) read, S3 notifications held
/// back for the caller to follow. When nothing in it could be read, also returns the whole
/// delivery as a bad record, to be kept in full (not only the pieces the framer found) but not
/// counted; its reason names the delivery by `kind` ("request", "invocation").
pub fn read_delivery(
    body: &[u8],
    source: &str,
    kind: &str,
    detector: &Detector,
) -> (Chunk, Option<BadRecord>) {
    let mut chunk = Chunk::following_notices();
    read_body_into(body.to_vec(), source, detector, &mut chunk);
    let notices = chunk
        .notices
        .as_ref()
        .is_some_and(|notices| !notices.is_empty());
    if chunk.records > 0 || chunk.ignored > 0 || notices {
        return (chunk, None);
    }
    if chunk.bad.is_empty() {
        chunk.bad.push(BadRecord::new(
            source,
            None,
            None,
            "no CloudTrail event found",
        ));
    }
    let whole = BadRecord::new(
        source,
        None,
        None,
        format!("{kind} rejected: nothing in it could be read"),
    )
    .with_raw(body);
    (chunk, Some(whole))
}

/// Bad records listed in a delivery's answer, at most (all of them are kept).
const ERRORS_SHOWN: usize = 20;

/// What one delivery did: `serve`'s answer to an ingest request, the core of the Lambda
/// function's answer to an invocation.
#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct IngestSummary {
    /// CloudTrail records read.
    pub accepted: u64,
    /// New incidents stored.
    pub incidents: u64,
    /// Incidents whose event was already stored.
    pub duplicates: u64,
    /// Records that could not be read (kept as dead letters).
    pub rejected: u64,
    pub skipped: u64,
    /// Values holding no event (digest files, SNS handshakes).
    pub ignored: u64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Ids of the incidents found (new or already stored), in input order.
    pub incident_ids: Vec<String>,
}

impl IngestSummary {
    /// The counts of what was read (nothing stored yet).
    pub fn of_read(chunk: &Chunk) -> Self {
        Self {
            accepted: chunk.records,
            rejected: chunk.bad.len() as u64,
            skipped: chunk.skipped.len() as u64,
            ignored: chunk.ignored,
            errors: chunk
                .bad
                .iter()
                .take(ERRORS_SHOWN)
                .map(ToString::to_string)
                .collect(),
            ..Self::default()
        }
    }

    /// Counts the incidents stored for the delivery.
    pub fn count_stored(&mut self, incident_id: String, created: bool) {
        if created {
            self.incidents += 1;
        } else {
            self.duplicates += 1;
        }
        self.incident_ids.push(incident_id);
    }
}

/// An object fetched whole (a log file an S3 notification names) read into `chunk` as `scan
/// s3://…` reads the same object: opened by [`open_bytes`], named `name` in bad records.
pub fn read_object_into(bytes: Vec<u8>, name: &str, detector: &Detector, chunk: &mut Chunk) {
    read_opened(open_bytes(bytes, name), name, detector, chunk);
}

fn read_opened(
    opened: Result<InputData, InputError>,
    source: &str,
    detector: &Detector,
    chunk: &mut Chunk,
) {
    match opened {
        Ok(data) => {
            read_input(data, source, detector, chunk, &mut |_| true);
        }
        Err(error) => chunk
            .bad
            .push(crate::BadRecord::new(source, None, None, error.reason())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const RECORD: &str = r#"{"eventVersion":"1.08","eventTime":"2024-05-01T10:00:00Z","eventSource":"iam.amazonaws.com","eventName":"DeleteUser","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.9","userAgent":"aws-cli/2.17.0","requestParameters":{"userName":"bob"},"eventID":"e1","recipientAccountId":"111122223333","userIdentity":{"type":"IAMUser","userName":"alice","accountId":"111122223333"}}"#;

    #[test]
    fn an_eventbridge_event_yields_its_incident() {
        let body = format!(
            r#"{{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"111122223333","time":"2024-05-01T10:00:00Z","region":"us-east-1","resources":[],"detail":{RECORD}}}"#
        );
        let chunk = read_body(body.into_bytes(), "request-1", &Detector::default());
        assert_eq!(chunk.records, 1);
        assert_eq!(chunk.incidents.len(), 1);
        assert_eq!(chunk.incidents[0].event_id, "e1");
        assert!(chunk.bad.is_empty());
    }

    #[test]
    fn a_gzipped_log_file_is_inflated() {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        write!(encoder, r#"{{"Records":[{RECORD}]}}"#).unwrap();
        let chunk = read_body(encoder.finish().unwrap(), "request-2", &Detector::default());
        assert_eq!((chunk.records, chunk.incidents.len()), (1, 1));
    }

    #[test]
    fn a_utf16_body_reads_as_its_utf8() {
        let text = format!(r#"{{"Records":[{RECORD}]}}"#);
        for (bom, encode) in [
            ([0xFF, 0xFE], u16::to_le_bytes as fn(u16) -> [u8; 2]),
            ([0xFE, 0xFF], u16::to_be_bytes),
        ] {
            let mut body = bom.to_vec();
            body.extend(text.encode_utf16().flat_map(encode));
            let chunk = read_body(body, "request-utf16", &Detector::default());
            assert!(chunk.bad.is_empty(), "{chunk:?}");
            assert_eq!((chunk.records, chunk.incidents.len()), (1, 1));
        }
    }

    #[test]
    fn an_sns_handshake_is_returned_for_confirmation() {
        let body = r#"{"Type":"SubscriptionConfirmation","MessageId":"m","Token":"t","TopicArn":"arn:aws:sns:us-east-1:111122223333:trail","Message":"You have chosen to subscribe","SubscribeURL":"https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t","Timestamp":"2024-05-01T10:00:00.000Z","SignatureVersion":"1","Signature":"s","SigningCertURL":"https://x"}"#;
        let chunk = read_body(body.as_bytes().to_vec(), "request-3", &Detector::default());
        assert_eq!(chunk.confirmations.len(), 1, "{chunk:?}");
        assert_eq!(
            chunk.confirmations[0].topic_arn,
            "arn:aws:sns:us-east-1:111122223333:trail"
        );
    }

    #[test]
    fn an_archive_is_one_bad_record_saying_what_it_is() {
        let chunk = read_body(
            b"PK\x03\x04\x14\x00binary".to_vec(),
            "req-zip",
            &Detector::default(),
        );
        assert_eq!(chunk.records, 0);
        assert_eq!(chunk.bad.len(), 1);
        assert!(
            chunk.bad[0]
                .to_string()
                .contains("a zip archive is not read"),
            "{}",
            chunk.bad[0]
        );
    }

    #[test]
    fn malformed_json_is_a_bad_record_naming_the_request() {
        let chunk = read_body(
            b"{\"Records\": [ {\"eventName\": }".to_vec(),
            "request-4",
            &Detector::default(),
        );
        assert_eq!(chunk.records, 0);
        assert!(!chunk.bad.is_empty());
        assert!(
            chunk.bad.iter().all(|bad| bad.source == "request-4"),
            "{chunk:?}"
        );
        assert!(
            chunk.bad[0].reason.contains("invalid JSON at column 15"),
            "{chunk:?}"
        );
    }

    #[test]
    fn s3_notices_are_held_back_only_when_the_chunk_asks() {
        let body =
            format!(r#"[{{"s3Bucket":"trail","s3ObjectKey":["a.json.gz","b.json.gz"]}},{RECORD}]"#);
        let detector = Detector::default();
        let plain = read_body(body.clone().into_bytes(), "request-5", &detector);
        assert_eq!((plain.records, plain.bad.len()), (1, 1));
        assert!(plain.bad[0]
            .reason
            .contains("iamwatch scan s3://trail/a.json.gz"));
        assert!(plain.notices.is_none());

        let mut following = Chunk::following_notices();
        read_body_into(body.into_bytes(), "request-5", &detector, &mut following);
        assert_eq!((following.records, following.bad.len()), (1, 0));
        let notices = following.notices.expect("held back");
        assert_eq!(notices.len(), 1);
        let named: Vec<String> = notices[0].objects.iter().map(ToString::to_string).collect();
        assert_eq!(named, ["s3://trail/a.json.gz", "s3://trail/b.json.gz"]);
        // What it becomes when not followed: the bad record a scan makes of it.
        assert_eq!(notices[0].unread, plain.bad[0]);
    }
}
