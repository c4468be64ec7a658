//! Panther's CloudTrail rule tests (`../shared/corpus/panther/tests.jsonl`, written outside this
//! team): on how many of their positive records does iamwatch raise an alert, and on how many
//! negatives? Each record is judged alone (Panther's test records reuse eventIDs, so a store
//! would merge them).
//!
//! The target is 90% of positives, and the assertion below holds the pack to it; the
//! figures are printed (`cargo test -- --nocapture`).

use iamwatch_detect::Detector;
use iamwatch_pipeline::{process_record, Outcome};
use iamwatch_sources::{visit_document, Item};
use serde_json::Value;

/// What the built-in pack reached when this floor was last raised; never lower it.
const POSITIVE_FLOOR: f64 = 0.90;

fn alerts(detector: &Detector, record: &Value) -> bool {
    let bytes = record.to_string();
    let mut alerted = false;
    visit_document(bytes.as_bytes(), false, &mut |item| {
        if let Item::Record(record) = item {
            alerted |= matches!(process_record(&record, detector, 0), Outcome::Incident(_));
        }
    });
    alerted
}

#[test]
fn panther_positive_records_are_alerted() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/panther/tests.jsonl"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|error| panic!("{path}: {error}"));
    let detector = Detector::default();
    let (mut positives, mut positives_alerted, mut negatives, mut negatives_alerted) = (0, 0, 0, 0);
    let mut missed = Vec::new();
    for line in text.lines() {
        let test: Value = serde_json::from_str(line).unwrap();
        let shape = test["record_shape"].as_str().unwrap_or("");
        if !shape.starts_with("cloudtrail") {
            continue;
        }
        let alerted = alerts(&detector, &test["record"]);
        if test["expected"] == true {
            positives += 1;
            if alerted {
                positives_alerted += 1;
            } else {
                missed.push(format!(
                    "{} / {}",
                    test["rule_id"].as_str().unwrap_or(""),
                    test["test_name"].as_str().unwrap_or("")
                ));
            }
        } else {
            negatives += 1;
            negatives_alerted += usize::from(alerted);
        }
    }
    let positive_share = positives_alerted as f64 / positives as f64;
    let negative_share = negatives_alerted as f64 / negatives as f64;
    println!(
        "Panther positives alerted: {positives_alerted}/{positives} ({:.1}%)",
        positive_share * 100.0
    );
    println!(
        "Panther negatives alerted: {negatives_alerted}/{negatives} ({:.1}%)",
        negative_share * 100.0
    );
    for name in &missed {
        println!("  missed: {name}");
    }
    assert!(positives > 200, "the corpus has its positive records");
    assert!(
        positive_share >= POSITIVE_FLOOR,
        "positives alerted fell to {:.1}%",
        positive_share * 100.0
    );
}
