//! The contract every [`IncidentStore`] keeps, as tests any backend can run:
//! `contract::run_all(&store).await` from the backend's own test. Each check starts from the
//! ids it creates itself, so a shared database (PostgreSQL in CI) needs no cleaning between
//! runs.

mod counts;
mod feeds;
mod recall;

pub use counts::counts_are_kept_while_in_use_and_recalled_in_window_order;
pub use feeds::{
    an_announcing_writer_is_heard, followers_hear_each_others_changes, next_change,
    quiet_writes_and_own_are_not_heard,
};
pub use recall::incidents_are_recalled_oldest_first_from_a_time;

use crate::{IncidentChange, IncidentQuery, IncidentStore, StoreErrorKind};
use iamwatch_core::{Incident, IncidentStatus, Localized, Meta, MetaJson, Runbook, Severity};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

static RUN: AtomicU64 = AtomicU64::new(0);

fn unique_prefix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_nanos())
        .unwrap_or(0);
    format!(
        "contract-{}-{nanos}-{}",
        std::process::id(),
        RUN.fetch_add(1, Ordering::Relaxed)
    )
}

/// A realistic incident for event `evt-<n>`.
pub fn sample_incident(n: u64) -> Incident {
    sample_incident_for(
        &format!("evt-{n}"),
        1_717_200_000_000 + n as i64 * 1000,
        Severity::High,
        "111122223333",
    )
}

pub fn sample_incident_for(
    event_id: &str,
    event_time_ms: i64,
    severity: Severity,
    account: &str,
) -> Incident {
    Incident {
        incident_id: Incident::make_id(event_time_ms, event_id, 0),
        event_id: event_id.to_string(),
        event_name: "DeleteAccessKey".to_string(),
        event_type: Localized::new("Delete access key", "액세스 키 삭제"),
        rule_id: "iam.access_key_change".to_string(),
        title: Localized::new(
            "Delete access key: AKIA1 (by alice)",
            "액세스 키 삭제: AKIA1 (수행자: alice)",
        ),
        resource: "AKIA1".to_string(),
        severity,
        status: IncidentStatus::New,
        meta: Meta {
            api: "DeleteAccessKey".to_string(),
            ip: "203.0.113.9".to_string(),
            runbook: Some(Arc::new(sample_runbook("Ask the key's owner"))),
            ..Meta::default()
        },
        source: "IAM".to_string(),
        account: account.to_string(),
        region: "us-east-1".to_string(),
        event_time_ms,
        created_at: event_time_ms + 500,
        updated_at: event_time_ms + 700,
        assignee: None,
        raw: Some(format!("{{\"eventID\":\"{event_id}\"}}")),
        meta_json: MetaJson::default(),
        counted: Vec::new(),
    }
}

/// A runbook of one step in each language.
pub fn sample_runbook(step: &str) -> Runbook {
    Runbook::new(vec![step.to_string()], vec![format!("{step} (확인합니다)")])
}

pub async fn run_all(store: &dyn IncidentStore) {
    store.check().await.expect("store answers");
    inserted_incident_reads_back_unchanged(store).await;
    incidents_are_read_by_their_ids_in_one_go(store).await;
    runbooks_read_back_with_their_incidents(store).await;
    same_event_twice_makes_one_incident(store).await;
    colliding_incident_id_gets_a_fresh_one(store).await;
    lifecycle_changes_are_checked_and_recorded(store).await;
    unknown_incident_is_not_found(store).await;
    listing_filters_and_pages_newest_first(store).await;
    changes_since_a_time_are_listed_newest_event_first(store).await;
    incidents_are_recalled_oldest_first_from_a_time(store).await;
    counts_are_kept_while_in_use_and_recalled_in_window_order(store).await;
}

pub async fn inserted_incident_reads_back_unchanged(store: &dyn IncidentStore) {
    let prefix = unique_prefix();
    let incident = sample_incident_for(
        &format!("{prefix}-a"),
        1_717_200_000_000,
        Severity::Critical,
        "111122223333",
    );
    let stored = store.insert_batch(vec![incident.clone()]).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].created);
    assert_eq!(stored[0].incident, incident);
    assert_eq!(
        store.get(&incident.incident_id).await.unwrap(),
        Some(incident)
    );
}

