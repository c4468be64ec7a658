//! Records of Lambda event sources (`"eventSource":"aws:…"`), which have an `eventName` of
//! their own and so must not pass for CloudTrail records.
//!
//! A Kinesis Data Streams record, `{"eventSource":"aws:kinesis","kinesis":{"data":"<base64>"}}`,
//! is how CloudTrail reaches Lambda through a stream, two ways: a CloudWatch Logs subscription
//! (the data is a subscription batch, gzipped) and an EventBridge rule with the stream as its
//! target (the data is the event, as JSON). Either is decoded and read as if it had come on its
//! own. Other sources' records (DynamoDB streams, …) are said to be what they are.
//!
//! Amazon Data Firehose hands its records on the same way, base64 under `data`, to a
//! data-transformation Lambda or to an HTTP endpoint destination: a stream fed by a CloudWatch
//! Logs subscription (each record a gzipped batch) or by an EventBridge rule (each an event).

use super::{encoded, nested, report, visit, Context, EnvelopeKind, Item, Problem};
use crate::document::{Document, Raw};
use serde_json::value::RawValue;

/// Why `doc`, another Lambda event source's record, is not read; `None` when it is none.
pub(super) fn other_source(doc: &Document<'_>) -> Option<Problem> {
    doc.lambda_event_source().then(|| Problem::Unsupported {
        reason: format!(
            "a Lambda event record from {}, not a CloudTrail record",
            doc.event_source.or_empty()
        ),
    })
}

/// Reports the records (or problems) of the Kinesis record whose `kinesis` member is `record`.
pub(super) fn visit_kinesis(
    record: &Raw<'_>,
    raw: &[u8],
    context: Context<'_>,
    depth: u8,
    sink: &mut dyn FnMut(Item<'_>),
) {
    match decode(record.as_raw_str(), "Kinesis record", "Kinesis") {
        Ok(data) => visit_values(&data, nested(context, EnvelopeKind::Kinesis), depth, sink),
        Err(reason) => report(Problem::Unrecognised { reason }, context, raw, sink),
    }
}

/// Visits each JSON value in a record's decoded data: one as a rule, but a producer putting
/// newline-delimited events (or values back to back) into one record puts several. Data that
/// stops being JSON is a problem from there on; the values before it are read.
fn visit_values(data: &[u8], context: Context<'_>, depth: u8, sink: &mut dyn FnMut(Item<'_>)) {
    let mut values = serde_json::Deserializer::from_slice(data).into_iter::<&RawValue>();
    let mut read_any = false;
    loop {
        let start = values.byte_offset();
        match values.next() {
            // Data of no value at all is said to be so, as it was before values were split.
            None if !read_any => return visit(data, context, depth + 1, sink),
            None => return,
            Some(Ok(value)) => {
                read_any = true;
                visit(value.get().as_bytes(), context, depth + 1, sink);
            }
            // Not JSON as serde reads it (a lone value is still given whole to the envelope's
            // reader, which repairs what it can and says why when it cannot).
            Some(Err(_)) => return visit(&data[start..], context, depth + 1, sink),
        }
    }
}

/// The `records` of a Firehose event: a transformation Lambda's (with `deliveryStreamArn`) or
/// an HTTP endpoint's request (with `requestId`). A lower-case `records` alone is not one.
pub(super) fn firehose_records<'d>(doc: &'d Document<'_>) -> Option<&'d Raw<'d>> {
    let firehose = doc.delivery_stream_arn.is_some() || doc.firehose_request_id.is_some();
    doc.firehose_records.as_ref().filter(|_| firehose)
}

