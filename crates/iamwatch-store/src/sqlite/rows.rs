//! Incident ↔ row.

use super::raw_codec::RawCodec;
use super::runbooks;
use crate::model::with_creation;
use crate::HistoryEntry;
use iamwatch_core::{Incident, Localized, MetaJson};
use rusqlite::types::{ToSqlOutput, Value, ValueRef};
use rusqlite::{params_from_iter, CachedStatement, Connection, OptionalExtension, Row, ToSql};
use std::sync::LazyLock;

/// The incident columns [`Insert`] writes but the raw event, as a literal that [`COLUMNS`],
/// [`SELECT_COLUMNS`] and [`LISTED_COLUMNS`] extend.
macro_rules! columns_but_raw {
    () => {
        "incident_id, event_id, event_name, event_type_en, event_type_ko, rule_id, title_en, title_ko, \
         resource, severity, status, meta, source, account, region, event_time_ms, created_at, updated_at, assignee"
    };
}

/// The text of an incident row's runbook: none for an incident stored with its runbook inside
/// its meta, before migration 0006.
macro_rules! runbook_of_row {
    () => {
        "(SELECT runbook FROM runbooks WHERE runbooks.id = incidents.runbook_id)"
    };
}

pub const COLUMNS: &str = concat!(columns_but_raw!(), ", raw");

/// [`COLUMNS`], then the text of the incident's runbook: what [`from_row`] reads.
pub const SELECT_COLUMNS: &str = concat!(columns_but_raw!(), ", raw, ", runbook_of_row!());

/// [`SELECT_COLUMNS`] without the raw event (read as none), for listings: an incident's raw
/// event is in a compressed block of its batch, and a page listed in event-time order took a
/// block from a different batch for nearly every incident (a whole export of 115,833 incidents:
/// 73 s, almost all of it decompressing blocks to throw their events away).
pub const LISTED_COLUMNS: &str = concat!(columns_but_raw!(), ", NULL, ", runbook_of_row!());

/// A recall's page: the listing's order read forwards from just after `(?1, ?2)`, `?3` of
/// them; the listing's index serves it.
pub const RECALL: &str = concat!(
    "SELECT ",
    columns_but_raw!(),
    ", NULL, ",
    runbook_of_row!(),
    " FROM incidents WHERE event_time_ms >= ?1 AND (event_time_ms > ?1 OR incident_id > ?2) \
     ORDER BY event_time_ms, incident_id LIMIT ?3"
);

/// The columns of its own a text search reads: titles, resource and event name.
macro_rules! searched_columns {
    () => {
        "title_en || ' ' || title_ko || ' ' || resource || ' ' || event_name"
    };
}

/// What a text search reads, cheaply: [`searched_columns`], and the meta and runbook as JSON
/// text — keys too, so it can only rule rows out (see [`SEARCHED_VALUES`]).
pub const SEARCHED_TEXT: &str = concat!(
    searched_columns!(),
    " || ' ' || meta || ' ' || coalesce(",
    runbook_of_row!(),
    ", '')"
);

/// What a text search matches: as [`SEARCHED_TEXT`], but of the meta and runbook only their
/// text values. Searching the JSON text made a key's word (`name`, `ip`, `device`) match every
/// incident. Parsing each row's meta costs about twice the plain search, so it runs only on
/// the rows [`SEARCHED_TEXT`] lets through.
pub const SEARCHED_VALUES: &str = concat!(
    searched_columns!(),
    " || ' ' || coalesce((SELECT group_concat(atom, ' ') FROM json_tree(incidents.meta) WHERE type = 'text'), '')",
    " || ' ' || coalesce((SELECT group_concat(atom, ' ') FROM json_tree(",
    runbook_of_row!(),
    ") WHERE type = 'text'), '')"
);

/// The incident INSERT, prepared once for a whole batch: looking it up in the statement cache
/// per row (hashing its 388 characters) was 0.8% of a bulk scan's instructions.
pub struct Insert<'c>(CachedStatement<'c>);

