//! Runbooks kept once each (migration 0006): an incident row refers to its rule's runbook by id.

use iamwatch_core::Runbook;
use rusqlite::{Connection, OptionalExtension};
use std::collections::HashMap;
use std::sync::Arc;

/// The ids of the runbooks one transaction refers to, by the runbook shared among incidents
/// (the pipeline hands every incident of a rule the rule's own `Arc`): a batch of a thousand
/// incidents holds a few dozen runbooks, each looked up once. Held for one transaction only, so
/// that a rolled-back insert of a runbook leaves no id behind.
#[derive(Default)]
pub struct RunbookIds {
    /// Keyed by the `Arc`'s address; the `Arc` is held so that the address is not reused.
    by_address: HashMap<usize, (Arc<Runbook>, i64)>,
}

impl RunbookIds {
    /// The id of `runbook` in `connection`, stored first if no incident refers to the same text.
    pub fn id(&mut self, connection: &Connection, runbook: &Arc<Runbook>) -> rusqlite::Result<i64> {
        let address = Arc::as_ptr(runbook) as usize;
        if let Some((_, id)) = self.by_address.get(&address) {
            return Ok(*id);
        }
        let id = stored_id(connection, runbook.json())?;
        self.by_address.insert(address, (Arc::clone(runbook), id));
        Ok(id)
    }
}

fn stored_id(connection: &Connection, text: &str) -> rusqlite::Result<i64> {
    let existing = connection
        .prepare_cached("SELECT id FROM runbooks WHERE runbook = ?1")?
        .query_row([text], |row| row.get(0))
        .optional()?;
    if let Some(id) = existing {
        return Ok(id);
    }
    connection
        .prepare_cached("INSERT INTO runbooks (runbook) VALUES (?1)")?
        .execute([text])?;
    Ok(connection.last_insert_rowid())
}

/// A runbook as stored: the text [`RunbookIds::id`] wrote.
pub fn parse(text: &str) -> Result<Runbook, String> {
    serde_json::from_str(text).map_err(|error| format!("runbook: {error}"))
}
