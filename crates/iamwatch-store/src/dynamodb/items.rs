//! Incident ↔ DynamoDB item, and the table's keys.
//!
//! One table holds these kinds of item, told apart by their sort key `sk` (and two more kept
//! apart from the incidents' partitions: the notifications owed, `notices.rs`, and the counts
//! of rules with a threshold, `counts.rs`):
//! - an incident: `pk` its incident id, `sk` = `incident`;
//! - an event's claim: `pk` = `event#<eventID>`, `sk` = `event`, naming the incident the event
//!   went to. Written in the incident's own transaction, on condition that it is not there yet:
//!   this is what makes one incident per event, whichever process delivers it, and finds the
//!   incident again when its id had to be drawn afresh;
//! - a history entry: `pk` the incident id, `sk` = `history#<revision>` (the incident's
//!   revision the change made, so an incident's items read in order).
//!
//! Incidents carry the keys of two indexes: `listing`, the same for all, and `listing_order`
//! (the event time and incident id as text that sorts as the listing does) for listings;
//! `listing` and `update_order` (the time of the last change and the id) for what changed since
//! a time (a live dashboard catching up). The other items carry neither, so the indexes hold
//! incidents only.

use crate::model::{search_text, text_values};
use crate::{HistoryEntry, StoreError};
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use iamwatch_core::{Incident, Localized, Meta, MetaJson};
use std::collections::HashMap;
use std::sync::Arc;

pub type Item = HashMap<String, AttributeValue>;

pub const PK: &str = "pk";
pub const SK: &str = "sk";
pub const INCIDENT_SK: &str = "incident";
pub const CLAIM_SK: &str = "event";
pub const HISTORY_PREFIX: &str = "history#";
/// The listing index, its partition key (one value for every incident) and its sort key.
pub const LISTING_INDEX: &str = "listing";
pub const LISTING: &str = "listing";
pub const LISTING_ALL: &str = "incidents";
pub const LISTING_ORDER: &str = "listing_order";
/// The index of incidents by their last change, and its sort key.
pub const UPDATES_INDEX: &str = "updates";
pub const UPDATE_ORDER: &str = "update_order";
/// Bumped by each change: a change is written on condition that no other came in between.
pub const REVISION: &str = "revision";

/// The attributes the listing index holds besides the keys: all but the raw event (most of an
/// incident's bytes; no listing shows it) and the revision.
pub const LISTED: [&str; 20] = [
    "event_id",
    "event_name",
    "event_type_en",
    "event_type_ko",
    "rule_id",
    "title_en",
    "title_ko",
    "resource",
    "severity",
    "status",
    "meta",
    "runbook",
    "search_text",
    "source",
    "account",
    "region",
    "event_time_ms",
    "created_at",
    "updated_at",
    "assignee",
];

pub fn key(pk: impl Into<String>, sk: &str) -> Item {
    HashMap::from([
        (PK.to_string(), AttributeValue::S(pk.into())),
        (SK.to_string(), AttributeValue::S(sk.to_string())),
    ])
}

pub fn incident_key(incident_id: &str) -> Item {
    key(incident_id, INCIDENT_SK)
}

pub fn claim_key(event_id: &str) -> Item {
    key(claim_pk(event_id), CLAIM_SK)
}

/// What a claim's `pk` starts with, before the event id.
const CLAIM_PREFIX: &str = "event#";

pub fn claim_pk(event_id: &str) -> String {
    format!("{CLAIM_PREFIX}{event_id}")
}

/// The event id a claim's `pk` names.
pub fn claimed_event(pk: &str) -> Option<&str> {
    pk.strip_prefix(CLAIM_PREFIX)
}

/// The claim of `incident`'s event, written by the batch `batch` names.
pub fn claim(incident: &Incident, batch: &str) -> Item {
    let mut item = claim_key(&incident.event_id);
    item.insert(
        "incident_id".to_string(),
        AttributeValue::S(incident.incident_id.clone()),
    );
    item.insert(BATCH.to_string(), AttributeValue::S(batch.to_string()));
    item
}

