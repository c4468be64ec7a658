//! Recalling the incidents of a period, oldest first: what a process that starts reads so that
//! its stateful detections remember the events before it.

use super::{sample_incident_for, unique_prefix};
use crate::{recall_each, IncidentStore};
use iamwatch_core::{Incident, Severity};

pub async fn incidents_are_recalled_oldest_first_from_a_time(store: &dyn IncidentStore) {
    let prefix = unique_prefix();
    // A stretch of time (in 2100) no other check writes in, and each run its own within it.
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.subsec_nanos())
        .unwrap_or(0);
    let base = 4_102_444_800_000 + i64::from(nanos) * 100;
    // Stored out of order, two at one time (told apart by incident id), one before the period.
    let offsets = [50, 10, 30, 30, 20, 60, -5];
    let incidents: Vec<Incident> = offsets
        .iter()
        .enumerate()
        .map(|(n, offset)| {
            sample_incident_for(
                &format!("{prefix}-recall-{n}"),
                base + offset,
                Severity::Medium,
                "111122223333",
            )
        })
        .collect();
    store.insert_batch(incidents.clone()).await.unwrap();
    let ours = |incident: &Incident| incident.event_id.starts_with(&format!("{prefix}-"));
    let mut expected: Vec<Incident> = incidents
        .into_iter()
        .filter(|incident| incident.event_time_ms >= base)
        .map(|incident| Incident {
            raw: None,
            ..incident
        })
        .collect();
    expected
        .sort_by(|a, b| (a.event_time_ms, &a.incident_id).cmp(&(b.event_time_ms, &b.incident_id)));

    // Two at a time, each page going on from the last incident of the one before.
    let mut recalled = Vec::new();
    let mut after = None;
    loop {
        let page = store.recall(base, after.clone(), 2).await.unwrap();
        assert!(page.len() <= 2);
        let times: Vec<(i64, &str)> = page
            .iter()
            .map(|incident| (incident.event_time_ms, incident.incident_id.as_str()))
            .collect();
        assert!(
            times.windows(2).all(|pair| pair[0] < pair[1]),
            "oldest first: {times:?}"
        );
        let Some(last) = page.last() else { break };
        assert!(
            after
                .as_ref()
                .is_none_or(|after| (last.event_time_ms, &last.incident_id) > (after.0, &after.1)),
            "a page goes on after the one before"
        );
        // Later incidents are other runs': this run's are all read by then.
        let past = last.event_time_ms > base + 100;
        after = Some((last.event_time_ms, last.incident_id.clone()));
        recalled.extend(page.into_iter().filter(ours));
        if past {
            break;
        }
    }
    assert_eq!(
        recalled, expected,
        "every incident of the period once, oldest first, without its raw event"
    );

    let mut each = Vec::new();
    let count = recall_each(store, base + 30, |incident| {
        if ours(incident) {
            each.push(incident.event_time_ms - base);
        }
    })
    .await
    .unwrap();
    assert!(count >= 4);
    assert_eq!(each, [30, 30, 50, 60], "from the time on, inclusive");
}
