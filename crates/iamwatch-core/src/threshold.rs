//! Rules that raise only past a count of events (`threshold:` in a rule file, `| count() > N`
//! with a `timeframe` in a Sigma rule): what one event's match of such a rule tells the
//! stateful side, which counts the matches and raises the rule's incident on the event that
//! reaches the threshold.

use crate::{Localized, Runbook, Severity};
use std::sync::Arc;

/// How many matching events within how long make a rule raise.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Threshold {
    /// At least this many (1 or more).
    pub events: u32,
    /// Within this span of event time, first to last.
    pub window_ms: i64,
}

impl Threshold {
    /// The window as people write it: `10 min`, `30 s`, `2 h`.
    pub fn window_text(&self) -> Localized {
        let seconds = self.window_ms / 1000;
        let (amount, en, ko) = if seconds % 3600 == 0 {
            (seconds / 3600, "h", "시간")
        } else if seconds % 60 == 0 {
            (seconds / 60, "min", "분")
        } else {
            (seconds, "s", "초")
        };
        Localized::new(format!("{amount} {en}"), format!("{amount}{ko}"))
    }
}

/// Reads a span written as Sigma's `timeframe` is (`30s`, `10m`, `1h`, `1d`), in milliseconds.
///
/// # Errors
/// What is wrong with the text, for a rule's problems.
pub fn parse_window(text: &str) -> Result<i64, String> {
    let text = text.trim();
    let split = text.len().saturating_sub(1);
    let (amount, unit) = (text.get(..split).unwrap_or_default(), text.get(split..));
    let seconds_per = match unit {
        Some("s") => 1,
        Some("m") => 60,
        Some("h") => 3600,
        Some("d") => 86_400,
        _ => {
            return Err(format!(
                "{text:?} is no span: write a number and s, m, h or d (10m)"
            ))
        }
    };
    match amount.parse::<i64>() {
        Ok(amount) if amount > 0 && amount <= 366 * 86_400 / seconds_per => {
            Ok(amount * seconds_per * 1000)
        }
        _ => Err(format!(
            "{text:?} is no span: the number must be a whole number from 1, at most a year"
        )),
    }
}

/// One event's match of a rule with a threshold. Not stored: an event that matched only such
/// rules is no incident of its own.
#[derive(Clone, Debug, PartialEq)]
pub struct CountedMatch {
    pub rule_id: String,
    pub threshold: Threshold,
    /// What the count is kept per: the rule's dedup key filled in from the event (`None`: one
    /// count for the rule).
    pub group: Option<String>,
    pub severity: Severity,
    /// The rule's title for this event.
    pub title: Localized,
    /// The rule's own title: the first reason of the incident it raises.
    pub reason: Localized,
    pub tags: Vec<String>,
    pub runbook: Option<Arc<Runbook>>,
    /// For a rule counting different values of a field (Sigma's `count(field)`): the field
    /// and this event's value.
    pub distinct: Option<DistinctValue>,
}

/// The value an event has at the field a rule counts the different values of.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DistinctValue {
    /// The field as people read it (`userName`); `step` for a rule of steps.
    pub field: String,
    pub value: String,
    /// Whether `value` names the rule's step the event matched (a rule of steps, as Sigma's
    /// `temporal` correlation of several rules makes): the rule raises when every step was
    /// seen within the window.
    pub step: bool,
}

/// What a rule with a threshold counted of one event, as the store keeps it until the rule's
/// window has passed: what a process that starts needs to go on counting where the last one
/// stopped (the rule's title, severity and the rest come from the rule again when an event
/// reaches the count).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeptCount {
    pub rule_id: String,
    pub event_id: String,
    pub event_time_ms: i64,
    /// The rule's threshold when the event was counted: a rule changed since counts anew.
    pub threshold: Threshold,
    pub group: Option<String>,
    pub distinct: Option<DistinctValue>,
}

impl KeptCount {
    /// Events delivered late by this much still count with this one: CloudTrail delivers its
    /// log files about 5 minutes after the calls, and sometimes much later. A count is kept
    /// this long after its window has passed, and recalled while within it.
    pub const LATE_EVENTS_MS: i64 = 60 * 60 * 1000;

    /// When no event of the window can still come, by the event clock: the event's time plus
    /// the rule's window.
    pub fn window_end_ms(&self) -> i64 {
        self.event_time_ms.saturating_add(self.threshold.window_ms)
    }

    /// Whether, at `now_ms`, an event late by at most [`Self::LATE_EVENTS_MS`] may still be
    /// counted with this one: what a store keeps and a recall reads.
    pub fn in_use_at(&self, now_ms: i64) -> bool {
        self.window_end_ms() >= now_ms.saturating_sub(Self::LATE_EVENTS_MS)
    }
}

impl CountedMatch {
    /// This match of event `event_id` at `event_time_ms`, as a store keeps it.
    pub fn kept(&self, event_id: &str, event_time_ms: i64) -> KeptCount {
        KeptCount {
            rule_id: self.rule_id.clone(),
            event_id: event_id.to_string(),
            event_time_ms,
            threshold: self.threshold,
            group: self.group.clone(),
            distinct: self.distinct.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{parse_window, KeptCount, Threshold};

    #[test]
    fn spans_read_as_sigma_writes_them() {
        assert_eq!(parse_window("30s"), Ok(30_000));
        assert_eq!(parse_window("10m"), Ok(600_000));
        assert_eq!(parse_window(" 2h "), Ok(7_200_000));
        assert_eq!(parse_window("1d"), Ok(86_400_000));
        for bad in [
            "", "m", "10", "10 m", "-5m", "0m", "1.5h", "10w", "400d", "1é",
        ] {
            assert!(parse_window(bad).is_err(), "{bad:?} was read");
        }
    }

    #[test]
    fn a_window_is_written_in_its_largest_whole_unit() {
        let text = |window_ms| {
            Threshold {
                events: 2,
                window_ms,
            }
            .window_text()
        };
        assert_eq!(text(600_000).en, "10 min");
        assert_eq!(text(600_000).ko, "10분");
        assert_eq!(text(7_200_000).en, "2 h");
        assert_eq!(text(90_000).en, "90 s");
        assert_eq!(text(90_000).ko, "90초");
    }

    #[test]
    fn a_count_is_in_use_until_its_window_and_the_late_events_have_passed() {
        let count = KeptCount {
            rule_id: "r".to_string(),
            event_id: "e".to_string(),
            event_time_ms: 1_000_000,
            threshold: Threshold {
                events: 3,
                window_ms: 600_000,
            },
            group: None,
            distinct: None,
        };
        assert_eq!(count.window_end_ms(), 1_600_000);
        let last = 1_600_000 + KeptCount::LATE_EVENTS_MS;
        assert!(count.in_use_at(1_000_000));
        assert!(count.in_use_at(last));
        assert!(!count.in_use_at(last + 1));
    }
}
