//! Group commit. Ingest requests hand their incidents to one task that stores everything
//! waiting in one transaction, so a thousand concurrent requests cost one fsync, not a
//! thousand; each request is answered only after its incidents are durable. New incidents are
//! broadcast the moment they are stored, and offered to the notification destinations and the
//! automatic playbooks (which queue them: never a wait here).

use crate::auto_respond::Responder;
use crate::metrics::Metrics;
use crate::stream::LiveHub as Hub;
use iamwatch_core::{Incident, KeptCount};
use iamwatch_correlate::Correlator;
use iamwatch_notify::Notifier;
use iamwatch_store::{IncidentStore, Stored};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;
use tokio::sync::{mpsc, oneshot};

/// Incidents per transaction, at most (one request's incidents are never split).
const MAX_BATCH: usize = 4096;

pub type CommitResult = Result<Vec<Stored>, String>;

struct Job {
    incidents: Vec<Incident>,
    reply: oneshot::Sender<CommitResult>,
}

#[derive(Clone)]
pub struct Committer {
    sender: mpsc::Sender<Job>,
    metrics: Arc<Metrics>,
}

/// The commit queue is full: the caller should answer 503 with Retry-After.
#[derive(Debug)]
pub struct Overloaded;

impl Committer {
    /// Starts the commit task. It ends once every [`Committer`] clone is dropped and the
    /// queue is drained, so in-flight work finishes on shutdown.
    pub fn start(
        store: Arc<dyn IncidentStore>,
        hub: Hub,
        notifier: Notifier,
        responder: Responder,
        correlator: Correlator,
        metrics: Arc<Metrics>,
        capacity: usize,
    ) -> (Self, tokio::task::JoinHandle<()>) {
        let (sender, receiver) = mpsc::channel(capacity.max(1));
        let outputs = Outputs {
            hub,
            notifier,
            responder,
        };
        let task = tokio::spawn(run(
            receiver,
            store,
            outputs,
            correlator,
            Arc::clone(&metrics),
        ));
        (Self { sender, metrics }, task)
    }

    /// Queues `incidents`; the receiver yields them as stored.
    ///
    /// # Errors
    /// [`Overloaded`] when the queue is full (or the committer has stopped).
    pub fn submit(
        &self,
        incidents: Vec<Incident>,
    ) -> Result<oneshot::Receiver<CommitResult>, Overloaded> {
        let (reply, receiver) = oneshot::channel();
        self.sender
            .try_send(Job { incidents, reply })
            .map_err(|_| Overloaded)?;
        self.metrics
            .commit_queue_depth
            .fetch_add(1, Ordering::Relaxed);
        Ok(receiver)
    }
}

/// Where a new incident goes once stored: every dashboard, the notification destinations, the
/// automatic playbooks. None of them makes the committer wait.
struct Outputs {
    hub: Hub,
    notifier: Notifier,
    responder: Responder,
}

impl Outputs {
    fn publish_created(&self, incident: &Incident) {
        self.hub
            .publish(crate::stream::message("incident.created", incident));
        self.notifier.offer(incident);
        self.responder.offer(incident);
    }
}

/// What `correlator` makes of a job's incidents, in order: each incident (unless it is only
/// counted) followed by what it raised.
fn correlated(correlator: &mut Correlator, incidents: Vec<Incident>) -> Vec<Incident> {
    let mut kept = Vec::with_capacity(incidents.len());
    for incident in incidents {
        let raised = correlator.observe(&incident);
        if !incident.is_counted_only() {
            kept.push(incident);
        }
        kept.extend(raised);
    }
    kept
}

/// How often users' MFA grace periods are checked against the clock.
const GRACE_CHECK: std::time::Duration = std::time::Duration::from_secs(60);

