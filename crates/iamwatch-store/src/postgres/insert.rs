//! A batch of incidents stored in one transaction.
//!
//! The whole batch goes in with one `INSERT … SELECT FROM unnest(…) ON CONFLICT DO NOTHING`
//! (one round trip, where a statement per incident made a scan wait on the network for each),
//! which says which ids it inserted. The rest are read back in one more statement: an id
//! holding the same event is that event stored already (a re-scan, a second delivery, the same
//! event twice in the batch); an id holding another event is a collision, and that incident is
//! tried again under the next ids [`Incident::resalted_id`] gives, one at a time, as in SQLite.

use super::changes;
use super::pg_error;
use super::rows::{self, text};
use crate::model::{search_text, text_values};
use crate::{StoreError, Stored};
use iamwatch_core::Incident;
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use tokio_postgres::types::ToSql;
use tokio_postgres::Transaction;

/// Attempts at a fresh incident id when one collides with a stored incident of another event.
const ID_ATTEMPTS: u32 = 16;

const INSERT: &str = "INSERT INTO incidents (incident_id, event_id, event_name, event_type_en, \
     event_type_ko, rule_id, title_en, title_ko, resource, severity, severity_rank, status, meta, \
     runbook, search_text, source, account, region, event_time_ms, created_at, updated_at, \
     assignee, raw) \
     SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
     $7::text[], $8::text[], $9::text[], $10::text[], $11::int2[], $12::text[], $13::text[], \
     $14::text[], $15::text[], $16::text[], $17::text[], $18::text[], $19::int8[], $20::int8[], \
     $21::int8[], $22::text[], $23::text[]) \
     ON CONFLICT (incident_id) DO NOTHING RETURNING incident_id";

/// The batch's rows as one array per column, for [`INSERT`].
#[derive(Default)]
struct Columns<'a> {
    incident_id: Vec<Cow<'a, str>>,
    event_id: Vec<Cow<'a, str>>,
    event_name: Vec<Cow<'a, str>>,
    event_type_en: Vec<Cow<'a, str>>,
    event_type_ko: Vec<Cow<'a, str>>,
    rule_id: Vec<Cow<'a, str>>,
    title_en: Vec<Cow<'a, str>>,
    title_ko: Vec<Cow<'a, str>>,
    resource: Vec<Cow<'a, str>>,
    severity: Vec<&'static str>,
    severity_rank: Vec<i16>,
    status: Vec<&'static str>,
    meta: Vec<Cow<'a, str>>,
    runbook: Vec<Option<&'a str>>,
    search_text: Vec<String>,
    source: Vec<Cow<'a, str>>,
    account: Vec<Cow<'a, str>>,
    region: Vec<Cow<'a, str>>,
    event_time_ms: Vec<i64>,
    created_at: Vec<i64>,
    updated_at: Vec<i64>,
    assignee: Vec<Option<Cow<'a, str>>>,
    raw: Vec<Option<Cow<'a, str>>>,
}

impl<'a> Columns<'a> {
    fn of(incidents: impl IntoIterator<Item = &'a Incident>) -> Self {
        let mut columns = Self::default();
        // The search text of each distinct runbook, made once: the pipeline hands every
        // incident of a rule the rule's own runbook.
        let mut runbook_values: HashMap<*const iamwatch_core::Runbook, String> = HashMap::new();
        for incident in incidents {
            columns.push(incident, &mut runbook_values);
        }
        columns
    }

    fn push(
        &mut self,
        incident: &'a Incident,
        runbook_values: &mut HashMap<*const iamwatch_core::Runbook, String>,
    ) {
        // Written by the pipeline where it built the incident, most often.
        let meta = incident.meta_json.stored_text(&incident.meta);
        let runbook = incident.meta.runbook.as_ref();
        let mut search_text = search_text(incident, &meta);
        if let Some(runbook) = runbook {
            search_text.push_str(
                runbook_values
                    .entry(std::sync::Arc::as_ptr(runbook))
                    .or_insert_with(|| text_values(runbook.json())),
            );
        }
        self.incident_id.push(text(&incident.incident_id));
        self.event_id.push(text(&incident.event_id));
        self.event_name.push(text(&incident.event_name));
        self.event_type_en.push(text(&incident.event_type.en));
        self.event_type_ko.push(text(&incident.event_type.ko));
        self.rule_id.push(text(&incident.rule_id));
        self.title_en.push(text(&incident.title.en));
        self.title_ko.push(text(&incident.title.ko));
        self.resource.push(text(&incident.resource));
        self.severity.push(incident.severity.as_str());
        self.severity_rank.push(incident.severity.rank() as i16);
        self.status.push(incident.status.as_str());
        self.meta.push(meta);
        self.runbook.push(runbook.map(|runbook| runbook.json()));
        if let Cow::Owned(replaced) = text(&search_text) {
            search_text = replaced;
        }
        self.search_text.push(search_text);
        self.source.push(text(&incident.source));
        self.account.push(text(&incident.account));
        self.region.push(text(&incident.region));
        self.event_time_ms.push(incident.event_time_ms);
        self.created_at.push(incident.created_at);
        self.updated_at.push(incident.updated_at);
        self.assignee.push(incident.assignee.as_deref().map(text));
        self.raw.push(incident.raw.as_deref().map(text));
    }

    fn params(&self) -> [&(dyn ToSql + Sync); 23] {
        [
            &self.incident_id,
            &self.event_id,
            &self.event_name,
            &self.event_type_en,
            &self.event_type_ko,
            &self.rule_id,
            &self.title_en,
            &self.title_ko,
            &self.resource,
            &self.severity,
            &self.severity_rank,
            &self.status,
            &self.meta,
            &self.runbook,
            &self.search_text,
            &self.source,
            &self.account,
            &self.region,
            &self.event_time_ms,
            &self.created_at,
            &self.updated_at,
            &self.assignee,
            &self.raw,
        ]
    }
}

