//! The stateful detections: each incident's event counted against what came before it.

use crate::config::{minutes, CorrelateConfig};
use crate::fact::{acts_as, fact, Fact, Step};
use crate::first_seen::{FirstSeen, Novelty};
use crate::off_hours::OffHoursWatch;
use crate::raise::{raise, raise_on, Correlated};
use crate::rule;
use crate::sequence::{Grace, Sequences};
use crate::threshold::Thresholds;
use crate::window::{Seen, Windows};
use iamwatch_core::{Incident, KeptCount, Localized, Severity, Target};

/// Whether a correlator raised `incident`: a stateful detection's, or a rule's threshold
/// reached (raised under `<eventID>/<rule id>`, as the detections' are).
fn raised_here(incident: &Incident) -> bool {
    rule::is_rule(&incident.rule_id)
        || incident
            .event_id
            .strip_suffix(incident.rule_id.as_str())
            .is_some_and(|event| event.ends_with('/'))
}

/// Counts incidents as they come, in the order given, and raises the incidents their
/// patterns make. One per stream of incidents (a scan, a `serve`); state is in memory, bounded
/// by the keys active within each detection's window.
pub struct Correlator {
    config: CorrelateConfig,
    failures_by_user: Windows,
    failures_by_ip: Windows,
    changes_by_actor: Windows,
    sequences: Sequences,
    grace: Grace,
    off_hours: Option<OffHoursWatch>,
    first_seen: FirstSeen,
    thresholds: Thresholds,
    /// The latest event time seen: windows are judged in event time, so that a scan of last
    /// month's trail finds what `serve` would have found then.
    watermark_ms: i64,
    /// Raised incidents the store could not keep, to be stored with the next batch
    /// ([`Correlator::keep_unstored`]).
    unstored: Vec<Incident>,
}

impl Correlator {
    pub fn new(config: CorrelateConfig) -> Self {
        Self {
            failures_by_user: Windows::new(
                minutes(config.brute_force.window_minutes),
                config.brute_force.failures,
            ),
            failures_by_ip: Windows::new(
                minutes(config.brute_force.window_minutes),
                config.brute_force.failures,
            ),
            changes_by_actor: Windows::new(
                minutes(config.burst.window_minutes),
                config.burst.changes,
            ),
            sequences: Sequences::new(minutes(config.escalation.window_minutes)),
            grace: Grace::new(i64::from(config.mfa_grace.hours) * 60 * minutes(1)),
            off_hours: OffHoursWatch::new(&config.off_hours),
            first_seen: FirstSeen::new(
                i64::from(config.first_seen.learning_days) * 24 * 60 * minutes(1),
            ),
            thresholds: Thresholds::default(),
            watermark_ms: i64::MIN,
            unstored: Vec::new(),
            config,
        }
    }

    /// Counts `incident`'s event; returns the incidents it completes, and those whose grace
    /// ran out by its event time.
    ///
    /// An incident that [is counted only](Incident::is_counted_only) is no event for the
    /// stateful detections (not an IAM change, not a sign-in): only its rules' counts see it,
    /// and a caller does not store it.
    pub fn observe(&mut self, incident: &Incident) -> Vec<Incident> {
        let mut raised = Vec::new();
        if !incident.counted.is_empty() {
            self.watermark_ms = self.watermark_ms.max(incident.event_time_ms);
            raised = self.thresholds.count(incident, self.watermark_ms);
            if incident.is_counted_only() {
                return raised;
            }
        }
        // A raised incident is no event: counting it would count its trigger twice.
        if !self.config.enabled || raised_here(incident) {
            return raised;
        }
        self.watermark_ms = self.watermark_ms.max(incident.event_time_ms);
        let fact = fact(incident);
        if matches!(fact, Fact::SignedIn { .. } | Fact::Change { .. }) {
            self.first_seen(incident, &mut raised);
        }
        match fact {
            Fact::SignInFailed { user, ip } => self.failed_sign_in(incident, user, ip, &mut raised),
            Fact::SignedIn { user, ip } => self.signed_in(incident, user, ip, &mut raised),
            Fact::Change {
                actor,
                subject,
                step,
            } => self.changed(incident, actor, &subject, step, &mut raised),
            Fact::Other => {}
        }
        self.configure(&mut raised);
        raised.extend(self.expire(self.watermark_ms));
        raised
    }

