use super::*;

#[derive(Debug, PartialEq)]
enum Seen {
    Record {
        name: String,
        envelope: EnvelopeKind,
        time: Option<String>,
        nested: Option<u64>,
        notes: Vec<String>,
    },
    Problem(String),
    Confirm(String),
    Ignored(&'static str),
}

fn visit_all(json: &str, in_records: bool) -> Vec<Seen> {
    let mut seen = Vec::new();
    visit_document(json.as_bytes(), in_records, &mut |item| {
        seen.push(match item {
            Item::Record(record) => Seen::Record {
                name: record.doc.event_name.or_empty().to_string(),
                envelope: record.envelope,
                time: record.envelope_time.map(str::to_string),
                nested: record.nested_index,
                notes: record.notes.to_vec(),
            },
            Item::Problem { problem, .. } => Seen::Problem(problem.to_string()),
            Item::SubscriptionConfirmation { subscribe_url, .. } => {
                Seen::Confirm(subscribe_url.to_string())
            }
            Item::Ignored { reason } => Seen::Ignored(reason),
        })
    });
    seen
}

fn record(name: &str, envelope: EnvelopeKind) -> Seen {
    Seen::Record {
        name: name.into(),
        envelope,
        time: None,
        nested: None,
        notes: vec![],
    }
}

const RECORD: &str =
    r#"{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","eventID":"e1"}"#;

#[test]
fn bare_and_file_records_are_read_directly() {
    assert_eq!(
        visit_all(RECORD, false),
        vec![record("CreateUser", EnvelopeKind::Bare)]
    );
    assert_eq!(
        visit_all(RECORD, true),
        vec![record("CreateUser", EnvelopeKind::CloudTrailFile)]
    );
}

#[test]
fn eventbridge_detail_is_the_record_and_envelope_fields_are_kept() {
    let event = format!(
        r#"{{"version":"0","id":"x","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","account":"111122223333","time":"2024-06-01T00:00:05Z","region":"us-east-1","resources":[],"detail":{RECORD}}}"#
    );
    let seen = visit_all(&event, false);
    assert_eq!(
        seen,
        vec![Seen::Record {
            name: "CreateUser".into(),
            envelope: EnvelopeKind::EventBridge,
            time: Some("2024-06-01T00:00:05Z".into()),
            nested: None,
            notes: vec![]
        }]
    );
}

#[test]
fn sns_lambda_event_wrapping_eventbridge_unwraps_to_the_record() {
    let eventbridge = format!(
        r#"{{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{RECORD}}}"#
    );
    let lambda_event = serde_json::json!({
        "Records": [
            {"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": eventbridge}},
            {"EventSource": "aws:sns", "Sns": {"Type": "Notification", "Message": eventbridge}}
        ]
    });
    let seen = visit_all(&lambda_event.to_string(), false);
    assert_eq!(seen.len(), 2);
    assert!(
        matches!(
            &seen[1],
            Seen::Record {
                envelope: EnvelopeKind::Sns,
                nested: Some(1),
                ..
            }
        ),
        "{seen:?}"
    );
}

#[test]
fn sqs_body_holding_sns_http_notification_unwraps() {
    let sns = serde_json::json!({"Type": "Notification", "Message": RECORD}).to_string();
    let sqs = serde_json::json!({"Records": [{"eventSource": "aws:sqs", "body": sns}]});
    let seen = visit_all(&sqs.to_string(), false);
    assert!(
        matches!(
            &seen[0],
            Seen::Record {
                envelope: EnvelopeKind::Sqs,
                ..
            }
        ),
        "{seen:?}"
    );
}

#[test]
fn subscription_confirmation_and_digest_are_recognised() {
    let confirm = r#"{"Type":"SubscriptionConfirmation","TopicArn":"arn:aws:sns:us-east-1:1:t","SubscribeURL":"https://sns.example/confirm"}"#;
    assert_eq!(
        visit_all(confirm, false),
        vec![Seen::Confirm("https://sns.example/confirm".into())]
    );
    let digest = r#"{"awsAccountId":"1","digestPublicKeyFingerprint":"ab","logFiles":[]}"#;
    assert_eq!(
        visit_all(digest, false),
        vec![Seen::Ignored("CloudTrail digest file")]
    );
    // What S3 sends first to a queue or topic its notifications are set up to reach, as SNS
    // delivers it to SQS.
    let test_event = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-06T09:00:00.000Z","Bucket":"trail","RequestId":"R","HostId":"H"}"#;
    let in_sns = serde_json::json!({"Type": "Notification", "Message": test_event}).to_string();
    assert_eq!(
        visit_all(&in_sns, false),
        vec![Seen::Ignored(
            "S3 test event (sent when a bucket's notifications are set up)"
        )]
    );
}

