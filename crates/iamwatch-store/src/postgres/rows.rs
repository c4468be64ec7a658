//! Incident ↔ row.

use crate::{HistoryEntry, StoreError};
use iamwatch_core::{Incident, Localized, Meta, MetaJson};
use std::borrow::Cow;
use std::sync::Arc;
use tokio_postgres::types::FromSql;
use tokio_postgres::Row;

/// The columns [`from_row`] reads, in its order, the raw event last.
macro_rules! columns {
    () => {
        concat!(columns_but_raw!(), ", raw")
    };
}

macro_rules! columns_but_raw {
    () => {
        "incident_id, event_id, event_name, event_type_en, event_type_ko, rule_id, title_en, title_ko, \
         resource, severity, status, meta, runbook, source, account, region, event_time_ms, created_at, \
         updated_at, assignee"
    };
}

/// [`from_row`]'s columns without the raw event (read as none), for listings, which show no
/// raw event: it is most of a row's bytes.
pub const LISTED_COLUMNS: &str = concat!(columns_but_raw!(), ", NULL::text");
/// A recall's page: the listing's order read forwards from just after `($1, $2)`, `$3` of them;
/// a row comparison, which the listing index answers in its own order.
pub const RECALL: &str = concat!(
    "SELECT ",
    columns_but_raw!(),
    ", NULL::text FROM incidents WHERE (event_time_ms, incident_id) > ($1, $2) \
     ORDER BY event_time_ms, incident_id LIMIT $3"
);
pub const SELECT_BY_ID: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM incidents WHERE incident_id = $1"
);
pub const SELECT_BY_IDS: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM incidents WHERE incident_id = ANY($1)"
);
pub const SELECT_BY_ID_FOR_UPDATE: &str = concat!(
    "SELECT ",
    columns!(),
    " FROM incidents WHERE incident_id = $1 FOR UPDATE"
);

/// Text as PostgreSQL can hold it: it refuses the character U+0000 in any text value (a
/// CloudTrail record can spell one as `\u0000`, in a user name say), which would fail the whole
/// batch; it is kept as U+FFFD, the replacement character. JSON text (meta, runbook, raw event)
/// never holds one: JSON writes it escaped.
pub fn text(value: &str) -> Cow<'_, str> {
    if value.contains('\0') {
        Cow::Owned(value.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(value)
    }
}

/// Column `index` of `row`, or an error naming it.
pub fn column<'a, T: FromSql<'a>>(row: &'a Row, index: usize) -> Result<T, StoreError> {
    row.try_get(index).map_err(|error| {
        let name = row.columns().get(index).map_or("?", |column| column.name());
        StoreError::backend(format!("cannot read column {name} of an incident"), error)
    })
}

fn malformed(column: &str, message: impl std::fmt::Display) -> StoreError {
    StoreError::Invalid(format!("stored incident's {column}: {message}"))
}

/// The incident in `row` (of the columns the statements here select).
pub fn from_row(row: &Row) -> Result<Incident, StoreError> {
    let severity = column::<&str>(row, 9)?
        .parse()
        .map_err(|error| malformed("severity", error))?;
    let status = column::<&str>(row, 10)?
        .parse()
        .map_err(|error| malformed("status", error))?;
    let meta_text: String = column(row, 11)?;
    let mut meta: Meta =
        serde_json::from_str(&meta_text).map_err(|error| malformed("meta", error))?;
    if let Some(runbook) = column::<Option<&str>>(row, 12)? {
        let runbook = serde_json::from_str(runbook).map_err(|error| malformed("runbook", error))?;
        meta.runbook = Some(Arc::new(runbook));
    }
    Ok(Incident {
        incident_id: column(row, 0)?,
        event_id: column(row, 1)?,
        event_name: column(row, 2)?,
        event_type: Localized {
            en: column(row, 3)?,
            ko: column(row, 4)?,
        },
        rule_id: column(row, 5)?,
        title: Localized {
            en: column(row, 6)?,
            ko: column(row, 7)?,
        },
        resource: column(row, 8)?,
        severity,
        status,
        meta,
        source: column(row, 13)?,
        account: column(row, 14)?,
        region: column(row, 15)?,
        event_time_ms: column(row, 16)?,
        created_at: column(row, 17)?,
        updated_at: column(row, 18)?,
        assignee: column(row, 19)?,
        raw: column(row, 20)?,
        meta_json: MetaJson::from_stored(meta_text),
        counted: Vec::new(),
    })
}

/// A row of `at_ms, actor, from_status, to_status, assignee, note` from `incident_history`.
pub fn history_entry(row: &Row) -> Result<HistoryEntry, StoreError> {
    let status = |index: usize| -> Result<_, StoreError> {
        Ok(column::<Option<&str>>(row, index)?.and_then(|text| text.parse().ok()))
    };
    Ok(HistoryEntry {
        at_ms: column(row, 0)?,
        actor: column(row, 1)?,
        from_status: status(2)?,
        to_status: status(3)?,
        assignee: column(row, 4)?,
        note: column(row, 5)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nul_character_is_kept_as_the_replacement_character() {
        assert_eq!(text("alice\0bob"), "alice\u{FFFD}bob");
        assert!(matches!(text("alice"), Cow::Borrowed("alice")));
    }
}
