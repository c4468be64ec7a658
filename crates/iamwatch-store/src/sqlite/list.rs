//! The SQL of a listing: filters, the cursor, and the order incidents are listed in.

use crate::model::decode_cursor;
use crate::{IncidentQuery, StoreError};

use super::rows;

/// A listing's statement and the values bound to its numbered parameters. It asks for one
/// incident more than the limit, to tell whether another page follows.
pub struct ListSql {
    pub sql: String,
    pub values: Vec<rusqlite::types::Value>,
}

pub fn list_sql(query: &IncidentQuery) -> Result<ListSql, StoreError> {
    let mut clauses: Vec<String> = Vec::new();
    let mut values: Vec<rusqlite::types::Value> = Vec::new();
    let bind =
        |clause: &str, value: rusqlite::types::Value, values: &mut Vec<rusqlite::types::Value>| {
            values.push(value);
            clause.replace('?', &format!("?{}", values.len()))
        };
    // `column IN (?n, …)` over the names given, when any are.
    let one_of = |column: &str, names: Vec<&str>, values: &mut Vec<rusqlite::types::Value>| {
        let placeholders: Vec<String> = names
            .into_iter()
            .map(|name| bind("?", name.to_string().into(), values))
            .collect();
        (!placeholders.is_empty()).then(|| format!("{column} IN ({})", placeholders.join(", ")))
    };
    let severities = query.severities.iter().map(|severity| severity.as_str());
    clauses.extend(one_of("severity", severities.collect(), &mut values));
    let statuses = query.statuses.iter().map(|status| status.as_str());
    clauses.extend(one_of("status", statuses.collect(), &mut values));
    if let Some(account) = &query.account {
        clauses.push(bind("account = ?", account.clone().into(), &mut values));
    }
    if let Some(rule_id) = &query.rule_id {
        clauses.push(bind("rule_id = ?", rule_id.clone().into(), &mut values));
    }
    if let Some(text) = query.text.as_ref().filter(|text| !text.is_empty()) {
        // The cheap test first: SQLite stops at the first false term.
        clauses.push(bind(
            &format!(
                "instr(lower({}), lower(?)) > 0 AND instr(lower({}), lower(?)) > 0",
                rows::SEARCHED_TEXT,
                rows::SEARCHED_VALUES
            ),
            text.clone().into(),
            &mut values,
        ));
    }
    if let Some(since_ms) = query.since_ms {
        // A live stream's resync asks for what changed in the last seconds: few rows. Without
        // statistics SQLite guesses a quarter of the table and walks the time index to skip
        // sorting, reading every row (68 ms for 115,680 incidents); told the condition is
        // selective, it takes the update index and sorts what it finds.
        clauses.push(bind(
            "likelihood(updated_at >= ?, 0.001)",
            since_ms.into(),
            &mut values,
        ));
    }
    if let Some(cursor) = &query.cursor {
        let (time, id) = decode_cursor(cursor)
            .ok_or_else(|| StoreError::Invalid(format!("malformed cursor {cursor:?}")))?;
        let time_placeholder = bind("?", time.into(), &mut values);
        let id_placeholder = bind("?", id.to_string().into(), &mut values);
        clauses.push(format!(
            "(event_time_ms < {time_placeholder} OR (event_time_ms = {time_placeholder} AND incident_id < {id_placeholder}))"
        ));
    }
    let where_clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    let sql = format!(
        "SELECT {} FROM incidents {where_clause} ORDER BY event_time_ms DESC, incident_id DESC LIMIT {}",
        rows::SELECT_COLUMNS,
        query.effective_limit() + 1
    );
    Ok(ListSql { sql, values })
}