    /// From when a process that starts recalls the stored incidents ([`Correlator::recall`]):
    /// `recall_days` before `now_ms`; `None` when the detections or the recall are off.
    pub fn recall_since(&self, now_ms: i64) -> Option<i64> {
        let days = self.config.recall_days;
        (self.config.enabled && days > 0)
            .then(|| now_ms.saturating_sub(i64::from(days) * 24 * 60 * minutes(1)))
    }

    /// Counts an incident stored before this process started (oldest first), as
    /// [`Correlator::observe`] counted it then: windows, sequences, grace periods and baselines
    /// are as they were, and what they raised then (stored with the incidents that completed
    /// it) is not raised again. A grace period that ran out while no process watched is
    /// raised by the next [`Correlator::expire`].
    pub fn recall(&mut self, incident: &Incident) {
        let _already_raised = self.observe(incident);
    }

    /// From when a process that starts recalls what rules with a threshold counted
    /// ([`Correlator::recall_count`]): the counts whose window ends at or after the time
    /// returned, which events arriving now, even late, may still join; `None` when the recall
    /// is off (`recall_days = 0`). Counted whether or not the stateful detections are on, as
    /// the thresholds are.
    pub fn counts_since(&self, now_ms: i64) -> Option<i64> {
        (self.config.recall_days > 0).then(|| now_ms.saturating_sub(KeptCount::LATE_EVENTS_MS))
    }

    /// Counts a rule's match kept by the store before this process started, as
    /// [`Correlator::observe`] counted it then; what it reached then is not raised again.
    pub fn recall_count(&mut self, kept: KeptCount) {
        self.watermark_ms = self.watermark_ms.max(kept.event_time_ms);
        self.thresholds.recall(kept, self.watermark_ms);
    }

    /// Rules turned off dropped, severities overridden.
    fn configure(&self, raised: &mut Vec<Incident>) {
        if raised.is_empty() {
            return;
        }
        raised.retain(|incident| !self.config.disabled.contains(&incident.rule_id));
        for incident in raised {
            if let Some(severity) = self.config.severities.get(&incident.rule_id) {
                incident.severity = *severity;
            }
        }
    }

    /// Incidents of users whose MFA grace ran out by `now_ms`: called by `serve` on its
    /// clock, and by [`Correlator::observe`] with the latest event time.
    pub fn expire(&mut self, now_ms: i64) -> Vec<Incident> {
        if !self.config.enabled || !self.config.mfa_grace.enabled {
            return Vec::new();
        }
        let hours = self.config.mfa_grace.hours;
        let mut raised: Vec<Incident> = self
            .grace
            .expire(now_ms)
            .into_iter()
            .map(|(pending, due_ms)| {
                let subject = pending.subject.as_str();
                let name = subject.trim_start_matches("user/");
                let (severity, en, ko) = if pending.console {
                    (
                        Severity::Medium,
                        format!("{name} can sign in to the console and still has no MFA device {hours} h after it was created"),
                        format!("{name}: 콘솔 로그인이 가능한데 생성 {hours}시간 후에도 MFA 장치 없음"),
                    )
                } else {
                    (
                        Severity::Low,
                        format!("{name} still has no MFA device {hours} h after it was created"),
                        format!("{name}: 생성 {hours}시간 후에도 MFA 장치 없음"),
                    )
                };
                let found = Correlated {
                    related: vec![seen(&pending.trigger)],
                    ..Correlated::titled(
                        rule::USER_WITHOUT_MFA,
                        severity,
                        Localized::new("User without MFA", "MFA 미설정 사용자"),
                        en,
                        ko,
                        target("user", name),
                    )
                };
                let now = pending.trigger.created_at.max(now_ms.min(due_ms));
                raise(&pending.trigger, found, due_ms, now)
            })
            .collect();
        self.configure(&mut raised);
        raised
    }