/// The batch that wrote a claim (claims of earlier versions name none).
pub fn claiming_batch(claim: &Item) -> Option<&str> {
    match claim.get(BATCH) {
        Some(AttributeValue::S(batch)) => Some(batch),
        _ => None,
    }
}

/// A claim's attribute naming the batch that wrote it (`insert.rs`).
const BATCH: &str = "batch";

/// Text that sorts as the listing does (newest event first when read backwards, ties by
/// incident id): the event time as [`time_key`], then the incident id.
pub fn listing_order(event_time_ms: i64, incident_id: &str) -> String {
    format!("{}#{incident_id}", time_key(event_time_ms))
}

/// Text that sorts as incidents' last changes do: the update time as [`time_key`], then the id.
pub fn update_order(updated_at: i64, incident_id: &str) -> String {
    format!("{}#{incident_id}", time_key(updated_at))
}

/// An epoch-ms time as text that sorts as the times do: its sign bit flipped (so negative times
/// sort first), as 20 digits.
pub fn time_key(ms: i64) -> String {
    format!("{:020}", (ms as u64) ^ (1 << 63))
}

/// What a text search looks in, in lower case: DynamoDB's `contains` tells case apart.
pub fn searched(incident: &Incident, meta: &str, runbook: Option<&str>) -> String {
    let mut text = search_text(incident, meta);
    if let Some(runbook) = runbook {
        text.push_str(&text_values(runbook));
    }
    text.to_lowercase()
}

fn string(value: &str) -> AttributeValue {
    AttributeValue::S(value.to_string())
}

fn number(value: i64) -> AttributeValue {
    AttributeValue::N(value.to_string())
}

/// The most an incident's item may hold, in bytes: DynamoDB refuses an item of more than 400 KB
/// (and with it the whole transaction), with a margin for how it counts.
const ITEM_LIMIT: usize = 390 * 1024;

/// `incident` as a new item (revision 0), its raw event compressed. A raw event too large for an
/// item even compressed is left out (said in the log), rather than refusing the incident:
/// CloudTrail's own records stay far below (EventBridge carries at most 256 KB).
/// `writer` names this process when it follows the table's stream (`stream.rs`).
pub fn incident_item(incident: &Incident, writer: Option<&str>) -> Result<Item, StoreError> {
    let meta = incident.meta_json.stored_text(&incident.meta);
    let runbook = incident.meta.runbook.as_ref().map(|runbook| runbook.json());
    let mut item = incident_key(&incident.incident_id);
    let mut put = |name: &str, value: AttributeValue| {
        item.insert(name.to_string(), value);
    };
    put("event_id", string(&incident.event_id));
    put("event_name", string(&incident.event_name));
    put("event_type_en", string(&incident.event_type.en));
    put("event_type_ko", string(&incident.event_type.ko));
    put("rule_id", string(&incident.rule_id));
    put("title_en", string(&incident.title.en));
    put("title_ko", string(&incident.title.ko));
    put("resource", string(&incident.resource));
    put("severity", string(incident.severity.as_str()));
    put("status", string(incident.status.as_str()));
    put("search_text", string(&searched(incident, &meta, runbook)));
    put("meta", AttributeValue::S(meta.into_owned()));
    if let Some(runbook) = runbook {
        put("runbook", string(runbook));
    }
    put("source", string(&incident.source));
    put("account", string(&incident.account));
    put("region", string(&incident.region));
    put("event_time_ms", number(incident.event_time_ms));
    put("created_at", number(incident.created_at));
    put("updated_at", number(incident.updated_at));
    if let Some(assignee) = &incident.assignee {
        put("assignee", string(assignee));
    }
    if let Some(raw) = &incident.raw {
        // An item holds at most 400 KB; CloudTrail's records compress about tenfold.
        let compressed = zstd::bulk::compress(raw.as_bytes(), 3)
            .map_err(|error| StoreError::backend("cannot compress a raw event", error))?;
        put("raw", AttributeValue::B(Blob::new(compressed)));
    }
    put(LISTING, string(LISTING_ALL));
    put(
        LISTING_ORDER,
        string(&listing_order(
            incident.event_time_ms,
            &incident.incident_id,
        )),
    );
    put(
        UPDATE_ORDER,
        string(&update_order(incident.updated_at, &incident.incident_id)),
    );
    put(REVISION, number(0));
    if let Some(writer) = writer {
        put(super::stream::WRITER, string(writer));
    }
    if size(&item) > ITEM_LIMIT && item.remove("raw").is_some() {
        tracing::warn!(
            event_id = %incident.event_id,
            incident_id = %incident.incident_id,
            "the raw event is too large for a DynamoDB item even compressed; stored without it"
        );
    }
    Ok(item)
}

