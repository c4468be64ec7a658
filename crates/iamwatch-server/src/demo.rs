//! `serve --demo`: replays the bundled sample events at a steady pace, as fresh events (new
//! ids, the current time), through the same path as `POST /v1/events`, so a newcomer sees
//! incidents arrive on the dashboard.

use crate::state::AppState;
use axum::body::Bytes;
use serde_json::Value;
use std::time::Duration;

/// Realistic records for every seed event family (see tests/fixtures/make_seed_events.py).
const SAMPLES: &str = include_str!("../../../tests/fixtures/seed_events.jsonl");

/// The sample records, parsed once.
pub fn samples() -> Vec<Value> {
    SAMPLES
        .lines()
        .filter(|line| !line.trim().is_empty())
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

/// `record` as a new event: a unique id (`round` and the original id) and the current time.
pub fn refresh(record: &Value, round: u64, now_ms: i64) -> Value {
    let mut record = record.clone();
    if let Some(object) = record.as_object_mut() {
        let id = object
            .get("eventID")
            .and_then(Value::as_str)
            .unwrap_or("event")
            .to_string();
        object.insert("eventID".into(), Value::from(format!("demo-{round}-{id}")));
        object.insert(
            "eventTime".into(),
            Value::from(iamwatch_core::time::format_rfc3339_ms(now_ms)),
        );
    }
    record
}

pub async fn run(state: AppState, interval: Duration) {
    let samples = samples();
    let mut shutdown = state.shutdown.clone();
    let mut ticker = tokio::time::interval(interval);
    let start = iamwatch_core::time::now_ms().max(0) as u64;
    for step in 0u64.. {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = shutdown.changed() => return,
        }
        let Some(record) = samples.get((step % samples.len().max(1) as u64) as usize) else {
            return;
        };
        let round = start + step / samples.len() as u64;
        let event = refresh(record, round, iamwatch_core::time::now_ms());
        let body = Bytes::from(event.to_string());
        if let Err(error) =
            crate::ingest::ingest_body(&state, body, format!("demo #{step}"), None).await
        {
            tracing::warn!(%error, "demo event not ingested");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_load_and_refresh_into_new_events() {
        let samples = samples();
        assert!(samples.len() >= 40, "{}", samples.len());
        let fresh = refresh(&samples[0], 7, 1_714_521_600_000);
        assert_eq!(fresh["eventTime"], "2024-05-01T00:00:00.000Z");
        assert!(fresh["eventID"].as_str().unwrap().starts_with("demo-7-"));
        assert_ne!(fresh["eventID"], refresh(&samples[0], 8, 0)["eventID"]);
    }
}
