//! Prometheus text exposition, written by hand: a few counters, gauges and histograms do not
//! need a metrics framework.

use iamwatch_core::Severity;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Histogram bucket bounds in seconds.
const BOUNDS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

#[derive(Debug, Default)]
pub struct Histogram {
    buckets: [AtomicU64; BOUNDS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    pub fn observe(&self, elapsed: Duration) {
        let seconds = elapsed.as_secs_f64();
        for (bound, bucket) in BOUNDS.iter().zip(&self.buckets) {
            if seconds <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_micros
            .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
    }

    fn write(&self, out: &mut String, name: &str, help: &str) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} histogram");
        for (bound, bucket) in BOUNDS.iter().zip(&self.buckets) {
            let _ = writeln!(
                out,
                "{name}_bucket{{le=\"{bound}\"}} {}",
                bucket.load(Ordering::Relaxed)
            );
        }
        let count = self.count.load(Ordering::Relaxed);
        let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {count}");
        let sum = self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6;
        let _ = writeln!(out, "{name}_sum {sum}\n{name}_count {count}");
    }
}

#[derive(Debug, Default)]
pub struct Metrics {
    pub requests_accepted: AtomicU64,
    pub requests_unauthorized: AtomicU64,
    pub requests_rejected: AtomicU64,
    pub requests_overloaded: AtomicU64,
    pub records: AtomicU64,
    pub bad_records: AtomicU64,
    pub skipped: AtomicU64,
    /// Log files read from S3 because a notification named them.
    pub s3_objects: AtomicU64,
    /// Messages received from `[sqs] queues`.
    pub sqs_received: AtomicU64,
    /// Messages deleted from their queue: their incidents stored, or kept as dead letters.
    pub sqs_deleted: AtomicU64,
    /// Messages left in their queue for SQS to deliver again (S3 or the store failing), and
    /// receives or deletes that failed.
    pub sqs_failures: AtomicU64,
    pub duplicates: AtomicU64,
    /// New incidents, by severity rank (index = rank - 1).
    pub incidents: [AtomicU64; 4],
    pub commit_queue_depth: AtomicU64,
    /// What the stateful detections hold: users, addresses, principals and sequences.
    pub correlation_keys: AtomicU64,
    /// Live clients whose socket stopped draining (a send timed out).
    pub ws_stalled: AtomicU64,
    /// Live clients that stopped answering pings.
    pub ws_unresponsive: AtomicU64,
    pub parsing: AtomicU64,
    pub ingest_latency: Histogram,
    pub commit_latency: Histogram,
}

impl Metrics {
    pub fn count_incident(&self, severity: Severity) {
        let index = (severity.rank().clamp(1, 4) - 1) as usize;
        self.incidents[index].fetch_add(1, Ordering::Relaxed);
    }

