//! Changes announced between the processes sharing a store, so that an incident one `serve`
//! stores reaches the dashboards connected to the others.
//!
//! A store that was asked for [`IncidentStore::changes`](crate::IncidentStore::changes)
//! announces what it commits with `pg_notify` inside the same transaction: PostgreSQL delivers a
//! notification at the commit, and never for a batch rolled back. Each announcement names the
//! process it comes from, so that a process skips its own (it broadcast them already). One
//! connection per process listens; lost, it is made again, and the feed says changes may have
//! been missed meanwhile (PostgreSQL keeps no notification for a listener that is not there).

use super::Connecting;
use crate::location::PostgresUrl;
use crate::StoreChange;
use futures_util::StreamExt;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_postgres::tls::MakeTlsConnect;
use tokio_postgres::{AsyncMessage, NoTls, Socket};

/// The channel a session announces on and listens to, as SQL: one per schema, named after the
/// schema the session's tables are in. Notifications are per database, and stores in other
/// schemas of it (another deployment, another test) must not hear each other's ids. A hash
/// keeps the name within PostgreSQL's 63 bytes whatever the schema's name.
const CHANNEL_SQL: &str = "'iamwatch_changes_' || left(md5(coalesce(current_schema(), '')), 16)";
/// How the listening connection shows in `pg_stat_activity`.
pub const LISTENER_NAME: &str = "iamwatch changes";
/// PostgreSQL refuses a payload of 8,000 bytes or more: announced ids are split below it.
const PAYLOAD_BYTES: usize = 7_000;
/// Changes waiting for the server to take them; beyond this the listener waits (the
/// notifications wait in PostgreSQL's queue meanwhile).
const FEED_CAPACITY: usize = 1024;

/// One announcement, as its JSON payload.
#[derive(Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    pub origin: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub created: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated: Option<String>,
}

/// The payloads announcing `ids` as created by `origin`, each under PostgreSQL's limit.
pub fn created_payloads<'a>(origin: &str, ids: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let mut payloads = Vec::new();
    let mut current = Announcement {
        origin: origin.to_string(),
        ..Announcement::default()
    };
    let mut bytes = 0;
    for id in ids {
        if bytes + id.len() + 3 > PAYLOAD_BYTES && !current.created.is_empty() {
            payloads.push(payload(&current));
            current.created.clear();
            bytes = 0;
        }
        bytes += id.len() + 3;
        current.created.push(id.to_string());
    }
    if !current.created.is_empty() {
        payloads.push(payload(&current));
    }
    payloads
}

pub fn updated_payload(origin: &str, id: &str) -> String {
    payload(&Announcement {
        origin: origin.to_string(),
        updated: Some(id.to_string()),
        ..Announcement::default()
    })
}

/// Announces `payload` when `transaction` commits.
///
/// # Errors
/// [`StoreError`] when the server refuses it; the transaction then fails whole.
pub async fn announce(
    transaction: &tokio_postgres::Transaction<'_>,
    payload: &str,
) -> Result<(), crate::StoreError> {
    transaction
        .execute(&format!("SELECT pg_notify({CHANNEL_SQL}, $1)"), &[&payload])
        .await
        .map(drop)
        .map_err(super::pg_error("cannot announce the change"))
}

fn payload(announcement: &Announcement) -> String {
    serde_json::to_string(announcement).unwrap_or_default()
}

/// Starts listening: the changes other processes announce, until the receiver is dropped.
/// Returns once listening, so that nothing committed after is missed.
///
/// # Errors
/// [`crate::StoreError`] when the first connection cannot be made or cannot listen (within
/// the connection timeout); no feed is left running then.
pub(super) async fn listen(
    connecting: &Connecting,
    url: &PostgresUrl,
    origin: String,
) -> Result<mpsc::Receiver<StoreChange>, crate::StoreError> {
    let (sender, receiver) = mpsc::channel(FEED_CAPACITY);
    let (ready, listening) = tokio::sync::oneshot::channel();
    let mut ready = Some(ready);
    let mut config = connecting.config.clone();
    // Named after the process too, so that one listener can be told from another's.
    config.application_name(listener_name(&origin));
    let tls = connecting.tls.clone();
    let shown = url.to_string();
    let shown_again = shown.clone();
    tokio::spawn(async move {
        let mut attempt: u32 = 0;
        let mut listened_before = false;
        loop {
            let session = match &tls {
                None => {
                    session(
                        &config,
                        NoTls,
                        &origin,
                        &sender,
                        &mut listened_before,
                        &mut ready,
                    )
                    .await
                }
                Some(connector) => {
                    let connector = connector.clone();
                    session(
                        &config,
                        connector,
                        &origin,
                        &sender,
                        &mut listened_before,
                        &mut ready,
                    )
                    .await
                }
            };
            if sender.is_closed() {
                return;
            }
            match session {
                Ok(()) => attempt = 0,
                Err(error) if !listened_before => {
                    if let Some(ready) = ready.take() {
                        let _ = ready.send(Err(error));
                    }
                    return;
                }
                Err(error) => {
                    tracing::warn!(store = %shown, %error, "cannot listen for other servers' changes; trying again");
                    attempt = attempt.saturating_add(1);
                }
            }
            let wait = Duration::from_secs(1 << attempt.min(5));
            tokio::select! {
                () = tokio::time::sleep(wait) => {}
                () = sender.closed() => return,
            }
        }
    });
    match listening.await {
        Ok(Ok(())) => Ok(receiver),
        Ok(Err(error)) => Err(crate::StoreError::Invalid(format!(
            "cannot listen for changes on {shown_again}: {error}"
        ))),
        Err(_) => Err(crate::StoreError::Invalid(format!(
            "cannot listen for changes on {shown_again}"
        ))),
    }
}

