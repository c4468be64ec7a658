use crate::StoreError;
use iamwatch_core::{Incident, IncidentStatus, Severity};
use serde::{Deserialize, Serialize};

/// An incident as a store returned it from an insert.
#[derive(Clone, Debug, PartialEq)]
pub struct Stored {
    pub incident: Incident,
    /// False when the event was already stored (a duplicate delivery or a re-scan).
    pub created: bool,
}

/// Filters for listing. Empty vectors and `None` mean "any".
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IncidentQuery {
    pub severities: Vec<Severity>,
    pub statuses: Vec<IncidentStatus>,
    pub account: Option<String>,
    pub rule_id: Option<String>,
    /// Case-insensitive substring of title (either language), resource, event name, or a text
    /// value of the meta (its runbook included): not of its keys.
    pub text: Option<String>,
    /// Only incidents created or updated at or after this epoch-ms time.
    pub since_ms: Option<i64>,
    /// Opaque position returned as `next_cursor` by the previous page.
    pub cursor: Option<String>,
    /// Page size; 0 means the default (100). Capped at 1,000.
    pub limit: usize,
}

impl IncidentQuery {
    pub const DEFAULT_LIMIT: usize = 100;
    pub const MAX_LIMIT: usize = 1000;

    pub fn effective_limit(&self) -> usize {
        match self.limit {
            0 => Self::DEFAULT_LIMIT,
            limit => limit.min(Self::MAX_LIMIT),
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct IncidentPage {
    pub incidents: Vec<Incident>,
    pub next_cursor: Option<String>,
}

/// A change another process committed to a store they share (see
/// [`IncidentStore::changes`](crate::IncidentStore::changes)).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreChange {
    /// Incidents stored, by id.
    Created(Vec<String>),
    /// An incident's status, assignee or history changed.
    Updated(String),
    /// Changes may have been missed: the feed was cut, and is back.
    Missed,
}

/// A change to an incident. `None` fields are left as they are.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct IncidentChange {
    pub status: Option<IncidentStatus>,
    /// `Some(None)` clears the assignee.
    pub assignee: Option<Option<String>>,
    pub note: Option<String>,
    /// Who made the change (a user name, `cli`, `api`).
    pub actor: String,
    pub at_ms: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HistoryEntry {
    pub at_ms: i64,
    pub actor: String,
    pub from_status: Option<IncidentStatus>,
    pub to_status: Option<IncidentStatus>,
    pub assignee: Option<String>,
    pub note: Option<String>,
}

/// Whether a batch that stored `stored` was mostly stored already (a re-scan): a store then
/// looks the next batch's incidents up before writing anything of them.
pub(crate) fn mostly_stored(stored: &[Stored]) -> bool {
    let existing = stored.iter().filter(|entry| !entry.created).count();
    !stored.is_empty() && existing * 2 >= stored.len()
}

/// A listing's statement, whichever the store: `columns` of the incidents matching every one of
/// `clauses`, in the listing's order (newest event first, ties by incident id, as the cursor
/// counts), one more than the page holds, to tell whether another page follows ([`page`]).
pub(crate) fn listing_sql(columns: &str, clauses: &[String], query: &IncidentQuery) -> String {
    let where_clause = if clauses.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", clauses.join(" AND "))
    };
    format!(
        "SELECT {columns} FROM incidents {where_clause} ORDER BY event_time_ms DESC, incident_id DESC LIMIT {}",
        query.effective_limit() + 1
    )
}

/// Where a recall reads from: just after `after`, or before the first incident of `since_ms`
/// (no incident id is empty), whichever is later.
pub(crate) fn recall_start(since_ms: i64, after: Option<(i64, String)>) -> (i64, String) {
    let start = (since_ms, String::new());
    after.map_or(start.clone(), |after| after.max(start))
}

/// Where a recall of kept counts starts: just after `after` (the last count of the page
/// before, in the order of `(window end, rule id, event id)`), and at counts whose window ends
/// at `since_ms` or later.
pub(crate) fn count_start(
    since_ms: i64,
    after: Option<iamwatch_core::KeptCount>,
) -> (i64, String, String) {
    let start = (since_ms, String::new(), String::new());
    after.map_or(start.clone(), |after| {
        (after.window_end_ms(), after.rule_id, after.event_id).max(start)
    })
}

/// A listing's page from the incidents its query found: it asks for one more than `limit`, to
/// tell whether another page follows, and the cursor names the last one shown.
pub(crate) fn page(mut incidents: Vec<Incident>, limit: usize) -> IncidentPage {
    let next_cursor = if incidents.len() > limit {
        incidents.truncate(limit);
        incidents
            .last()
            .map(|last| encode_cursor(last.event_time_ms, &last.incident_id))
    } else {
        None
    };
    IncidentPage {
        incidents,
        next_cursor,
    }
}

/// Cursor: the last listed incident's `(event_time_ms, incident_id)`.
pub(crate) fn encode_cursor(event_time_ms: i64, incident_id: &str) -> String {
    format!("{event_time_ms}.{incident_id}")
}

pub(crate) fn decode_cursor(cursor: &str) -> Option<(i64, &str)> {
    let (time, id) = cursor.split_once('.')?;
    Some((time.parse().ok()?, id))
}

/// Applies `change` to `incident` as every store does: the status moved as the lifecycle allows,
/// the assignee set or cleared, `updated_at` never going back. Returns the status move to record
/// (from, to as asked), if the change asked for one.
///
/// # Errors
/// [`StoreError::Conflict`] for a move the lifecycle forbids.
pub(crate) fn applied_change(
    incident: &mut Incident,
    change: &IncidentChange,
) -> Result<Option<(IncidentStatus, IncidentStatus)>, StoreError> {
    let from_status = incident.status;
    let mut moved = None;
    if let Some(status) = change.status {
        incident.status = from_status
            .transition(status)
            .map_err(|error| StoreError::Conflict(error.to_string()))?;
        moved = Some((from_status, status));
    }
    if let Some(assignee) = &change.assignee {
        incident.assignee.clone_from(assignee);
    }
    incident.updated_at = change.at_ms.max(incident.updated_at);
    Ok(moved)
}

/// An incident's history, oldest first: its creation, then `changes` (the stored ones, oldest
/// first). `created` is the incident's `created_at` and current status, `None` when there is no
/// such incident.
///
/// Creation is not stored as a row: the incident's own `created_at` records it, and a bulk scan
/// then writes one row per incident instead of two. Its status is the one the first status
/// change started from, or the current status when nothing changed it yet. SQLite databases
/// written before this kept creation as a row (no `from_status`, a `to_status`); that row is used
/// as is.
pub(crate) fn with_creation(
    changes: Vec<HistoryEntry>,
    created: Option<(i64, String)>,
) -> Vec<HistoryEntry> {
    if changes
        .first()
        .is_some_and(|first| first.from_status.is_none() && first.to_status.is_some())
    {
        return changes;
    }
    let Some((created_at, status)) = created else {
        return changes;
    };
    let created_as = changes
        .iter()
        .find_map(|change| change.from_status)
        .or_else(|| status.parse().ok());
    let mut history = Vec::with_capacity(changes.len() + 1);
    history.push(HistoryEntry {
        at_ms: created_at,
        actor: CREATOR.to_string(),
        from_status: None,
        to_status: created_as,
        assignee: None,
        note: None,
    });
    history.extend(changes);
    history
}

/// This process's name in the changes a shared store tells the others about: its pid and when
/// it asked (two processes of one pid, one after the other, differ).
pub(crate) fn process_origin() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_nanos());
    format!("{}-{nanos}", std::process::id())
}

