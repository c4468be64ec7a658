//! Notifications owed, for the serverless function: an item per incident whose destinations
//! have not been told yet (`pk` = `notify#<incident id>`, `sk` = `notify`), written before the
//! incident is stored and deleted once it is sent. An instance that dies between storing and
//! sending leaves the item, and the invocation Lambda delivers again finds the incident stored
//! but still owed. Kept apart from the incident's own partition, out of both indexes.

use super::insert;
use super::items::{key, Item, PK};
use super::{dynamo_error, DynamoStore};
use crate::StoreError;
use aws_sdk_dynamodb::types::{AttributeValue, DeleteRequest, PutRequest, WriteRequest};

const NOTICE_SK: &str = "notify";
const NOTICE_PREFIX: &str = "notify#";
/// DynamoDB's limit for one `BatchWriteItem`.
const PER_WRITE: usize = 25;

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
    for chunk in incident_ids.chunks(PER_WRITE) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|id| {
                let request = WriteRequest::builder();
                if put {
                    let item = PutRequest::builder().set_item(Some(notice_key(id))).build();
                    request.put_request(item.expect("the item is set"))
                } else {
                    let gone = DeleteRequest::builder()
                        .set_key(Some(notice_key(id)))
                        .build();
                    request.delete_request(gone.expect("the key is set"))
                }
                .build()
            })
            .collect();
        let mut delay = std::time::Duration::from_millis(20);
        while !requests.is_empty() {
            let output = store
                .client
                .batch_write_item()
                .request_items(store.table.name(), requests)
                .send()
                .await
                .map_err(|error| {
                    dynamo_error(
                        format!("cannot write the notifications owed in {}", store.table),
                        error,
                    )
                })?;
            requests = output
                .unprocessed_items
                .and_then(|mut left| left.remove(store.table.name()))
                .unwrap_or_default();
            if !requests.is_empty() {
                // DynamoDB leaves requests when throttled: back off before sending them again.
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(1));
            }
        }
    }
    Ok(())
}