#[test]
fn problems_name_what_is_wrong() {
    let seen = visit_all("{\"eventName\": \"A\",\n \"x\": }", false);
    assert!(
        matches!(&seen[0], Seen::Problem(text) if text.contains("line 2, column")),
        "{seen:?}"
    );
    assert_eq!(
        visit_all("42", false),
        vec![Seen::Problem(
            "expected a JSON object, found a number".into()
        )]
    );
    assert!(
        matches!(&visit_all(r#"{"actor":{"id":"x"}}"#, false)[0], Seen::Problem(text) if text.contains("no eventName"))
    );
    let guardduty =
        r#"{"detail-type":"GuardDuty Finding","source":"aws.guardduty","detail":{"id":"f"}}"#;
    assert!(
        matches!(&visit_all(guardduty, false)[0], Seen::Problem(text) if text.contains("GuardDuty Finding"))
    );
    let s3 = r#"{"Records":[{"eventSource":"aws:s3","s3":{"bucket":{"name":"b"}}}]}"#;
    assert!(
        matches!(&visit_all(s3, false)[0], Seen::Problem(text) if text.contains("S3 object notification"))
    );
    // As S3 sends it: with an eventName, which alone made it pass for a CloudTrail record.
    let s3 = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3","eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},"object":{"key":"AWSLogs/1/CloudTrail/x.json.gz"}}}]}"#;
    assert!(
        matches!(&visit_all(s3, false)[0], Seen::Problem(text) if text.contains("S3 object notification")),
        "{:?}",
        visit_all(s3, false)
    );
}

#[test]
fn wrongly_typed_fields_are_repaired_with_a_note() {
    let messy = r#"{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","userIdentity":"arn:aws:test_arn","userAgent":{"odd":true}}"#;
    let seen = visit_all(messy, false);
    let Seen::Record { notes, .. } = &seen[0] else {
        panic!("{seen:?}")
    };
    assert!(
        notes
            .iter()
            .any(|note| note.contains("userIdentity was a string")),
        "{notes:?}"
    );
    assert!(
        notes
            .iter()
            .any(|note| note.contains("userAgent was an object")),
        "{notes:?}"
    );
}

