//! Events counted per key over a sliding window of event time.

use std::collections::HashMap;

/// One event counted: when, and which.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Seen {
    pub time_ms: i64,
    pub event_id: String,
    pub incident_id: String,
    /// For a count of different values: the event's value (two events of one value count
    /// once, at the later one's time). Empty when events are counted.
    pub value: String,
}

/// The latest events of each key, at most `threshold` of them: enough to tell whether
/// `threshold` fell within `window_ms`, whatever order they arrive in (files are read on
/// several cores, deliveries are retried).
pub(crate) struct Windows {
    window_ms: i64,
    threshold: usize,
    /// Whether different values are counted ([`Seen::value`]), not events.
    distinct: bool,
    keys: HashMap<String, Recent>,
    /// Keys held after the last sweep: the next sweep comes when they have doubled.
    swept_at: usize,
}

#[derive(Default)]
struct Recent {
    /// Oldest first.
    seen: Vec<Seen>,
    /// When this key last raised an incident: it raises again only a window later.
    raised_at: Option<i64>,
}

impl Windows {
    pub(crate) fn new(window_ms: i64, threshold: u32) -> Self {
        Self {
            window_ms,
            threshold: threshold.max(1) as usize,
            distinct: false,
            keys: HashMap::new(),
            swept_at: FIRST_SWEEP,
        }
    }

    /// Like [`Windows::new`], counting different values: `threshold` of them within the window.
    pub(crate) fn distinct(window_ms: i64, threshold: u32) -> Self {
        Self {
            distinct: true,
            ..Self::new(window_ms, threshold)
        }
    }

    /// Counts `seen` under `key`. Returns the events that make the threshold, oldest first,
    /// when they now fall within the window and the key has not raised within the window
    /// before; the key then counts as raised at the newest of them.
    pub(crate) fn count(&mut self, key: &str, seen: Seen, watermark_ms: i64) -> Option<Vec<Seen>> {
        self.sweep(watermark_ms);
        let recent = match self.keys.get_mut(key) {
            Some(recent) => recent,
            None => self.keys.entry(key.to_string()).or_default(),
        };
        let distinct = self.distinct;
        let same = |kept: &Seen| {
            if distinct {
                kept.value == seen.value
            } else {
                kept.event_id == seen.event_id
            }
        };
        if let Some(at) = recent.seen.iter().position(same) {
            // The same event delivered again counts once; a value seen again counts once, at
            // its latest time.
            if recent.seen[at].time_ms >= seen.time_ms {
                return None;
            }
            recent.seen.remove(at);
        }
        let at = recent
            .seen
            .partition_point(|kept| kept.time_ms <= seen.time_ms);
        recent.seen.insert(at, seen);
        if recent.seen.len() > self.threshold {
            recent.seen.remove(0);
        }
        let (first, last) = (recent.seen.first()?.time_ms, recent.seen.last()?.time_ms);
        let full = recent.seen.len() == self.threshold && last - first <= self.window_ms;
        let quiet = recent
            .raised_at
            .is_none_or(|raised| (last - raised).abs() > self.window_ms);
        if full && quiet {
            recent.raised_at = Some(last);
            return Some(recent.seen.clone());
        }
        None
    }

