//! The SQL of a listing: filters, the cursor, and the order incidents are listed in.

use crate::model::{decode_cursor, like_pattern, listing_sql};
use crate::{IncidentQuery, StoreError};
use tokio_postgres::types::ToSql;

use super::rows::{self, text};

/// A listing's statement and the values of its numbered parameters. It asks for one incident
/// more than the limit, to tell whether another page follows.
pub struct ListSql {
    pub sql: String,
    values: Vec<Box<dyn ToSql + Sync + Send>>,
}

impl ListSql {
    pub fn params(&self) -> Vec<&(dyn ToSql + Sync)> {
        self.values
            .iter()
            .map(|value| value.as_ref() as &(dyn ToSql + Sync))
            .collect()
    }
}

pub fn list_sql(query: &IncidentQuery) -> Result<ListSql, StoreError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<Box<dyn ToSql + Sync + Send>> = Vec::new();
    // `$n`, the number of `value` among the statement's values.
    let mut bind = |value: Box<dyn ToSql + Sync + Send>| {
        values.push(value);
        format!("${}", values.len())
    };
    if !query.severities.is_empty() {
        let names: Vec<&'static str> = query
            .severities
            .iter()
            .map(|severity| severity.as_str())
            .collect();
        clauses.push(format!("severity = ANY({})", bind(Box::new(names))));
    }
    if !query.statuses.is_empty() {
        let names: Vec<&'static str> = query
            .statuses
            .iter()
            .map(|status| status.as_str())
            .collect();
        clauses.push(format!("status = ANY({})", bind(Box::new(names))));
    }
    if let Some(account) = &query.account {
        clauses.push(format!(
            "account = {}",
            bind(Box::new(text(account).into_owned()))
        ));
    }
    if let Some(rule_id) = &query.rule_id {
        clauses.push(format!(
            "rule_id = {}",
            bind(Box::new(text(rule_id).into_owned()))
        ));
    }
    if let Some(term) = query.text.as_ref().filter(|term| !term.is_empty()) {
        // `ILIKE` folds case as the database's locale does (not only ASCII, unlike SQLite's).
        let pattern = like_pattern(&text(term));
        clauses.push(format!(
            "search_text ILIKE {} ESCAPE '\\'",
            bind(Box::new(pattern))
        ));
    }
    if let Some(since_ms) = query.since_ms {
        clauses.push(format!("updated_at >= {}", bind(Box::new(since_ms))));
    }
    if let Some(cursor) = &query.cursor {
        let (time, id) = decode_cursor(cursor)
            .ok_or_else(|| StoreError::Invalid(format!("malformed cursor {cursor:?}")))?;
        // A row comparison, which the listing index answers in its own order.
        let time = bind(Box::new(time));
        let id = bind(Box::new(text(id).into_owned()));
        clauses.push(format!("(event_time_ms, incident_id) < ({time}, {id})"));
    }
    let sql = listing_sql(rows::LISTED_COLUMNS, &clauses, query);
    Ok(ListSql { sql, values })
}