pub async fn incidents_are_read_by_their_ids_in_one_go(store: &dyn IncidentStore) {
    let prefix = unique_prefix();
    let incidents: Vec<Incident> = (0..150)
        .map(|n| {
            sample_incident_for(
                &format!("{prefix}-many-{n}"),
                1_717_200_000_000 + n,
                Severity::Low,
                "111122223333",
            )
        })
        .collect();
    store.insert_batch(incidents.clone()).await.unwrap();
    let mut ids: Vec<String> = incidents
        .iter()
        .map(|incident| incident.incident_id.clone())
        .collect();
    ids.push("inc-19700101-000000-NOPE00".to_string());
    let mut found = store.get_many(&ids).await.unwrap();
    found.sort_by_key(|incident| incident.event_time_ms);
    assert_eq!(
        found, incidents,
        "each stored one, whole; the unknown id left out"
    );
    assert!(store.get_many(&[]).await.unwrap().is_empty());
}

/// Runbooks shared among incidents, equal ones apart, different ones and none, in one batch
/// and in the next: each incident reads back with its own.
pub async fn runbooks_read_back_with_their_incidents(store: &dyn IncidentStore) {
    let prefix = unique_prefix();
    let shared = Arc::new(sample_runbook("Deactivate the key"));
    let runbooks = [
        Some(Arc::clone(&shared)),
        Some(Arc::clone(&shared)),
        Some(Arc::new(sample_runbook("Deactivate the key"))),
        Some(Arc::new(sample_runbook("Review \"recent\" sign-ins"))),
        None,
    ];
    let mut expected = Vec::new();
    for batch in 0..2 {
        let incidents: Vec<Incident> = runbooks
            .iter()
            .enumerate()
            .map(|(n, runbook)| {
                let mut incident = sample_incident_for(
                    &format!("{prefix}-{batch}-{n}"),
                    1_717_200_000_000 + n as i64,
                    Severity::Medium,
                    "111122223333",
                );
                incident.meta.runbook = runbook.clone();
                incident
            })
            .collect();
        let stored = store.insert_batch(incidents.clone()).await.unwrap();
        let stored: Vec<Incident> = stored.into_iter().map(|entry| entry.incident).collect();
        assert_eq!(stored, incidents);
        expected.extend(incidents);
    }
    for incident in expected {
        let found = store.get(&incident.incident_id).await.unwrap().unwrap();
        assert_eq!(
            found.meta.runbook, incident.meta.runbook,
            "{}",
            incident.event_id
        );
        assert_eq!(found, incident);
    }
}

