//! One worker per destination, each with its own bounded queue: [`Notifier::offer`] never
//! waits (a full queue counts the incident as dropped), so a destination that is slow, down or
//! rate-limiting holds up neither the pipeline nor the other destinations.
//!
//! A worker takes what is waiting (up to its destination's batch), composes the messages and
//! sends them one by one; a message that fails for a passing reason is tried again after 1, 2,
//! 4 … s (or what the destination asked for, up to a minute), [`ATTEMPTS`] times in all.

use crate::channel::{Channel, Outgoing};
use crate::config::{ChannelConfig, NotifyConfigError, Route};
use crate::outbox::{Outbox, Owed};
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
    /// What is owed to each destination, kept across a restart (`serve`'s; the serverless
    /// function has none: it sends before it answers).
    outbox: Option<Arc<Outbox>>,
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
        Self::start_with(configs, env, None).await
    }

    /// As [`Notifier::start`], owing each destination what it is offered in `outbox` until it
    /// is sent or given up on ([`Notifier::owe`]).
    ///
    /// # Errors
    /// As [`Notifier::start`].
    pub async fn start_with(
        configs: &[ChannelConfig],
        env: &dyn Fn(&str) -> Option<String>,
        outbox: Option<Outbox>,
    ) -> Result<Self, NotifyConfigError> {
        let outbox = outbox.map(Arc::new);
        let mut checked: Vec<(usize, (Route, crate::config::Destination))> =
            Vec::with_capacity(configs.len());
        for (index, config) in configs.iter().enumerate() {
            let (route, destination) = config.check(index, env)?;
            // The outbox tells destinations apart by name.
            if checked
                .iter()
                .any(|(_, (other, _))| other.name == route.name)
            {
                return Err(NotifyConfigError {
                    place: index + 1,
                    kind: route.kind.as_str(),
                    name: format!(" {:?}", route.name),
                    message: "another [[notify]] has this name; give each its own".to_string(),
                });
            }
            checked.push((index, (route, destination)));
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
                outbox.clone(),
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
            outbox,
        })
    }

    /// Owes `incidents` to the destinations that want them, in the outbox: called before they
    /// are stored, so that no stored incident is ever unowed. What each incident is owed as, in
    /// order; empty without an outbox. What is owed is written off as it is sent or given up
    /// on; what is not offered after all (the store failed, or it was stored before) by
    /// [`Notifier::forgive`].
    pub fn owe(&self, incidents: &[Incident]) -> Vec<Vec<Owed>> {
        let Some(outbox) = &self.outbox else {
            return Vec::new();
        };
        let owed: Vec<Vec<Owed>> = incidents
            .iter()
            .map(|incident| self.owed_for(incident))
            .collect();
        outbox.owe(
            owed.iter()
                .flatten()
                .map(|owed| (owed.destination.as_str(), owed.incident_id.as_str())),
        );
        owed
    }

    /// Writes off what [`Notifier::owe`] owed and will not be offered.
    pub fn forgive<'a>(&self, owed: impl IntoIterator<Item = &'a Owed>) {
        if let Some(outbox) = &self.outbox {
            outbox.done(
                owed.into_iter()
                    .map(|owed| (owed.destination.as_str(), owed.incident_id.as_str())),
            );
        }
    }

    /// What `incident` is owed as: one per destination that wants its severity.
    fn owed_for(&self, incident: &Incident) -> Vec<Owed> {
        self.workers
            .iter()
            .filter(|worker| worker.route.wants(incident.severity))
            .map(|worker| Owed {
                destination: worker.route.name.clone(),
                incident_id: incident.incident_id.clone(),
            })
            .collect()
    }

    /// Offers again what an earlier process owed ([`Outbox::open`]): each to its destination,
    /// if the config still has it and the store the incident; else written off.
    pub fn resend(&self, owed: &[Owed], incidents: &[Incident]) {
        let by_id: std::collections::HashMap<&str, &Incident> = incidents
            .iter()
            .map(|incident| (incident.incident_id.as_str(), incident))
            .collect();
        for entry in owed {
            let worker = self
                .workers
                .iter()
                .find(|worker| worker.route.name == entry.destination);
            match (worker, by_id.get(entry.incident_id.as_str())) {
                (Some(worker), Some(incident)) => {
                    self.send_to(worker, Arc::new(incident.without_raw()));
                }
                _ => self.forgive([entry]),
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.workers.is_empty()
    }

    /// Whether some destination wants `incident` (its severity).
    pub fn wants(&self, incident: &Incident) -> bool {
        self.workers
            .iter()
            .any(|worker| worker.route.wants(incident.severity))
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
            self.send_to(worker, incident);
        }
    }

    fn send_to(&self, worker: &Worker, incident: Arc<Incident>) {
        self.pending.count.fetch_add(1, Ordering::AcqRel);
        let Err(full) = worker.sender.try_send(incident) else {
            return;
        };
        self.pending.done(1);
        if let Some(outbox) = &self.outbox {
            let incident = full.into_inner();
            outbox.done([(worker.route.name.as_str(), incident.incident_id.as_str())]);
        }
        let dropped = worker.stats.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        // Said once per thousand, not once per incident of a storm.
        if dropped % 1000 == 1 {
            tracing::warn!(destination = %worker.route.name, dropped, "notification queue full: incidents not notified");
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
    outbox: Option<Arc<Outbox>>,
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
        // Sent, or given up on after every try: either way no longer owed.
        if let Some(outbox) = &outbox {
            outbox.done(
                batch
                    .iter()
                    .map(|incident| (route.name.as_str(), incident.incident_id.as_str())),
            );
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
