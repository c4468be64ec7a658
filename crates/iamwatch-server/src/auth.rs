//! Token check for every API route. The token may come as a bearer token, as `x-api-key`
//! (what EventBridge API destinations send), as `X-Amz-Firehose-Access-Key` (what a Firehose
//! HTTP endpoint destination sends), as the password of HTTP basic auth (what SNS HTTPS
//! subscriptions send), or — for the WebSocket stream only, where browsers cannot set
//! headers — as a `token` query parameter. Comparison is constant-time.
//!
//! Several tokens may be accepted at once (the configured token lists them separated by
//! spaces or line breaks), so that one can be rotated without a moment when senders holding
//! the other are refused; `serve` reads them again on SIGHUP ([`Auth::replace`]), and live
//! streams opened with a token no longer accepted are closed.

use axum::http::{header, HeaderMap};
use base64::Engine;
use iamwatch_core::secret::Secret;
use std::sync::{Arc, PoisonError, RwLock};
use subtle::ConstantTimeEq;

#[derive(Clone, Debug)]
pub struct Auth {
    /// The tokens accepted; none only for a loopback-bound server started without a token.
    accepted: Arc<RwLock<Vec<Secret>>>,
    /// Counts the replacements of `accepted`: live streams check their token again.
    revision: Arc<tokio::sync::watch::Sender<u64>>,
}

/// The credentials a request offered (every carrier read), kept by a live stream to be
/// checked again when the tokens change.
#[derive(Debug, Default)]
pub struct Offered(Vec<Vec<u8>>);

/// Why the tokens were not replaced.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum ReplaceError {
    #[error("no token is set any more: a reload does not open the server to anyone; the tokens in force stay")]
    WouldOpen,
}

/// The tokens `token` lists ([`Secret::tokens`]).
fn tokens_of(token: Option<&Secret>) -> Vec<Secret> {
    token
        .map(|token| token.tokens().map(Secret::new).collect())
        .unwrap_or_default()
}

impl Auth {
    pub fn new(token: Option<Secret>) -> Self {
        Self {
            accepted: Arc::new(RwLock::new(tokens_of(token.as_ref()))),
            revision: Arc::new(tokio::sync::watch::Sender::new(0)),
        }
    }

    pub fn is_open(&self) -> bool {
        self.read().is_empty()
    }

    /// How many tokens are accepted.
    pub fn count(&self) -> usize {
        self.read().len()
    }

