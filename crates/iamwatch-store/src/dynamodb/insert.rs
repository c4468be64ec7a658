//! A batch of incidents stored.
//!
//! DynamoDB has no unique index, and a transaction holds at most 100 writes (4 MB). So each
//! event's claim (`items.rs`) is written in the same transaction as its incident, both on
//! condition that they are not there yet, 50 incidents a transaction:
//! 1. the batch's claims are read: an event claimed is stored already (a re-scan, a second
//!    delivery), and its incident is read back (`created: false`);
//! 2. the others' incident ids are read: an id holding another event is a collision, and that
//!    incident takes the next id [`Incident::resalted_id`] gives, as in the other stores (ids
//!    two events of the batch share count as taken too);
//! 3. the rest are written. A transaction refused (another process stored one of its events or
//!    ids in between) goes back to 1. for its incidents.
//!
//! Unlike the SQL stores, a batch of more than 50 is not one transaction: when a later
//! transaction fails, the earlier ones stay stored, and the delivery tried again finds them as
//! stored (`created: false`).
//!
//! Each claim names the batch that wrote it (`batch`, drawn afresh for each call): a
//! transaction whose answer was lost is sent again by the SDK and refused, its claims being
//! there already; step 1 of the next round finds them and, since they are this batch's own,
//! reports their incidents as created rather than as stored already.

use super::items::{self, Item, PK, SK};
use super::{dynamo_error, DynamoStore};
use crate::{StoreError, Stored};
use aws_sdk_dynamodb::types::{
    AttributeValue, DeleteRequest, KeysAndAttributes, Put, PutRequest, TransactWriteItem,
    WriteRequest,
};
use iamwatch_core::Incident;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};

/// Incidents a transaction writes: two writes each, DynamoDB's limit being 100.
const PER_TRANSACTION: usize = 50;
/// Bytes a transaction's items may hold (DynamoDB refuses more than 4 MB).
const TRANSACTION_BYTES: usize = 3 * 1024 * 1024;
/// Keys a read may ask for (DynamoDB's limit).
const PER_READ: usize = 100;
/// Rounds of steps 1 to 3 before the batch is given up (each refused transaction is another
/// process's write in between: a few at most).
const ROUNDS: usize = 8;
/// Attempts at a fresh incident id when one collides with a stored incident of another event.
const ID_ATTEMPTS: u32 = 16;

pub async fn insert_batch(
    store: &DynamoStore,
    incidents: Vec<Incident>,
) -> Result<Vec<Stored>, StoreError> {
    insert_batch_as(store, incidents, &batch_token()).await
}

/// A token no other batch of any process holds: the process's origin and a count.
fn batch_token() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    format!(
        "{}-{}",
        crate::model::process_origin(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    )
}

/// [`insert_batch`], its claims naming `batch`.
pub(super) async fn insert_batch_as(
    store: &DynamoStore,
    incidents: Vec<Incident>,
    batch: &str,
) -> Result<Vec<Stored>, StoreError> {
    let mut results: Vec<Option<Stored>> = vec![None; incidents.len()];
    // The first incident of each event in the batch; the later ones are the same event again.
    let mut first_of: HashMap<&str, usize> = HashMap::new();
    let mut repeats = Vec::new();
    for (index, incident) in incidents.iter().enumerate() {
        match first_of.get(incident.event_id.as_str()) {
            Some(first) => repeats.push((index, *first)),
            None => {
                first_of.insert(&incident.event_id, index);
            }
        }
    }
    let mut pending: Vec<usize> = first_of.into_values().collect();
    pending.sort_unstable();
    let mut candidates: Vec<Incident> = incidents.clone();
    for _ in 0..ROUNDS {
        if pending.is_empty() {
            break;
        }
        let mut stored = stored_already(store, &pending, &candidates, batch).await?;
        pending.retain(|index| match stored.remove(index) {
            Some(found) => {
                results[*index] = Some(found);
                false
            }
            None => true,
        });
        free_ids(store, &pending, &incidents, &mut candidates).await?;
        pending = write(store, pending, &candidates, batch, &mut results).await?;
    }
    if !pending.is_empty() {
        return Err(StoreError::backend(
            format!(
                "cannot store {} incidents in {}: other writers kept taking their events or ids",
                pending.len(),
                store.table
            ),
            std::io::Error::from(std::io::ErrorKind::WouldBlock),
        ));
    }
    for (index, first) in repeats {
        let first = results[first]
            .as_ref()
            .map(|stored| stored.incident.clone());
        results[index] = first.map(|incident| Stored {
            incident,
            created: false,
        });
    }
    results
        .into_iter()
        .map(|stored| {
            stored.ok_or_else(|| StoreError::Invalid("an incident of the batch was lost".into()))
        })
        .collect()
}

