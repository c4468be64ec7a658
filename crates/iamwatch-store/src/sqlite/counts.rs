//! What rules with a threshold counted, kept in the `counts` table (migration 7) for the
//! processes that start after this one ([`crate::IncidentStore::keep_counts`]).

use super::sql_error;
use crate::StoreError;
use iamwatch_core::{DistinctValue, KeptCount, Threshold};
use rusqlite::{params, Connection, Row};

const KEEP: &str = "INSERT INTO counts (rule_id, event_id, event_time_ms, window_end_ms, events, \
     window_ms, group_key, distinct_field, distinct_value, step) \
     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10) ON CONFLICT (rule_id, event_id) DO NOTHING";
const FORGET: &str = "DELETE FROM counts WHERE window_end_ms < ?1";
const RECALL: &str = "SELECT rule_id, event_id, event_time_ms, events, window_ms, group_key, \
     distinct_field, distinct_value, step FROM counts \
     WHERE (window_end_ms, rule_id, event_id) > (?1, ?2, ?3) \
     ORDER BY window_end_ms, rule_id, event_id LIMIT ?4";

/// Keeps `counts` in one transaction, and forgets what no event arriving at `now_ms` can join.
pub(super) fn keep(
    connection: &mut Connection,
    counts: &[KeptCount],
    now_ms: i64,
) -> Result<(), StoreError> {
    let failed = sql_error("cannot keep the counts of rules with a threshold");
    let transaction = connection.transaction().map_err(&failed)?;
    {
        let mut keep = transaction.prepare_cached(KEEP).map_err(&failed)?;
        for count in counts.iter().filter(|count| count.in_use_at(now_ms)) {
            let distinct = count.distinct.as_ref();
            keep.execute(params![
                count.rule_id,
                count.event_id,
                count.event_time_ms,
                count.window_end_ms(),
                count.threshold.events,
                count.threshold.window_ms,
                count.group,
                distinct.map(|distinct| distinct.field.as_str()),
                distinct.map(|distinct| distinct.value.as_str()),
                distinct.is_some_and(|distinct| distinct.step),
            ])
            .map_err(&failed)?;
        }
        let forget_before = now_ms.saturating_sub(KeptCount::LATE_EVENTS_MS);
        transaction
            .prepare_cached(FORGET)
            .and_then(|mut forget| forget.execute([forget_before]))
            .map_err(&failed)?;
    }
    transaction.commit().map_err(&failed)
}

/// A page of the kept counts, from just after `start` (see [`crate::model::count_start`]).
pub(super) fn recall(
    connection: &Connection,
    (window_end_ms, rule_id, event_id): (i64, String, String),
    limit: usize,
) -> Result<Vec<KeptCount>, StoreError> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    connection
        .prepare_cached(RECALL)
        .and_then(|mut statement| {
            statement
                .query_map(params![window_end_ms, rule_id, event_id, limit], from_row)?
                .collect()
        })
        .map_err(sql_error(
            "cannot recall the counts of rules with a threshold",
        ))
}

fn from_row(row: &Row<'_>) -> rusqlite::Result<KeptCount> {
    let field: Option<String> = row.get(6)?;
    let distinct = match field {
        Some(field) => Some(DistinctValue {
            field,
            value: row.get::<_, Option<String>>(7)?.unwrap_or_default(),
            step: row.get(8)?,
        }),
        None => None,
    };
    Ok(KeptCount {
        rule_id: row.get(0)?,
        event_id: row.get(1)?,
        event_time_ms: row.get(2)?,
        threshold: Threshold {
            events: row.get(3)?,
            window_ms: row.get(4)?,
        },
        group: row.get(5)?,
        distinct,
    })
}
