//! Keeping what rules with a threshold counted, and recalling what is still in use: what lets a
//! process that starts go on counting where the last one stopped.

use super::unique_prefix;
use crate::IncidentStore;
use iamwatch_core::{DistinctValue, KeptCount, Threshold};

const MINUTE: i64 = 60_000;

fn count(rule_id: &str, event_id: &str, event_time_ms: i64, window_minutes: i64) -> KeptCount {
    KeptCount {
        rule_id: rule_id.to_string(),
        event_id: event_id.to_string(),
        event_time_ms,
        threshold: Threshold {
            events: 3,
            window_ms: window_minutes * MINUTE,
        },
        group: None,
        distinct: None,
    }
}

/// Every count of this check's rules, page by page from `since_ms` (`limit` a page): pages
/// of other runs' counts in a shared database are walked through and left out.
async fn recalled(
    store: &dyn IncidentStore,
    prefix: &str,
    since_ms: i64,
    limit: usize,
) -> Vec<KeptCount> {
    let mut found = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .recall_counts(since_ms, after, limit)
            .await
            .expect("counts recalled");
        assert!(page.len() <= limit, "a page of {} for {limit}", page.len());
        after = page.last().cloned();
        let last_page = page.len() < limit;
        found.extend(
            page.into_iter()
                .filter(|count| count.rule_id.starts_with(prefix)),
        );
        if last_page {
            return found;
        }
    }
}

pub async fn counts_are_kept_while_in_use_and_recalled_in_window_order(store: &dyn IncidentStore) {
    let prefix = unique_prefix();
    let (first, second) = (format!("{prefix}-a"), format!("{prefix}-b"));
    // The clock's own time: what earlier runs kept is then long out of use, and forgotten.
    let now = iamwatch_core::time::now_ms();
    let ended = count(&first, "e1", now - 30 * MINUTE, 10);
    let spraying = KeptCount {
        group: Some("203.0.113.9".to_string()),
        distinct: Some(DistinctValue {
            field: "userName".to_string(),
            value: "bob".to_string(),
            step: false,
        }),
        ..count(&first, "e2", now - 5 * MINUTE, 10)
    };
    // Its window ended two hours ago: no event arriving now can join it.
    let out_of_use = count(&second, "e1", now - 3 * 60 * MINUTE, 60);
    let step = KeptCount {
        distinct: Some(DistinctValue {
            field: "step".to_string(),
            value: "CreateUser".to_string(),
            step: true,
        }),
        ..count(&second, "e3", now - 2 * MINUTE, 60)
    };
    store
        .keep_counts(
            vec![
                step.clone(),
                ended.clone(),
                out_of_use,
                spraying.clone(),
                ended.clone(),
            ],
            now,
        )
        .await
        .expect("counts kept");
    // Kept again (a batch delivered twice): still once.
    store
        .keep_counts(vec![spraying.clone()], now)
        .await
        .expect("counts kept");

    let in_use_since = now - KeptCount::LATE_EVENTS_MS;
    let expected = vec![ended.clone(), spraying.clone(), step.clone()];
    assert_eq!(recalled(store, &prefix, in_use_since, 1000).await, expected);
    assert_eq!(
        recalled(store, &prefix, in_use_since, 1).await,
        expected,
        "a page at a time"
    );
    assert_eq!(
        recalled(store, &prefix, now, 2).await,
        vec![spraying, step],
        "the count whose window ended 20 minutes ago is left out from now"
    );

    // Two hours later a new count comes: those no event can join any more are forgotten.
    let later = now + 2 * 60 * MINUTE;
    let new = count(&first, "e4", later, 10);
    store
        .keep_counts(vec![new.clone()], later)
        .await
        .expect("counts kept");
    assert_eq!(recalled(store, &prefix, i64::MIN, 1000).await, vec![new]);
}