    /// What the stateful detections raised among `batch` (copies): what a caller keeps until
    /// the store has the batch, to give to [`Correlator::keep_unstored`] if it fails.
    pub fn raised_among(batch: &[Incident]) -> Vec<Incident> {
        batch
            .iter()
            .filter(|incident| raised_here(incident))
            .cloned()
            .collect()
    }

    /// Takes back raised incidents the store failed to keep. Their events are counted already:
    /// delivered again, they raise nothing (each event counts once, each pattern raises once),
    /// so without this the incidents would be lost. They come out again from the next
    /// [`Correlator::take_unstored`].
    pub fn keep_unstored(&mut self, raised: Vec<Incident>) {
        self.unstored.extend(raised);
    }

    /// The raised incidents kept by [`Correlator::keep_unstored`], to store with the next
    /// batch (their ids are fixed by their events: stored already, they are duplicates).
    pub fn take_unstored(&mut self) -> Vec<Incident> {
        std::mem::take(&mut self.unstored)
    }

    /// Keys and sequences held: what the state costs, for metrics and tests.
    pub fn held(&self) -> usize {
        self.failures_by_user.len()
            + self.failures_by_ip.len()
            + self.changes_by_actor.len()
            + self.sequences.len()
            + self.grace.len()
            + self.off_hours.as_ref().map_or(0, OffHoursWatch::len)
            + self.first_seen.len()
            + self.thresholds.len()
    }

    fn first_seen(&mut self, incident: &Incident, raised: &mut Vec<Incident>) {
        if !self.config.first_seen.enabled {
            return;
        }
        let actor = &incident.meta.actor;
        let principal = if actor.arn.is_empty() {
            &actor.name
        } else {
            &actor.arn
        };
        if principal.is_empty() {
            return;
        }
        let Some(Novelty {
            country,
            address,
            client,
        }) = self
            .first_seen
            .judge(&keyed(&incident.account, principal), incident)
        else {
            return;
        };
        let who = actor.name.as_str();
        let (severity, what_en, what_ko) = match (&country, &address, &client) {
            // Another country is more than another address: another office, or someone else.
            (Some(country), _, _) => {
                let mut en = format!("a new country ({country})");
                let mut ko = format!("처음 보는 국가 ({country})");
                if let Some(address) = &address {
                    en.push_str(&format!(", a new address ({address})"));
                    ko.push_str(&format!(", 주소 ({address})"));
                }
                if let Some(client) = &client {
                    en.push_str(&format!(" and a new client ({client})"));
                    ko.push_str(&format!(", 클라이언트 ({client})"));
                }
                let severity = if client.is_some() {
                    Severity::High
                } else {
                    Severity::Medium
                };
                (severity, en, ko)
            }
            (None, Some(address), Some(client)) => (
                Severity::Medium,
                format!("a new address ({address}) and a new client ({client})"),
                format!("처음 보는 주소 ({address})와 클라이언트 ({client})"),
            ),
            (None, Some(address), None) => (
                Severity::Low,
                format!("a new address ({address})"),
                format!("처음 보는 주소 ({address})"),
            ),
            (None, None, Some(client)) => (
                Severity::Low,
                format!("a new client ({client})"),
                format!("처음 보는 클라이언트 ({client})"),
            ),
            (None, None, None) => return,
        };
        let en = format!("{who} used {what_en}");
        let found = Correlated {
            // Valid Accounts: credentials used from somewhere they never were.
            tags: &["T1078"],
            related: vec![seen(incident)],
            ..Correlated::titled(
                rule::FIRST_SEEN,
                severity,
                if country.is_some() {
                    Localized::new("New country", "처음 보는 국가")
                } else {
                    Localized::new("New address or client", "처음 보는 주소·클라이언트")
                },
                en,
                format!("{who}: {what_ko}"),
                target("principal", principal),
            )
        };
        raised.push(raise_on(incident, found));
    }

