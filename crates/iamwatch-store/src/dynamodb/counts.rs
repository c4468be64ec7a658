//! What rules with a threshold counted ([`crate::IncidentStore::keep_counts`]): an item per
//! rule and event in one partition (`pk` = `counts`), its sort key the end of the rule's window,
//! then the rule and event ids, so that a recall reads only the counts still in use, in order,
//! and the counts no longer in use are found from the start of the partition and deleted as new
//! ones come (no time to live to set up on the table). Out of both indexes, like the
//! notifications owed. One partition is enough: IAM's events are few, and a count is kept only
//! while its window lasts.

use super::insert;
use super::items::{number_of, optional_text, text_of, time_key, Item, PK, SK};
use super::{dynamo_error, DynamoStore};
use crate::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;
use iamwatch_core::{DistinctValue, KeptCount, Threshold};

const COUNTS_PK: &str = "counts";
/// Between the parts of a sort key: below every printable character, so keys sort as their
/// parts do.
const PART: char = '\u{1}';

/// The sort key of a count that ends its window at `window_end_ms`.
fn sort_key(window_end_ms: i64, rule_id: &str, event_id: &str) -> String {
    format!("{}{PART}{rule_id}{PART}{event_id}", time_key(window_end_ms))
}

fn item(count: &KeptCount) -> Item {
    let text = |value: &str| AttributeValue::S(value.to_string());
    let number = |value: i64| AttributeValue::N(value.to_string());
    let mut item = Item::from([
        (PK.to_string(), text(COUNTS_PK)),
        (
            SK.to_string(),
            text(&sort_key(
                count.window_end_ms(),
                &count.rule_id,
                &count.event_id,
            )),
        ),
        ("rule_id".to_string(), text(&count.rule_id)),
        ("event_id".to_string(), text(&count.event_id)),
        ("event_time_ms".to_string(), number(count.event_time_ms)),
        (
            "events".to_string(),
            number(i64::from(count.threshold.events)),
        ),
        ("window_ms".to_string(), number(count.threshold.window_ms)),
    ]);
    if let Some(group) = &count.group {
        item.insert("group".to_string(), text(group));
    }
    if let Some(distinct) = &count.distinct {
        item.insert("distinct_field".to_string(), text(&distinct.field));
        item.insert("distinct_value".to_string(), text(&distinct.value));
        item.insert("step".to_string(), AttributeValue::Bool(distinct.step));
    }
    item
}

fn count_from(item: &Item) -> Result<KeptCount, StoreError> {
    let distinct = match optional_text(item, "distinct_field")? {
        Some(field) => Some(DistinctValue {
            field: field.to_string(),
            value: optional_text(item, "distinct_value")?
                .unwrap_or_default()
                .to_string(),
            step: matches!(item.get("step"), Some(AttributeValue::Bool(true))),
        }),
        None => None,
    };
    Ok(KeptCount {
        rule_id: text_of(item, "rule_id")?.to_string(),
        event_id: text_of(item, "event_id")?.to_string(),
        event_time_ms: number_of(item, "event_time_ms")?,
        threshold: Threshold {
            events: u32::try_from(number_of(item, "events")?).unwrap_or(u32::MAX),
            window_ms: number_of(item, "window_ms")?,
        },
        group: optional_text(item, "group")?.map(str::to_string),
        distinct,
    })
}

/// Keeps `counts` (puts: a count kept already is written again, the same), then deletes counts
/// no event arriving at `now_ms` can join, at least twice as many as were kept: more go than
/// come, so the partition holds what is in use.
pub(super) async fn keep(
    store: &DynamoStore,
    counts: &[KeptCount],
    now_ms: i64,
) -> Result<(), StoreError> {
    let kept: Vec<_> = counts
        .iter()
        .filter(|count| count.in_use_at(now_ms))
        .map(|count| insert::put_request(item(count)))
        .collect();
    let forget_at_most = (kept.len() * 2).max(100);
    insert::write_all(store, kept, "the counts of rules with a threshold").await?;
    let forget_before = time_key(now_ms.saturating_sub(KeptCount::LATE_EVENTS_MS));
    let output = store
        .client
        .query()
        .table_name(store.table.name())
        .key_condition_expression("#pk = :pk AND #sk < :before")
        .expression_attribute_names("#pk", PK)
        .expression_attribute_names("#sk", SK)
        .expression_attribute_values(":pk", AttributeValue::S(COUNTS_PK.to_string()))
        .expression_attribute_values(":before", AttributeValue::S(forget_before))
        .projection_expression("#pk, #sk")
        .limit(i32::try_from(forget_at_most).unwrap_or(i32::MAX))
        .send()
        .await
        .map_err(|error| {
            dynamo_error(
                format!("cannot find counts no longer in use in {}", store.table),
                error,
            )
        })?;
    let gone = output
        .items()
        .iter()
        .map(|key| insert::delete_request(key.clone()))
        .collect();
    insert::write_all(store, gone, "the counts no longer in use").await
}

/// A page of the kept counts, from just after `start` (see [`crate::model::count_start`]).
pub(super) async fn recall(
    store: &DynamoStore,
    (window_end_ms, rule_id, event_id): (i64, String, String),
    limit: usize,
) -> Result<Vec<KeptCount>, StoreError> {
    let after = sort_key(window_end_ms, &rule_id, &event_id);
    let mut found = Vec::new();
    let mut start: Option<Item> = None;
    // A query answers at most 1 MB: asked again from where it stopped until the page is full.
    while found.len() < limit {
        let output = store
            .client
            .query()
            .table_name(store.table.name())
            .key_condition_expression("#pk = :pk AND #sk > :after")
            .expression_attribute_names("#pk", PK)
            .expression_attribute_names("#sk", SK)
            .expression_attribute_values(":pk", AttributeValue::S(COUNTS_PK.to_string()))
            .expression_attribute_values(":after", AttributeValue::S(after.clone()))
            .consistent_read(true)
            .limit(i32::try_from(limit - found.len()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|error| {
                dynamo_error(
                    format!(
                        "cannot recall the counts of rules with a threshold in {}",
                        store.table
                    ),
                    error,
                )
            })?;
        for item in output.items() {
            found.push(count_from(item)?);
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::sort_key;

    #[test]
    fn sort_keys_sort_as_window_end_then_rule_then_event() {
        let mut keys = vec![
            sort_key(2_000, "a", "e1"),
            sort_key(1_000, "b", "e1"),
            sort_key(1_000, "ab", "e1"),
            sort_key(1_000, "a", "e2"),
            sort_key(1_000, "a", "e1"),
            sort_key(-5, "z", "z"),
        ];
        keys.sort();
        assert_eq!(
            keys,
            [
                sort_key(-5, "z", "z"),
                sort_key(1_000, "a", "e1"),
                sort_key(1_000, "a", "e2"),
                sort_key(1_000, "ab", "e1"),
                sort_key(1_000, "b", "e1"),
                sort_key(2_000, "a", "e1"),
            ]
        );
    }
}