/// Who creates incidents, as the history names it.
pub const CREATOR: &str = "iamwatch";

/// A `LIKE … ESCAPE '\'` pattern matching `term` anywhere, its `%`, `_` and `\` taken literally.
pub(crate) fn like_pattern(term: &str) -> String {
    let mut pattern = String::with_capacity(term.len() + 2);
    pattern.push('%');
    for character in term.chars() {
        if matches!(character, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(character);
    }
    pattern.push('%');
    pattern
}

/// What a text search matches, one field a line: the titles in both languages, the resource,
/// the event name, and the text values of the meta (not its keys: a search for `ip` or `device`
/// would otherwise find every incident), as SQLite's search does (PostgreSQL and DynamoDB keep it in a column). The runbook's
/// [`text_values`] follow it.
pub(crate) fn search_text(incident: &Incident, meta: &str) -> String {
    let mut text = String::with_capacity(meta.len());
    for field in [
        &incident.title.en,
        &incident.title.ko,
        &incident.resource,
        &incident.event_name,
    ] {
        text.push_str(field);
        text.push('\n');
    }
    text.push_str(&text_values(meta));
    text
}

/// The text values of a JSON document (a meta, a runbook), one a line.
pub(crate) fn text_values(json: &str) -> String {
    let mut text = String::new();
    if let Ok(value) = serde_json::from_str::<serde_json::Value>(json) {
        push_text_values(&value, &mut text);
    }
    text
}

fn push_text_values(value: &serde_json::Value, text: &mut String) {
    match value {
        serde_json::Value::String(string) => {
            text.push_str(string);
            text.push('\n');
        }
        serde_json::Value::Array(items) => {
            for item in items {
                push_text_values(item, text);
            }
        }
        serde_json::Value::Object(members) => {
            for member in members.values() {
                push_text_values(member, text);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::sample_incident;

    #[test]
    fn search_text_holds_the_text_values_not_the_keys() {
        let incident = sample_incident(1);
        let meta = incident.meta_json.stored_text(&incident.meta);
        let runbook = incident.meta.runbook.as_ref().map(|runbook| runbook.json());
        let mut searched = search_text(&incident, &meta);
        searched.push_str(&text_values(runbook.unwrap()));
        let lines: Vec<&str> = searched.lines().collect();
        for expected in [
            "Delete access key: AKIA1 (by alice)",
            "액세스 키 삭제: AKIA1 (수행자: alice)",
            "AKIA1",
            "DeleteAccessKey",
            "203.0.113.9",
            "Ask the key's owner",
            "Ask the key's owner (확인합니다)",
        ] {
            assert!(lines.contains(&expected), "{expected:?} in {lines:?}");
        }
        for key in ["ip", "api", "device", "runbook"] {
            assert!(!lines.contains(&key), "{key:?} in {lines:?}");
        }
    }
}
