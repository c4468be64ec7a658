//! Every way AWS delivers CloudTrail gives the same incidents.

use crate::helpers::*;
use crate::shapes::*;
use flate2::write::GzEncoder;
use serde_json::{json, Value};
use std::io::Write;
use std::path::PathBuf;

fn eventbridge(record: &Value) -> Value {
    let sign_in = record["eventSource"] == "signin.amazonaws.com";
    json!({
        "version": "0",
        "id": format!("eb-{}", record["eventID"].as_str().unwrap()),
        "detail-type": if sign_in { "AWS Console Sign In via CloudTrail" } else { "AWS API Call via CloudTrail" },
        "source": format!("aws.{}", record["eventSource"].as_str().unwrap().trim_end_matches(".amazonaws.com")),
        "account": "111122223333",
        "time": record["eventTime"],
        "region": "us-east-1",
        "resources": [],
        "detail": record,
    })
}

#[test]
fn every_delivery_shape_yields_the_same_incidents() {
    let records = seed_records();
    let expected = seed_baseline();

    let log_file = json!({ "Records": records }).to_string();
    let events: Vec<Value> = records.iter().map(eventbridge).collect();
    let sns_lambda = json!({
        "Records": events.iter().map(|event| json!({
            "EventSource": "aws:sns", "EventVersion": "1.0",
            "Sns": {"Type": "Notification", "MessageId": "m", "TopicArn": "arn:aws:sns:us-east-1:111122223333:iam-events", "Message": event.to_string()}
        })).collect::<Vec<_>>()
    });
    let sqs_lambda = json!({
        "Records": events.iter().map(|event| json!({
            "messageId": "q", "eventSource": "aws:sqs",
            "body": json!({"Type": "Notification", "Message": event.to_string()}).to_string()
        })).collect::<Vec<_>>()
    });
    // A trail logging to CloudWatch Logs, forwarded by a subscription filter: batches of log
    // events whose messages are the records.
    let log_batch = |records: &[Value]| {
        json!({
            "messageType": "DATA_MESSAGE", "owner": "111122223333", "logGroup": "aws-cloudtrail-logs-111122223333",
            "logStream": "111122223333_CloudTrail_us-east-1", "subscriptionFilters": ["iamwatch"],
            "logEvents": records.iter().enumerate().map(|(id, record)| json!({
                "id": id.to_string(), "timestamp": 1_717_200_000_000_i64, "message": record.to_string()
            })).collect::<Vec<_>>()
        })
        .to_string()
    };
    let (first, second) = records.split_at(records.len() / 2);
    // Firehose writes batches back to back, gzipped; Lambda gets one, gzipped and base64-encoded.
    let cloudwatch_firehose = gzip((log_batch(first) + &log_batch(second)).as_bytes());
    let cloudwatch_lambda = json!({"awslogs": {
        "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, gzip(log_batch(&records).as_bytes()))
    }});
    // `aws cloudtrail lookup-events`: each event summarised, its record as text.
    let lookup_events: Vec<Value> = records
        .iter()
        .map(|record| {
            json!({
                "EventId": record["eventID"], "EventName": record["eventName"], "ReadOnly": "false",
                "EventTime": record["eventTime"], "EventSource": record["eventSource"],
                "Username": "alice", "Resources": [], "CloudTrailEvent": record.to_string()
            })
        })
        .collect();
    let lookup_answer = json!({"Events": lookup_events, "NextToken": "page-2"});
    // Kinesis Data Streams to Lambda: a CloudWatch Logs subscription's batches (gzipped), or
    // an EventBridge rule's events (JSON), each record's data base64-encoded.
    let kinesis = |payloads: Vec<Vec<u8>>| {
        json!({"Records": payloads.iter().enumerate().map(|(n, payload)| json!({
            "kinesis": {"kinesisSchemaVersion": "1.0", "partitionKey": "p", "sequenceNumber": n.to_string(),
                        "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, payload)},
            "eventSource": "aws:kinesis", "eventVersion": "1.0", "eventID": format!("shardId-000:{n}"),
            "eventName": "aws:kinesis:record", "awsRegion": "us-east-1"
        })).collect::<Vec<_>>()})
        .to_string()
        .into_bytes()
    };
    let kinesis_logs = kinesis(vec![
        gzip(log_batch(first).as_bytes()),
        gzip(log_batch(second).as_bytes()),
    ]);
    let kinesis_events = kinesis(
        events
            .iter()
            .map(|event| event.to_string().into_bytes())
            .collect(),
    );
    // Amazon Data Firehose: to a transformation Lambda (an EventBridge rule's events), and to
    // an HTTP endpoint (a CloudWatch Logs subscription's batches, gzipped).
    let firehose_record = |n: usize, payload: &[u8]| {
        json!({"recordId": format!("r{n}"), "approximateArrivalTimestamp": 1_717_200_000_000_i64,
               "data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, payload)})
    };
    let firehose_transformation = json!({
        "invocationId": "i", "region": "us-east-1",
        "deliveryStreamArn": "arn:aws:firehose:us-east-1:111122223333:deliverystream/iam-events",
        "records": events.iter().enumerate()
            .map(|(n, event)| firehose_record(n, event.to_string().as_bytes()))
            .collect::<Vec<_>>()
    });
    let firehose_http = json!({
        "requestId": "ed4acda5-034f-9f42-bba1-f29aea6d7d8f", "timestamp": 1_717_200_000_000_i64,
        "records": [
            firehose_record(0, &gzip(log_batch(first).as_bytes())),
            firehose_record(1, &gzip(log_batch(second).as_bytes())),
        ]
    });
    // `aws sqs receive-message` on a queue an EventBridge rule fills (a dead-letter queue, say).
    let receive_message = json!({"Messages": events.iter().enumerate().map(|(n, event)| json!({
        "MessageId": format!("m{n}"), "ReceiptHandle": "r", "MD5OfBody": "x", "Body": event.to_string()
    })).collect::<Vec<_>>()});
    let shapes: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "ReceiveMessage answer (aws sqs receive-message)",
            serde_json::to_vec_pretty(&receive_message).unwrap(),
            "sqs",
        ),
        (
            "Kinesis Lambda event of CloudWatch Logs batches",
            kinesis_logs,
            "kinesis",
        ),
        (
            "Kinesis Lambda event of EventBridge events",
            kinesis_events,
            "kinesis",
        ),
        (
            "Firehose transformation Lambda event of EventBridge events",
            firehose_transformation.to_string().into_bytes(),
            "firehose",
        ),
        (
            "Firehose HTTP endpoint request of CloudWatch Logs batches",
            firehose_http.to_string().into_bytes(),
            "firehose",
        ),
        (
            "LookupEvents answer (aws cloudtrail lookup-events)",
            serde_json::to_vec_pretty(&lookup_answer).unwrap(),
            "lookup_events",
        ),
        (
            "LookupEvents events one per line (jq -c '.Events[]')",
            json_lines(&lookup_events),
            "lookup_events",
        ),
        (
            "CloudWatch Logs batches as Firehose writes them",
            cloudwatch_firehose,
            "cloudwatch_logs",
        ),
        (
            "CloudWatch Logs subscription Lambda event",
            cloudwatch_lambda.to_string().into_bytes(),
            "cloudwatch_logs",
        ),
        (
            "gzipped CloudTrail log file",
            gzip(log_file.as_bytes()),
            "cloudtrail_file",
        ),
        (
            "CloudTrail log file without .gz but gzipped",
            gzip(log_file.as_bytes()),
            "cloudtrail_file",
        ),
        ("EventBridge JSON Lines", json_lines(&events), "eventbridge"),
        (
            "JSON array of EventBridge events",
            serde_json::to_vec_pretty(&events).unwrap(),
            "eventbridge",
        ),
        (
            "SNS Lambda event",
            sns_lambda.to_string().into_bytes(),
            "sns",
        ),
        (
            "SQS Lambda event",
            sqs_lambda.to_string().into_bytes(),
            "sqs",
        ),
        (
            "bare JSON array (Stratus style)",
            serde_json::to_vec_pretty(&records).unwrap(),
            "bare",
        ),
    ];
    for (index, (shape, bytes, envelope)) in shapes.into_iter().enumerate() {
        let name = if shape == "gzipped CloudTrail log file" {
            "111122223333_CloudTrail_us-east-1_20240601T0900Z_abc.json.gz".to_string()
        } else {
            format!("input-{index}.json")
        };
        assert_reads_as(&expected, records.len(), shape, &name, &bytes, envelope);
    }
}

#[test]
fn standard_input_and_directories_are_read() {
    let workspace = Workspace::new();
    let bytes = std::fs::read(fixture("seed_events.jsonl")).unwrap();
    let piped = scan_stdin(&workspace, &["--format", "jsonl"], &gzip(&bytes));
    assert_success(&piped);
    let from_stdin = summary(&piped);

    let tree = Workspace::new();
    let records = seed_records();
    std::fs::create_dir_all(tree.path("trail/2024/06/01")).unwrap();
    let (first, second) = records.split_at(20);
    tree.write(
        "trail/2024/06/01/a.json.gz",
        &gzip(json!({ "Records": first }).to_string().as_bytes()),
    );
    tree.write(
        "trail/2024/06/01/b.json",
        json!({ "Records": second }).to_string().as_bytes(),
    );
    tree.write("trail/README.md", b"# not a log\n");
    let walked = tree.scan(&["--format", "jsonl"], &[&tree.path("trail")]);
    assert_success(&walked);
    assert_eq!(summary(&walked), from_stdin);
    assert!(
        stderr(&walked).contains("passed over 1 file(s)"),
        "{}",
        stderr(&walked)
    );
}

/// Standard input between files is read in its place: the incidents come in the order of the
/// arguments, as when the same records are given as a file there.
#[test]
fn standard_input_among_files_keeps_its_place() {
    let records = seed_records();
    let (first, rest) = records.split_at(15);
    let (middle, last) = rest.split_at(15);
    let lines = |records: &[Value]| {
        records
            .iter()
            .map(|record| record.to_string() + "\n")
            .collect::<String>()
    };
    let event_ids = |output: &std::process::Output| -> Vec<String> {
        assert_success(output);
        incidents_of(output)
            .iter()
            .map(|incident| incident["event_id"].as_str().unwrap().to_string())
            .collect()
    };

    let piped = Workspace::new();
    let before = piped.write("before.jsonl", lines(first).as_bytes());
    let after = piped.write("after.jsonl", lines(last).as_bytes());
    let before = before.to_str().expect("a UTF-8 path");
    // The command ends with `-` (stdin): the first file goes before it, the last after.
    let from_pipe = run_with_stdin(
        scan_stdin_command(&piped, &["--format", "jsonl", before]).arg(&after),
        lines(middle).as_bytes(),
    );

    let files = Workspace::new();
    let paths = [
        files.write("a.jsonl", lines(first).as_bytes()),
        files.write("b.jsonl", lines(middle).as_bytes()),
        files.write("c.jsonl", lines(last).as_bytes()),
    ];
    let from_files = files.scan(
        &["--format", "jsonl"],
        &paths.iter().map(PathBuf::as_path).collect::<Vec<_>>(),
    );
    let expected = event_ids(&from_files);
    assert!(expected.len() > 10, "{expected:?}");
    assert_eq!(event_ids(&from_pipe), expected);
}

/// `text` as UTF-16 with a byte-order mark, as PowerShell 5's `>` and `Out-File` save it.
fn utf16(text: &str, little_endian: bool) -> Vec<u8> {
    let mut bytes = if little_endian {
        vec![0xFF, 0xFE]
    } else {
        vec![0xFE, 0xFF]
    };
    for unit in text.encode_utf16() {
        bytes.extend_from_slice(&if little_endian {
            unit.to_le_bytes()
        } else {
            unit.to_be_bytes()
        });
    }
    bytes
}

/// Events saved as UTF-16 (a Windows export) are read as the UTF-8 they stand for, from a
/// plain file, a gzipped one and standard input, with the same line numbers in what is
/// reported.
#[test]
fn utf16_exports_are_read_like_utf8() {
    let workspace = Workspace::new();
    let text = std::fs::read_to_string(fixture("seed_events.jsonl")).unwrap();
    let baseline = workspace.scan(&["--format", "jsonl"], &[&fixture("seed_events.jsonl")]);
    assert_success(&baseline);
    let expected = summary(&baseline);

    // A bad line among them: reported at its line, as in UTF-8.
    let with_bad_line = format!("{text}{{\"eventID\": oops}}\r\n");
    let bad_line = text.lines().count() + 1;
    for (how, little_endian) in [("plain LE", true), ("gzip BE", false), ("stdin LE", true)] {
        let scanned = Workspace::new();
        let bytes = utf16(&with_bad_line, little_endian);
        let output = match how {
            "plain LE" => scanned.scan(
                &["--format", "jsonl"],
                &[&scanned.write("events.json", &bytes)],
            ),
            "gzip BE" => scanned.scan(
                &["--format", "jsonl"],
                &[&scanned.write("events.json.gz", &gzip(&bytes))],
            ),
            _ => scan_stdin(&scanned, &["--format", "jsonl"], &bytes),
        };
        assert_success(&output);
        assert_eq!(summary(&output), expected, "{how}: {}", stderr(&output));
        let dead_letters = std::fs::read_to_string(scanned.path("dead-letter.jsonl")).unwrap();
        let dead: Value = serde_json::from_str(dead_letters.trim()).unwrap();
        assert_eq!(dead["line"], bad_line, "{how}");
        assert_eq!(dead["raw"], "{\"eventID\": oops}", "{how}");
    }
}

/// Files saved with a byte-order mark and joined with `cat` (a mark before each file's
/// records) are read whole, plain or gzipped.
#[test]
fn files_joined_with_their_byte_order_marks_are_read_whole() {
    let records = seed_records();
    let (first, second) = records.split_at(20);
    let mut joined = b"\xEF\xBB\xBF".to_vec();
    for record in first {
        joined.extend_from_slice(format!("{record}\r\n").as_bytes());
    }
    joined.extend_from_slice(b"\xEF\xBB\xBF");
    joined.extend_from_slice(json!({ "Records": second }).to_string().as_bytes());

    let baseline_workspace = Workspace::new();
    let baseline =
        baseline_workspace.scan(&["--format", "jsonl"], &[&fixture("seed_events.jsonl")]);
    assert_success(&baseline);
    for name in ["joined.json", "joined.json.gz"] {
        let workspace = Workspace::new();
        let bytes = if name.ends_with(".gz") {
            gzip(&joined)
        } else {
            joined.clone()
        };
        let output = workspace.scan(&["--format", "jsonl"], &[&workspace.write(name, &bytes)]);
        assert_success(&output);
        assert_eq!(
            summary(&output),
            summary(&baseline),
            "{name}: {}",
            stderr(&output)
        );
        assert!(!workspace.path("dead-letter.jsonl").exists(), "{name}");
    }
}

/// A CloudTrail Insights event about `api` of `source`, as a trail writes it.
fn insight(id: &str, source: &str, api: &str, state: &str) -> Value {
    json!({
        "eventVersion": "1.08", "eventTime": "2024-06-01T00:00:00Z", "awsRegion": "us-east-1",
        "eventID": id, "eventType": "AwsCloudTrailInsight", "recipientAccountId": "111122223333",
        "sharedEventID": format!("shared-{id}"), "eventCategory": "Insight",
        "insightDetails": {
            "state": state, "eventSource": source, "eventName": api,
            "insightType": "ApiCallRateInsight",
            "insightContext": {"statistics": {"baseline": {"average": 0.01}, "insight": {"average": 5.0}}},
        },
    })
}

/// CloudTrail Insights events (a trail's `CloudTrail-Insight` files, and EventBridge's "AWS
/// Insight via CloudTrail") were dead letters: they have no eventName of their own. Each is an
/// incident of its own rule, never taken for a call of the API it names.
#[test]
fn insights_events_are_incidents_of_their_own_and_not_api_calls() {
    let workspace = Workspace::new();
    let folder = workspace.path("AWSLogs/111122223333/CloudTrail-Insight/us-east-1/2024/06/01");
    std::fs::create_dir_all(&folder).unwrap();
    let trail = json!({"Records": [
        insight("ins-start", "iam.amazonaws.com", "DeleteUser", "Start"),
        insight("ins-end", "iam.amazonaws.com", "DeleteUser", "End"),
        insight("ins-ec2", "ec2.amazonaws.com", "RunInstances", "Start"),
    ]});
    let mut gz = GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(trail.to_string().as_bytes()).unwrap();
    let name = "111122223333_CloudTrail-Insight_us-east-1_20240601T0000Z_x.json.gz";
    std::fs::write(folder.join(name), gz.finish().unwrap()).unwrap();
    let event = json!({
        "version": "0", "detail-type": "AWS Insight via CloudTrail", "source": "aws.iam",
        "account": "111122223333", "time": "2024-06-01T00:00:00Z", "region": "us-east-1",
        "detail": insight("ins-eb", "iam.amazonaws.com", "CreateAccessKey", "Start"),
    });
    let events = workspace.write("insight-event.json", event.to_string().as_bytes());

    let output = workspace.scan(
        &["--format", "jsonl"],
        &[&workspace.path("AWSLogs"), &events],
    );
    assert_success(&output);
    assert!(
        !stderr(&output).contains("unreadable"),
        "{}",
        stderr(&output)
    );
    let incidents = incidents_of(&output);
    let by_id = |id: &str| {
        incidents
            .iter()
            .find(|incident| incident["event_id"] == id)
            .unwrap_or_else(|| panic!("no incident for {id}: {incidents:?}"))
    };
    for (id, severity, title) in [
        (
            "ins-start",
            "MEDIUM",
            "Unusual call rate of DeleteUser (IAM) began",
        ),
        (
            "ins-end",
            "LOW",
            "Unusual call rate of DeleteUser (IAM) ended",
        ),
        (
            "ins-ec2",
            "LOW",
            "Unusual call rate of RunInstances (EC2) began",
        ),
        // On the skip list as a call; an Insights event about it is not one.
        (
            "ins-eb",
            "MEDIUM",
            "Unusual call rate of CreateAccessKey (IAM) began",
        ),
    ] {
        let incident = by_id(id);
        assert_eq!(incident["rule_id"], "cloudtrail.insight", "{incident}");
        assert_eq!(
            incident["meta"]["rules"],
            json!(["cloudtrail.insight"]),
            "{incident}"
        );
        assert_eq!(incident["severity"], severity, "{incident}");
        assert_eq!(incident["title"], title, "{incident}");
    }
    assert_eq!(
        by_id("ins-start")["event_type"],
        "Unusual activity: Delete user"
    );
    assert_eq!(by_id("ins-start")["resource"], "DeleteUser");
    assert_eq!(by_id("ins-eb")["meta"]["envelope"], "eventbridge");
    assert_eq!(incidents.len(), 4);
}