/// Reports the records (or problems) of a Firehose event's `records`, each decoded and read as
/// if it had come on its own. A record that does not decode is a problem of its own: the
/// others are still read.
pub(super) fn visit_firehose(
    records: &Raw<'_>,
    raw: &[u8],
    context: Context<'_>,
    depth: u8,
    sink: &mut dyn FnMut(Item<'_>),
) {
    let Ok(elements) = serde_json::from_str::<Vec<&RawValue>>(records.as_raw_str()) else {
        let reason = "Firehose event whose \"records\" is not an array".to_string();
        return report(Problem::Unrecognised { reason }, context, raw, sink);
    };
    for (position, element) in elements.iter().enumerate() {
        let element_context = Context {
            nested_index: Some(position as u64),
            ..nested(context, EnvelopeKind::Firehose)
        };
        match decode(element.get(), "Firehose record", "Firehose") {
            Ok(data) => visit_values(&data, element_context, depth, sink),
            Err(reason) => report(
                Problem::Unrecognised { reason },
                element_context,
                element.get().as_bytes(),
                sink,
            ),
        }
    }
}

/// The bytes a record's `data` stands for: base64, then gunzipped when gzip. Errors name the
/// record as `holder` and its data as `source`'s.
fn decode(record: &str, holder: &str, source: &str) -> Result<Vec<u8>, String> {
    let data = encoded::base64_data(record, holder, source)?;
    if crate::input::looks_gzipped(&data) {
        encoded::gunzip(&data, source)
    } else {
        Ok(data)
    }
}

#[cfg(test)]
mod tests {
    use super::super::found::seen;
    use super::super::EnvelopeKind;
    use base64::Engine;
    use std::io::Write;

    const RECORD: &str =
        r#"{"eventName":"CreateUser","eventSource":"iam.amazonaws.com","eventID":"e1"}"#;

    fn encode(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    /// Firehose events were dead letters ("no eventName"): the records inside were lost to a
    /// transformation Lambda fed a trail's log group, or an EventBridge rule, through Firehose.
    #[test]
    fn firehose_records_are_decoded_one_by_one() {
        let event = format!(
            r#"{{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{RECORD}}}"#
        );
        let batch = serde_json::json!({"messageType": "DATA_MESSAGE", "logEvents": [
            {"id": "1", "timestamp": 1_717_200_000_000_i64, "message": RECORD.replace("CreateUser", "DeleteUser")}
        ]})
        .to_string();
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(batch.as_bytes()).unwrap();
        let records = serde_json::json!([
            {"recordId": "r0", "approximateArrivalTimestamp": 1, "data": encode(event.as_bytes())},
            {"recordId": "r1", "approximateArrivalTimestamp": 1, "data": "%%% not base64"},
            {"recordId": "r2", "approximateArrivalTimestamp": 1, "data": encode(&gzip.finish().unwrap())},
        ]);
        let transformation = serde_json::json!({"invocationId": "i",
            "deliveryStreamArn": "arn:aws:firehose:us-east-1:111122223333:deliverystream/trail",
            "region": "us-east-1", "records": records});
        let http_endpoint =
            serde_json::json!({"requestId": "q", "timestamp": 1, "records": records});
        for shape in [transformation, http_endpoint] {
            let found = seen(&shape.to_string());
            assert!(
                matches!(&found[..], [
                    Ok((first, EnvelopeKind::Firehose, Some(0))),
                    Err(bad),
                    // Its index is the log event's, within the batch.
                    Ok((third, EnvelopeKind::Firehose, Some(0))),
                ] if first == "CreateUser" && bad.contains("not base64") && third == "DeleteUser"),
                "{found:?}"
            );
        }
    }

    /// A producer putting newline-delimited events into one record: the record's data was read
    /// as one document, "trailing characters", and every event in it lost.
    #[test]
    fn a_record_holding_several_events_gives_each() {
        let event = |name: &str| {
            format!(
                r#"{{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{}}}"#,
                RECORD.replace("CreateUser", name)
            )
        };
        let lines = format!("{}\n{}\n", event("CreateUser"), event("DeleteUser"));
        let back_to_back = format!("{}{}", event("CreateUser"), event("DeleteUser"));
        for data in [lines, back_to_back] {
            let firehose = format!(
                r#"{{"deliveryStreamArn":"arn","records":[{{"data":"{}"}}]}}"#,
                encode(data.as_bytes())
            );
            let kinesis = format!(
                r#"{{"Records":[{{"eventSource":"aws:kinesis","eventName":"aws:kinesis:record","kinesis":{{"data":"{}"}}}}]}}"#,
                encode(data.as_bytes())
            );
            for shape in [firehose, kinesis] {
                let names: Vec<String> = seen(&shape)
                    .into_iter()
                    .map(|item| item.map_or_else(|problem| problem, |(name, ..)| name))
                    .collect();
                assert_eq!(names, ["CreateUser", "DeleteUser"], "{shape}");
            }
        }
        // A good event, then text that is not JSON: the event, then the problem.
        let broken = format!("{}\nnot json", event("CreateUser"));
        let firehose = format!(
            r#"{{"deliveryStreamArn":"arn","records":[{{"data":"{}"}},{{"data":""}}]}}"#,
            encode(broken.as_bytes())
        );
        let found = seen(&firehose);
        assert!(
            matches!(&found[..], [Ok((name, ..)), Err(_), Err(_)] if name == "CreateUser"),
            "{found:?}"
        );
    }

    proptest::proptest! {
        /// Whatever a record's data holds (events cut anywhere, bytes of any kind, gzipped or
        /// not), reading never panics and every record is accounted for: it gives events, or a
        /// problem, or both.
        #[test]
        fn any_record_data_gives_events_or_problems(
            cut in 0usize..400,
            noise in proptest::collection::vec(proptest::num::u8::ANY, 0..64),
            gzipped in proptest::bool::ANY,
        ) {
            let event = format!(
                r#"{{"detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{RECORD}}}"#
            );
            let mut data = format!("{event}\n{event}").into_bytes();
            data.truncate(cut.min(data.len()));
            data.extend(&noise);
            if gzipped {
                let mut gzip =
                    flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
                gzip.write_all(&data).unwrap();
                data = gzip.finish().unwrap();
            }
            let firehose = serde_json::json!({"deliveryStreamArn": "arn", "records": [
                {"recordId": "a", "data": encode(&data)},
                {"recordId": "b", "data": encode(event.as_bytes())},
            ]})
            .to_string();
            let found = seen(&firehose);
            // The intact second record is always read, whatever the first held.
            proptest::prop_assert!(
                matches!(found.last(), Some(Ok((name, EnvelopeKind::Firehose, Some(1)))) if name == "CreateUser"),
                "{:?}", found
            );
            proptest::prop_assert!(found.len() >= 2, "{:?}", found);
        }
    }

    #[test]
    fn lower_case_records_alone_are_no_firehose_event() {
        let records = format!(
            r#"{{"records":[{{"data":"{}"}}]}}"#,
            encode(RECORD.as_bytes())
        );
        let lone = seen(&records);
        assert!(matches!(&lone[..], [Err(_)]), "{lone:?}");
        let not_a_list = r#"{"deliveryStreamArn":"arn","records":{"data":"x"}}"#;
        assert_eq!(
            seen(not_a_list),
            [Err(
                "Firehose event whose \"records\" is not an array".to_string()
            )]
        );
    }
}
