//! What one principal did to another over time: the steps of an escalation, and users
//! waiting for their MFA device.

use crate::fact::Step;
use crate::window::{sweep, Seen, FIRST_SWEEP};
use iamwatch_core::text::fnv1a64;
use iamwatch_core::Incident;
use std::collections::{BTreeSet, HashMap, HashSet};

/// The escalation steps one actor took on one subject.
pub(crate) struct Sequences {
    window_ms: i64,
    steps: HashMap<String, Steps>,
    swept_at: usize,
}

#[derive(Default)]
struct Steps {
    created: Option<Seen>,
    credentials: Option<Seen>,
    admin: Option<Seen>,
    raised: bool,
}

impl Steps {
    fn newest(&self) -> i64 {
        [&self.created, &self.credentials, &self.admin]
            .into_iter()
            .flatten()
            .map(|seen| seen.time_ms)
            .max()
            .unwrap_or(i64::MIN)
    }
}

impl Sequences {
    pub(crate) fn new(window_ms: i64) -> Self {
        Self {
            window_ms,
            steps: HashMap::new(),
            swept_at: FIRST_SWEEP,
        }
    }

    /// Records `step` of the actor on the subject `key` names. Returns the step the sequence
    /// began with and its events, oldest first, when an administrator grant and the
    /// creation of the subject (or credentials given to it) now fall within the window: once
    /// per key.
    pub(crate) fn record(
        &mut self,
        key: &str,
        step: Step,
        seen: Seen,
        watermark_ms: i64,
    ) -> Option<(Step, Vec<Seen>)> {
        if step == Step::Deleted {
            self.steps.remove(key);
            return None;
        }
        if !matches!(
            step,
            Step::Created | Step::CredentialsGiven | Step::AdminGranted
        ) {
            return None;
        }
        self.sweep(watermark_ms);
        let steps = match self.steps.get_mut(key) {
            Some(steps) => steps,
            None => self.steps.entry(key.to_string()).or_default(),
        };
        let slot = match step {
            Step::Created => &mut steps.created,
            Step::CredentialsGiven => &mut steps.credentials,
            _ => &mut steps.admin,
        };
        *slot = Some(seen);
        if steps.raised {
            return None;
        }
        let admin = steps.admin.as_ref()?;
        let (window_ms, admin_ms) = (self.window_ms, admin.time_ms);
        let near = |other: Option<&Seen>| {
            other.is_some_and(|other| (other.time_ms - admin_ms).abs() <= window_ms)
        };
        let (first, other) = if near(steps.created.as_ref()) {
            (Step::Created, steps.created.as_ref()?)
        } else if near(steps.credentials.as_ref()) {
            (Step::CredentialsGiven, steps.credentials.as_ref()?)
        } else {
            return None;
        };
        let mut related = vec![other.clone(), admin.clone()];
        related.sort_by_key(|seen| seen.time_ms);
        steps.raised = true;
        Some((first, related))
    }

    pub(crate) fn len(&self) -> usize {
        self.steps.len()
    }

    fn sweep(&mut self, watermark_ms: i64) {
        sweep(
            &mut self.steps,
            &mut self.swept_at,
            watermark_ms - 2 * self.window_ms,
            Steps::newest,
        );
    }
}

/// A user created and not yet seen getting an MFA device.
pub(crate) struct Pending {
    /// `user/<name>`.
    pub subject: String,
    /// A console password was given to it meanwhile.
    pub console: bool,
    /// The creation's incident, without its raw event.
    pub trigger: Incident,
    due_ms: i64,
}

/// Users waiting out their MFA grace period, by account and name.
pub(crate) struct Grace {
    grace_ms: i64,
    pending: HashMap<String, Pending>,
    /// `(due, key)`, earliest first. An entry whose user got MFA or was deleted stays until
    /// due, and is then passed over.
    due: BTreeSet<(i64, String)>,
    /// Users (hashed keys) seen getting an MFA device: their creation delivered again (an
    /// EventBridge retry, a log file read twice) does not set them waiting again.
    settled: HashSet<u64>,
}

impl Grace {
    pub(crate) fn new(grace_ms: i64) -> Self {
        Self {
            grace_ms,
            settled: HashSet::new(),
            pending: HashMap::new(),
            due: BTreeSet::new(),
        }
    }

    pub(crate) fn record(&mut self, key: &str, subject: &str, step: Step, incident: &Incident) {
        match step {
            Step::Created
                if subject.starts_with("user/")
                    && !self.pending.contains_key(key)
                    && !self.settled.contains(&fnv1a64(key.as_bytes())) =>
            {
                let due_ms = incident.event_time_ms.saturating_add(self.grace_ms);
                self.due.insert((due_ms, key.to_string()));
                self.pending.insert(
                    key.to_string(),
                    Pending {
                        subject: subject.to_string(),
                        console: false,
                        trigger: incident.without_raw(),
                        due_ms,
                    },
                );
            }
            Step::CredentialsGiven
                if matches!(
                    incident.event_name.as_str(),
                    "CreateLoginProfile" | "UpdateLoginProfile"
                ) =>
            {
                if let Some(pending) = self.pending.get_mut(key) {
                    pending.console = true;
                }
            }
            Step::MfaEnabled => {
                self.pending.remove(key);
                self.settled.insert(fnv1a64(key.as_bytes()));
            }
            // A user made again under the name is a new user.
            Step::Deleted => {
                self.pending.remove(key);
                self.settled.remove(&fnv1a64(key.as_bytes()));
            }
            _ => {}
        }
    }

    /// The users whose grace ran out by `now_ms`, with when it did, earliest first.
    pub(crate) fn expire(&mut self, now_ms: i64) -> Vec<(Pending, i64)> {
        let mut expired = Vec::new();
        while let Some((due_ms, _)) = self.due.first() {
            if *due_ms > now_ms {
                break;
            }
            let Some((due_ms, key)) = self.due.pop_first() else {
                break;
            };
            if self
                .pending
                .get(&key)
                .is_some_and(|pending| pending.due_ms == due_ms)
            {
                if let Some(pending) = self.pending.remove(&key) {
                    expired.push((pending, due_ms));
                }
            }
        }
        expired
    }

    pub(crate) fn len(&self) -> usize {
        self.pending.len() + self.settled.len()
    }
}