impl<'c> Insert<'c> {
    pub fn prepare(connection: &'c Connection) -> rusqlite::Result<Self> {
        // Built once: the statement cache is keyed by this text.
        static INSERT: LazyLock<String> = LazyLock::new(|| {
            format!(
                "INSERT INTO incidents ({COLUMNS}, severity_rank, runbook_id) VALUES ({}) ON CONFLICT DO NOTHING",
                placeholders(VALUES + 1)
            )
        });
        connection.prepare_cached(&INSERT).map(Self)
    }

    /// Inserts unless the incident id is taken; true when inserted. `raw` is the incident's raw
    /// event as stored (see `raw_codec.rs`), `runbook_id` its meta's runbook as stored (see
    /// `runbooks.rs`): the meta is kept without it.
    pub fn run(
        &mut self,
        incident: &Incident,
        raw: Option<ValueRef<'_>>,
        runbook_id: Option<i64>,
    ) -> rusqlite::Result<bool> {
        // Written by the pipeline where it built the incident, most often.
        let meta = incident.meta_json.stored_text(&incident.meta);
        let values = values(incident, &meta, raw)?;
        let runbook_id = runbook_id.to_sql()?;
        let changed = self
            .0
            .execute(params_from_iter(values.iter().chain([&runbook_id])))?;
        Ok(changed == 1)
    }
}

/// How many values [`values`] gives: [`COLUMNS`] and `severity_rank`.
pub(super) const VALUES: usize = 21;

