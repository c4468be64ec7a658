//! Incident storage.
//!
//! [`IncidentStore`] is the contract every backend keeps: one incident per CloudTrail event
//! (a second insert of the same event returns the stored incident and creates nothing; the
//! incident id, derived from the event's time and id, is what tells it is the same),
//! lifecycle changes checked against [`iamwatch_core::IncidentStatus::transition`] and recorded
//! in a history, and a stable newest-first listing with cursor pagination. [`contract`] holds
//! the tests that prove it, run against every backend.
//!
//! [`SqliteStore`] is the embedded default: one file, WAL, migrations applied at open.
//! [`PostgresStore`] is the store a team shares; [`DynamoStore`] the serverless deployment's
//! (and an AWS team's). [`StoreLocation`] tells which one a `--db` names.

pub mod contract;
pub mod dynamodb;
mod error;
mod location;
mod model;
pub mod postgres;
pub mod sqlite;

pub use dynamodb::{DynamoStore, DynamoTable};
pub use error::{StoreError, StoreErrorKind};
pub use location::{PostgresUrl, StoreLocation};
pub use model::{HistoryEntry, IncidentChange, IncidentPage, IncidentQuery, StoreChange, Stored};
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

use async_trait::async_trait;
use iamwatch_core::{Incident, KeptCount};

#[async_trait]
pub trait IncidentStore: Send + Sync {
    /// Stores new incidents in one transaction. For each input, in order, returns the incident
    /// as stored and whether this call created it: an incident of an event already stored is
    /// returned as it is stored (status, id and all) with `created == false`. The same event
    /// comes with the same `incident_id` ([`Incident::make_id`] of its time and id); an id
    /// taken by another event is retried with [`Incident::resalted_id`].
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; nothing of the batch is stored then.
    async fn insert_batch(&self, incidents: Vec<Incident>) -> Result<Vec<Stored>, StoreError>;

    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn get(&self, incident_id: &str) -> Result<Option<Incident>, StoreError>;

