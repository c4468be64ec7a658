//! What rules with a threshold counted, kept in the `counts` table (migration 3) for the
//! processes that start after this one ([`crate::IncidentStore::keep_counts`]).

use super::{pg_error, rows::text};
use crate::StoreError;
use iamwatch_core::{DistinctValue, KeptCount, Threshold};
use tokio_postgres::{Client, Row};

/// One statement for the whole batch: the columns as arrays, unnested into rows.
const KEEP: &str = "INSERT INTO counts (rule_id, event_id, event_time_ms, window_end_ms, events, \
     window_ms, group_key, distinct_field, distinct_value, step) \
     SELECT * FROM UNNEST($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[], \
     $6::bigint[], $7::text[], $8::text[], $9::text[], $10::bool[]) \
     ON CONFLICT (rule_id, event_id) DO NOTHING";
const FORGET: &str = "DELETE FROM counts WHERE window_end_ms < $1";
const RECALL: &str = "SELECT rule_id, event_id, event_time_ms, events, window_ms, group_key, \
     distinct_field, distinct_value, step FROM counts \
     WHERE (window_end_ms, rule_id, event_id) > ($1, $2, $3) \
     ORDER BY window_end_ms, rule_id, event_id LIMIT $4";

/// Keeps `counts` in one transaction, and forgets what no event arriving at `now_ms` can join.
pub(super) async fn keep(
    client: &mut Client,
    counts: &[KeptCount],
    now_ms: i64,
) -> Result<(), StoreError> {
    const FAILED: &str = "cannot keep the counts of rules with a threshold";
    let kept: Vec<&KeptCount> = counts
        .iter()
        .filter(|count| count.in_use_at(now_ms))
        .collect();
    let column = |of: fn(&KeptCount) -> Option<&str>| -> Vec<Option<String>> {
        kept.iter()
            .map(|count| of(count).map(|value| text(value).into_owned()))
            .collect()
    };
    let rule_ids = column(|count| Some(&count.rule_id));
    let event_ids = column(|count| Some(&count.event_id));
    let groups = column(|count| count.group.as_deref());
    let fields = column(|count| count.distinct.as_ref().map(|d| d.field.as_str()));
    let values = column(|count| count.distinct.as_ref().map(|d| d.value.as_str()));
    let number = |of: fn(&KeptCount) -> i64| -> Vec<i64> { kept.iter().map(|c| of(c)).collect() };
    let times = number(|count| count.event_time_ms);
    let ends = number(KeptCount::window_end_ms);
    let events = number(|count| i64::from(count.threshold.events));
    let windows = number(|count| count.threshold.window_ms);
    let steps: Vec<bool> = kept
        .iter()
        .map(|count| count.distinct.as_ref().is_some_and(|d| d.step))
        .collect();
    let transaction = client.transaction().await.map_err(pg_error(FAILED))?;
    transaction
        .execute(
            KEEP,
            &[
                &rule_ids, &event_ids, &times, &ends, &events, &windows, &groups, &fields, &values,
                &steps,
            ],
        )
        .await
        .map_err(pg_error(FAILED))?;
    transaction
        .execute(FORGET, &[&now_ms.saturating_sub(KeptCount::LATE_EVENTS_MS)])
        .await
        .map_err(pg_error(FAILED))?;
    transaction.commit().await.map_err(pg_error(FAILED))
}

/// A page of the kept counts, from just after `start` (see [`crate::model::count_start`]).
pub(super) async fn recall(
    client: &Client,
    (window_end_ms, rule_id, event_id): (i64, String, String),
    limit: usize,
) -> Result<Vec<KeptCount>, StoreError> {
    const FAILED: &str = "cannot recall the counts of rules with a threshold";
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let (rule_id, event_id) = (text(&rule_id), text(&event_id));
    client
        .query(
            RECALL,
            &[
                &window_end_ms,
                &rule_id.as_ref(),
                &event_id.as_ref(),
                &limit,
            ],
        )
        .await
        .map_err(pg_error(FAILED))?
        .iter()
        .map(|row| from_row(row).map_err(pg_error(FAILED)))
        .collect()
}

fn from_row(row: &Row) -> Result<KeptCount, tokio_postgres::Error> {
    let field: Option<String> = row.try_get(6)?;
    let distinct = match field {
        Some(field) => Some(DistinctValue {
            field,
            value: row.try_get::<_, Option<String>>(7)?.unwrap_or_default(),
            step: row.try_get(8)?,
        }),
        None => None,
    };
    let events: i64 = row.try_get(3)?;
    Ok(KeptCount {
        rule_id: row.try_get(0)?,
        event_id: row.try_get(1)?,
        event_time_ms: row.try_get(2)?,
        threshold: Threshold {
            events: u32::try_from(events).unwrap_or(u32::MAX),
            window_ms: row.try_get(4)?,
        },
        group: row.try_get(5)?,
        distinct,
    })
}
