//! The incident a stateful detection raises: the event that completed the pattern (the
//! trigger) is its event, and the events that made it up are listed in its notes.

use crate::window::Seen;
use iamwatch_core::{Incident, IncidentStatus, Localized, MetaJson, Severity, Target};

/// What a detection found, before it is an incident.
pub(crate) struct Correlated {
    pub rule_id: &'static str,
    pub severity: Severity,
    /// The kind of finding (the incident's `event_type`).
    pub label: Localized,
    pub title: Localized,
    /// What the pattern was about: a user, an address, a principal.
    pub target: Target,
    /// Why, when it says more than the title; else the title is the reason.
    pub reason: Option<Localized>,
    /// ATT&CK techniques.
    pub tags: &'static [&'static str],
    /// The events that make the pattern, oldest first.
    pub related: Vec<Seen>,
}

impl Correlated {
    /// A finding whose English title is also the reason it gives; no tags, no events yet.
    pub(crate) fn titled(
        rule_id: &'static str,
        severity: Severity,
        label: Localized,
        en: String,
        ko: String,
        target: Target,
    ) -> Self {
        Self {
            rule_id,
            severity,
            label,
            reason: None,
            title: Localized::new(en, ko),
            target,
            tags: &[],
            related: Vec::new(),
        }
    }
}

/// The incident for `found`, completed by `trigger` at the trigger's own event time.
pub(crate) fn raise_on(trigger: &Incident, found: Correlated) -> Incident {
    raise(trigger, found, trigger.event_time_ms, trigger.created_at)
}

/// The incident for `found`, completed by `trigger`, at `time_ms` (the trigger's event time,
/// or when a grace period ran out).
///
/// Its event id is the trigger's with the rule's id after it: a trigger raises each stateful
/// rule at most once, so the same events delivered again, or scanned again, make the same
/// incident, which the store keeps once.
pub(crate) fn raise(trigger: &Incident, found: Correlated, time_ms: i64, now_ms: i64) -> Incident {
    let event_id = format!("{}/{}", trigger.event_id, found.rule_id);
    let mut meta = trigger.meta.clone();
    meta.rules = vec![found.rule_id.to_string()];
    let reason = found.reason.unwrap_or_else(|| found.title.clone());
    meta.reasons = vec![reason.en];
    meta.reasons_ko = vec![reason.ko];
    meta.tags = found.tags.iter().map(|tag| (*tag).to_string()).collect();
    meta.runbook = None;
    meta.dedup_key = Some(format!(
        "{}:{}:{}",
        found.rule_id, found.target.kind, found.target.id
    ));
    meta.notes = vec![
        format!(
            "incidents: {}",
            join(found.related.iter().map(|seen| seen.incident_id.as_str()))
        ),
        format!(
            "events: {}",
            join(found.related.iter().map(|seen| seen.event_id.as_str()))
        ),
    ];
    let resource = found.target.id.clone();
    meta.target = Some(found.target);
    let meta_json = MetaJson::of(&mut meta);
    Incident {
        incident_id: Incident::make_id(time_ms, &event_id, 0),
        event_id,
        event_name: trigger.event_name.clone(),
        event_type: found.label,
        rule_id: found.rule_id.to_string(),
        title: found.title,
        resource,
        severity: found.severity,
        status: IncidentStatus::New,
        meta,
        source: trigger.source.clone(),
        account: trigger.account.clone(),
        region: trigger.region.clone(),
        event_time_ms: time_ms,
        created_at: now_ms,
        updated_at: now_ms,
        assignee: None,
        // The events are in their own incidents; this one points at them.
        raw: None,
        meta_json,
        counted: Vec::new(),
    }
}

fn join<'a>(parts: impl Iterator<Item = &'a str>) -> String {
    parts.collect::<Vec<_>>().join(", ")
}
