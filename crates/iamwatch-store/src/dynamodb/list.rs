//! Listings: the listing index read backwards (newest event first, ties by incident id), from
//! the cursor on, the query's filters applied by DynamoDB as it reads. What changed since a time
//! (a live dashboard catching up) is read from the updates index instead, from that time on,
//! and put in the listing's order here: it is what changed in the last moments, not the table.
//!
//! DynamoDB filters after it reads: a request reads up to 1 MB of the index and returns what
//! passes, so a page of a rare filter can take several requests. The index is eventually
//! consistent on AWS: an incident stored a moment ago may be listed a moment later (its `get`
//! reads it at once).

use super::items::{
    self, Item, LISTING, LISTING_ALL, LISTING_INDEX, LISTING_ORDER, UPDATES_INDEX, UPDATE_ORDER,
};
use super::{dynamo_error, DynamoStore};
use crate::model::{decode_cursor, page};
use crate::{IncidentPage, IncidentQuery, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use iamwatch_core::Incident;
use std::collections::HashMap;

pub async fn list(store: &DynamoStore, query: &IncidentQuery) -> Result<IncidentPage, StoreError> {
    let limit = query.effective_limit();
    let request = Request::of(query)?;
    if query.since_ms.is_some() {
        return changed_since(store, &request, limit).await;
    }
    // Without filters every item read is listed: no more than the page is read.
    let read_limit = request.filter.is_none().then_some(limit as i32 + 1);
    let mut found = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let (incidents, next) = read(store, &request, read_limit, start).await?;
        found.extend(incidents);
        start = next;
        if found.len() > limit || start.is_none() {
            break;
        }
    }
    found.truncate(limit + 1);
    Ok(page(found, limit))
}

/// A listing of what changed since the query's time: every incident the updates index holds
/// from then on that passes the filters, put in the listing's order, from the cursor on.
async fn changed_since(
    store: &DynamoStore,
    request: &Request,
    limit: usize,
) -> Result<IncidentPage, StoreError> {
    let mut found = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let (incidents, next) = read(store, request, None, start).await?;
        found.extend(incidents.into_iter().filter(|incident| {
            request.cursor.as_ref().is_none_or(|(time, id)| {
                (incident.event_time_ms, incident.incident_id.as_str()) < (*time, id.as_str())
            })
        }));
        start = next;
        if start.is_none() {
            break;
        }
    }
    found.sort_unstable_by(|a, b| {
        (b.event_time_ms, &b.incident_id).cmp(&(a.event_time_ms, &a.incident_id))
    });
    found.truncate(limit + 1);
    Ok(page(found, limit))
}

/// One request of `request`'s query (its index read backwards), from `start`: the incidents it
/// returned, and where the next request starts (`None` at the end).
async fn read(
    store: &DynamoStore,
    request: &Request,
    limit: Option<i32>,
    start: Option<Item>,
) -> Result<(Vec<Incident>, Option<Item>), StoreError> {
    let output = store
        .client
        .query()
        .table_name(store.table.name())
        .index_name(request.index)
        .key_condition_expression(&request.key_condition)
        .set_filter_expression(request.filter.clone())
        .set_expression_attribute_names(Some(request.names.clone()))
        .set_expression_attribute_values(Some(request.values.clone()))
        .scan_index_forward(false)
        .set_limit(limit)
        .set_exclusive_start_key(start)
        .send()
        .await
        .map_err(|error| {
            dynamo_error(format!("cannot list incidents in {}", store.table), error)
        })?;
    let incidents = output
        .items()
        .iter()
        .map(items::incident_from)
        .collect::<Result<_, _>>()?;
    Ok((incidents, output.last_evaluated_key))
}

