//! A generic webhook: one POST per incident, the incident as the API shows it in the
//! destination's language, with headers a receiver can rely on:
//! - `X-Iamwatch-Event: incident.created`;
//! - `X-Iamwatch-Delivery`: the incident id, the same on every retry, to deduplicate by (a
//!   delivery is retried when no answer came, so a receiver may see it twice);
//! - with `secret_env` set, `X-Iamwatch-Timestamp` (Unix seconds) and `X-Iamwatch-Signature:
//!   sha256=<hex>`, HMAC-SHA256 over `<timestamp>.<body>` with the shared key, so that a
//!   receiver can tell iamwatch's calls from anyone else's and refuse old ones replayed.

use super::{http_outcome, Outgoing, Payload, SendError};
use crate::config::Route;
use crate::message::{document, render};
use hmac::{Hmac, Mac};
use iamwatch_core::{Incident, Secret};
use sha2::Sha256;
use std::sync::Arc;

pub struct Webhook {
    http: reqwest::Client,
    url: Secret,
    signing_key: Option<Secret>,
}

impl Webhook {
    pub fn new(http: reqwest::Client, url: Secret, signing_key: Option<Secret>) -> Self {
        Self {
            http,
            url,
            signing_key,
        }
    }

    pub async fn post(&self, body: &[u8], delivery: &str) -> Result<(), SendError> {
        let mut request = self
            .http
            .post(self.url.expose())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .header("x-iamwatch-event", "incident.created")
            .header("x-iamwatch-delivery", delivery);
        if let Some(key) = &self.signing_key {
            let timestamp = iamwatch_core::time::now_ms() / 1000;
            request = request
                .header("x-iamwatch-timestamp", timestamp.to_string())
                .header("x-iamwatch-signature", signature(key, timestamp, body));
        }
        http_outcome(request.body(body.to_vec()).send().await).await
    }
}

/// `sha256=<hex of HMAC-SHA256(key, "<timestamp>.<body>")>`.
pub fn signature(key: &Secret, timestamp: i64, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.expose().as_bytes())
        .unwrap_or_else(|_| unreachable!("HMAC accepts keys of any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    let digest = mac.finalize().into_bytes();
    let mut text = String::with_capacity(7 + 64);
    text.push_str("sha256=");
    for byte in digest {
        text.push_str(&format!("{byte:02x}"));
    }
    text
}

pub fn messages(batch: &[Arc<Incident>], route: &Route) -> Vec<Outgoing> {
    batch
        .iter()
        .map(|incident| {
            let body = document(incident, &render(incident, route), route.lang);
            Outgoing {
                incidents: 1,
                payload: Payload::Json {
                    body: body.to_string().into_bytes(),
                    delivery: incident.incident_id.clone(),
                },
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_hmac_sha256_of_the_timestamp_and_body() {
        // Computed apart, with Python's hmac and hashlib.
        let signed = signature(
            &Secret::new("Jefe"),
            1_700_000_000,
            br#"{"type":"incident.created"}"#,
        );
        assert_eq!(
            signed,
            "sha256=6384ae7f96aeb8cd9f3990f96f369f469adf6913e0103fad456b37cf12d66fcf"
        );
    }
}
