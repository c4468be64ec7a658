//! Benchmark, not part of iamwatch: detection cost with 10 rules against 500 on the same
//! records, one core, nothing stored (read, normalise, detect). Usage:
//! `rule_scaling DATA_DIR CORPUS_DIR` (`bench/rules.sh` runs it).
//!
//! 500 rules = the built-in pack plus synthetic rules shaped like real ones: each pins one to
//! three real API names (the event names found in the shared corpus) and adds one selective
//! condition (root identity, a user-name prefix, an error code, an address block, a user agent).

use iamwatch_detect::rules::file::RuleFile;
use iamwatch_detect::rules::{Rule, RuleSet};
use iamwatch_detect::{builtin_rules, Detector, DetectorConfig};
use iamwatch_pipeline::{process_record, Outcome};
use iamwatch_sources::{open_input, visit_document, Framer, Input, Item};
use serde_json::{json, Value};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

fn api_names(corpus: &Path) -> Vec<(String, String)> {
    let mut names = BTreeSet::new();
    let panther = std::fs::read_to_string(corpus.join("panther/tests.jsonl")).unwrap_or_default();
    for line in panther.lines() {
        let Ok(test) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let record = &test["record"];
        if let (Some(name), Some(source)) =
            (record["eventName"].as_str(), record["eventSource"].as_str())
        {
            names.insert((name.to_string(), source.to_string()));
        }
    }
    for folder in ["raw_logs/stratus-red-team", "raw_logs/aws_dataset"] {
        let Ok(entries) = std::fs::read_dir(corpus.join(folder)) else {
            continue;
        };
        for entry in entries.flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let Ok(value) = serde_json::from_str::<Value>(&text) else {
                continue;
            };
            let records = value.get("Records").cloned().unwrap_or(value);
            for record in records.as_array().into_iter().flatten() {
                if let (Some(name), Some(source)) =
                    (record["eventName"].as_str(), record["eventSource"].as_str())
                {
                    names.insert((name.to_string(), source.to_string()));
                }
            }
        }
    }
    names.into_iter().collect()
}

fn synthetic_rules(count: usize, names: &[(String, String)]) -> Vec<Rule> {
    (0..count)
        .map(|index| {
            let picked: Vec<&(String, String)> = (0..1 + index % 3).map(|offset| &names[(index * 7 + offset * 13) % names.len()]).collect();
            let mut detail = json!({
                "eventSource": [picked[0].1],
                "eventName": picked.iter().map(|(name, _)| name.as_str()).collect::<Vec<_>>(),
            });
            // Selective, as real detections are: each condition holds for a small share of
            // the records that carry the API name.
            match index % 5 {
                0 => detail["userIdentity"] = json!({"type": ["Root"]}),
                1 => detail["requestParameters"] = json!({"userName": [{"prefix": "svc-"}]}),
                2 => detail["errorCode"] = json!(["AccessDenied"]),
                3 => detail["sourceIPAddress"] = json!([{"cidr": "203.0.113.0/24"}]),
                _ => detail["userAgent"] = json!([{"wildcard": "*stratus-red-team*"}]),
            }
            let file: RuleFile = serde_json::from_value(json!({
                "id": format!("synthetic.rule_{index}"),
                "title": {"en": "Synthetic", "ko": "합성 규칙"},
                "description": {"en": "Synthetic rule for the benchmark", "ko": "벤치마크용 합성 규칙"},
                "severity": "LOW",
                "pattern": {"detail": detail},
            }))
            .expect("synthetic rule file");
            Rule::compile(file, "synthetic").expect("synthetic rule compiles")
        })
        .collect()
}

fn run(label: &str, rules: RuleSet, inputs: &[PathBuf]) -> f64 {
    let count = rules.rules().len();
    let detector = Detector::new(DetectorConfig::default(), Arc::new(rules));
    let started = Instant::now();
    let (mut records, mut incidents) = (0u64, 0u64);
    for path in inputs {
        let mut framer =
            Framer::for_input(open_input(&Input::File(path.clone())).expect("open input"));
        while let Some(frame) = framer.next_frame() {
            let Ok(frame) = frame else { continue };
            visit_document(frame.bytes, frame.in_records, &mut |item| {
                if let Item::Record(record) = item {
                    records += 1;
                    if let Outcome::Incident(_) = process_record(&record, &detector, 0) {
                        incidents += 1;
                    }
                }
            });
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    let rate = records as f64 / seconds;
    println!("{label:<12} {count:>4} rules  {records} records  {seconds:>6.2} s  {rate:>9.0} records/s  {incidents} incidents");
    rate
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(data), Some(corpus)) = (args.next(), args.next()) else {
        eprintln!("usage: rule_scaling DATA_DIR CORPUS_DIR");
        std::process::exit(2);
    };
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&data)
        .expect("data dir")
        .flatten()
        .map(|entry| entry.path())
        .collect();
    inputs.sort();
    let names = api_names(Path::new(&corpus));
    let builtin = builtin_rules();
    let ten = RuleSet::new(builtin.rules()[..10].to_vec());
    let mut five_hundred_rules = builtin.rules().to_vec();
    five_hundred_rules.extend(synthetic_rules(500 - five_hundred_rules.len(), &names));
    let five_hundred = RuleSet::new(five_hundred_rules);
    println!(
        "{} real API names pinned by the synthetic rules",
        names.len()
    );
    // Best of two runs each, alternating, so that one noisy run does not decide the ratio.
    let mut small: f64 = 0.0;
    let mut large: f64 = 0.0;
    for _ in 0..2 {
        small = small.max(run("10 rules", ten.clone(), &inputs));
        large = large.max(run("500 rules", five_hundred.clone(), &inputs));
    }
    println!(
        "500-rule throughput is {:.0}% of the 10-rule throughput (target: at least 50%)",
        large / small * 100.0
    );
}
