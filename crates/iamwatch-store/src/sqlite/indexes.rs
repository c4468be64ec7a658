//! The incidents table's secondary indexes, and a bulk load into an empty store that builds
//! them once at its end instead of row by row.
//!
//! A scan's incidents come in CloudTrail's file order, one account's day after another, so
//! each batch inserts into the middle of the listing indexes and dirties pages all over them;
//! every commit writes those pages to the WAL again and every checkpoint copies them again.
//! On a million records (115,833 incidents) the three indexes, 422 pages in the end, cost
//! 3,736 extra WAL frames of 32 KB, and on a VM the bytes written cost CPU time too. Built at
//! the end they are one sort each, written once: that scan wrote 653–657 MB to the disk
//! instead of 858–867, and was faster in six alternating pairs of six. Only into an empty
//! store: over stored incidents a rebuild would sort them all again (not measured), and a
//! reader of a store in use should not lose its indexes meanwhile.
//!
//! A load that never reaches its end (killed, or failed) leaves them missing; every open puts
//! back what is missing ([`ensure`]), so nothing but speed depends on the load finishing.

use rusqlite::{Connection, TransactionBehavior};

/// Name and definition of each, as the migrations left them (0002, 0004); a test compares.
const SECONDARY: &[(&str, &str)] = &[
    (
        "incidents_by_time",
        "ON incidents (event_time_ms DESC, incident_id DESC)",
    ),
    ("incidents_by_updated", "ON incidents (updated_at)"),
    (
        "incidents_by_status",
        "ON incidents (status, event_time_ms DESC, incident_id DESC)",
    ),
];

/// Creates whichever secondary index is missing; a store whose indexes are all there is only
/// read. Within one write transaction, so that stores opened at once do not race.
pub(super) fn ensure(connection: &mut Connection) -> rusqlite::Result<()> {
    if missing(connection)?.is_empty() {
        return Ok(());
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    for (name, definition) in missing(&transaction)? {
        transaction.execute_batch(&format!("CREATE INDEX {name} {definition}"))?;
    }
    transaction.commit()
}

/// Drops the secondary indexes when the store holds no incident, for a bulk load to build them
/// at its end ([`ensure`]). Whether it dropped them. As in [`ensure`], a store holding
/// incidents is only read; an empty one is looked at again under the write lock.
pub(super) fn drop_if_empty(connection: &mut Connection) -> rusqlite::Result<bool> {
    if !is_empty(connection)? {
        return Ok(false);
    }
    let transaction = connection.transaction_with_behavior(TransactionBehavior::Immediate)?;
    if !is_empty(&transaction)? {
        return Ok(false);
    }
    for (name, _) in SECONDARY {
        transaction.execute_batch(&format!("DROP INDEX IF EXISTS {name}"))?;
    }
    transaction.commit()?;
    Ok(true)
}

fn is_empty(connection: &Connection) -> rusqlite::Result<bool> {
    connection.query_row("SELECT NOT EXISTS (SELECT 1 FROM incidents)", [], |row| {
        row.get(0)
    })
}

fn missing(connection: &Connection) -> rusqlite::Result<Vec<(&'static str, &'static str)>> {
    let mut present = connection.prepare_cached(
        "SELECT EXISTS (SELECT 1 FROM sqlite_schema WHERE type = 'index' AND name = ?1)",
    )?;
    let mut missing = Vec::new();
    for &(name, definition) in SECONDARY {
        if !present.query_row([name], |row| row.get::<_, bool>(0))? {
            missing.push((name, definition));
        }
    }
    Ok(missing)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definitions(connection: &Connection) -> Vec<(String, String)> {
        let mut statement = connection
            .prepare("SELECT name, sql FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'incidents' AND sql IS NOT NULL ORDER BY name")
            .unwrap();
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap()
    }

    #[test]
    fn the_indexes_put_back_are_the_ones_the_migrations_made() {
        let mut connection = Connection::open_in_memory().unwrap();
        super::super::migrate(&connection).unwrap();
        let migrated = definitions(&connection);
        assert_eq!(migrated.len(), SECONDARY.len(), "{migrated:?}");
        assert!(drop_if_empty(&mut connection).unwrap());
        assert!(definitions(&connection).is_empty());
        ensure(&mut connection).unwrap();
        assert_eq!(definitions(&connection), migrated);
    }

    #[test]
    fn a_store_holding_incidents_keeps_its_indexes() {
        let mut connection = Connection::open_in_memory().unwrap();
        super::super::migrate(&connection).unwrap();
        let incident = crate::contract::sample_incident(1);
        super::super::insert::insert_all(
            &mut connection,
            &Default::default(),
            vec![incident],
            false,
        )
        .unwrap();
        assert!(!drop_if_empty(&mut connection).unwrap());
        assert_eq!(definitions(&connection).len(), SECONDARY.len());
    }
}
