//! One delivered body (an ingest request, a Lambda payload, a log file) through the whole
//! pipeline that `serve` and `scan` run: detection, framing, unwrapping, normalising, every
//! rule. It must never panic, and what it reports must add up: no more incidents than records,
//! each incident whole and serialisable, each bad record with a reason. Read again holding S3
//! notifications back (as `serve` does to follow them), it must find the same records and
//! incidents, and the notifications' bad records must be the ones the first read reported.
#![no_main]

use iamwatch_detect::Detector;
use iamwatch_pipeline::{read_body, read_body_into, Chunk};
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn detector() -> &'static Detector {
    static DETECTOR: OnceLock<Detector> = OnceLock::new();
    DETECTOR.get_or_init(Detector::default)
}

fuzz_target!(|bytes: &[u8]| {
    let chunk = read_body(bytes.to_vec(), "fuzz", detector());
    assert!(chunk.incidents.len() as u64 <= chunk.records, "{chunk:?}");
    assert!(chunk.skipped.len() as u64 <= chunk.records, "{chunk:?}");
    // (The same eventID twice in one body makes two incidents of one id here; the store keeps
    // one.)
    for incident in &chunk.incidents {
        assert!(!incident.incident_id.is_empty() && !incident.event_id.is_empty());
        serde_json::to_string(incident).expect("an incident serialises");
    }
    for bad in &chunk.bad {
        assert!(!bad.reason.is_empty(), "{bad:?}");
    }

    let mut following = Chunk::following_notices();
    read_body_into(bytes.to_vec(), "fuzz", detector(), &mut following);
    assert_eq!(following.records, chunk.records);
    let ids = |chunk: &Chunk| -> Vec<String> {
        chunk
            .incidents
            .iter()
            .map(|incident| incident.incident_id.clone())
            .collect()
    };
    assert_eq!(ids(&following), ids(&chunk));
    let notices = following.notices.take().unwrap_or_default();
    let mut held: Vec<String> = following
        .bad
        .iter()
        .chain(notices.iter().map(|notice| &notice.unread))
        .map(|bad| format!("{bad:?}"))
        .collect();
    let mut reported: Vec<String> = chunk.bad.iter().map(|bad| format!("{bad:?}")).collect();
    held.sort();
    reported.sort();
    assert_eq!(held, reported);
    for notice in &notices {
        assert!(!notice.objects.is_empty(), "{notice:?}");
    }
});