/// A query's expressions, its names and values as DynamoDB takes them apart, and the index
/// they read.
struct Request {
    index: &'static str,
    /// The last incident of the page before, as `(event time, incident id)`.
    cursor: Option<(i64, String)>,
    key_condition: String,
    filter: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Request {
    fn of(query: &IncidentQuery) -> Result<Self, StoreError> {
        let mut request = Self {
            index: LISTING_INDEX,
            cursor: None,
            key_condition: "#listing = :listing".to_string(),
            filter: None,
            names: HashMap::from([("#listing".to_string(), LISTING.to_string())]),
            values: HashMap::from([(
                ":listing".to_string(),
                AttributeValue::S(LISTING_ALL.to_string()),
            )]),
        };
        if let Some(cursor) = &query.cursor {
            let (time, id) = decode_cursor(cursor)
                .ok_or_else(|| StoreError::Invalid(format!("malformed cursor {cursor:?}")))?;
            request.cursor = Some((time, id.to_string()));
        }
        if let Some(since_ms) = query.since_ms {
            // The cursor is applied as the incidents are read (`changed_since`).
            request.index = UPDATES_INDEX;
            request.key_condition.push_str(" AND #order >= :since");
            request.name("#order", UPDATE_ORDER);
            request.value(":since", items::time_key(since_ms));
        } else if let Some((time, id)) = &request.cursor {
            let after = items::listing_order(*time, id);
            request.key_condition.push_str(" AND #order < :after");
            request.name("#order", LISTING_ORDER);
            request.value(":after", after);
        }
        let mut clauses = Vec::new();
        let mut one_of = |request: &mut Self, attribute: &str, values: Vec<&str>| {
            if values.is_empty() {
                return;
            }
            let name = format!("#{attribute}");
            request.name(&name, attribute);
            let placeholders: Vec<String> = values
                .into_iter()
                .enumerate()
                .map(|(n, value)| {
                    let placeholder = format!(":{attribute}{n}");
                    request.value(&placeholder, value.to_string());
                    placeholder
                })
                .collect();
            clauses.push(format!("{name} IN ({})", placeholders.join(", ")));
        };
        one_of(
            &mut request,
            "severity",
            query
                .severities
                .iter()
                .map(|severity| severity.as_str())
                .collect(),
        );
        one_of(
            &mut request,
            "status",
            query
                .statuses
                .iter()
                .map(|status| status.as_str())
                .collect(),
        );
        one_of(
            &mut request,
            "account",
            query.account.iter().map(String::as_str).collect(),
        );
        one_of(
            &mut request,
            "rule_id",
            query.rule_id.iter().map(String::as_str).collect(),
        );
        if let Some(text) = query.text.as_deref().filter(|text| !text.is_empty()) {
            request.name("#search_text", "search_text");
            request.value(":text", text.to_lowercase());
            clauses.push("contains(#search_text, :text)".to_string());
        }
        if !clauses.is_empty() {
            request.filter = Some(clauses.join(" AND "));
        }
        Ok(request)
    }

    fn name(&mut self, placeholder: &str, attribute: &str) {
        self.names
            .insert(placeholder.to_string(), attribute.to_string());
    }

    fn value(&mut self, placeholder: &str, value: String) {
        self.values
            .insert(placeholder.to_string(), AttributeValue::S(value));
    }
}

/// A recall's page (see [`IncidentStore::recall`](crate::IncidentStore::recall)): the listing
/// index read forwards from just after `(time, id)`, up to `limit` incidents (a request returns
/// up to 1 MB of them).
pub async fn recall(
    store: &DynamoStore,
    (time, id): (i64, String),
    limit: usize,
) -> Result<Vec<Incident>, StoreError> {
    let mut found = Vec::new();
    let mut start: Option<Item> = None;
    while found.len() < limit {
        let output = store
            .client
            .query()
            .table_name(store.table.name())
            .index_name(LISTING_INDEX)
            .key_condition_expression("#listing = :listing AND #order > :after")
            .expression_attribute_names("#listing", LISTING)
            .expression_attribute_names("#order", LISTING_ORDER)
            .expression_attribute_values(":listing", AttributeValue::S(LISTING_ALL.to_string()))
            .expression_attribute_values(
                ":after",
                AttributeValue::S(items::listing_order(time, &id)),
            )
            .scan_index_forward(true)
            .limit(i32::try_from(limit - found.len()).unwrap_or(i32::MAX))
            .set_exclusive_start_key(start)
            .send()
            .await
            .map_err(|error| {
                dynamo_error(format!("cannot recall incidents in {}", store.table), error)
            })?;
        for item in output.items() {
            found.push(items::incident_from(item)?);
        }
        start = output.last_evaluated_key;
        if start.is_none() {
            break;
        }
    }
    Ok(found)
}