pub async fn same_event_twice_makes_one_incident(store: &dyn IncidentStore) {
    let prefix = unique_prefix();
    let first = sample_incident_for(
        &format!("{prefix}-dup"),
        1_717_200_001_000,
        Severity::High,
        "111122223333",
    );
    let first_id = first.incident_id.clone();
    store.insert_batch(vec![first.clone()]).await.unwrap();
    store
        .update(
            &first_id,
            IncidentChange {
                status: Some(IncidentStatus::Acknowledged),
                actor: "contract".into(),
                at_ms: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    // A second delivery, built afresh (new creation time), in a batch with a new event and
    // itself again.
    let mut again = first.clone();
    again.created_at += 60_000;
    again.updated_at += 60_000;
    let other = sample_incident_for(
        &format!("{prefix}-other"),
        1_717_200_002_000,
        Severity::Low,
        "111122223333",
    );
    let stored = store
        .insert_batch(vec![again.clone(), other, again])
        .await
        .unwrap();
    assert_eq!(
        stored.iter().map(|entry| entry.created).collect::<Vec<_>>(),
        vec![false, true, false]
    );
    assert_eq!(stored[0].incident.incident_id, first_id);
    assert_eq!(
        stored[0].incident.status,
        IncidentStatus::Acknowledged,
        "the stored incident is returned, not the new copy"
    );
    assert_eq!(stored[0].incident.created_at, first.created_at);
}

pub async fn colliding_incident_id_gets_a_fresh_one(store: &dyn IncidentStore) {
    let prefix = unique_prefix();
    let first = sample_incident_for(
        &format!("{prefix}-x"),
        1_717_200_003_000,
        Severity::Medium,
        "111122223333",
    );
    let mut second = sample_incident_for(
        &format!("{prefix}-y"),
        1_717_200_003_000,
        Severity::Medium,
        "111122223333",
    );
    second.incident_id = first.incident_id.clone();
    let second_again = second.clone();
    let stored = store
        .insert_batch(vec![first.clone(), second])
        .await
        .unwrap();
    assert!(stored[1].created);
    assert_ne!(stored[1].incident.incident_id, first.incident_id);
    assert!(stored[1].incident.incident_id.starts_with("inc-"));
    // Delivered again with the id that collided, the second event is found where it went.
    let again = store.insert_batch(vec![second_again]).await.unwrap();
    assert!(!again[0].created);
    assert_eq!(
        again[0].incident.incident_id,
        stored[1].incident.incident_id
    );
}

pub async fn lifecycle_changes_are_checked_and_recorded(store: &dyn IncidentStore) {
    let prefix = unique_prefix();
    let incident = sample_incident_for(
        &format!("{prefix}-life"),
        1_717_200_004_000,
        Severity::High,
        "111122223333",
    );
    let id = incident.incident_id.clone();
    store.insert_batch(vec![incident]).await.unwrap();
    let change = |status, at_ms| IncidentChange {
        status: Some(status),
        actor: "alice".into(),
        at_ms,
        ..Default::default()
    };
    let acked = store
        .update(
            &id,
            IncidentChange {
                assignee: Some(Some("alice".into())),
                note: Some("looking".into()),
                ..change(IncidentStatus::Acknowledged, 1_800_000_000_000)
            },
        )
        .await
        .unwrap();
    assert_eq!(
        (acked.status, acked.assignee.as_deref(), acked.updated_at),
        (
            IncidentStatus::Acknowledged,
            Some("alice"),
            1_800_000_000_000
        )
    );
    let error = store
        .update(&id, change(IncidentStatus::New, 1_800_000_000_001))
        .await
        .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Conflict);
    let resolved = store
        .update(&id, change(IncidentStatus::Resolved, 1_800_000_000_002))
        .await
        .unwrap();
    assert_eq!(resolved.status, IncidentStatus::Resolved);
    assert_eq!(
        store.get(&id).await.unwrap().unwrap().status,
        IncidentStatus::Resolved
    );
    let history = store.history(&id).await.unwrap();
    assert_eq!(
        status_moves(&history),
        vec![
            (None, Some(IncidentStatus::New)),
            (
                Some(IncidentStatus::New),
                Some(IncidentStatus::Acknowledged)
            ),
            (
                Some(IncidentStatus::Acknowledged),
                Some(IncidentStatus::Resolved)
            ),
        ]
    );
    assert_eq!(history[1].note.as_deref(), Some("looking"));
    assert_eq!(history[1].actor, "alice");
}

pub async fn unknown_incident_is_not_found(store: &dyn IncidentStore) {
    assert_eq!(store.get("inc-19700101-000000-NOPE00").await.unwrap(), None);
    let error = store
        .update(
            "inc-19700101-000000-NOPE00",
            IncidentChange {
                status: Some(IncidentStatus::Resolved),
                actor: "x".into(),
                at_ms: 0,
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::NotFound);
    let error = store
        .list(&IncidentQuery {
            cursor: Some("garbage".into()),
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(error.kind(), StoreErrorKind::Invalid);
}

pub async fn listing_filters_and_pages_newest_first(store: &dyn IncidentStore) {
    let prefix = unique_prefix();
    // Its own account, so other checks' incidents do not show up.
    let account = format!("acct-{prefix}");
    let incidents: Vec<Incident> = (0..7)
        .map(|n| {
            let severity = if n % 2 == 0 {
                Severity::Critical
            } else {
                Severity::Low
            };
            let mut incident = sample_incident_for(
                &format!("{prefix}-list-{n}"),
                1_717_300_000_000 + n * 1000,
                severity,
                &account,
            );
            if n == 6 {
                // SQL's wildcards, a backslash and quotes (the last two escaped in the meta's
                // JSON text), for the text search below.
                incident.meta.device.ua = r#"scanner 100%_done\tools "beta""#.to_string();
            }
            incident
        })
        .collect();
    store.insert_batch(incidents.clone()).await.unwrap();
    let mut seen = Vec::new();
    let mut cursor = None;
    loop {
        let page = store
            .list(&IncidentQuery {
                account: Some(account.clone()),
                limit: 3,
                cursor,
                ..Default::default()
            })
            .await
            .unwrap();
        assert!(page.incidents.len() <= 3);
        seen.extend(page.incidents.iter().map(|incident| incident.event_time_ms));
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    let mut expected: Vec<i64> = incidents
        .iter()
        .map(|incident| incident.event_time_ms)
        .collect();
    expected.reverse();
    assert_eq!(seen, expected, "every incident once, newest first");
    // Listed without the raw event, otherwise as stored.
    let mut listed = store
        .list(&IncidentQuery {
            account: Some(account.clone()),
            limit: 1,
            ..Default::default()
        })
        .await
        .unwrap()
        .incidents;
    let listed = listed.remove(0);
    let mut stored = store.get(&listed.incident_id).await.unwrap().unwrap();
    assert!(stored.raw.is_some());
    assert_eq!(listed.raw, None);
    stored.raw = None;
    assert_eq!(listed, stored);

    let critical = store
        .list(&IncidentQuery {
            account: Some(account.clone()),
            severities: vec![Severity::Critical],
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(critical.incidents.len(), 4);
    let text = store
        .list(&IncidentQuery {
            account: Some(account.clone()),
            text: Some(format!("{prefix}-LIST-3")),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(
        text.incidents.is_empty(),
        "text search looks at titles, resource, event name and meta, not the event id"
    );
    let korean = store
        .list(&IncidentQuery {
            account: Some(account.clone()),
            text: Some("액세스 키".into()),
            limit: 2,
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(korean.incidents.len(), 2);
    // The meta's values are searched, not its keys: every meta has an `ip` and an `api`, and a
    // search for either word found every incident.
    let count = |text: &str| {
        let query = IncidentQuery {
            account: Some(account.clone()),
            text: Some(text.to_string()),
            ..Default::default()
        };
        async move { store.list(&query).await.unwrap().incidents.len() }
    };
    assert_eq!(count("203.0.113.9").await, 7, "a meta value");
    // SQL's wildcards are characters to a search, and a backslash or quotes (escaped in the
    // meta's JSON text) are found as written, in any case.
    let literal = [
        ("203_0_113_9", 0),
        ("203%9", 0),
        (r#"100%_done\tools "beta""#, 1),
        ("100%_DONE", 1),
        (r"done\", 1),
        (r#""beta""#, 1),
    ];
    for (text, expected) in literal {
        assert_eq!(count(text).await, expected, "{text:?}");
    }
    assert_eq!(count("ask the key's owner").await, 7, "a runbook value");
    for key in ["ip", "api", "runbook", "device"] {
        assert_eq!(count(key).await, 0, "{key:?} is only a key of the meta");
    }
    let nothing_new = store
        .list(&IncidentQuery {
            account: Some(account),
            since_ms: Some(i64::MAX),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(nothing_new.incidents.is_empty());
}

/// What changed since a time (a live dashboard catching up): incidents created or changed at or
/// after it, an old incident changed lately among them, in the listing's order, paged.
pub async fn changes_since_a_time_are_listed_newest_event_first(store: &dyn IncidentStore) {
    let prefix = unique_prefix();
    let account = format!("acct-{prefix}");
    let base = 1_717_400_000_000;
    let incidents: Vec<Incident> = (0..5)
        .map(|n| {
            let mut incident = sample_incident_for(
                &format!("{prefix}-since-{n}"),
                base + n * 1000,
                Severity::High,
                &account,
            );
            incident.created_at = base + n * 1000;
            incident.updated_at = base + n * 1000;
            incident
        })
        .collect();
    store.insert_batch(incidents.clone()).await.unwrap();
    let changed_at = base + 1_000_000;
    store
        .update(
            &incidents[0].incident_id,
            IncidentChange {
                note: Some("looked again".into()),
                actor: "contract".into(),
                at_ms: changed_at,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let since = |since_ms: i64, limit: usize, cursor: Option<String>| IncidentQuery {
        account: Some(account.clone()),
        since_ms: Some(since_ms),
        limit,
        cursor,
        ..Default::default()
    };
    let ids = |page: &crate::IncidentPage| -> Vec<String> {
        page.incidents
            .iter()
            .map(|incident| incident.incident_id.clone())
            .collect()
    };
    let latest = store.list(&since(changed_at, 0, None)).await.unwrap();
    assert_eq!(ids(&latest), [incidents[0].incident_id.clone()]);
    assert_eq!(latest.incidents[0].updated_at, changed_at);
    let first = store.list(&since(base + 2000, 2, None)).await.unwrap();
    let expected = |n: usize| incidents[n].incident_id.clone();
    assert_eq!(ids(&first), [expected(4), expected(3)]);
    let second = store
        .list(&since(base + 2000, 2, first.next_cursor.clone()))
        .await
        .unwrap();
    assert_eq!(ids(&second), [expected(2), expected(0)]);
    assert_eq!(second.next_cursor, None);
}

/// Each history entry as the status move it records.
pub fn status_moves(
    history: &[crate::HistoryEntry],
) -> Vec<(Option<IncidentStatus>, Option<IncidentStatus>)> {
    history
        .iter()
        .map(|entry| (entry.from_status, entry.to_status))
        .collect()
}