/// Step 1: the incidents of `pending`'s events stored already, by index; those `batch` itself
/// claimed (a transaction sent again after its answer was lost) as created.
async fn stored_already(
    store: &DynamoStore,
    pending: &[usize],
    candidates: &[Incident],
    batch: &str,
) -> Result<HashMap<usize, Stored>, StoreError> {
    let claims = read(
        store,
        pending
            .iter()
            .map(|index| items::claim_key(&candidates[*index].event_id))
            .collect(),
    )
    .await?;
    // Event id → (incident id, whether this batch wrote the claim).
    let mut claimed: HashMap<String, (String, bool)> = HashMap::new();
    for claim in &claims {
        let pk = items::text_of(claim, PK)?;
        let event = items::claimed_event(pk)
            .ok_or_else(|| StoreError::Invalid(format!("{pk:?} is not an event's claim")))?;
        let incident_id = items::text_of(claim, "incident_id")?;
        let ours = items::claiming_batch(claim) == Some(batch);
        claimed.insert(event.to_string(), (incident_id.to_string(), ours));
    }
    if claimed.is_empty() {
        return Ok(HashMap::new());
    }
    let mut found = HashMap::new();
    for incident in store
        .read_incidents(claimed.values().map(|(incident_id, _)| incident_id))
        .await?
    {
        found.insert(incident.incident_id.clone(), incident);
    }
    let mut stored = HashMap::new();
    for index in pending {
        if let Some((incident_id, ours)) = claimed.get(&candidates[*index].event_id) {
            let incident = found.get(incident_id).ok_or_else(|| {
                StoreError::Invalid(format!(
                    "event {} is claimed by incident {incident_id}, which is not there",
                    candidates[*index].event_id
                ))
            })?;
            stored.insert(
                *index,
                Stored {
                    incident: incident.clone(),
                    created: *ours,
                },
            );
        }
    }
    Ok(stored)
}

/// Step 2: gives each of `pending` an id no stored incident and no other incident of the
/// batch holds.
async fn free_ids(
    store: &DynamoStore,
    pending: &[usize],
    originals: &[Incident],
    candidates: &mut [Incident],
) -> Result<(), StoreError> {
    let mut salts: HashMap<usize, u32> = HashMap::new();
    let mut unsettled: Vec<usize> = pending.to_vec();
    let mut settled: HashSet<String> = HashSet::new();
    for _ in 0..=ID_ATTEMPTS {
        if unsettled.is_empty() {
            return Ok(());
        }
        let taken: HashSet<String> = read(
            store,
            unsettled
                .iter()
                .map(|index| items::incident_key(&candidates[*index].incident_id))
                .collect(),
        )
        .await?
        .iter()
        .map(|item| items::text_of(item, PK).map(str::to_string))
        .collect::<Result<_, _>>()?;
        let mut again = Vec::new();
        for index in unsettled {
            let incident = &mut candidates[index];
            if taken.contains(&incident.incident_id) || settled.contains(&incident.incident_id) {
                let salt = salts.entry(index).or_insert(0);
                *salt += 1;
                incident.incident_id =
                    Incident::resalted_id(&originals[index].incident_id, &incident.event_id, *salt);
                again.push(index);
            } else {
                settled.insert(incident.incident_id.clone());
            }
        }
        unsettled = again;
    }
    Err(StoreError::Conflict(format!(
        "no free incident id for {} events after {ID_ATTEMPTS} attempts",
        unsettled.len()
    )))
}

/// Step 3: writes `pending`'s incidents with their claims, a transaction at a time. Returns
/// those of refused transactions, for another round.
async fn write(
    store: &DynamoStore,
    pending: Vec<usize>,
    candidates: &[Incident],
    batch: &str,
    results: &mut [Option<Stored>],
) -> Result<Vec<usize>, StoreError> {
    let mut refused = Vec::new();
    for (chunk, writes) in transactions(store, pending, candidates, batch)? {
        if commit(store, writes).await? {
            for index in chunk {
                results[index] = Some(Stored {
                    incident: candidates[index].clone(),
                    created: true,
                });
            }
        } else {
            refused.extend(chunk);
        }
    }
    Ok(refused)
}

/// A transaction's writes, and the indexes of the incidents they write.
pub(super) type Transaction = (Vec<usize>, Vec<TransactWriteItem>);

