//! One worker per destination, each with its own bounded queue: [`Notifier::offer`] never
//! waits (a full queue counts the incident as dropped), so a destination that is slow, down or
//! rate-limiting holds up neither the pipeline nor the other destinations.
//!
//! A worker takes what is waiting (up to its destination's batch), composes the messages and
//! sends them one by one; a message that fails for a passing reason is tried again after 1, 2,
//! 4 … s (or what the destination asked for, up to a minute), [`ATTEMPTS`] times in all.

use crate::channel::{Channel, Outgoing};
use crate::config::{ChannelConfig, NotifyConfigError, Route};
use iamwatch_core::Incident;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Tries of one message, the first included.
pub const ATTEMPTS: u32 = 5;
const LONGEST_WAIT: Duration = Duration::from_secs(60);

/// What happened to the incidents offered to one destination.
#[derive(Debug, Default)]
pub struct Stats {
    pub sent: AtomicU64,
    pub failed: AtomicU64,
    pub dropped: AtomicU64,
    pub retries: AtomicU64,
}

struct Worker {
    route: Route,
    sender: mpsc::Sender<Arc<Incident>>,
    stats: Arc<Stats>,
}

/// The destinations, each fed by its own queue. Cloning shares them. Dropping the last clone
/// lets each worker send what is queued and stop ([`Notifier::finish`] waits for that).
#[derive(Clone, Default)]
pub struct Notifier {
    workers: Arc<Vec<Worker>>,
    tasks: Arc<std::sync::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
    pending: Arc<Pending>,
}

/// Incidents queued or being sent, over every destination: what [`Notifier::settled`] waits
/// for.
#[derive(Default)]
struct Pending {
    count: std::sync::atomic::AtomicUsize,
    idle: tokio::sync::Notify,
}

impl Pending {
    fn done(&self, incidents: usize) {
        if self.count.fetch_sub(incidents, Ordering::AcqRel) == incidents {
            self.idle.notify_waiters();
        }
    }
}

impl Notifier {
    /// Checks every table and starts a worker per destination (on the current Tokio runtime).
    ///
    /// # Errors
    /// The first table that cannot be used, named with its place and field.
    pub async fn start(
        configs: &[ChannelConfig],
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Self, NotifyConfigError> {
        let mut checked = Vec::with_capacity(configs.len());
        for (index, config) in configs.iter().enumerate() {
            checked.push((index, config.check(index, env)?));
        }
        let mut workers = Vec::with_capacity(checked.len());
        let mut tasks = Vec::with_capacity(checked.len());
        let pending = Arc::new(Pending::default());
        for (index, (route, destination)) in checked {
            let channel =
                Channel::open(destination)
                    .await
                    .map_err(|message| NotifyConfigError {
                        place: index + 1,
                        kind: route.kind.as_str(),
                        name: format!(" {:?}", route.name),
                        message,
                    })?;
            let (sender, receiver) = mpsc::channel(route.queue);
            let stats = Arc::new(Stats::default());
            tracing::info!(
                destination = %route.name,
                kind = route.kind.as_str(),
                min_severity = %route.min_severity,
                lang = route.lang.as_str(),
                timezone = route.zone.name(),
                "notifications on"
            );
            tasks.push(tokio::spawn(run(
                channel,
                route.clone(),
                receiver,
                Arc::clone(&stats),
                Arc::clone(&pending),
            )));
            workers.push(Worker {
                route,
                sender,
                stats,
            });
        }
        Ok(Self {
            workers: Arc::new(workers),
            tasks: Arc::new(std::sync::Mutex::new(tasks)),
            pending,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Hands a new incident to every destination that wants its severity. Never waits.
    pub fn offer(&self, incident: &Incident) {
        let mut shared: Option<Arc<Incident>> = None;
        for worker in self.workers.iter() {
            if !worker.route.wants(incident.severity) {
                continue;
            }
            let incident = shared
                .get_or_insert_with(|| Arc::new(incident.without_raw()))
                .clone();
            self.pending.count.fetch_add(1, Ordering::AcqRel);
            if worker.sender.try_send(incident).is_err() {
                self.pending.done(1);
                let dropped = worker.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                // Said once per thousand, not once per incident of a storm.
                if dropped % 1000 == 1 {
                    tracing::warn!(destination = %worker.route.name, dropped, "notification queue full: incidents not notified");
                }
            }
        }
    }

    /// Each destination's name, kind and counts (for `/metrics`).
    pub fn stats(&self) -> impl Iterator<Item = (&str, &'static str, &Stats)> {
        self.workers.iter().map(|worker| {
            (
                worker.route.name.as_str(),
                worker.route.kind.as_str(),
                &*worker.stats,
            )
        })
    }

    /// Waits, up to `limit`, until every incident offered so far is sent or given up on, the
    /// workers running on (the serverless function, which must not answer with notifications
    /// still queued). Whether everything settled in time.
    pub async fn settled(&self, limit: Duration) -> bool {
        let wait = async {
            loop {
                let idle = self.pending.idle.notified();
                tokio::pin!(idle);
                // Registered before the count is read: a worker finishing in between wakes it.
                idle.as_mut().enable();
                if self.pending.count.load(Ordering::Acquire) == 0 {
                    return;
                }
                idle.await;
            }
        };
        tokio::time::timeout(limit, wait).await.is_ok()
    }

    /// Waits, up to `limit`, for the workers to send what is queued; to be called once every
    /// other clone is dropped (the queues close then).
    pub async fn finish(self, limit: Duration) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        drop(self);
        let all = futures_join(tasks);
        if tokio::time::timeout(limit, all).await.is_err() {
            tracing::warn!("notifications still queued at shutdown were not all sent");
        }
    }
}

async fn futures_join(tasks: Vec<tokio::task::JoinHandle<()>>) {
    for task in tasks {
        let _ = task.await;
    }
}

async fn run(
    channel: Channel,
    route: Route,
    mut receiver: mpsc::Receiver<Arc<Incident>>,
    stats: Arc<Stats>,
    pending: Arc<Pending>,
) {
    let limit = channel.batch_limit();
    let mut batch = Vec::with_capacity(limit);
    while let Some(first) = receiver.recv().await {
        batch.clear();
        batch.push(first);
        while batch.len() < limit {
            match receiver.try_recv() {
                Ok(incident) => batch.push(incident),
                Err(_) => break,
            }
        }
        for outgoing in channel.compose(&batch, &route) {
            send(&channel, &route, &outgoing, &stats).await;
        }
        pending.done(batch.len());
    }
}

async fn send(channel: &Channel, route: &Route, outgoing: &Outgoing, stats: &Stats) {
    let count = outgoing.incidents as u64;
    for attempt in 1..=ATTEMPTS {
        let error = match channel.deliver(&outgoing.payload).await {
            Ok(()) => {
                stats.sent.fetch_add(count, Ordering::Relaxed);
                return;
            }
            Err(error) => error,
        };
        match error.retry {
            Some(asked) if attempt < ATTEMPTS => {
                let wait = asked
                    .unwrap_or(Duration::from_secs(1 << (attempt - 1)))
                    .min(LONGEST_WAIT);
                tracing::info!(destination = %route.name, attempt, reason = %error.reason, wait_ms = wait.as_millis() as u64, "notification not sent yet; trying again");
                stats.retries.fetch_add(1, Ordering::Relaxed);
                tokio::time::sleep(wait).await;
            }
            _ => {
                stats.failed.fetch_add(count, Ordering::Relaxed);
                tracing::warn!(destination = %route.name, attempts = attempt, incidents = count, reason = %error.reason, "notification not sent");
                return;
            }
        }
    }
}
