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

/// Cursor: the last listed incident's `(event_time_ms, incident_id)`.
pub(crate) fn encode_cursor(event_time_ms: i64, incident_id: &str) -> String {
    format!("{event_time_ms}.{incident_id}")
}

pub(crate) fn decode_cursor(cursor: &str) -> Option<(i64, &str)> {
    let (time, id) = cursor.split_once('.')?;
    Some((time.parse().ok()?, id))
}
