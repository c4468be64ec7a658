//! The change feed's checks, for the stores several processes share and follow
//! ([`IncidentStore::changes`]: PostgreSQL, DynamoDB).

use super::{sample_incident_for, unique_prefix};
use crate::{IncidentChange, IncidentStore, StoreChange};
use iamwatch_core::{Incident, IncidentStatus, Severity};

/// The next change on `feed`, within ten seconds.
pub async fn next_change(feed: &mut tokio::sync::mpsc::Receiver<StoreChange>) -> StoreChange {
    tokio::time::timeout(std::time::Duration::from_secs(10), feed.recv())
        .await
        .expect("a change within 10 s")
        .expect("the feed goes on")
}

/// For stores several processes share ([`IncidentStore::changes`]): `a` and `b` on one store,
/// each following it. `count` incidents stored through `a` are heard whole by `b`; stored again,
/// nothing is heard; a change made through `b` is the first thing `a` hears (not its own
/// incidents). Returns the two feeds, for what a backend checks further.
pub async fn followers_hear_each_others_changes(
    a: &dyn IncidentStore,
    b: &dyn IncidentStore,
    count: u64,
) -> (
    tokio::sync::mpsc::Receiver<StoreChange>,
    tokio::sync::mpsc::Receiver<StoreChange>,
) {
    let mut heard_by_a = a.changes().await.unwrap().expect("a feed");
    let mut heard_by_b = b.changes().await.unwrap().expect("a feed");
    let prefix = unique_prefix();
    let batch: Vec<Incident> = (0..count)
        .map(|n| {
            sample_incident_for(
                &format!("{prefix}-feed-{n}"),
                1_717_200_000_000 + n as i64,
                Severity::High,
                "111122223333",
            )
        })
        .collect();
    let mut expected: Vec<String> = a
        .insert_batch(batch.clone())
        .await
        .unwrap()
        .into_iter()
        .map(|entry| entry.incident.incident_id)
        .collect();
    let mut heard = Vec::new();
    while heard.len() < expected.len() {
        match next_change(&mut heard_by_b).await {
            StoreChange::Created(ids) => heard.extend(ids),
            other => panic!("{other:?}"),
        }
    }
    heard.sort();
    expected.sort();
    assert_eq!(heard, expected);
    // Stored already: nothing created, nothing heard. Then a change from the other side.
    a.insert_batch(batch).await.unwrap();
    b.update(
        &expected[0],
        IncidentChange {
            status: Some(IncidentStatus::Acknowledged),
            actor: "bob".into(),
            at_ms: 1,
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        next_change(&mut heard_by_a).await,
        StoreChange::Updated(expected[0].clone()),
        "the first thing a hears: b's change, not its own incidents"
    );
    (heard_by_a, heard_by_b)
}

/// `scan` and `incidents` into a shared store: what a store that does not follow (`quiet`)
/// writes, created or changed, is not heard by a follower (`listening`), nor is the follower's
/// own; what the follower writes is heard by another (`third`), which starts following after
/// the rest was written.
pub async fn quiet_writes_and_own_are_not_heard(
    quiet: &dyn IncidentStore,
    listening: &dyn IncidentStore,
    third: &dyn IncidentStore,
) {
    let prefix = unique_prefix();
    let incident = |n: i64| {
        sample_incident_for(
            &format!("{prefix}-quiet-{n}"),
            1_717_200_000_000 + n,
            Severity::Low,
            "111122223333",
        )
    };
    let mut heard = listening.changes().await.unwrap().unwrap();
    let stored = quiet.insert_batch(vec![incident(1)]).await.unwrap();
    quiet
        .update(
            &stored[0].incident.incident_id,
            IncidentChange {
                note: Some("from the command line".into()),
                actor: "cli".into(),
                at_ms: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    listening.insert_batch(vec![incident(2)]).await.unwrap();
    let mut heard_by_third = third.changes().await.unwrap().unwrap();
    listening.insert_batch(vec![incident(3)]).await.unwrap();
    assert_eq!(
        next_change(&mut heard_by_third).await,
        StoreChange::Created(vec![incident(3).incident_id])
    );
    assert!(
        tokio::time::timeout(std::time::Duration::from_millis(1500), heard.recv())
            .await
            .is_err(),
        "the quiet store's writes and the store's own were not heard"
    );
}

/// The serverless function: a store that announces its writes without following
/// ([`IncidentStore::announce`]) is heard by a follower, its incidents and its changes.
pub async fn an_announcing_writer_is_heard(
    announcing: &dyn IncidentStore,
    listening: &dyn IncidentStore,
) {
    let prefix = unique_prefix();
    let incident = sample_incident_for(
        &format!("{prefix}-announced"),
        1_717_200_000_000,
        Severity::High,
        "111122223333",
    );
    let mut heard = listening.changes().await.unwrap().unwrap();
    announcing.announce();
    let stored = announcing.insert_batch(vec![incident]).await.unwrap();
    let id = stored[0].incident.incident_id.clone();
    assert_eq!(
        next_change(&mut heard).await,
        StoreChange::Created(vec![id.clone()])
    );
    announcing
        .update(
            &id,
            IncidentChange {
                note: Some("automatic response (dry run)".into()),
                actor: "auto-response".into(),
                at_ms: 1,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(next_change(&mut heard).await, StoreChange::Updated(id));
}
