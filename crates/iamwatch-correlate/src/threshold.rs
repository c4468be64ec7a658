//! Rules with a threshold (`threshold:` in a rule file, a Sigma rule's `| count()`): their
//! matches counted per rule and dedup key over the rule's window of event time, and the rule's
//! incident raised on the event that reaches the count, once per window.

use crate::window::{Seen, Windows};
use iamwatch_core::{CountedMatch, Incident, KeptCount, Localized, MetaJson, Threshold};
use std::collections::HashMap;

/// The counts of every rule with a threshold, by rule id.
#[derive(Default)]
pub(crate) struct Thresholds {
    rules: HashMap<String, Counts>,
}

/// One rule's counts, and what they were counted for.
struct Counts {
    threshold: Threshold,
    distinct: bool,
    windows: Windows,
}

impl Counts {
    fn new(threshold: Threshold, distinct: bool) -> Self {
        let windows = if distinct {
            Windows::distinct(threshold.window_ms, threshold.events)
        } else {
            Windows::new(threshold.window_ms, threshold.events)
        };
        Self {
            threshold,
            distinct,
            windows,
        }
    }
}

impl Thresholds {
    /// Counts the rule matches `incident`'s event carries; the incidents the counts reached.
    pub(crate) fn count(&mut self, incident: &Incident, watermark_ms: i64) -> Vec<Incident> {
        let mut raised = Vec::new();
        for counted in &incident.counted {
            let kept = counted.kept(&incident.event_id, incident.event_time_ms);
            if let Some(events) = self.count_kept(kept, watermark_ms) {
                raised.push(reached(incident, counted, &events));
            }
        }
        raised
    }

    /// Counts a match a store kept before this process started, as [`Thresholds::count`]
    /// counted it then; what it reached then was stored then.
    pub(crate) fn recall(&mut self, kept: KeptCount, watermark_ms: i64) {
        let _already_raised = self.count_kept(kept, watermark_ms);
    }

    /// Counts one match; the events that make its rule's threshold when it reaches it.
    fn count_kept(&mut self, kept: KeptCount, watermark_ms: i64) -> Option<Vec<Seen>> {
        let (threshold, distinct) = (kept.threshold, kept.distinct.is_some());
        let counts = match self.rules.get_mut(&kept.rule_id) {
            // A rule changed by a reload (`serve`, SIGHUP) counts anew.
            Some(counts) if counts.threshold != threshold || counts.distinct != distinct => {
                *counts = Counts::new(threshold, distinct);
                counts
            }
            Some(counts) => counts,
            None => self
                .rules
                .entry(kept.rule_id)
                .or_insert_with(|| Counts::new(threshold, distinct)),
        };
        let seen = Seen {
            time_ms: kept.event_time_ms,
            event_id: kept.event_id,
            incident_id: String::new(),
            value: kept
                .distinct
                .map(|distinct| distinct.value)
                .unwrap_or_default(),
        };
        let group = kept.group.as_deref().unwrap_or_default();
        counts.windows.count(group, seen, watermark_ms)
    }

    /// Keys held, for metrics and tests.
    pub(crate) fn len(&self) -> usize {
        self.rules.values().map(|counts| counts.windows.len()).sum()
    }
}

/// The incident of `counted`'s rule on the event that reached its threshold: the event's own,
/// raw record included, under the rule's title, severity and tags, its event id the event's
/// with the rule's id after it (another rule may make an incident of the same event), and the
/// counted events listed in its notes.
fn reached(trigger: &Incident, counted: &CountedMatch, events: &[Seen]) -> Incident {
    let threshold = counted.threshold;
    let window = threshold.window_text();
    let (count, of) = (events.len(), counted.group.as_deref().unwrap_or_default());
    let per = if of.is_empty() {
        Localized::new(String::new(), String::new())
    } else {
        Localized::new(format!(" for {of}"), format!(" ({of})"))
    };
    let reason = match &counted.distinct {
        Some(distinct) if distinct.step => {
            // Oldest first: the steps in the order they were seen.
            let steps: Vec<&str> = events.iter().map(|seen| seen.value.as_str()).collect();
            let steps = steps.join(", ");
            Localized::new(
                format!("events of {steps} within {}{}", window.en, per.en),
                format!("{} 안에 {steps}의 이벤트{}", window.ko, per.ko),
            )
        }
        Some(distinct) => Localized::new(
            format!(
                "{count} different values of {} within {}{}",
                distinct.field, window.en, per.en
            ),
            format!(
                "{} 안에 서로 다른 {} 값 {count}개{}",
                window.ko, distinct.field, per.ko
            ),
        ),
        None => Localized::new(
            format!("{count} matching events within {}{}", window.en, per.en),
            format!("{} 안에 일치하는 이벤트 {count}건{}", window.ko, per.ko),
        ),
    };
    let mut incident = trigger.without_raw();
    incident.raw.clone_from(&trigger.raw);
    incident.counted = Vec::new();
    incident.event_id = format!("{}/{}", trigger.event_id, counted.rule_id);
    incident.incident_id = Incident::make_id(trigger.event_time_ms, &incident.event_id, 0);
    incident.rule_id.clone_from(&counted.rule_id);
    incident.title = counted.title.clone();
    incident.severity = counted.severity;
    let meta = &mut incident.meta;
    meta.rules = vec![counted.rule_id.clone()];
    meta.reasons = vec![counted.reason.en.clone(), reason.en];
    meta.reasons_ko = vec![counted.reason.ko.clone(), reason.ko];
    meta.tags.clone_from(&counted.tags);
    meta.runbook.clone_from(&counted.runbook);
    meta.dedup_key.clone_from(&counted.group);
    let ids: Vec<&str> = events.iter().map(|seen| seen.event_id.as_str()).collect();
    meta.notes.push(format!("events: {}", ids.join(", ")));
    incident.meta_json = MetaJson::of(meta);
    incident
}