/// `?1, ?2, …, ?count`.
pub(super) fn placeholders(count: usize) -> String {
    (1..=count)
        .map(|n| format!("?{n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The values of [`COLUMNS`], then `severity_rank`, of `incident` with `meta` as its meta's text.
pub(super) fn values<'a>(
    incident: &'a Incident,
    meta: &'a str,
    raw: Option<ValueRef<'a>>,
) -> rusqlite::Result<[ToSqlOutput<'a>; VALUES]> {
    Ok([
        incident.incident_id.to_sql()?,
        incident.event_id.to_sql()?,
        incident.event_name.to_sql()?,
        incident.event_type.en.to_sql()?,
        incident.event_type.ko.to_sql()?,
        incident.rule_id.to_sql()?,
        incident.title.en.to_sql()?,
        incident.title.ko.to_sql()?,
        incident.resource.to_sql()?,
        ToSqlOutput::from(incident.severity.as_str()),
        ToSqlOutput::from(incident.status.as_str()),
        ToSqlOutput::from(meta),
        incident.source.to_sql()?,
        incident.account.to_sql()?,
        incident.region.to_sql()?,
        ToSqlOutput::from(incident.event_time_ms),
        ToSqlOutput::from(incident.created_at),
        ToSqlOutput::from(incident.updated_at),
        incident.assignee.to_sql()?,
        raw.map_or(ToSqlOutput::Owned(Value::Null), ToSqlOutput::Borrowed),
        ToSqlOutput::from(incident.severity.rank()),
    ])
}

pub fn by_id(
    connection: &Connection,
    codec: &RawCodec,
    incident_id: &str,
) -> rusqlite::Result<Option<Incident>> {
    // Built once, like the other statements: the statement cache is keyed by this text.
    static SELECT: LazyLock<String> =
        LazyLock::new(|| format!("SELECT {SELECT_COLUMNS} FROM incidents WHERE incident_id = ?1"));
    connection
        .prepare_cached(&SELECT)?
        .query_row([incident_id], |row| from_row(row, codec, connection))
        .optional()
}

/// The incident in `row` (of [`SELECT_COLUMNS`]); a compressed raw event is decompressed with
/// `codec`, which reads its dictionary from `connection` the first time.
pub fn from_row(
    row: &Row<'_>,
    codec: &RawCodec,
    connection: &Connection,
) -> rusqlite::Result<Incident> {
    let text_column = |index: usize| -> rusqlite::Result<String> { row.get(index) };
    let parse_failure = |index: usize, message: String| {
        rusqlite::Error::FromSqlConversionFailure(
            index,
            rusqlite::types::Type::Text,
            message.into(),
        )
    };
    let raw = match row.get_ref(19)? {
        ValueRef::Blob(frame) => Some(
            codec
                .decode(connection, frame)
                .map_err(|message| parse_failure(19, message))?,
        ),
        _ => row.get(19)?,
    };
    let severity =
        text_column(9)?
            .parse()
            .map_err(|error: iamwatch_core::severity::ParseSeverityError| {
                parse_failure(9, error.to_string())
            })?;
    let status =
        text_column(10)?
            .parse()
            .map_err(|error: iamwatch_core::status::ParseStatusError| {
                parse_failure(10, error.to_string())
            })?;
    let meta_text = text_column(11)?;
    let mut meta: iamwatch_core::Meta =
        serde_json::from_str(&meta_text).map_err(|error| parse_failure(11, error.to_string()))?;
    let meta_json = match row.get_ref(20)?.as_str_or_null()? {
        Some(runbook) => {
            let runbook = runbooks::parse(runbook).map_err(|message| parse_failure(20, message))?;
            meta.runbook = Some(std::sync::Arc::new(runbook));
            MetaJson::from_stored(meta_text)
        }
        // Stored before 0006, the runbook (if any) inside the meta's text: that text is not
        // the meta without its runbook, and is written anew when shown.
        None if meta.runbook.is_some() => MetaJson::default(),
        None => MetaJson::from_stored(meta_text),
    };
    Ok(Incident {
        incident_id: row.get(0)?,
        event_id: row.get(1)?,
        event_name: row.get(2)?,
        event_type: Localized {
            en: row.get(3)?,
            ko: row.get(4)?,
        },
        rule_id: row.get(5)?,
        title: Localized {
            en: row.get(6)?,
            ko: row.get(7)?,
        },
        resource: row.get(8)?,
        severity,
        status,
        meta,
        source: row.get(12)?,
        account: row.get(13)?,
        region: row.get(14)?,
        event_time_ms: row.get(15)?,
        created_at: row.get(16)?,
        updated_at: row.get(17)?,
        assignee: row.get(18)?,
        raw,
        meta_json,
        counted: Vec::new(),
    })
}

/// The incident's history, oldest first: its creation, then every stored change (see
/// [`with_creation`]).
pub fn history(connection: &Connection, incident_id: &str) -> rusqlite::Result<Vec<HistoryEntry>> {
    let changes = changes(connection, incident_id)?;
    let created: Option<(i64, String)> = connection
        .prepare_cached("SELECT created_at, status FROM incidents WHERE incident_id = ?1")?
        .query_row([incident_id], |row| Ok((row.get(0)?, row.get(1)?)))
        .optional()?;
    Ok(with_creation(changes, created))
}

fn changes(connection: &Connection, incident_id: &str) -> rusqlite::Result<Vec<HistoryEntry>> {
    let mut statement = connection.prepare_cached(
        "SELECT at_ms, actor, from_status, to_status, assignee, note FROM incident_history WHERE incident_id = ?1 ORDER BY id",
    )?;
    let entries = statement.query_map([incident_id], |row| {
        let status = |index: usize| -> rusqlite::Result<Option<iamwatch_core::IncidentStatus>> {
            Ok(row
                .get::<_, Option<String>>(index)?
                .and_then(|text| text.parse().ok()))
        };
        Ok(HistoryEntry {
            at_ms: row.get(0)?,
            actor: row.get(1)?,
            from_status: status(2)?,
            to_status: status(3)?,
            assignee: row.get(4)?,
            note: row.get(5)?,
        })
    })?;
    entries.collect()
}
