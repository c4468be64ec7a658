//! `serve` with `geoip` in its config: an incident says its public address's country, live and
//! through the API; a database that cannot be used stops the start naming it.

use crate::server::{self, post, start};
use serde_json::json;

fn countries() -> String {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/geoip/countries.mmdb")
        .display()
        .to_string()
}

#[tokio::test]
async fn an_incident_posted_to_serve_says_its_addresss_country() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &format!("geoip = {:?}\n", countries()));
    let mut socket = server::connect(&server).await;
    let mut event = server::eventbridge_event("geo-1", "DeleteUser", "mallory");
    event["detail"]["sourceIPAddress"] = json!("192.0.2.44");
    let (status, summary) = post(&server, event.to_string()).await;
    assert_eq!(status, 202, "{summary}");
    let live = server::next_json(&mut socket)
        .await
        .expect("a live message");
    assert_eq!(live["incident"]["meta"]["country"], "JP", "{live}");
    let (_, page) = server::get(&server, "/v1/incidents").await;
    assert_eq!(page["incidents"][0]["meta"]["country"], "JP", "{page}");
}

#[test]
fn a_geoip_database_that_cannot_be_used_stops_serve_naming_it() {
    let asn = countries().replace("countries.mmdb", "asn.mmdb");
    let said = server::refused_start(&format!("geoip = {asn:?}\n"));
    assert!(
        said.contains(&format!("GeoIP database {asn}")) && said.contains("has no countries"),
        "{said}"
    );
}
