//! Notifications owed, for the serverless function: an item per incident whose destinations
//! have not been told yet (`pk` = `notify#<incident id>`, `sk` = `notify`), written before the
//! incident is stored and deleted once it is sent. An instance that dies between storing and
//! sending leaves the item, and the invocation Lambda delivers again finds the incident stored
//! but still owed. Kept apart from the incident's own partition, out of both indexes.

use super::insert;
use super::items::{key, Item, PK};
use super::DynamoStore;
use crate::StoreError;
use aws_sdk_dynamodb::types::AttributeValue;

const NOTICE_SK: &str = "notify";
const NOTICE_PREFIX: &str = "notify#";

fn notice_key(incident_id: &str) -> Item {
    key(format!("{NOTICE_PREFIX}{incident_id}"), NOTICE_SK)
}

/// Owes `incident_ids`.
pub(super) async fn owe(store: &DynamoStore, incident_ids: &[String]) -> Result<(), StoreError> {
    write(store, incident_ids, true).await
}

/// No longer owes `incident_ids`.
pub(super) async fn settle(store: &DynamoStore, incident_ids: &[String]) -> Result<(), StoreError> {
    write(store, incident_ids, false).await
}

/// Which of `incident_ids` are owed.
pub(super) async fn owed(
    store: &DynamoStore,
    incident_ids: &[String],
) -> Result<Vec<String>, StoreError> {
    let keys = incident_ids.iter().map(|id| notice_key(id)).collect();
    Ok(insert::read(store, keys)
        .await?
        .iter()
        .filter_map(|item| match item.get(PK) {
            Some(AttributeValue::S(pk)) => pk.strip_prefix(NOTICE_PREFIX).map(str::to_string),
            _ => None,
        })
        .collect())
}

async fn write(store: &DynamoStore, incident_ids: &[String], put: bool) -> Result<(), StoreError> {
    let requests = incident_ids
        .iter()
        .map(|id| {
            if put {
                insert::put_request(notice_key(id))
            } else {
                insert::delete_request(notice_key(id))
            }
        })
        .collect();
    insert::write_all(store, requests, "the notifications owed").await
}