    fn failed_sign_in(
        &mut self,
        incident: &Incident,
        user: Option<&str>,
        ip: &str,
        raised: &mut Vec<Incident>,
    ) {
        let settings = &self.config.brute_force;
        if !settings.enabled {
            return;
        }
        let watermark = self.watermark_ms;
        let by_user = user.and_then(|user| {
            self.failures_by_user
                .count(&keyed(&incident.account, user), seen(incident), watermark)
        });
        let by_ip = (!ip.is_empty())
            .then(|| self.failures_by_ip.count(ip, seen(incident), watermark))
            .flatten();
        if by_user.is_none() && by_ip.is_none() {
            return;
        }
        let (failures, window) = (settings.failures, settings.window_minutes);
        let (target, en, ko) = match (user, &by_user) {
            (Some(user), Some(_)) => (
                target("user", user),
                format!("{failures} failed console sign-ins for {user} within {window} min"),
                format!("{window}분 안에 {user} 콘솔 로그인 {failures}회 실패"),
            ),
            _ => (
                target("ip", ip),
                format!("{failures} failed console sign-ins from {ip} within {window} min"),
                format!("{window}분 안에 {ip}에서 콘솔 로그인 {failures}회 실패"),
            ),
        };
        let root = user == Some("root");
        let found = Correlated {
            // Brute Force: Password Guessing.
            tags: &["T1110.001"],
            related: merged(by_user.into_iter().chain(by_ip).flatten()),
            ..Correlated::titled(
                rule::BRUTE_FORCE,
                if root {
                    Severity::Critical
                } else {
                    Severity::High
                },
                Localized::new("Repeated failed sign-ins", "로그인 반복 실패"),
                en,
                ko,
                target,
            )
        };
        raised.push(raise_on(incident, found));
    }

    fn signed_in(&mut self, incident: &Incident, user: &str, ip: &str, raised: &mut Vec<Incident>) {
        let settings = &self.config.brute_force;
        if !settings.enabled {
            return;
        }
        let time = incident.event_time_ms;
        // A success starts the count again, for the user and for the address.
        let for_user = self
            .failures_by_user
            .take_within(&keyed(&incident.account, user), time);
        let from_ip = self.failures_by_ip.take_within(ip, time);
        let threshold = settings.failures as usize;
        if for_user.len() < threshold && from_ip.len() < threshold {
            return;
        }
        let failures = for_user.len().max(from_ip.len());
        let mut related = merged(for_user.into_iter().chain(from_ip));
        related.push(seen(incident));
        let found = Correlated {
            rule_id: rule::SIGN_IN_AFTER_FAILURES,
            severity: if user == "root" {
                Severity::Critical
            } else {
                Severity::High
            },
            label: Localized::new(
                "Sign-in after repeated failures",
                "반복 실패 후 로그인 성공",
            ),
            reason: Some(Localized::new(
                format!(
                    "{user} signed in to the console from {ip} after {failures} failed attempts"
                ),
                format!("{user}이(가) {failures}회 실패 후 {ip}에서 콘솔에 로그인함"),
            )),
            title: Localized::new(
                format!("{user} signed in after {failures} failed attempts"),
                format!("{failures}회 실패 후 {user} 콘솔 로그인 성공"),
            ),
            target: target("user", user),
            // Brute Force: Password Guessing; Valid Accounts.
            tags: &["T1078", "T1110.001"],
            related,
        };
        raised.push(raise(incident, found, time, incident.created_at));
    }