/// `pending`'s incidents and claims (naming `batch`) as transactions within DynamoDB's limits.
pub(super) fn transactions(
    store: &DynamoStore,
    pending: Vec<usize>,
    candidates: &[Incident],
    batch: &str,
) -> Result<Vec<Transaction>, StoreError> {
    let mut transactions: Vec<Transaction> = Vec::new();
    let mut bytes = 0;
    for index in pending {
        let incident = &candidates[index];
        let item = items::incident_item(incident, store.announcing.get().map(String::as_str))?;
        let claim = items::claim(incident, batch);
        let size = items::size(&item) + items::size(&claim);
        let full = transactions.last().is_none_or(|(chunk, _)| {
            chunk.len() == PER_TRANSACTION || bytes + size > TRANSACTION_BYTES
        });
        if full {
            transactions.push((Vec::new(), Vec::new()));
            bytes = 0;
        }
        let (chunk, writes) = transactions.last_mut().expect("one was just made");
        writes.push(new_item(store, claim));
        writes.push(new_item(store, item));
        chunk.push(index);
        bytes += size;
    }
    Ok(transactions)
}

fn new_item(store: &DynamoStore, item: Item) -> TransactWriteItem {
    let put = Put::builder()
        .table_name(store.table.name())
        .set_item(Some(item))
        .condition_expression("attribute_not_exists(pk)")
        .build()
        .expect("table and item are set");
    TransactWriteItem::builder().put(put).build()
}

/// Sends one transaction: whether it was committed (`false`: refused, another process having
/// written one of its events or ids in between).
pub(super) async fn commit(
    store: &DynamoStore,
    writes: Vec<TransactWriteItem>,
) -> Result<bool, StoreError> {
    let sent = store
        .client
        .transact_write_items()
        .set_transact_items(Some(writes))
        .send()
        .await;
    match sent {
        Ok(_) => Ok(true),
        Err(error)
            if error
                .as_service_error()
                .is_some_and(|error| error.is_transaction_canceled_exception()) =>
        {
            tracing::debug!(table = %store.table, "a transaction was refused; its incidents are looked at again");
            Ok(false)
        }
        Err(error) => Err(dynamo_error(
            format!("cannot store incidents in {}", store.table),
            error,
        )),
    }
}

/// The items of `keys` that are there (strongly consistent: what was just written is read),
/// `PER_READ` a request, asking again for those DynamoDB left unprocessed. A key asked twice is
/// read once (DynamoDB refuses a request that names one twice).
pub async fn read(store: &DynamoStore, mut keys: Vec<Item>) -> Result<Vec<Item>, StoreError> {
    let mut seen = HashSet::new();
    keys.retain(|key| {
        let text = |name: &str| match key.get(name) {
            Some(AttributeValue::S(text)) => text.clone(),
            _ => String::new(),
        };
        seen.insert((text(PK), text(SK)))
    });
    let mut found = Vec::new();
    for chunk in keys.chunks(PER_READ) {
        let mut asking = Some(chunk.to_vec());
        let mut delay = std::time::Duration::from_millis(20);
        while let Some(keys) = asking.take().filter(|keys| !keys.is_empty()) {
            let request = KeysAndAttributes::builder()
                .set_keys(Some(keys))
                .consistent_read(true)
                .build()
                .expect("keys are set");
            let output = store
                .client
                .batch_get_item()
                .request_items(store.table.name(), request)
                .send()
                .await
                .map_err(|error| {
                    dynamo_error(format!("cannot read incidents in {}", store.table), error)
                })?;
            if let Some(mut responses) = output.responses {
                found.extend(responses.remove(store.table.name()).unwrap_or_default());
            }
            asking = output
                .unprocessed_keys
                .and_then(|mut left| left.remove(store.table.name()))
                .map(|left| left.keys);
            if asking.as_ref().is_some_and(|keys| !keys.is_empty()) {
                // DynamoDB leaves keys when throttled: back off before asking again.
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(std::time::Duration::from_secs(1));
            }
        }
    }
    Ok(found)
}

/// DynamoDB's limit for one `BatchWriteItem`.
const PER_WRITE: usize = 25;

pub fn put_request(item: Item) -> WriteRequest {
    let put = PutRequest::builder().set_item(Some(item)).build();
    WriteRequest::builder()
        .put_request(put.expect("the item is set"))
        .build()
}

pub fn delete_request(key: Item) -> WriteRequest {
    let delete = DeleteRequest::builder().set_key(Some(key)).build();
    WriteRequest::builder()
        .delete_request(delete.expect("the key is set"))
        .build()
}

/// Puts and deletes `requests` (none of them transactional), `PER_WRITE` a request, sending
/// again what DynamoDB left unprocessed; `what` names them in an error.
pub async fn write_all(
    store: &DynamoStore,
    requests: Vec<WriteRequest>,
    what: &str,
) -> Result<(), StoreError> {
    for chunk in requests.chunks(PER_WRITE) {
        let mut requests = chunk.to_vec();
        let mut delay = std::time::Duration::from_millis(20);
        while !requests.is_empty() {
            let output = store
                .client
                .batch_write_item()
                .request_items(store.table.name(), requests)
                .send()
                .await
                .map_err(|error| {
                    dynamo_error(format!("cannot write {what} in {}", store.table), error)
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
