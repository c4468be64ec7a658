//! One delivered body (an ingest request, a Lambda payload, a log file) through the whole
//! pipeline that `serve` and `scan` run: detection, framing, unwrapping, normalising, every
//! rule. It must never panic, and what it reports must add up: no more incidents than records,
//! each incident whole and serialisable, each bad record with a reason.
#![no_main]

use iamwatch_detect::Detector;
use iamwatch_pipeline::read_body;
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
});