/// An item's size as DynamoDB counts it, near enough to keep a transaction under its limit.
pub fn size(item: &Item) -> usize {
    item.iter()
        .map(|(name, value)| {
            name.len()
                + match value {
                    AttributeValue::S(text) | AttributeValue::N(text) => text.len(),
                    AttributeValue::B(blob) => blob.as_ref().len(),
                    _ => 8,
                }
        })
        .sum()
}

fn malformed(attribute: &str, message: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("stored incident's {attribute}: {message}"))
}

pub fn text_of<'a>(item: &'a Item, name: &str) -> Result<&'a str, StoreError> {
    optional_text(item, name)?.ok_or_else(|| malformed(name, "missing"))
}

pub fn optional_text<'a>(item: &'a Item, name: &str) -> Result<Option<&'a str>, StoreError> {
    match item.get(name) {
        None | Some(AttributeValue::Null(_)) => Ok(None),
        Some(AttributeValue::S(text)) => Ok(Some(text)),
        Some(_) => Err(malformed(name, "not text")),
    }
}

pub fn number_of(item: &Item, name: &str) -> Result<i64, StoreError> {
    match item.get(name) {
        Some(AttributeValue::N(text)) => text.parse().map_err(|error| malformed(name, error)),
        Some(_) => Err(malformed(name, "not a number")),
        None => Err(malformed(name, "missing")),
    }
}

fn owned(item: &Item, name: &str) -> Result<String, StoreError> {
    text_of(item, name).map(str::to_string)
}

/// The incident in `item` (an incident item, or its listing index's copy, without the raw
/// event).
pub fn incident_from(item: &Item) -> Result<Incident, StoreError> {
    let severity = text_of(item, "severity")?
        .parse()
        .map_err(|error| malformed("severity", error))?;
    let status = text_of(item, "status")?
        .parse()
        .map_err(|error| malformed("status", error))?;
    let meta_text = owned(item, "meta")?;
    let mut meta: Meta =
        serde_json::from_str(&meta_text).map_err(|error| malformed("meta", error))?;
    if let Some(runbook) = optional_text(item, "runbook")? {
        let runbook = serde_json::from_str(runbook).map_err(|error| malformed("runbook", error))?;
        meta.runbook = Some(Arc::new(runbook));
    }
    let raw = match item.get("raw") {
        None => None,
        Some(AttributeValue::B(blob)) => {
            let bytes = zstd::stream::decode_all(blob.as_ref())
                .map_err(|error| malformed("raw event", error))?;
            Some(String::from_utf8(bytes).map_err(|error| malformed("raw event", error))?)
        }
        Some(_) => return Err(malformed("raw event", "not binary")),
    };
    Ok(Incident {
        incident_id: owned(item, PK)?,
        event_id: owned(item, "event_id")?,
        event_name: owned(item, "event_name")?,
        event_type: Localized {
            en: owned(item, "event_type_en")?,
            ko: owned(item, "event_type_ko")?,
        },
        rule_id: owned(item, "rule_id")?,
        title: Localized {
            en: owned(item, "title_en")?,
            ko: owned(item, "title_ko")?,
        },
        resource: owned(item, "resource")?,
        severity,
        status,
        meta,
        source: owned(item, "source")?,
        account: owned(item, "account")?,
        region: owned(item, "region")?,
        event_time_ms: number_of(item, "event_time_ms")?,
        created_at: number_of(item, "created_at")?,
        updated_at: number_of(item, "updated_at")?,
        assignee: optional_text(item, "assignee")?.map(str::to_string),
        raw,
        meta_json: MetaJson::from_stored(meta_text),
        counted: Vec::new(),
    })
}