    /// The exposition text; `hub` supplies the live-stream figures, `notifier` each
    /// notification destination's.
    pub fn render(
        &self,
        hub: &crate::stream::LiveHub,
        notifier: &iamwatch_notify::Notifier,
        posture: Option<&crate::posture::Latest>,
    ) -> String {
        let mut out = String::with_capacity(4096);
        let counter = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        };
        let gauge = |out: &mut String, name: &str, help: &str, value: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
            );
        };
        let load = |value: &AtomicU64| value.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP iamwatch_ingest_requests_total Ingest requests by outcome.\n# TYPE iamwatch_ingest_requests_total counter"
        );
        for (outcome, value) in [
            ("accepted", &self.requests_accepted),
            ("unauthorized", &self.requests_unauthorized),
            ("rejected", &self.requests_rejected),
            ("overloaded", &self.requests_overloaded),
        ] {
            let _ = writeln!(
                out,
                "iamwatch_ingest_requests_total{{outcome=\"{outcome}\"}} {}",
                load(value)
            );
        }
        for (name, help, value) in [
            (
                "iamwatch_events_total",
                "CloudTrail records received.",
                &self.records,
            ),
            (
                "iamwatch_bad_records_total",
                "Records that could not be read (kept in the dead-letter file).",
                &self.bad_records,
            ),
            (
                "iamwatch_skipped_total",
                "Records passed over by the skip list.",
                &self.skipped,
            ),
            (
                "iamwatch_s3_objects_read_total",
                "Log files read from S3 because a notification named them.",
                &self.s3_objects,
            ),
            (
                "iamwatch_sqs_messages_received_total",
                "Messages received from the SQS queues read.",
                &self.sqs_received,
            ),
            (
                "iamwatch_sqs_messages_deleted_total",
                "Messages deleted from their queue: incidents stored, or kept as dead letters.",
                &self.sqs_deleted,
            ),
            (
                "iamwatch_sqs_failures_total",
                "Messages left for SQS to deliver again, and receives or deletes that failed.",
                &self.sqs_failures,
            ),
            (
                "iamwatch_duplicates_total",
                "Incidents found again for an event already stored.",
                &self.duplicates,
            ),
        ] {
            counter(&mut out, name, help, load(value));
        }
        let _ = writeln!(
            out,
            "# HELP iamwatch_incidents_total New incidents by severity.\n# TYPE iamwatch_incidents_total counter"
        );
        for severity in [
            Severity::Low,
            Severity::Medium,
            Severity::High,
            Severity::Critical,
        ] {
            let index = (severity.rank() - 1) as usize;
            let _ = writeln!(
                out,
                "iamwatch_incidents_total{{severity=\"{}\"}} {}",
                severity.as_str(),
                load(&self.incidents[index])
            );
        }
        gauge(
            &mut out,
            "iamwatch_commit_queue_depth",
            "Ingest requests waiting for a durable commit.",
            load(&self.commit_queue_depth),
        );
        gauge(
            &mut out,
            "iamwatch_correlation_keys",
            "Keys the stateful detections hold (users, addresses, principals, sequences, users waiting for MFA).",
            load(&self.correlation_keys),
        );
        gauge(
            &mut out,
            "iamwatch_parsing",
            "Request bodies being parsed.",
            load(&self.parsing),
        );
        gauge(
            &mut out,
            "iamwatch_ws_clients",
            "Connected live-stream clients.",
            hub.subscribers() as u64,
        );
        gauge(
            &mut out,
            "iamwatch_ws_queued_messages",
            "Messages waiting in live-stream client queues.",
            hub.queued() as u64,
        );
        let counters = hub.counters();
        counter(
            &mut out,
            "iamwatch_ws_messages_total",
            "Messages queued to live-stream clients.",
            load(&counters.delivered),
        );
        let _ = writeln!(
            out,
            "# HELP iamwatch_ws_dropped_total Live-stream clients disconnected, by reason.\n# TYPE iamwatch_ws_dropped_total counter\niamwatch_ws_dropped_total{{reason=\"slow\"}} {}\niamwatch_ws_dropped_total{{reason=\"unresponsive\"}} {}\niamwatch_ws_dropped_total{{reason=\"closed\"}} {}",
            load(&counters.dropped_slow) + load(&self.ws_stalled),
            load(&self.ws_unresponsive),
            load(&counters.dropped_closed)
        );
        write_notifications(&mut out, notifier);
        if let Some(latest) = posture {
            write_posture(&mut out, latest);
        }
        self.ingest_latency.write(
            &mut out,
            "iamwatch_ingest_seconds",
            "Ingest request time, receipt to durable commit.",
        );
        self.commit_latency.write(
            &mut out,
            "iamwatch_commit_seconds",
            "Store commit time per batch.",
        );
        out
    }
}

