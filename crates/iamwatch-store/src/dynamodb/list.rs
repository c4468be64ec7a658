//! Listings: the listing index read backwards (newest event first, ties by incident id), from
//! the cursor on, the query's filters applied by DynamoDB as it reads.
//!
//! DynamoDB filters after it reads: a request reads up to 1 MB of the index and returns what
//! passes, so a page of a rare filter can take several requests. The index is eventually
//! consistent on AWS: an incident stored a moment ago may be listed a moment later (its `get`
//! reads it at once).

use super::items::{self, Item, LISTING, LISTING_ALL, LISTING_INDEX, LISTING_ORDER};
use super::{dynamo_error, DynamoStore};
use crate::model::{decode_cursor, page};
use crate::{IncidentPage, IncidentQuery, StoreError};
use aws_sdk_dynamodb::types::AttributeValue;
use std::collections::HashMap;

pub async fn list(store: &DynamoStore, query: &IncidentQuery) -> Result<IncidentPage, StoreError> {
    let limit = query.effective_limit();
    let request = Request::of(query)?;
    let mut found = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        let output = store
            .client
            .query()
            .table_name(store.table.name())
            .index_name(LISTING_INDEX)
            .key_condition_expression(&request.key_condition)
            .set_filter_expression(request.filter.clone())
            .set_expression_attribute_names(Some(request.names.clone()))
            .set_expression_attribute_values(Some(request.values.clone()))
            .scan_index_forward(false)
            // Without filters every item read is listed: no more than the page is read.
            .set_limit(request.filter.is_none().then_some(limit as i32 + 1))
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(|error| {
                dynamo_error(format!("cannot list incidents in {}", store.table), error)
            })?;
        for item in output.items() {
            found.push(items::incident_from(item)?);
        }
        start = output.last_evaluated_key;
        if found.len() > limit || start.is_none() {
            break;
        }
    }
    found.truncate(limit + 1);
    Ok(page(found, limit))
}

/// A query's expressions, its names and values as DynamoDB takes them apart.
struct Request {
    key_condition: String,
    filter: Option<String>,
    names: HashMap<String, String>,
    values: HashMap<String, AttributeValue>,
}

impl Request {
    fn of(query: &IncidentQuery) -> Result<Self, StoreError> {
        let mut request = Self {
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
            request.key_condition.push_str(" AND #order < :after");
            request.name("#order", LISTING_ORDER);
            request.value(":after", items::listing_order(time, id));
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
        if let Some(since_ms) = query.since_ms {
            request.name("#updated_at", "updated_at");
            request.values.insert(
                ":since".to_string(),
                AttributeValue::N(since_ms.to_string()),
            );
            clauses.push("#updated_at >= :since".to_string());
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