/// The history item a change made, `revision` being the incident's revision after it.
pub fn history_item(incident_id: &str, revision: i64, entry: &HistoryEntry) -> Item {
    let mut item = key(incident_id, &history_sk(revision));
    item.insert("at_ms".to_string(), number(entry.at_ms));
    item.insert("actor".to_string(), string(&entry.actor));
    let optional = [
        (
            "from_status",
            entry.from_status.map(|status| status.as_str()),
        ),
        ("to_status", entry.to_status.map(|status| status.as_str())),
        ("assignee", entry.assignee.as_deref()),
        ("note", entry.note.as_deref()),
    ];
    for (name, value) in optional {
        if let Some(value) = value {
            item.insert(name.to_string(), string(value));
        }
    }
    item
}

pub fn history_sk(revision: i64) -> String {
    format!("{HISTORY_PREFIX}{revision:010}")
}

pub fn history_entry(item: &Item) -> Result<HistoryEntry, StoreError> {
    let status = |name: &str| -> Result<_, StoreError> {
        Ok(optional_text(item, name)?.and_then(|text| text.parse().ok()))
    };
    Ok(HistoryEntry {
        at_ms: number_of(item, "at_ms")?,
        actor: owned(item, "actor")?,
        from_status: status("from_status")?,
        to_status: status("to_status")?,
        assignee: optional_text(item, "assignee")?.map(str::to_string),
        note: optional_text(item, "note")?.map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::sample_incident;

    #[test]
    fn an_incident_reads_back_from_its_item() {
        let mut incident = sample_incident(7);
        incident.assignee = Some("alice".into());
        let item = incident_item(&incident, None).unwrap();
        assert_eq!(incident_from(&item).unwrap(), incident);
        assert!(matches!(item.get("raw"), Some(AttributeValue::B(_))));
    }

    #[test]
    fn a_raw_event_too_large_for_an_item_is_left_out_and_the_rest_kept() {
        let mut incident = sample_incident(2);
        // 800 KB of xorshift letters: 470 KB compressed, over the limit.
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        let noise: String = (0..800_000)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                char::from(b'a' + (state % 26) as u8)
            })
            .collect();
        incident.raw = Some(noise);
        let item = incident_item(&incident, None).unwrap();
        assert!(!item.contains_key("raw"));
        assert!(size(&item) < ITEM_LIMIT);
        incident.raw = None;
        assert_eq!(incident_from(&item).unwrap(), incident);
    }

    #[test]
    fn a_claim_names_its_event_whatever_the_event_id() {
        for event_id in ["evt-1", "event#evt-1", "event#", ""] {
            assert_eq!(claimed_event(&claim_pk(event_id)), Some(event_id));
        }
        assert_eq!(claimed_event("inc-20260101-000000-ABCDEF"), None);
    }

    #[test]
    fn the_listing_order_sorts_as_the_listing_reads() {
        let times = [i64::MIN, -1_000, -1, 0, 1, 1_717_200_000_000, i64::MAX];
        let orders: Vec<String> = times
            .iter()
            .map(|time| listing_order(*time, "inc-a"))
            .collect();
        let mut sorted = orders.clone();
        sorted.sort();
        assert_eq!(sorted, orders, "in time order");
        assert!(listing_order(5, "inc-a") < listing_order(5, "inc-b"));
        assert!(listing_order(5, "inc-zzz") < listing_order(6, "inc-a"));
        assert!(update_order(5, "inc-zzz") < update_order(6, "inc-a"));
        assert!(
            time_key(5) < update_order(5, "inc-a"),
            "a time's key comes before its ids"
        );
    }

    #[test]
    fn a_malformed_item_is_an_error_naming_the_attribute() {
        let mut item = incident_item(&sample_incident(1), None).unwrap();
        item.insert("severity".into(), string("SEVERE"));
        let error = incident_from(&item).unwrap_err().to_string();
        assert!(error.contains("severity"), "{error}");
        item.remove("severity");
        let error = incident_from(&item).unwrap_err().to_string();
        assert!(error.contains("severity: missing"), "{error}");
    }
}