    /// Whether the request carries the token in a header.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        self.allows_with_query(headers, None)
    }

    /// Like [`Auth::allows`], also accepting `query_token`.
    pub fn allows_with_query(&self, headers: &HeaderMap, query_token: Option<&str>) -> bool {
        let accepted = self.read();
        if accepted.is_empty() {
            return is_local_request(headers);
        }
        any_accepted(&accepted, &Self::offered(headers, query_token))
    }

    /// What the request offers, in its headers and `query_token`.
    pub fn offered(headers: &HeaderMap, query_token: Option<&str>) -> Offered {
        let mut offered = offered_tokens(headers);
        offered.extend(query_token.map(|token| token.as_bytes().to_vec()));
        Offered(offered)
    }

    /// Whether any of `offered` is a token accepted now (on an open server, anything is: its
    /// requests were judged by where they came from).
    pub fn accepts(&self, offered: &Offered) -> bool {
        let accepted = self.read();
        accepted.is_empty() || any_accepted(&accepted, offered)
    }

    /// Puts the tokens `token` lists in force in place of the ones before, and has live
    /// streams check theirs; how many are accepted now.
    ///
    /// # Errors
    /// [`ReplaceError::WouldOpen`] for no token at all while some are in force.
    pub fn replace(&self, token: Option<&Secret>) -> Result<usize, ReplaceError> {
        let tokens = tokens_of(token);
        let count = tokens.len();
        {
            let mut accepted = self
                .accepted
                .write()
                .unwrap_or_else(PoisonError::into_inner);
            if tokens.is_empty() && !accepted.is_empty() {
                return Err(ReplaceError::WouldOpen);
            }
            *accepted = tokens;
        }
        self.revision.send_modify(|revision| *revision += 1);
        Ok(count)
    }

    /// Told each time the tokens are replaced.
    pub fn changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.revision.subscribe()
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, Vec<Secret>> {
        self.accepted.read().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Whether any of `offered` is one of `accepted`: every credential against every token (no
/// early exit), so that timing says nothing about which matched.
fn any_accepted(accepted: &[Secret], offered: &Offered) -> bool {
    let mut allowed = false;
    for token in accepted {
        let expected = token.expose().as_bytes();
        for credential in &offered.0 {
            allowed |= bool::from(credential.ct_eq(expected));
        }
    }
    allowed
}

/// For a server without a token (bound to loopback only): whether the request is not a web
/// page's doing. A page in the user's own browser can still reach such a server, through a
/// name of its own rebound to 127.0.0.1 (DNS rebinding: its Host header names that site) or
/// by a cross-site request (its Origin header names that site); both are refused. curl,
/// scripts and the dashboard itself send a loopback Host and no foreign Origin.
fn is_local_request(headers: &HeaderMap) -> bool {
    let host_is_local = headers
        .get(header::HOST)
        .is_none_or(|host| host.to_str().is_ok_and(is_loopback_authority));
    let origin_is_local = headers.get(header::ORIGIN).is_none_or(|origin| {
        origin.to_str().is_ok_and(|origin| {
            origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .is_some_and(is_loopback_authority)
        })
    });
    host_is_local && origin_is_local
}

/// Whether `authority` (`host` or `host:port`) names this machine's loopback interface.
fn is_loopback_authority(authority: &str) -> bool {
    let host = match authority.strip_prefix('[') {
        Some(bracketed) => bracketed.split(']').next().unwrap_or_default(),
        None => authority
            .rsplit_once(':')
            .filter(|(_, port)| port.bytes().all(|byte| byte.is_ascii_digit()))
            .map_or(authority, |(host, _)| host),
    };
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

fn offered_tokens(headers: &HeaderMap) -> Vec<Vec<u8>> {
    let mut offered = Vec::new();
    for value in headers.get_all(header::AUTHORIZATION) {
        let Ok(value) = value.to_str() else { continue };
        let (scheme, credentials) = value.trim().split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer") {
            offered.push(credentials.trim().as_bytes().to_vec());
        } else if scheme.eq_ignore_ascii_case("basic") {
            if let Ok(decoded) =
                base64::engine::general_purpose::STANDARD.decode(credentials.trim())
            {
                if let Some(colon) = decoded.iter().position(|byte| *byte == b':') {
                    offered.push(decoded[colon + 1..].to_vec());
                }
            }
        }
    }
    // Amazon Data Firehose sends an HTTP endpoint's access key here, verbatim.
    for name in ["x-api-key", "x-amz-firehose-access-key"] {
        for value in headers.get_all(name) {
            offered.push(value.as_bytes().to_vec());
        }
    }
    offered
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn every_accepted_carrier_works_and_wrong_tokens_do_not() {
        let auth = Auth::new(Some(Secret::new("s3cret")));
        assert!(auth.allows(&headers("authorization", "Bearer s3cret")));
        assert!(auth.allows(&headers("authorization", "bearer  s3cret ")));
        assert!(auth.allows(&headers("x-api-key", "s3cret")));
        assert!(auth.allows(&headers("x-amz-firehose-access-key", "s3cret")));
        assert!(!auth.allows(&headers("x-amz-firehose-access-key", "s3cre")));
        let basic = base64::engine::general_purpose::STANDARD.encode("iamwatch:s3cret");
        assert!(auth.allows(&headers("authorization", &format!("Basic {basic}"))));
        assert!(auth.allows_with_query(&HeaderMap::new(), Some("s3cret")));

        assert!(!auth.allows(&HeaderMap::new()));
        assert!(!auth.allows(&headers("authorization", "Bearer s3cre")));
        assert!(!auth.allows(&headers("authorization", "Bearer s3cret2")));
        assert!(!auth.allows(&headers("authorization", "s3cret")));
        assert!(!auth.allows(&headers("x-api-key", "")));
        assert!(!auth.allows_with_query(&HeaderMap::new(), Some("")));
        // The query token is only honoured where the caller asks for it.
        assert!(!auth.allows(&headers("x-token", "s3cret")));
    }

    #[test]
    fn an_empty_token_means_open_only_when_configured_so() {
        assert!(Auth::new(Some(Secret::new(""))).is_open());
        assert!(Auth::new(None).allows(&HeaderMap::new()));
    }

    #[test]
    fn an_open_server_refuses_what_a_web_page_sends_from_elsewhere() {
        let open = Auth::new(None);
        for host in [
            "127.0.0.1:8080",
            "localhost",
            "LOCALHOST:80",
            "[::1]:8080",
            "127.1.2.3",
        ] {
            assert!(open.allows(&headers("host", host)), "{host}");
        }
        // DNS rebinding: the page's own name, now resolving to 127.0.0.1.
        for host in [
            "evil.example",
            "evil.example:8080",
            "localhost.evil.example",
            "10.0.0.1:8080",
            "[::2]:80",
        ] {
            assert!(!open.allows(&headers("host", host)), "{host}");
        }
        // Cross-site requests from a page elsewhere; the dashboard's own origin passes.
        assert!(open.allows(&headers("origin", "http://127.0.0.1:8080")));
        assert!(open.allows(&headers("origin", "http://localhost:8080")));
        for origin in [
            "https://evil.example",
            "null",
            "http://evil.example:8080",
            "file://",
        ] {
            assert!(!open.allows(&headers("origin", origin)), "{origin}");
        }
        // A token server judges the token alone (its clients may be anywhere).
        let guarded = Auth::new(Some(Secret::new("s3cret")));
        let mut remote = headers("host", "iamwatch.example:443");
        remote.insert("authorization", HeaderValue::from_static("Bearer s3cret"));
        assert!(guarded.allows(&remote));
    }

    #[test]
    fn every_token_listed_is_accepted_and_a_replacement_revokes_the_old() {
        let auth = Auth::new(Some(Secret::new("new-token\nold-token ")));
        assert_eq!(auth.count(), 2);
        assert!(auth.allows(&headers("authorization", "Bearer new-token")));
        assert!(auth.allows(&headers("x-api-key", "old-token")));
        assert!(!auth.allows(&headers("x-api-key", "new-token old-token")));
        assert!(!auth.allows_with_query(&HeaderMap::new(), Some("new-token\nold-token")));
        let held = Auth::offered(&headers("x-api-key", "old-token"), None);
        let changes = auth.changes();
        assert_eq!(auth.replace(Some(&Secret::new("new-token"))), Ok(1));
        assert!(changes.has_changed().unwrap());
        assert!(!auth.accepts(&held));
        assert!(!auth.allows(&headers("x-api-key", "old-token")));
        assert!(auth.allows_with_query(&HeaderMap::new(), Some("new-token")));
        // No token at all would open the server: refused, the token in force stays.
        assert_eq!(
            auth.replace(Some(&Secret::new(" \n"))),
            Err(ReplaceError::WouldOpen)
        );
        assert_eq!(auth.replace(None), Err(ReplaceError::WouldOpen));
        assert!(auth.allows(&headers("x-api-key", "new-token")));
        assert!(!auth.allows(&HeaderMap::new()));
    }

    #[test]
    fn an_open_server_given_a_token_is_open_no_more() {
        let auth = Auth::new(None);
        let held = Auth::offered(&HeaderMap::new(), None);
        assert!(auth.accepts(&held));
        assert_eq!(auth.replace(Some(&Secret::new("t0ken"))), Ok(1));
        assert!(!auth.is_open());
        assert!(!auth.accepts(&held));
        assert!(!auth.allows(&headers("host", "127.0.0.1:8080")));
    }
}