    /// The incidents of `incident_ids` that are stored, in no particular order: a burst another
    /// server announced, read in one go where the backend can (a `get` each otherwise).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn get_many(&self, incident_ids: &[String]) -> Result<Vec<Incident>, StoreError> {
        let mut found = Vec::with_capacity(incident_ids.len());
        for incident_id in incident_ids {
            found.extend(self.get(incident_id).await?);
        }
        Ok(found)
    }

    /// Newest event first (ties by incident id), filtered by `query`. Listed incidents come
    /// without their raw event (`raw` is `None`: no listing shows it, and it is most of an
    /// incident's bytes); [`IncidentStore::get`] reads it.
    ///
    /// # Errors
    /// [`StoreErrorKind::Invalid`] for a malformed cursor; otherwise backend failures.
    async fn list(&self, query: &IncidentQuery) -> Result<IncidentPage, StoreError>;

    /// The incidents of events at or after `since_ms`, oldest event first (ties by incident
    /// id), from just after `after` (the `(event time, incident id)` of the last one the page
    /// before held) on, at most `limit` of them, without their raw event: what a process that
    /// starts reads again so that its stateful detections remember the events before it
    /// ([`recall_each`] reads them all).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn recall(
        &self,
        since_ms: i64,
        after: Option<(i64, String)>,
        limit: usize,
    ) -> Result<Vec<Incident>, StoreError>;

    /// Keeps what rules with a threshold counted of events (each match, as
    /// [`Incident::kept_counts`] gives it, whether the event made an incident or was only
    /// counted), so that a process that starts goes on counting where this one stopped
    /// ([`recall_counts_each`]). A match kept already (the same rule and event) is kept once.
    /// Only what an event arriving at `now_ms` may still join is kept
    /// ([`KeptCount::in_use_at`]); the store forgets the rest as it goes (DynamoDB by its
    /// time to live).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails; none of `counts` is kept then.
    async fn keep_counts(&self, counts: Vec<KeptCount>, now_ms: i64) -> Result<(), StoreError>;

    /// The kept counts whose window ends at `since_ms` or later, in the order of their
    /// window's end (ties by rule id, then event id), from just after `after` (the last one
    /// the page before held) on, at most `limit` of them.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn recall_counts(
        &self,
        since_ms: i64,
        after: Option<KeptCount>,
        limit: usize,
    ) -> Result<Vec<KeptCount>, StoreError>;

    /// Applies a status, assignee or note change and records it in the history.
    ///
    /// # Errors
    /// [`StoreErrorKind::NotFound`] for an unknown id; [`StoreErrorKind::Conflict`] for a
    /// status change the lifecycle forbids.
    async fn update(
        &self,
        incident_id: &str,
        change: IncidentChange,
    ) -> Result<Incident, StoreError>;

    /// The incident's history, oldest first.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn history(&self, incident_id: &str) -> Result<Vec<HistoryEntry>, StoreError>;

    /// From now on, the changes other processes commit to this store, for a store several
    /// processes share (PostgreSQL: several `serve`s); it also starts announcing this process's
    /// own to them. `None` for a store only this process writes to as it runs (SQLite).
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn changes(
        &self,
    ) -> Result<Option<tokio::sync::mpsc::Receiver<StoreChange>>, StoreError> {
        Ok(None)
    }

    /// From now on, announces this process's writes to the processes that follow the store's
    /// [`changes`](Self::changes), without following theirs: the serverless function's
    /// incidents reach the dashboards of every `serve` sharing its table. A no-op for a store
    /// only one process writes to (SQLite).
    fn announce(&self) {}

    /// Owes the notification destinations these incidents, in the store, for a process that
    /// may die between storing and sending and keeps no file (the serverless function): they
    /// are what [`owed_notifications`](Self::owed_notifications) finds until
    /// [`notified`](Self::notified). A no-op for the stores of `serve`, which keeps its own
    /// outbox.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn owe_notifications(&self, _incident_ids: &[String]) -> Result<(), StoreError> {
        Ok(())
    }

    /// Which of `incident_ids` are still owed to the notification destinations.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn owed_notifications(
        &self,
        _incident_ids: &[String],
    ) -> Result<Vec<String>, StoreError> {
        Ok(Vec::new())
    }

    /// These incidents' notifications are sent (or given up on): no longer owed.
    ///
    /// # Errors
    /// [`StoreError`] when the backend fails.
    async fn notified(&self, _incident_ids: &[String]) -> Result<(), StoreError> {
        Ok(())
    }

    /// Whether the backend answers.
    ///
    /// # Errors
    /// [`StoreErrorKind::Unavailable`] when it does not.
    async fn check(&self) -> Result<(), StoreError>;
}

/// Incidents a recall reads per request.
pub const RECALL_PAGE: usize = 1000;

/// Hands `each` every incident of an event at or after `since_ms`, oldest event first, a page
/// at a time (memory holds one page, whatever the period); returns how many there were.
///
/// # Errors
/// [`StoreError`] when the backend fails; `each` has had the incidents before it then.
pub async fn recall_each(
    store: &dyn IncidentStore,
    since_ms: i64,
    mut each: impl FnMut(&Incident) + Send,
) -> Result<usize, StoreError> {
    let mut recalled = 0;
    let mut after = None;
    loop {
        let page = store.recall(since_ms, after, RECALL_PAGE).await?;
        page.iter().for_each(&mut each);
        recalled += page.len();
        match page.last() {
            Some(last) if page.len() == RECALL_PAGE => {
                after = Some((last.event_time_ms, last.incident_id.clone()));
            }
            _ => return Ok(recalled),
        }
    }
}

/// Hands `each` every kept count whose window ends at `since_ms` or later, a page at a time;
/// returns how many there were.
///
/// # Errors
/// [`StoreError`] when the backend fails; `each` has had the counts before it then.
pub async fn recall_counts_each(
    store: &dyn IncidentStore,
    since_ms: i64,
    mut each: impl FnMut(KeptCount) + Send,
) -> Result<usize, StoreError> {
    let mut recalled = 0;
    let mut after = None;
    loop {
        let page = store.recall_counts(since_ms, after, RECALL_PAGE).await?;
        let full = page.len() == RECALL_PAGE;
        recalled += page.len();
        after = page.last().cloned();
        page.into_iter().for_each(&mut each);
        if !full {
            return Ok(recalled);
        }
    }
}