async fn run(
    mut receiver: mpsc::Receiver<Job>,
    store: Arc<dyn IncidentStore>,
    outputs: Outputs,
    mut correlator: Correlator,
    metrics: Arc<Metrics>,
) {
    let mut grace_check = tokio::time::interval(GRACE_CHECK);
    grace_check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let first = tokio::select! {
            job = receiver.recv() => match job {
                Some(job) => job,
                None => break,
            },
            _ = grace_check.tick() => {
                let mut overdue = correlator.take_unstored();
                overdue.extend(correlator.expire(iamwatch_core::time::now_ms()));
                if overdue.is_empty() {
                    continue;
                }
                unattended(overdue, &metrics)
            }
        };
        let mut waiting = first.incidents.len();
        let mut jobs = vec![first];
        while waiting < MAX_BATCH {
            match receiver.try_recv() {
                Ok(job) => {
                    waiting += job.incidents.len();
                    jobs.push(job);
                }
                Err(_) => break,
            }
        }
        // What the detections raised in a batch the store failed: stored first in this one.
        let unstored = correlator.take_unstored();
        if !unstored.is_empty() {
            jobs.insert(0, unattended(unstored, &metrics));
        }
        // What rules with a threshold counted is kept first, for a process that starts after
        // this one: should the batch then fail, its events come again and count once.
        let counts: Vec<KeptCount> = jobs
            .iter()
            .flat_map(|job| job.incidents.iter().flat_map(Incident::kept_counts))
            .collect();
        // The stateful detections see what was accepted, in the order accepted; what they
        // raise is stored in the same transaction as the incidents that completed it, and
        // counted in the request's answer. An event that matched only rules with a threshold
        // is counted, not stored.
        for job in &mut jobs {
            job.incidents = correlated(&mut correlator, std::mem::take(&mut job.incidents));
        }
        let total: usize = jobs.iter().map(|job| job.incidents.len()).sum();
        metrics
            .correlation_keys
            .store(correlator.held() as u64, Ordering::Relaxed);
        metrics
            .commit_queue_depth
            .fetch_sub(jobs.len() as u64, Ordering::Relaxed);
        let sizes: Vec<usize> = jobs.iter().map(|job| job.incidents.len()).collect();
        let mut batch = Vec::with_capacity(total);
        let mut replies = Vec::with_capacity(jobs.len());
        for job in jobs {
            batch.extend(job.incidents);
            replies.push(job.reply);
        }
        let raised = Correlator::raised_among(&batch);
        // Owed before it is stored: a kill after the store's commit cannot lose a notification.
        let owed = outputs.notifier.owe(&batch);
        let started = Instant::now();
        let result = match store
            .keep_counts(counts, iamwatch_core::time::now_ms())
            .await
        {
            Ok(()) => store.insert_batch(batch).await,
            Err(error) => Err(error),
        };
        metrics.commit_latency.observe(started.elapsed());
        match result {
            Ok(stored) => {
                // One answer per incident given, in order: what each was owed goes with it
                // (nothing without an outbox).
                for (index, entry) in stored.iter().enumerate() {
                    if entry.created {
                        metrics.count_incident(entry.incident.severity);
                        outputs.publish_created(&entry.incident);
                    } else {
                        metrics.duplicates.fetch_add(1, Ordering::Relaxed);
                        // Notified when it was first stored.
                        outputs
                            .notifier
                            .forgive(owed.get(index).into_iter().flatten());
                    }
                }
                let mut stored = stored.into_iter();
                for (reply, size) in replies.into_iter().zip(sizes) {
                    let _ = reply.send(Ok(stored.by_ref().take(size).collect()));
                }
            }
            Err(error) => {
                tracing::error!(error = %error, incidents = total, "cannot store incidents");
                // The requests are answered with the error and delivered again, but their
                // events are counted already and will not raise these again.
                correlator.keep_unstored(raised);
                outputs.notifier.forgive(owed.iter().flatten());
                let text = format!("the incident store failed: {error}");
                for reply in replies {
                    let _ = reply.send(Err(text.clone()));
                }
            }
        }
    }
}

/// A job of incidents nobody waits for (the reply goes nowhere): the graces that ran out, and
/// what the detections raised in a batch the store failed.
fn unattended(incidents: Vec<Incident>, metrics: &Metrics) -> Job {
    let (reply, _) = oneshot::channel();
    metrics.commit_queue_depth.fetch_add(1, Ordering::Relaxed);
    Job { incidents, reply }
}
