//! The SQL of a listing: filters, the cursor, and the order incidents are listed in.

use crate::model::{decode_cursor, like_pattern, listing_sql};
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
        // `LIKE`, not `instr(lower(…), lower(?))`: SQLite's `LIKE` folds case as its `lower()`
        // does, ASCII only, without a lowered copy of every row's text (`incidents list --text`
        // for a term in none of 115,833 incidents: 0.17 s instead of 0.38 to 0.48 s).
        let like = |searched: &str, term: &str, values: &mut Vec<rusqlite::types::Value>| {
            bind(
                &format!("{searched} LIKE ? ESCAPE '\\'"),
                like_pattern(term).into(),
                values,
            )
        };
        // The cheap test first (SQLite stops at the first false term), on the meta and runbook
        // as JSON text, where a value's `\` and `"` are escaped: a term holding either is
        // looked for as written there too, or the test would rule out the rows that hold it.
        let mut cheap = like(rows::SEARCHED_TEXT, text, &mut values);
        let as_json = json_escaped(text);
        if as_json != *text {
            let escaped = like(rows::SEARCHED_TEXT, &as_json, &mut values);
            cheap = format!("({cheap} OR {escaped})");
        }
        let exact = like(rows::SEARCHED_VALUES, text, &mut values);
        clauses.push(format!("{cheap} AND {exact}"));
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
    let sql = listing_sql(rows::LISTED_COLUMNS, &clauses, query);
    Ok(ListSql { sql, values })
}

/// `term` as it is written inside a JSON string (the meta's and runbook's text).
fn json_escaped(term: &str) -> String {
    let quoted = serde_json::Value::from(term).to_string();
    quoted[1..quoted.len() - 1].to_string()
}
