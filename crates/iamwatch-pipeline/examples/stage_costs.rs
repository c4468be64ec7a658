//! Where a scan's time goes, stage by stage, on one core: each stage runs over the same
//! records, in memory, and its figure includes the stages before it. `bench/stages.sh` runs it;
//! it prints figures and asserts nothing.
//!
//! Usage: stage_costs DIR [MAX_FILES]

use iamwatch_core::time::now_ms;
use iamwatch_detect::{Detector, Verdict};
use iamwatch_normalise::normalise;
use iamwatch_pipeline::{process_record, Outcome};
use iamwatch_sources::{discover, open_input, visit_document, Framer, InputData, Item};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let Some(directory) = args.next() else {
        eprintln!("usage: stage_costs DIR [MAX_FILES]");
        std::process::exit(2);
    };
    let limit: usize = args
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    // Walked as the scan walks it: log files only, in name order.
    let mut inputs = discover(&[directory.into()])
        .expect("readable directory")
        .inputs;
    inputs.truncate(limit);

    let started = Instant::now();
    let files: Vec<Vec<u8>> = inputs
        .iter()
        .map(|input| match open_input(input).expect("readable") {
            InputData::Memory(bytes) => bytes,
            InputData::Stream(_) => panic!("{} is not a small gzip file", input.name()),
        })
        .collect();
    let inflate = started.elapsed().as_secs_f64();

    let detector = Detector::default();
    let now = now_ms();
    let mut records = 0u64;
    let mut incidents = 0u64;
    let mut candidates = 0u64;
    let mut run = |stage: u8| {
        let started = Instant::now();
        let (mut seen, mut found) = (0u64, 0u64);
        for bytes in &files {
            let mut framer = Framer::for_input(InputData::Memory(bytes.clone()));
            while let Some(Ok(frame)) = framer.next_frame() {
                if stage == 0 {
                    seen += 1;
                    continue;
                }
                visit_document(frame.bytes, frame.in_records, &mut |item| {
                    let Item::Record(record) = item else { return };
                    seen += 1;
                    match stage {
                        1 => {}
                        2 => {
                            std::hint::black_box(normalise(&record, now));
                        }
                        3 => {
                            if detector.is_candidate(&normalise(&record, now)) {
                                found += 1;
                            }
                        }
                        4 => {
                            let verdict = detector.evaluate(&normalise(&record, now));
                            if matches!(verdict, Verdict::Incident(_)) {
                                found += 1;
                            }
                        }
                        _ => {
                            if let Outcome::Incident(_) = process_record(&record, &detector, now) {
                                found += 1;
                            }
                        }
                    }
                });
            }
        }
        records = seen;
        match stage {
            3 => candidates = found,
            5 => incidents = found,
            _ => {}
        }
        started.elapsed().as_secs_f64()
    };
    let stages = [
        ("frame", run(0)),
        ("+ parse (typed, borrowed)", run(1)),
        ("+ normalise", run(2)),
        ("+ is any rule a candidate", run(3)),
        ("+ detect (the verdict only)", run(4)),
        ("+ build the incidents", run(5)),
    ];
    println!(
        "{} files, {records} records, {candidates} candidates, {incidents} incidents, one core",
        files.len()
    );
    let per_record = |seconds: f64| seconds * 1e6 / records as f64;
    println!(
        "{:<32} {:>8.2} µs/record",
        "gunzip (whole file)",
        per_record(inflate)
    );
    let mut previous = 0.0;
    for (name, seconds) in stages {
        println!(
            "{name:<32} {:>8.2} µs/record   (stage alone {:>6.2})",
            per_record(seconds),
            per_record(seconds - previous)
        );
        previous = seconds;
    }
}