#[test]
fn arrays_are_never_read_as_records_position_by_position() {
    // serde's derived structs also accept a sequence, filling fields in declaration order:
    // this array would have been a DeleteUser record, and the identity below a root user.
    let array = r#"["1.09","2024-06-01T00:00:00Z","","","iam.amazonaws.com","DeleteUser"]"#;
    assert_eq!(
        visit_all(array, true),
        vec![Seen::Problem(
            "expected a JSON object, found an array".into()
        )]
    );
    let identity =
        r#"{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","userIdentity":["Root"]}"#;
    let mut identity_type = None;
    let mut notes = Vec::new();
    visit_document(identity.as_bytes(), false, &mut |item| {
        if let Item::Record(record) = item {
            identity_type = Some(record.doc.identity_type().to_string());
            notes = record.notes.to_vec();
        }
    });
    assert_eq!(identity_type.as_deref(), Some(""));
    assert!(
        notes
            .iter()
            .any(|note| note.contains("userIdentity was an array")),
        "{notes:?}"
    );
    for nested in [
        r#"{"sessionContext":[]}"#,
        r#"{"sessionContext":{"sessionIssuer":["Role"]}}"#,
        r#"{"sessionContext":{"attributes":[true]}}"#,
    ] {
        let record = format!(r#"{{"eventName":"CreateUser","userIdentity":{nested}}}"#);
        let seen = visit_all(&record, false);
        let Seen::Record { notes, .. } = &seen[0] else {
            panic!("{seen:?}")
        };
        assert!(
            notes.iter().any(|note| note.contains("was an array")),
            "{record}: {notes:?}"
        );
    }
    // Read by position, the array's first string would have been the SNS message.
    let sns = r#"{"Records":[{"EventSource":"aws:sns","Sns":["{\"eventName\":\"CreateUser\"}"]}]}"#;
    assert!(
        visit_all(sns, false)
            .iter()
            .all(|seen| matches!(seen, Seen::Problem(_))),
        "{:?}",
        visit_all(sns, false)
    );
}

#[test]
fn a_key_given_twice_is_read_as_its_last_value_with_a_note() {
    let twice =
        r#"{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","eventName":"DeleteUser"}"#;
    assert_eq!(
        visit_all(twice, false),
        vec![Seen::Record {
            name: "DeleteUser".into(),
            envelope: EnvelopeKind::Bare,
            time: None,
            nested: None,
            notes: vec!["duplicate key eventName: the last value was read".into()],
        }]
    );
    // A lower-cased twin is the repair's to note: the canonical spelling is kept.
    let twin = r#"{"eventName":"CreateUser","eventname":"DeleteUser"}"#;
    let seen = visit_all(twin, false);
    let Seen::Record { name, notes, .. } = &seen[0] else {
        panic!("{seen:?}")
    };
    assert_eq!(name, "CreateUser");
    assert_eq!(notes, &["dropped duplicate key eventname".to_string()]);
}

#[test]
fn unreadable_text_in_a_field_does_not_hide_the_record() {
    // The user agent is the caller's to choose; one bad escape or byte must not turn the event
    // into a dead letter.
    for (record, note) in [
        (
            br#"{"eventName":"DeleteUser","eventSource":"iam.amazonaws.com","userAgent":"x\ud800"}"#.to_vec(),
            "1 unpaired surrogate escape(s) (\\ud800 to \\udfff) replaced with U+FFFD",
        ),
        (
            b"{\"eventName\":\"DeleteUser\",\"eventSource\":\"iam.amazonaws.com\",\"userAgent\":\"x\xff\"}".to_vec(),
            "bytes that are not UTF-8 were replaced with U+FFFD",
        ),
    ] {
        let mut seen = Vec::new();
        visit_document(&record, true, &mut |item| match item {
            Item::Record(record) => seen.push((
                record.doc.event_name.or_empty().to_string(),
                record.doc.user_agent.or_empty().to_string(),
                record.notes.to_vec(),
                // The raw record is the readable one: rules parse it whole.
                serde_json::from_slice::<serde_json::Value>(record.raw).is_ok(),
            )),
            other => panic!("{other:?}"),
        });
        assert_eq!(
            seen,
            [(
                "DeleteUser".to_string(),
                "x\u{fffd}".to_string(),
                vec![note.to_string()],
                true
            )]
        );
    }
}

/// A CloudWatch Logs subscription batch holding `messages` as its log events.
fn log_batch(message_type: &str, messages: &[&str]) -> String {
    let events: Vec<serde_json::Value> = messages
        .iter()
        .enumerate()
        .map(|(id, message)| serde_json::json!({"id": id.to_string(), "timestamp": 1_717_200_005_000_i64, "message": message}))
        .collect();
    serde_json::json!({
        "messageType": message_type, "owner": "111122223333", "logGroup": "aws-cloudtrail-logs",
        "logStream": "111122223333_CloudTrail_us-east-1", "subscriptionFilters": ["iamwatch"],
        "logEvents": events,
    })
    .to_string()
}

fn nested_record(name: &str, index: u64) -> Seen {
    Seen::Record {
        name: name.into(),
        envelope: EnvelopeKind::CloudWatchLogs,
        time: None,
        nested: Some(index),
        notes: vec![],
    }
}

#[test]
fn cloudwatch_logs_batches_are_unwrapped_as_firehose_and_lambda_deliver_them() {
    use base64::Engine;
    use std::io::Write;
    let other = RECORD.replace("CreateUser", "DeleteUser");
    let batch = log_batch("DATA_MESSAGE", &[RECORD, &other]);
    let expected = vec![
        nested_record("CreateUser", 0),
        nested_record("DeleteUser", 1),
    ];
    // Firehose: the batch itself.
    assert_eq!(visit_all(&batch, false), expected);
    // Lambda: the batch gzipped, base64-encoded, under awslogs.data.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(batch.as_bytes()).unwrap();
    let data = base64::engine::general_purpose::STANDARD.encode(gzip.finish().unwrap());
    let lambda = serde_json::json!({"awslogs": {"data": data}}).to_string();
    assert_eq!(visit_all(&lambda, false), expected);
}

#[test]
fn lookup_events_answers_are_unwrapped_event_by_event() {
    let event = |record: &str| serde_json::json!({"EventId": "e", "EventName": "x", "CloudTrailEvent": record});
    let other = RECORD.replace("CreateUser", "DeleteUser");
    let answer = serde_json::json!({
        "Events": [event(RECORD), {"EventId": "no-record"}, event(&other)],
        "NextToken": "n"
    })
    .to_string();
    let in_answer = |name: &str, index| Seen::Record {
        name: name.into(),
        envelope: EnvelopeKind::LookupEvents,
        time: None,
        nested: Some(index),
        notes: vec![],
    };
    let seen = visit_all(&answer, false);
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert_eq!(seen[0], in_answer("CreateUser", 0));
    // An event without its record is reported at its place; the others are read.
    assert!(
        matches!(&seen[1], Seen::Problem(text) if text.contains("LookupEvents")),
        "{seen:?}"
    );
    assert_eq!(seen[2], in_answer("DeleteUser", 2));
    // One event alone (`jq -c '.Events[]'`), and one whose record was already parsed (`jq`'s
    // `fromjson`): read, the second with a note.
    let alone = event(RECORD).to_string();
    assert_eq!(
        visit_all(&alone, false),
        vec![record("CreateUser", EnvelopeKind::LookupEvents)]
    );
    let parsed: serde_json::Value = serde_json::from_str(RECORD).unwrap();
    let parsed = serde_json::json!({"EventId": "e", "CloudTrailEvent": parsed}).to_string();
    let seen = visit_all(&parsed, false);
    assert!(
        matches!(&seen[..], [Seen::Record { name, notes, .. }] if name == "CreateUser" && notes[0].contains("CloudTrailEvent was an object")),
        "{seen:?}"
    );
    assert_eq!(
        visit_all(r#"{"Events": 3}"#, false),
        vec![Seen::Problem("\"Events\" is not an array".into())]
    );
}

#[test]
fn receive_message_answers_are_read_message_by_message() {
    let event = format!(
        r#"{{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{RECORD}}}"#
    );
    let answer = serde_json::json!({"Messages": [
        {"MessageId": "m1", "ReceiptHandle": "r", "MD5OfBody": "x", "Body": event},
        {"MessageId": "m2", "Body": "not JSON"},
    ]})
    .to_string();
    let seen = visit_all(&answer, false);
    assert!(
        matches!(&seen[0], Seen::Record { name, envelope: EnvelopeKind::Sqs, nested: Some(0), .. } if name == "CreateUser"),
        "{seen:?}"
    );
    assert!(
        matches!(&seen[1], Seen::Problem(text) if text.contains("invalid JSON")),
        "{seen:?}"
    );
    assert_eq!(seen.len(), 2);
    assert_eq!(
        visit_all(r#"{"Messages": {}}"#, false),
        vec![Seen::Problem("\"Messages\" is not an array".into())]
    );
}

#[test]
fn kinesis_records_are_decoded_whether_logs_or_events() {
    use base64::Engine;
    use std::io::Write;
    let encode = |bytes: &[u8]| base64::engine::general_purpose::STANDARD.encode(bytes);
    let kinesis = |data: String| {
        serde_json::json!({"Records": [{
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "p", "data": data},
            "eventSource": "aws:kinesis", "eventName": "aws:kinesis:record", "eventID": "shardId-0:1"
        }]})
        .to_string()
    };
    // A CloudWatch Logs subscription to a stream: the batch, gzipped.
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(log_batch("DATA_MESSAGE", &[RECORD]).as_bytes())
        .unwrap();
    let seen = visit_all(&kinesis(encode(&gzip.finish().unwrap())), false);
    assert!(
        matches!(&seen[..], [Seen::Record { name, envelope: EnvelopeKind::Kinesis, nested: Some(0), .. }] if name == "CreateUser"),
        "{seen:?}"
    );
    // An EventBridge rule with the stream as its target: the event, as JSON.
    let event = format!(
        r#"{{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{RECORD}}}"#
    );
    let seen = visit_all(&kinesis(encode(event.as_bytes())), false);
    assert!(
        matches!(&seen[..], [Seen::Record { name, envelope: EnvelopeKind::Kinesis, .. }] if name == "CreateUser"),
        "{seen:?}"
    );
    let seen = visit_all(&kinesis("%%%".into()), false);
    assert!(
        matches!(&seen[..], [Seen::Problem(text)] if text.contains("not base64")),
        "{seen:?}"
    );
    // Another Lambda event source's record has an eventName too, and is no CloudTrail record:
    // said so, not read as one.
    let stream = r#"{"Records":[{"eventID":"1","eventName":"INSERT","eventSource":"aws:dynamodb","dynamodb":{}}]}"#;
    assert_eq!(
        visit_all(stream, false),
        vec![Seen::Problem(
            "a Lambda event record from aws:dynamodb, not a CloudTrail record".into()
        )]
    );
}

#[test]
fn cloudwatch_logs_control_messages_and_damaged_batches_are_told_apart() {
    let control = log_batch(
        "CONTROL_MESSAGE",
        &["CWL CONTROL MESSAGE: Checking health of destination Firehose."],
    );
    assert_eq!(
        visit_all(&control, false),
        vec![Seen::Ignored("CloudWatch Logs control message")]
    );
    let not_base64 = r#"{"awslogs":{"data":"%%% not base64 %%%"}}"#;
    assert!(
        matches!(&visit_all(not_base64, false)[..], [Seen::Problem(text)] if text.contains("not base64")),
        "{:?}",
        visit_all(not_base64, false)
    );
    // A log group that also holds lines that are not CloudTrail records: each is reported at
    // its place, and the records around it are read.
    let mixed = log_batch("DATA_MESSAGE", &["START RequestId: 1", RECORD]);
    let seen = visit_all(&mixed, false);
    assert!(
        matches!(&seen[0], Seen::Problem(text) if text.contains("invalid JSON")),
        "{seen:?}"
    );
    assert_eq!(seen[1], nested_record("CreateUser", 1));
}

#[test]
fn lower_cased_exports_are_read() {
    let lower = r#"{"eventname":"GetRecords","eventsource":"dynamodb.amazonaws.com","eventtime":"2023-01-10 21:04:02","useridentity":{"arn":"arn:aws:test_arn"}}"#;
    assert!(
        matches!(&visit_all(lower, false)[0], Seen::Record { name, .. } if name == "GetRecords")
    );
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_yield_items_and_never_panic(input in proptest::collection::vec(proptest::num::u8::ANY, 0..300)) {
        let mut items = 0;
        visit_document(&input, false, &mut |_| items += 1);
        proptest::prop_assert!(items >= 1);
    }
}

#[test]
fn bytes_that_are_not_utf8_inside_a_raw_member_or_an_eventbridge_detail_are_replaced() {
    // sonic-rs keeps such members raw without checking their UTF-8: the serde path refuses the
    // text first, and the repair replaces the bytes (in a debug build, sonic-rs's assertion
    // failed here before).
    let record = b"{\"eventName\":\"DeleteUser\",\"eventSource\":\"iam.amazonaws.com\",\"requestParameters\":{\"userName\":\"bo\xffb\"}}";
    let mut event = b"{\"version\":\"0\",\"detail-type\":\"AWS API Call via CloudTrail\",\"source\":\"aws.iam\",\"detail\":".to_vec();
    event.extend_from_slice(record);
    event.push(b'}');
    for (bytes, envelope) in [
        (record.to_vec(), EnvelopeKind::Bare),
        (event, EnvelopeKind::EventBridge),
    ] {
        let mut seen = Vec::new();
        visit_document(&bytes, false, &mut |item| match item {
            Item::Record(record) => seen.push((
                record.doc.event_name.or_empty().to_string(),
                record.envelope,
                record
                    .doc
                    .request_parameters
                    .as_ref()
                    .map(|raw| raw.as_raw_str().to_string()),
                record.notes.to_vec(),
                std::str::from_utf8(record.raw).is_ok(),
            )),
            other => panic!("{other:?}"),
        });
        assert_eq!(
            seen,
            [(
                "DeleteUser".to_string(),
                envelope,
                Some("{\"userName\":\"bo\u{fffd}b\"}".to_string()),
                vec!["bytes that are not UTF-8 were replaced with U+FFFD".to_string()],
                true,
            )]
        );
    }
}

#[test]
fn values_nested_past_any_record_are_a_problem_not_a_crash() {
    // sonic-rs skipped such values by recursion without a limit: 30,000 levels overflowed the
    // stack and aborted the process.
    let deep = |open: &str, close: &str, inner: &str| {
        format!("{}{inner}{}", open.repeat(100_000), close.repeat(100_000))
    };
    let inputs = [
        deep("[", "]", ""),
        format!(
            r#"{{"eventName":"DeleteUser","eventSource":"iam.amazonaws.com","requestParameters":{}}}"#,
            deep("[", "]", "")
        ),
        format!(
            r#"{{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{{"eventName":"DeleteUser","requestParameters":{}}}}}"#,
            deep(r#"{"x":"#, "}", "null")
        ),
    ];
    for input in inputs {
        let seen = visit_all(&input, false);
        assert_eq!(seen.len(), 1, "{}", &input[..60]);
        assert!(matches!(seen[0], Seen::Problem(_)), "{seen:?}");
    }
    // Nesting a record does have, and brackets inside strings, are read as before.
    let fine = format!(
        r#"{{"eventName":"DeleteUser","eventSource":"iam.amazonaws.com","userAgent":"{}","requestParameters":{}}}"#,
        "[".repeat(500),
        deep_enough(60)
    );
    assert!(matches!(visit_all(&fine, false)[0], Seen::Record { .. }));
}

/// An object nested `levels` deep.
fn deep_enough(levels: usize) -> String {
    format!("{}1{}", r#"{"a":"#.repeat(levels), "}".repeat(levels))
}
