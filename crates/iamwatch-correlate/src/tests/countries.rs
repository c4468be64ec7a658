//! The first-seen detection with countries (a GeoIP database configured): a principal's new
//! country is worth more than its new address, and countries are learnt for their own week.

use super::sign_in;
use crate::{rule, CorrelateConfig, Correlator};
use iamwatch_core::{Incident, Severity};

const DAY: i64 = 24 * 60;

/// A console sign-in of alice from the public `ip`, in `country` if the database knew it.
fn from(id: &str, minute: i64, ip: &str, country: Option<&str>, client: &str) -> Incident {
    let mut incident = sign_in(id, minute, "alice", ip, false);
    incident.meta.ip_class = "public".to_string();
    incident.meta.country = country.map(str::to_string);
    incident.meta.device.summary = client.to_string();
    incident
}

/// What `incidents` raise: event id, severity, English and Korean titles, label.
fn raised(incidents: &[Incident]) -> Vec<(String, Severity, String, String, String)> {
    let mut correlator = Correlator::new(CorrelateConfig::default());
    incidents
        .iter()
        .flat_map(|incident| correlator.observe(incident))
        .inspect(|found| assert_eq!(found.rule_id, rule::FIRST_SEEN))
        .map(|found| {
            (
                found.event_id,
                found.severity,
                found.title.en,
                found.title.ko,
                found.event_type.en,
            )
        })
        .collect()
}

#[test]
fn a_new_country_raises_above_a_new_address_and_higher_still_with_a_new_client() {
    let chrome = "Chrome 131 on macOS";
    let found = raised(&[
        from("d0", 0, "198.51.100.1", Some("KR"), chrome),
        // A week on, in Korea from another address: a new address only.
        from("d8", 8 * DAY, "198.51.100.2", Some("KR"), chrome),
        // From Japan, the same client: a new country (and address).
        from("d8-jp", 8 * DAY + 5, "192.0.2.44", Some("JP"), chrome),
        // From the United States with a client never seen.
        from(
            "d9-us",
            9 * DAY,
            "203.0.113.10",
            Some("US"),
            "Firefox 133 on Windows",
        ),
    ]);
    let rows: Vec<(&str, Severity, &str)> = found
        .iter()
        .map(|(id, severity, en, _, _)| (id.as_str(), *severity, en.as_str()))
        .collect();
    assert_eq!(
        rows,
        [
            (
                "d8/correlate.first_seen",
                Severity::Low,
                "alice used a new address (198.51.100.2)"
            ),
            (
                "d8-jp/correlate.first_seen",
                Severity::Medium,
                "alice used a new country (JP), a new address (192.0.2.44)"
            ),
            (
                "d9-us/correlate.first_seen",
                Severity::High,
                "alice used a new country (US), a new address (203.0.113.10) and a new client (Firefox on Windows)"
            ),
        ]
    );
    assert_eq!(
        found[2].3,
        "alice: 처음 보는 국가 (US), 주소 (203.0.113.10), 클라이언트 (Firefox on Windows)"
    );
    assert_eq!(
        (found[1].4.as_str(), found[0].4.as_str()),
        ("New country", "New address or client")
    );
}

#[test]
fn countries_are_learnt_for_a_week_from_the_first_event_that_has_one() {
    let chrome = "Chrome 131 on macOS";
    // Watched for weeks without a GeoIP database, then one is configured: the principal's
    // countries are learnt afresh, not all new at once.
    let found = raised(&[
        from("d0", 0, "198.51.100.1", None, chrome),
        from("d20", 20 * DAY, "198.51.100.1", Some("KR"), chrome),
        from("d21", 21 * DAY, "192.0.2.44", Some("JP"), chrome),
        from("d28", 28 * DAY, "203.0.113.10", Some("US"), chrome),
    ]);
    let rows: Vec<(&str, Severity)> = found
        .iter()
        .map(|(id, severity, ..)| (id.as_str(), *severity))
        .collect();
    assert_eq!(
        rows,
        [
            // The address is judged (learnt for weeks); the country is still being learnt.
            ("d21/correlate.first_seen", Severity::Low),
            ("d28/correlate.first_seen", Severity::Medium),
        ]
    );
    assert_eq!(
        found[1].2,
        "alice used a new country (US), a new address (203.0.113.10)"
    );
}