/// The listening connection's `application_name`: [`LISTENER_NAME`] and the process's origin.
pub fn listener_name(origin: &str) -> String {
    format!("{LISTENER_NAME} {origin}")
}

/// One listening connection, until it is lost (`Ok`) or cannot be made (`Err`).
async fn session<T>(
    config: &tokio_postgres::Config,
    tls: T,
    origin: &str,
    sender: &mpsc::Sender<StoreChange>,
    listened_before: &mut bool,
    ready: &mut Option<tokio::sync::oneshot::Sender<Result<(), String>>>,
) -> Result<(), String>
where
    T: MakeTlsConnect<Socket>,
    T::Stream: Send + 'static,
{
    let (client, mut connection) = config
        .connect(tls)
        .await
        .map_err(|error| error.to_string())?;
    // The connection's messages, the notifications among them, come through its own polling,
    // which must go on while the client's LISTEN waits for its answer.
    let (messages, mut received) = mpsc::unbounded_channel();
    let driver = tokio::spawn(async move {
        let mut stream = futures_util::stream::poll_fn(move |cx| connection.poll_message(cx));
        while let Some(message) = stream.next().await {
            match message {
                Ok(AsyncMessage::Notification(notification)) => {
                    if messages.send(notification.payload().to_string()).is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    let listened = match client
        .query_one(&format!("SELECT {CHANNEL_SQL}"), &[])
        .await
    {
        // Hex digits after a fixed prefix: nothing to quote.
        Ok(row) => client
            .batch_execute(&format!("LISTEN {}", row.get::<_, String>(0)))
            .await
            .map_err(|error| error.to_string()),
        Err(error) => Err(error.to_string()),
    };
    if let Err(error) = listened {
        driver.abort();
        return Err(error);
    }
    if *listened_before && sender.send(StoreChange::Missed).await.is_err() {
        driver.abort();
        return Ok(());
    }
    *listened_before = true;
    if let Some(ready) = ready.take() {
        let _ = ready.send(Ok(()));
    }
    loop {
        tokio::select! {
            payload = received.recv() => {
                let Some(payload) = payload else { break };
                let Some(change) = change_of(&payload, origin) else { continue };
                if sender.send(change).await.is_err() {
                    break;
                }
            }
            () = sender.closed() => break,
        }
    }
    driver.abort();
    // Held until here: dropping the client ends the session.
    drop(client);
    Ok(())
}

/// The change `payload` announces, unless it is `origin`'s own or not iamwatch's.
fn change_of(payload: &str, origin: &str) -> Option<StoreChange> {
    let announcement: Announcement = serde_json::from_str(payload).ok()?;
    if announcement.origin == origin {
        return None;
    }
    match announcement.updated {
        Some(id) => Some(StoreChange::Updated(id)),
        None if !announcement.created.is_empty() => {
            Some(StoreChange::Created(announcement.created))
        }
        None => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_ids_are_split_under_the_payload_limit_and_read_back_whole() {
        let ids: Vec<String> = (0..1000)
            .map(|n| format!("inc-20240601-000000-{n:06}"))
            .collect();
        let payloads = created_payloads("a", ids.iter().map(String::as_str));
        assert!(payloads.len() > 1);
        let mut read = Vec::new();
        for payload in &payloads {
            assert!(payload.len() < 8000, "{}", payload.len());
            match change_of(payload, "b") {
                Some(StoreChange::Created(created)) => read.extend(created),
                other => panic!("{other:?}"),
            }
            assert_eq!(change_of(payload, "a"), None, "one's own");
        }
        assert_eq!(read, ids);
        assert!(created_payloads("a", []).is_empty());
    }

    #[test]
    fn an_update_is_read_back_and_other_payloads_are_passed_over() {
        let payload = updated_payload("a", "inc-1");
        assert_eq!(
            change_of(&payload, "b"),
            Some(StoreChange::Updated("inc-1".into()))
        );
        for other in ["", "hello", "{\"origin\":\"x\"}", "[1]"] {
            assert_eq!(change_of(other, "b"), None, "{other:?}");
        }
    }
}
