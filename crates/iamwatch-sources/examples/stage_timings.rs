//! Profiling aid: how long each stage of reading takes on one core, cumulatively
//! (gunzip; + framing; + typed parse). Usage: stage_timings DIR [MAX_FILES]

use iamwatch_sources::{open_input, visit_document, Framer, Input, Item};
use std::io::Read;
use std::time::Instant;

fn main() {
    let directory = std::env::args()
        .nth(1)
        .expect("usage: stage_timings DIR [MAX_FILES]");
    let limit: usize = std::env::args()
        .nth(2)
        .and_then(|text| text.parse().ok())
        .unwrap_or(usize::MAX);
    let mut paths: Vec<_> = std::fs::read_dir(&directory)
        .expect("dir")
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .collect();
    paths.sort();
    paths.truncate(limit);

    let started = Instant::now();
    let mut in_memory = 0usize;
    for path in &paths {
        if let iamwatch_sources::InputData::Memory(bytes) =
            open_input(&Input::File(path.clone())).expect("open")
        {
            in_memory += bytes.len();
        }
    }
    println!(
        "open (inflate)      {:>7.3} s  ({} MB whole in memory)",
        started.elapsed().as_secs_f64(),
        in_memory / 1_000_000
    );

    let started = Instant::now();
    let mut bytes = 0usize;
    let mut buffer = vec![0u8; 256 * 1024];
    for path in &paths {
        let mut reader = open_input(&Input::File(path.clone())).expect("open");
        loop {
            let count = reader.read(&mut buffer).expect("read");
            if count == 0 {
                break;
            }
            bytes += count;
        }
    }
    println!(
        "gunzip              {:>7.3} s  ({} MB)",
        started.elapsed().as_secs_f64(),
        bytes / 1_000_000
    );

    let started = Instant::now();
    let mut frames = 0usize;
    for path in &paths {
        let mut framer = Framer::for_input(open_input(&Input::File(path.clone())).expect("open"));
        while let Some(frame) = framer.next_frame() {
            frame.expect("frame");
            frames += 1;
        }
    }
    println!(
        "+ framing           {:>7.3} s  ({frames} records)",
        started.elapsed().as_secs_f64()
    );

    let started = Instant::now();
    let mut records = 0usize;
    for path in &paths {
        let mut framer = Framer::for_input(open_input(&Input::File(path.clone())).expect("open"));
        while let Some(frame) = framer.next_frame() {
            let frame = frame.expect("frame");
            visit_document(frame.bytes, frame.in_records, &mut |item| {
                if let Item::Record(_) = item {
                    records += 1;
                }
            });
        }
    }
    println!(
        "+ typed parse       {:>7.3} s  ({records} records)",
        started.elapsed().as_secs_f64()
    );
    head_parse(&paths);
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Head<'a> {
    #[serde(borrow, rename = "eventName")]
    event_name: Option<&'a str>,
    #[serde(borrow, rename = "eventSource")]
    event_source: Option<&'a str>,
    #[serde(rename = "readOnly")]
    read_only: Option<bool>,
    #[serde(borrow, rename = "userIdentity")]
    user_identity: Option<HeadIdentity<'a>>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct HeadIdentity<'a> {
    #[serde(borrow, rename = "type")]
    identity_type: Option<&'a str>,
    #[serde(borrow, rename = "invokedBy")]
    invoked_by: Option<&'a str>,
}

pub fn head_parse(paths: &[std::path::PathBuf]) {
    let started = Instant::now();
    let mut roots = 0usize;
    for path in paths {
        let mut framer = Framer::for_input(open_input(&Input::File(path.clone())).expect("open"));
        while let Some(frame) = framer.next_frame() {
            let frame = frame.expect("frame");
            let head: Head = sonic_rs::from_slice(frame.bytes).expect("head");
            if head
                .user_identity
                .and_then(|identity| identity.identity_type)
                == Some("Root")
            {
                roots += 1;
            }
        }
    }
    println!(
        "+ head-only parse   {:>7.3} s  ({roots} root)",
        started.elapsed().as_secs_f64()
    );
}