    /// Forgets `key`, returning its events that fell within the window before `time_ms`.
    pub(crate) fn take_within(&mut self, key: &str, time_ms: i64) -> Vec<Seen> {
        let window_ms = self.window_ms;
        self.keys.remove(key).map_or_else(Vec::new, |recent| {
            recent
                .seen
                .into_iter()
                .filter(|kept| kept.time_ms <= time_ms && time_ms - kept.time_ms <= window_ms)
                .collect()
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Forgets keys whose newest event (or raise) is two windows older than the newest event
    /// seen anywhere.
    fn sweep(&mut self, watermark_ms: i64) {
        sweep(
            &mut self.keys,
            &mut self.swept_at,
            watermark_ms - 2 * self.window_ms,
            |recent| {
                let newest = recent.seen.last().map_or(i64::MIN, |seen| seen.time_ms);
                newest.max(recent.raised_at.unwrap_or(i64::MIN))
            },
        );
    }
}

/// Keys held before the first sweep.
pub(crate) const FIRST_SWEEP: usize = 1024;

/// Forgets the entries whose newest time is before `horizon`, once `map` has doubled since the
/// last sweep (`swept_at`): memory follows the keys active within a window, not the input's
/// size, and the sweep's cost is spread over the insertions that grew the map.
pub(crate) fn sweep<V>(
    map: &mut HashMap<String, V>,
    swept_at: &mut usize,
    horizon: i64,
    newest: impl Fn(&V) -> i64,
) {
    if map.len() < *swept_at {
        return;
    }
    map.retain(|_, value| newest(value) >= horizon);
    *swept_at = (map.len() * 2).max(FIRST_SWEEP);
}

#[cfg(test)]
mod tests {
    use super::{Seen, Windows};

    fn seen(time_ms: i64, event_id: &str) -> Seen {
        Seen {
            time_ms,
            event_id: event_id.to_string(),
            incident_id: format!("inc-{event_id}"),
            value: String::new(),
        }
    }

    fn valued(time_ms: i64, event_id: &str, value: &str) -> Seen {
        Seen {
            value: value.to_string(),
            ..seen(time_ms, event_id)
        }
    }

    #[test]
    fn different_values_are_counted_each_once_at_its_latest_time() {
        let mut windows = Windows::distinct(10_000, 3);
        assert_eq!(windows.count("k", valued(0, "a", "alice"), 0), None);
        assert_eq!(windows.count("k", valued(1_000, "b", "alice"), 1_000), None);
        assert_eq!(windows.count("k", valued(2_000, "c", "bob"), 2_000), None);
        assert_eq!(windows.count("k", valued(2_500, "d", "bob"), 2_500), None);
        let raised = windows
            .count("k", valued(9_000, "e", "carol"), 9_000)
            .unwrap();
        let ids: Vec<&str> = raised.iter().map(|seen| seen.event_id.as_str()).collect();
        assert_eq!(ids, ["b", "d", "e"], "each value once, at its latest event");
        // alice again, and dave: three values, but alice's latest is 10.5 s before dave.
        let mut later = Windows::distinct(10_000, 3);
        for (time, id, value) in [(0, "a", "alice"), (5_000, "b", "bob"), (6_000, "c", "bob")] {
            assert_eq!(later.count("k", valued(time, id, value), time), None);
        }
        assert_eq!(later.count("k", valued(10_500, "d", "dave"), 10_500), None);
    }

    #[test]
    fn the_threshold_within_the_window_raises_once_per_window() {
        let mut windows = Windows::new(10_000, 3);
        assert_eq!(windows.count("k", seen(0, "a"), 0), None);
        assert_eq!(windows.count("k", seen(4_000, "b"), 4_000), None);
        let raised = windows.count("k", seen(9_000, "c"), 9_000).unwrap();
        let ids: Vec<&str> = raised.iter().map(|seen| seen.event_id.as_str()).collect();
        assert_eq!(ids, ["a", "b", "c"]);
        // Within a window of the raise, full windows do not raise again; the first full one
        // a window after it does.
        assert_eq!(windows.count("k", seen(10_000, "d"), 10_000), None);
        assert_eq!(windows.count("k", seen(18_000, "e"), 18_000), None);
        let again = windows.count("k", seen(19_500, "f"), 19_500).unwrap();
        let ids: Vec<&str> = again.iter().map(|seen| seen.event_id.as_str()).collect();
        assert_eq!(ids, ["d", "e", "f"]);
    }

    #[test]
    fn events_too_far_apart_or_delivered_twice_do_not_add_up() {
        let mut windows = Windows::new(10_000, 3);
        assert_eq!(windows.count("k", seen(0, "a"), 0), None);
        assert_eq!(windows.count("k", seen(6_000, "b"), 6_000), None);
        assert_eq!(windows.count("k", seen(6_000, "b"), 6_000), None);
        assert_eq!(windows.count("k", seen(12_000, "c"), 12_000), None);
        assert_eq!(windows.count("other", seen(12_500, "d"), 12_500), None);
        // Out of order: the three latest of "k" are now within 10 s.
        assert!(windows.count("k", seen(7_000, "e"), 12_500).is_some());
        let taken: Vec<i64> = windows
            .take_within("k", 12_000)
            .iter()
            .map(|seen| seen.time_ms)
            .collect();
        assert_eq!(taken, [6_000, 7_000, 12_000]);
        assert_eq!(windows.take_within("k", 12_000), [], "forgotten once taken");
        assert_eq!(
            windows.take_within("other", 30_000),
            [],
            "outside the window"
        );
    }

    #[test]
    fn keys_quiet_for_two_windows_are_forgotten() {
        let mut windows = Windows::new(1_000, 2);
        let mut most = 0;
        for key in 0..20_000 {
            let name = key.to_string();
            windows.count(&name, seen(key * 10, &name), key * 10);
            most = most.max(windows.len());
        }
        // 200 keys are active within two windows; a sweep comes at 1,024.
        assert!(most <= 1_024, "{most} keys held");
        assert!(windows.len() >= 200, "{} keys held", windows.len());
    }
}
