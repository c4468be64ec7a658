//! What a principal has been seen using: its addresses, their countries and its kinds of
//! client. Once a principal has been watched for the learning period, a change or sign-in from
//! an address, a country or a client it never used is worth a look (a stolen key is used from
//! somewhere else, with other tools). Countries are known when a GeoIP database is configured
//! (`--geoip`): they are learnt from the first event that has one, so that a database added
//! later does not make every principal's next country new.

use iamwatch_core::text::fnv1a64;
use iamwatch_core::Incident;
use std::collections::HashMap;

/// Principals remembered; past this, new ones are not learnt (memory stays bounded).
const MOST_PRINCIPALS: usize = 100_000;

/// Addresses, and clients, remembered per principal; past this a principal is too varied to
/// learn and no longer raises (a NAT pool, a CI fleet).
const MOST_REMEMBERED: usize = 64;

pub(crate) struct FirstSeen {
    learning_ms: i64,
    principals: HashMap<String, Baseline>,
}

#[derive(Default)]
struct Baseline {
    /// The first event time seen for the principal.
    since_ms: i64,
    /// Hashes: eight bytes each, whatever the address or client.
    addresses: Vec<u64>,
    clients: Vec<u64>,
    countries: Vec<u64>,
    /// The first event time with a country (`i64::MAX` until one).
    countries_since_ms: i64,
}

/// What was new about an event.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Novelty {
    pub country: Option<String>,
    pub address: Option<String>,
    pub client: Option<String>,
}

impl FirstSeen {
    pub(crate) fn new(learning_ms: i64) -> Self {
        Self {
            learning_ms,
            principals: HashMap::new(),
        }
    }

    /// Learns `incident`'s address and client for `principal`; what was new, once the
    /// principal has been watched for the learning period.
    pub(crate) fn judge(&mut self, principal: &str, incident: &Incident) -> Option<Novelty> {
        let meta = &incident.meta;
        let address =
            matches!(meta.ip_class.as_str(), "public" | "private").then_some(meta.ip.as_str());
        let client = client_kind(&meta.device.summary);
        if address.is_none() && client.is_none() {
            return None;
        }
        let time = incident.event_time_ms;
        let principal = stable(principal);
        let full = self.principals.len() >= MOST_PRINCIPALS;
        let baseline = match self.principals.get_mut(principal) {
            Some(baseline) => baseline,
            None if full => return None,
            None => self
                .principals
                .entry(principal.to_string())
                .or_insert_with(|| Baseline {
                    since_ms: time,
                    countries_since_ms: i64::MAX,
                    ..Baseline::default()
                }),
        };
        baseline.since_ms = baseline.since_ms.min(time);
        let learnt = time - baseline.since_ms >= self.learning_ms;
        let mut novelty = Novelty::default();
        if let Some(country) = meta.country.as_deref().filter(|_| address.is_some()) {
            baseline.countries_since_ms = baseline.countries_since_ms.min(time);
            let countries_learnt = time - baseline.countries_since_ms >= self.learning_ms;
            if learn(&mut baseline.countries, country) && countries_learnt {
                novelty.country = Some(country.to_string());
            }
        }
        if let Some(address) = address {
            if learn(&mut baseline.addresses, address) && learnt {
                novelty.address = Some(address.to_string());
            }
        }
        if let Some(client) = client {
            if learn(&mut baseline.clients, &client) && learnt {
                novelty.client = Some(client);
            }
        }
        (novelty != Novelty::default()).then_some(novelty)
    }

    pub(crate) fn len(&self) -> usize {
        self.principals.len()
    }
}

/// A role's sessions are one principal (session names are often made up per run:
/// `botocore-session-1712…`); an IAM Identity Center session is its person.
fn stable(principal: &str) -> &str {
    let Some((_, rest)) = principal.split_once(":assumed-role/") else {
        return principal;
    };
    if rest.starts_with("AWSReservedSSO_") {
        return principal;
    }
    match rest.split_once('/') {
        Some((role, _session)) => &principal[..principal.len() - rest.len() + role.len()],
        None => principal,
    }
}

/// Adds `value` to `known`; true when it was new and the principal is still learnable.
fn learn(known: &mut Vec<u64>, value: &str) -> bool {
    let hash = fnv1a64(value.as_bytes());
    if known.contains(&hash) || known.len() >= MOST_REMEMBERED {
        return false;
    }
    known.push(hash);
    true
}

/// The kind of client without its versions: `Chrome 131 on macOS` → `Chrome on macOS`,
/// `aws-cli 2.17 on Linux` → `aws-cli on Linux` (an upgrade is not a new client).
fn client_kind(summary: &str) -> Option<String> {
    let kind: Vec<&str> = summary
        .split_whitespace()
        .filter(|word| !word.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    (!kind.is_empty()).then(|| kind.join(" "))
}

#[cfg(test)]
mod tests {
    use super::{client_kind, stable};

    #[test]
    fn a_roles_sessions_are_one_principal_but_a_persons_sso_sessions_are_theirs() {
        assert_eq!(
            stable(
                "111122223333|arn:aws:sts::111122223333:assumed-role/deploy/botocore-session-17"
            ),
            "111122223333|arn:aws:sts::111122223333:assumed-role/deploy"
        );
        let person = "1|arn:aws:sts::1:assumed-role/AWSReservedSSO_Admin_0123/kim@example.com";
        assert_eq!(stable(person), person);
        assert_eq!(
            stable("1|arn:aws:iam::1:user/alice"),
            "1|arn:aws:iam::1:user/alice"
        );
    }

    #[test]
    fn a_client_is_its_kind_without_versions() {
        assert_eq!(
            client_kind("Chrome 131 on macOS").unwrap(),
            "Chrome on macOS"
        );
        assert_eq!(
            client_kind("aws-cli 2.17 on Linux").unwrap(),
            "aws-cli on Linux"
        );
        assert_eq!(
            client_kind("Terraform 1.9 (aws-sdk-go-v2)").unwrap(),
            "Terraform (aws-sdk-go-v2)"
        );
        assert_eq!(client_kind(""), None);
    }
}
