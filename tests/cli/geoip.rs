//! `scan --geoip`: incidents say the country of a public address, the first-seen detection
//! judges countries, and a database that cannot be used stops the scan naming it.

use crate::helpers::{
    assert_success, fixture, incidents_of, seed_records, stderr, stdout, Workspace,
};
use serde_json::{json, Value};

fn countries() -> String {
    fixture("geoip/countries.mmdb").display().to_string()
}

/// The tests' database (`tests/fixtures/geoip/make_countries.py`): documentation ranges.
fn country_of(ip: &str) -> Option<&'static str> {
    [
        ("198.51.100.", "KR"),
        ("203.0.113.", "US"),
        ("192.0.2.", "JP"),
    ]
    .iter()
    .find(|(prefix, _)| ip.starts_with(prefix))
    .map(|(_, country)| *country)
}

#[test]
fn a_scan_with_a_geoip_database_says_each_public_addresss_country_and_stores_it() {
    let workspace = Workspace::new();
    let seed = fixture("seed_events.jsonl");
    let output = workspace.scan(&["--format", "jsonl", "--geoip", &countries()], &[&seed]);
    assert_success(&output);
    let incidents = incidents_of(&output);
    let mut seen = std::collections::BTreeSet::new();
    for incident in &incidents {
        let meta = &incident["meta"];
        let ip = meta["ip"].as_str().unwrap();
        let expected = (meta["ip_class"] == "public")
            .then(|| country_of(ip))
            .flatten();
        assert_eq!(meta["country"].as_str(), expected, "{ip}: {meta}");
        seen.insert(meta["country"].as_str().unwrap_or("-").to_string());
    }
    // The fixture has public addresses of all three, and private ones (no country).
    assert_eq!(
        seen.into_iter().collect::<Vec<_>>(),
        ["-", "JP", "KR", "US"]
    );
    // Stored with the incident: listed from the store as scanned.
    let listed = workspace.incidents(&["list", "--all", "--format", "jsonl"]);
    assert_success(&listed);
    let listed = incidents_of(&listed);
    assert_eq!(listed.len(), incidents.len());
    for stored in &listed {
        let scanned = incidents
            .iter()
            .find(|incident| incident["incident_id"] == stored["incident_id"])
            .unwrap();
        assert_eq!(stored["meta"]["country"], scanned["meta"]["country"]);
    }

    // Without a database, no country.
    let plain = Workspace::new().scan(&["--format", "jsonl"], &[&seed]);
    assert_success(&plain);
    assert!(incidents_of(&plain)
        .iter()
        .all(|incident| incident["meta"].get("country").is_none()));
}

#[test]
fn a_sign_in_from_a_new_country_after_the_learning_week_is_a_first_seen_incident() {
    let workspace = Workspace::new();
    // Alice's successful console sign-in (fixture line 42), from Korea for nine days, then from
    // Japan: the address and the country are new.
    let sign_in = seed_records()
        .into_iter()
        .find(|record| {
            record["eventName"] == "ConsoleLogin"
                && record["userIdentity"]["userName"] == "alice"
                && record["responseElements"]["ConsoleLogin"] == "Success"
        })
        .expect("alice's sign-in");
    let at = |n: usize, day: usize, ip: &str| {
        let mut record = sign_in.clone();
        record["eventID"] = json!(format!("geo-{n}"));
        record["eventTime"] = json!(format!("2024-06-{:02}T09:00:00Z", day));
        record["sourceIPAddress"] = json!(ip);
        record
    };
    let mut records: Vec<Value> = (1..=9).map(|day| at(day, day, "198.51.100.23")).collect();
    records.push(at(10, 10, "192.0.2.44"));
    let path = workspace.write(
        "trail.json",
        json!({ "Records": records }).to_string().as_bytes(),
    );
    let output = workspace.scan(&["--format", "jsonl", "--geoip", &countries()], &[&path]);
    assert_success(&output);
    let found: Vec<Value> = incidents_of(&output)
        .into_iter()
        .filter(|incident| incident["rule_id"] == "correlate.first_seen")
        .collect();
    assert_eq!(found.len(), 1, "{}", stdout(&output));
    assert_eq!(found[0]["event_id"], "geo-10/correlate.first_seen");
    assert_eq!(found[0]["severity"], "MEDIUM");
    assert_eq!(
        found[0]["title"],
        "alice used a new country (JP), a new address (192.0.2.44)"
    );
    // Without the database the same trail is a new address only.
    let plain = Workspace::new().scan(&["--format", "jsonl"], &[&path]);
    let found: Vec<Value> = incidents_of(&plain)
        .into_iter()
        .filter(|incident| incident["rule_id"] == "correlate.first_seen")
        .collect();
    assert_eq!(
        (found.len(), found[0]["severity"].as_str()),
        (1, Some("LOW"))
    );
}

#[test]
fn a_geoip_file_that_cannot_be_used_stops_the_scan_naming_it() {
    let seed = fixture("seed_events.jsonl");
    let asn = fixture("geoip/asn.mmdb");
    for (database, says) in [
        (
            asn.display().to_string(),
            "\"GeoLite2-ASN\" database has no countries",
        ),
        (
            "/nonexistent/countries.mmdb".to_string(),
            "/nonexistent/countries.mmdb",
        ),
    ] {
        let workspace = Workspace::new();
        let output = workspace.scan(&["--geoip", &database], &[&seed]);
        assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
        let said = stderr(&output);
        assert!(
            said.contains(&format!("GeoIP database {database}")) && said.contains(says),
            "{said}"
        );
        assert!(!workspace.db().exists(), "nothing scanned");
    }
}