/// The latest posture scan's findings by severity, and when it was made.
fn write_posture(out: &mut String, latest: &crate::posture::Latest) {
    // Counted under the read lock: the scan's principals are not copied for a scrape.
    let guard = latest.read().unwrap_or_else(|error| error.into_inner());
    let Some(snapshot) = guard.as_ref() else {
        return;
    };
    let _ = writeln!(
        out,
        "# HELP iamwatch_posture_findings Findings of the latest IAM posture scan, by severity.\n# TYPE iamwatch_posture_findings gauge"
    );
    for severity in Severity::ALL {
        let count = iamwatch_posture::count_findings(&snapshot.principals, severity);
        let _ = writeln!(
            out,
            "iamwatch_posture_findings{{severity=\"{}\"}} {count}",
            severity.as_str()
        );
    }
    let _ = writeln!(
        out,
        "# HELP iamwatch_posture_scanned_at_seconds When the latest IAM posture scan finished.\n# TYPE iamwatch_posture_scanned_at_seconds gauge\niamwatch_posture_scanned_at_seconds {}\n# HELP iamwatch_posture_failing Whether the latest posture scan failed.\n# TYPE iamwatch_posture_failing gauge\niamwatch_posture_failing {}",
        snapshot.generated_at / 1000,
        u8::from(snapshot.error.is_some())
    );
}

/// Each destination's counts, labelled with its name and kind.
fn write_notifications(out: &mut String, notifier: &iamwatch_notify::Notifier) {
    let _ = writeln!(
        out,
        "# HELP iamwatch_notifications_total Incidents offered to each notification destination, by outcome.\n# TYPE iamwatch_notifications_total counter"
    );
    for (name, kind, stats) in notifier.stats() {
        let name = name.replace('\\', "\\\\").replace('"', "\\\"");
        for (outcome, value) in [
            ("sent", &stats.sent),
            ("failed", &stats.failed),
            ("dropped", &stats.dropped),
        ] {
            let _ = writeln!(
                out,
                "iamwatch_notifications_total{{destination=\"{name}\",kind=\"{kind}\",outcome=\"{outcome}\"}} {}",
                value.load(Ordering::Relaxed)
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP iamwatch_notification_retries_total Messages tried again after a passing failure.\n# TYPE iamwatch_notification_retries_total counter"
    );
    for (name, kind, stats) in notifier.stats() {
        let name = name.replace('\\', "\\\\").replace('"', "\\\"");
        let _ = writeln!(
            out,
            "iamwatch_notification_retries_total{{destination=\"{name}\",kind=\"{kind}\"}} {}",
            stats.retries.load(Ordering::Relaxed)
        );
    }
}

/// The rules in force, and how their reloads (SIGHUP) went.
pub fn write_rules(out: &mut String, rules: &crate::LiveRules) {
    let (applied, failed) = rules.reload_counts();
    let _ = writeln!(
        out,
        "# HELP iamwatch_rules Rules in force (the built-in pack and rule files).\n# TYPE iamwatch_rules gauge\niamwatch_rules {}",
        rules.current().rules().rules().len()
    );
    let _ = writeln!(
        out,
        "# HELP iamwatch_rules_reloads_total Rule reloads (SIGHUP), by outcome; a failed one leaves the rules in force.\n# TYPE iamwatch_rules_reloads_total counter\niamwatch_rules_reloads_total{{outcome=\"applied\"}} {applied}\niamwatch_rules_reloads_total{{outcome=\"failed\"}} {failed}"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative() {
        let histogram = Histogram::default();
        histogram.observe(Duration::from_micros(300));
        histogram.observe(Duration::from_millis(7));
        let mut out = String::new();
        histogram.write(&mut out, "x", "help");
        assert!(out.contains("x_bucket{le=\"0.0005\"} 1\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"0.01\"} 2\n"), "{out}");
        assert!(out.contains("x_bucket{le=\"+Inf\"} 2\n"), "{out}");
        assert!(out.contains("x_count 2\n"), "{out}");
    }

    #[test]
    fn incidents_are_counted_by_severity() {
        let metrics = Metrics::default();
        metrics.count_incident(Severity::Critical);
        metrics.count_incident(Severity::Critical);
        metrics.count_incident(Severity::Low);
        let text = metrics.render(
            &crate::stream::LiveHub::new(1),
            &iamwatch_notify::Notifier::default(),
            None,
        );
        assert!(
            text.contains("iamwatch_incidents_total{severity=\"CRITICAL\"} 2\n"),
            "{text}"
        );
        assert!(
            text.contains("iamwatch_incidents_total{severity=\"LOW\"} 1\n"),
            "{text}"
        );
        assert!(text.contains("iamwatch_ws_clients 0\n"), "{text}");
    }
}