/// Inserts what [`Columns`] holds; the ids inserted.
async fn insert(
    transaction: &Transaction<'_>,
    columns: &Columns<'_>,
) -> Result<HashSet<String>, StoreError> {
    if columns.incident_id.is_empty() {
        return Ok(HashSet::new());
    }
    let inserted = transaction
        .query(INSERT, &columns.params())
        .await
        .map_err(pg_error("cannot insert incidents"))?;
    inserted.iter().map(|row| rows::column(row, 0)).collect()
}

/// Stores `incidents` in one transaction, reporting each as created or as stored already, in
/// order. With `announce`, the ids created are announced as that process's (`changes.rs`).
///
/// `look_up_first` when the last batch was mostly stored (a re-scan, see
/// [`crate::model::mostly_stored`]): the batch's ids are read first, and the incidents found
/// there are neither written into columns (their search text is a parse of their meta) nor
/// sent. On the million-record bench a re-scan took 6.9 s and 6.3 s of iamwatch's CPU without.
pub(super) async fn insert_all(
    client: &mut tokio_postgres::Client,
    incidents: Vec<Incident>,
    announce: Option<&str>,
    look_up_first: bool,
) -> Result<Vec<Stored>, StoreError> {
    let transaction = client
        .transaction()
        .await
        .map_err(pg_error("cannot begin transaction"))?;
    let mut holders = if look_up_first {
        let ids: Vec<&str> = incidents
            .iter()
            .map(|incident| incident.incident_id.as_str())
            .collect();
        stored_under(&transaction, &ids).await?
    } else {
        HashMap::new()
    };
    let found: Vec<bool> = incidents
        .iter()
        .map(|incident| is_stored(&holders, incident))
        .collect();
    let new = incidents
        .iter()
        .zip(&found)
        .filter(|(_, found)| !**found)
        .map(|(incident, _)| incident);
    let inserted = insert(&transaction, &Columns::of(new)).await?;
    // The first incident of the batch holding an inserted id is the one inserted; later ones
    // under the same id are looked up with the rest.
    let mut claimed: HashSet<&str> = HashSet::new();
    let created: Vec<bool> = incidents
        .iter()
        .zip(&found)
        .map(|(incident, found)| {
            !found
                && inserted.contains(&incident.incident_id)
                && claimed.insert(incident.incident_id.as_str())
        })
        .collect();
    let others: Vec<&str> = incidents
        .iter()
        .zip(created.iter().zip(&found))
        .filter(|(_, (created, found))| !**created && !**found)
        .map(|(incident, _)| incident.incident_id.as_str())
        .collect();
    holders.extend(stored_under(&transaction, &others).await?);
    let mut stored = Vec::with_capacity(incidents.len());
    for (incident, created) in incidents.into_iter().zip(created) {
        if created {
            stored.push(Stored {
                incident,
                created: true,
            });
            continue;
        }
        match holders.get(&incident.incident_id) {
            Some(holder) if holder.event_id == incident.event_id => stored.push(Stored {
                incident: holder.clone(),
                created: false,
            }),
            _ => {
                let entry = insert_resalted(&transaction, incident).await?;
                if entry.created {
                    // A later incident of the batch under this id is this one again.
                    holders.insert(entry.incident.incident_id.clone(), entry.incident.clone());
                }
                stored.push(entry);
            }
        }
    }
    if let Some(origin) = announce {
        let created = stored
            .iter()
            .filter(|entry| entry.created)
            .map(|entry| entry.incident.incident_id.as_str());
        for payload in changes::created_payloads(origin, created) {
            changes::announce(&transaction, &payload).await?;
        }
    }
    transaction
        .commit()
        .await
        .map_err(pg_error("cannot commit incidents"))?;
    Ok(stored)
}

/// Whether `incident`'s event is the one stored under its id.
fn is_stored(holders: &HashMap<String, Incident>, incident: &Incident) -> bool {
    holders
        .get(&incident.incident_id)
        .is_some_and(|holder| holder.event_id == incident.event_id)
}

/// The stored incidents holding `ids`, by id.
async fn stored_under(
    transaction: &Transaction<'_>,
    ids: &[&str],
) -> Result<HashMap<String, Incident>, StoreError> {
    if ids.is_empty() {
        return Ok(HashMap::new());
    }
    let found = transaction
        .query(rows::SELECT_BY_IDS, &[&ids])
        .await
        .map_err(pg_error("cannot read incidents"))?;
    found
        .iter()
        .map(|row| rows::from_row(row).map(|incident| (incident.incident_id.clone(), incident)))
        .collect()
}

/// `incident`, whose id another event holds, under the next free id of its own — or found
/// stored under one of them already (a second delivery after a collision).
async fn insert_resalted(
    transaction: &Transaction<'_>,
    mut incident: Incident,
) -> Result<Stored, StoreError> {
    let first_id = incident.incident_id.clone();
    for salt in 1..ID_ATTEMPTS {
        incident.incident_id = Incident::resalted_id(&first_id, &incident.event_id, salt);
        if !insert(transaction, &Columns::of([&incident]))
            .await?
            .is_empty()
        {
            return Ok(Stored {
                incident,
                created: true,
            });
        }
        if let Some(holder) = super::by_id(transaction, &incident.incident_id, false).await? {
            if holder.event_id == incident.event_id {
                return Ok(Stored {
                    incident: holder,
                    created: false,
                });
            }
        }
    }
    Err(StoreError::Conflict(format!(
        "no free incident id for event {} after {ID_ATTEMPTS} attempts",
        incident.event_id
    )))
}
