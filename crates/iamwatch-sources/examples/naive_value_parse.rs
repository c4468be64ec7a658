//! Benchmark baseline, not part of iamwatch: the naive way to read CloudTrail, gunzip each file
//! whole and parse it into `serde_json::Value`, on one core. `bench/scan.sh` runs it beside the
//! real scan so that both are measured on the same files, in the same run.
//!
//! Usage: naive_value_parse DIR

use flate2::read::MultiGzDecoder;
use iamwatch_sources::{discover, Input};
use std::io::Read;
use std::time::Instant;

fn main() {
    let Some(directory) = std::env::args().nth(1) else {
        eprintln!("usage: naive_value_parse DIR");
        std::process::exit(2);
    };
    // The same files the scan reads (log files, in name order); only the listing is shared.
    let inputs = discover(&[directory.into()])
        .expect("readable directory")
        .inputs;
    let started = Instant::now();
    let mut records = 0usize;
    for input in &inputs {
        let Input::File(path) = input else { continue };
        let mut text = Vec::new();
        MultiGzDecoder::new(std::fs::File::open(path).expect("open"))
            .read_to_end(&mut text)
            .expect("gunzip");
        let value: serde_json::Value = serde_json::from_slice(&text).expect("valid JSON");
        records += value["Records"].as_array().map_or(0, Vec::len);
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("{records} {seconds:.3}");
}
