//! Events exported from where a team keeps them read as the trail's own records: CloudWatch
//! Logs (exported to S3, or followed with `aws logs tail`), Athena's table, an Elasticsearch or
//! OpenSearch index, and Splunk.

use crate::helpers::*;
use crate::shapes::*;
use serde_json::{json, Value};

/// A record as a row of Athena's CloudTrail table, written as JSON.
fn athena_row(record: &Value) -> Value {
    fn lower_keys(value: &Value) -> Value {
        match value {
            Value::Object(map) => map
                .iter()
                .map(|(key, value)| (key.to_lowercase(), lower_keys(value)))
                .collect(),
            other => other.clone(),
        }
    }
    let Value::Object(map) = record else {
        unreachable!("records are objects")
    };
    map.iter()
        .map(|(key, value)| {
            let as_text = [
                "requestParameters",
                "responseElements",
                "additionalEventData",
            ]
            .contains(&key.as_str());
            let value = match value {
                Value::Null => Value::Null,
                value if as_text => Value::String(value.to_string()),
                value => lower_keys(value),
            };
            (key.to_lowercase(), value)
        })
        .collect()
}

#[test]
fn every_export_shape_yields_the_same_incidents() {
    let records = seed_records();
    let expected = seed_baseline();

    // A trail's log group exported to S3 (`aws logs create-export-task`): gzipped lines of the
    // event's timestamp, a space, and the record.
    let log_export: String = records
        .iter()
        .map(|record| format!("2024-06-01T09:00:00.123Z {record}\n"))
        .collect();
    // Athena's CloudTrail table exported as JSON (`UNLOAD … WITH (format = 'JSON')`): column and
    // struct field names lower-cased, and the request, response and additional data as text.
    let athena: Vec<Value> = records.iter().map(athena_row).collect();
    // `aws logs tail` on the log group (as piped into `iamwatch scan -`): its default format
    // (timestamp, log stream, record) and `--format json` (the record pretty-printed after).
    let stream = "111122223333_CloudTrail_us-east-1";
    let tail_detailed: String = records
        .iter()
        .map(|record| format!("2024-06-01T09:00:00.123000+00:00 {stream} {record}\n"))
        .collect();
    let tail_json: String = records
        .iter()
        .map(|record| {
            let pretty = serde_json::to_string_pretty(record).unwrap();
            format!("2024-06-01T09:00:00+00:00 {stream}\n{pretty}\n")
        })
        .collect();
    // Elasticsearch or OpenSearch: hits one per line as `elasticdump` writes them, and a saved
    // `_search` answer.
    let hits: Vec<Value> = records
        .iter()
        .enumerate()
        .map(|(n, record)| json!({"_index": "cloudtrail-2024.06.01", "_id": n.to_string(), "_score": 1.0, "_source": record}))
        .collect();
    let search_answer = json!({"took": 3, "timed_out": false,
        "hits": {"total": {"value": hits.len(), "relation": "eq"}, "max_score": 1.0, "hits": hits}});
    // Splunk: search results exported as JSON, each record as it was indexed, as text.
    let splunk: Vec<Value> = records
        .iter()
        .map(|record| json!({"preview": false, "result": {"_raw": record.to_string(), "_time": "2024-06-01T09:00:00.000+00:00", "sourcetype": "aws:cloudtrail"}}))
        .collect();
    let shapes: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "Splunk results exported as JSON",
            json_lines(&splunk),
            "splunk",
        ),
        ("aws logs tail", tail_detailed.into_bytes(), "bare"),
        (
            "aws logs tail --format json",
            tail_json.into_bytes(),
            "bare",
        ),
        ("Athena table exported as JSON", json_lines(&athena), "bare"),
        (
            "CloudWatch Logs export to S3 (timestamp, then the record)",
            gzip(log_export.as_bytes()),
            "bare",
        ),
        ("elasticdump hits", json_lines(&hits), "search_index"),
        (
            "saved _search answer",
            serde_json::to_vec_pretty(&search_answer).unwrap(),
            "search_index",
        ),
    ];
    for (index, (shape, bytes, envelope)) in shapes.into_iter().enumerate() {
        let name = format!("export-{index}.json");
        assert_reads_as(&expected, records.len(), shape, &name, &bytes, envelope);
    }
}