    fn changed(
        &mut self,
        incident: &Incident,
        actor: &str,
        subject: &str,
        step: Option<Step>,
        raised: &mut Vec<Incident>,
    ) {
        let who = incident.meta.actor.name.as_str();
        let actor_key = keyed(&incident.account, actor);
        if self.config.burst.enabled {
            let (changes, window) = (self.config.burst.changes, self.config.burst.window_minutes);
            if let Some(related) =
                self.changes_by_actor
                    .count(&actor_key, seen(incident), self.watermark_ms)
            {
                let en = format!("{who} made {changes} IAM changes within {window} min");
                let found = Correlated {
                    // Account Manipulation.
                    tags: &["T1098"],
                    related,
                    ..Correlated::titled(
                        rule::BURST,
                        Severity::Medium,
                        Localized::new("Burst of IAM changes", "IAM 변경 급증"),
                        en,
                        format!("{who}: {window}분 안에 IAM 변경 {changes}건"),
                        target("principal", actor),
                    )
                };
                raised.push(raise_on(incident, found));
            }
        }
        if let Some(watch) = &mut self.off_hours {
            if let Some(when) = watch.judge(incident, &actor_key, seen(incident), self.watermark_ms)
            {
                let en = format!("{who} changed IAM outside working hours ({when})");
                let found = Correlated {
                    // Valid Accounts: a person's credentials used when that person is not at work.
                    tags: &["T1078"],
                    related: vec![seen(incident)],
                    ..Correlated::titled(
                        rule::OFF_HOURS,
                        Severity::Medium,
                        Localized::new("IAM change outside working hours", "업무 시간 외 IAM 변경"),
                        en,
                        format!("{who}: 업무 시간 외 IAM 변경 ({when})"),
                        target("principal", actor),
                    )
                };
                raised.push(raise_on(incident, found));
            }
        }
        let (Some(step), false) = (step, subject.is_empty()) else {
            return;
        };
        if self.config.mfa_grace.enabled {
            self.grace
                .record(&keyed(&incident.account, subject), subject, step, incident);
        }
        if !self.config.escalation.enabled {
            return;
        }
        let name = subject.split_once('/').map_or(subject, |(_, name)| name);
        if step == Step::AdminGranted && acts_as(actor, subject) {
            let en = format!("{who} gave itself administrator access");
            let found = Correlated {
                tags: &["T1098"],
                related: vec![seen(incident)],
                ..Correlated::titled(
                    rule::PRIVILEGE_ESCALATION,
                    Severity::Critical,
                    Localized::new("Privilege escalation", "권한 상승"),
                    en,
                    format!("{who}: 자기 자신에게 관리자 권한 부여"),
                    target("principal", subject),
                )
            };
            raised.push(raise_on(incident, found));
            return;
        }
        let key = format!("{actor_key}|{subject}");
        if let Some((first, related)) =
            self.sequences
                .record(&key, step, seen(incident), self.watermark_ms)
        {
            let (en, ko) = if first == Step::Created {
                (
                    format!("{who} created {subject} and gave it administrator access"),
                    format!("{who}: {name} 생성 후 관리자 권한 부여"),
                )
            } else {
                (
                    format!("{who} gave {subject} both credentials and administrator access"),
                    format!("{who}: {name}에 자격 증명과 관리자 권한 부여"),
                )
            };
            let found = Correlated {
                // Account Manipulation; Create Account.
                tags: &["T1098", "T1136.003"],
                related,
                ..Correlated::titled(
                    rule::PRIVILEGE_ESCALATION,
                    Severity::Critical,
                    Localized::new("Privilege escalation", "권한 상승"),
                    en,
                    ko,
                    target("principal", subject),
                )
            };
            raised.push(raise_on(incident, found));
        }
    }
}

fn seen(incident: &Incident) -> Seen {
    Seen {
        time_ms: incident.event_time_ms,
        event_id: incident.event_id.clone(),
        incident_id: incident.incident_id.clone(),
        value: String::new(),
    }
}

/// Events of two counts as one list, each once, oldest first.
fn merged(seen: impl Iterator<Item = Seen>) -> Vec<Seen> {
    let mut all: Vec<Seen> = seen.collect();
    all.sort_by(|a, b| (a.time_ms, &a.event_id).cmp(&(b.time_ms, &b.event_id)));
    all.dedup_by(|a, b| a.event_id == b.event_id);
    all
}

/// A user, role or address within its account: the same name in two accounts is two keys.
fn keyed(account: &str, name: &str) -> String {
    let mut key = String::with_capacity(account.len() + 1 + name.len());
    key.push_str(account);
    key.push('|');
    key.push_str(name);
    key
}

fn target(kind: &str, id: &str) -> Target {
    Target {
        kind: kind.to_string(),
        id: id.to_string(),
        principal: String::new(),
    }
}
