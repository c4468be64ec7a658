//! Token check for every API route. The token may come as a bearer token, as `x-api-key`
//! (what EventBridge API destinations send), as `X-Amz-Firehose-Access-Key` (what a Firehose
//! HTTP endpoint destination sends), as the password of HTTP basic auth (what SNS HTTPS
//! subscriptions send), or — for the WebSocket stream only, where browsers cannot set
//! headers — as a `token` query parameter. Comparison is constant-time.

use axum::http::{header, HeaderMap};
use base64::Engine;
use subtle::ConstantTimeEq;

#[derive(Clone, Debug)]
pub struct Auth {
    /// `None` only for a loopback-bound server started without a token.
    token: Option<crate::config::Secret>,
}

impl Auth {
    pub fn new(token: Option<crate::config::Secret>) -> Self {
        Self {
            token: token.filter(|token| !token.expose().is_empty()),
        }
    }

    pub fn is_open(&self) -> bool {
        self.token.is_none()
    }

    /// Whether the request carries the token in a header.
    pub fn allows(&self, headers: &HeaderMap) -> bool {
        self.allows_with_query(headers, None)
    }

    /// Like [`Auth::allows`], also accepting `query_token`.
    pub fn allows_with_query(&self, headers: &HeaderMap, query_token: Option<&str>) -> bool {
        let Some(token) = &self.token else {
            return is_local_request(headers);
        };
        let expected = token.expose().as_bytes();
        let matches = |offered: &[u8]| -> bool { offered.ct_eq(expected).into() };
        let mut allowed = false;
        // Check every offered credential (no early exit): timing says nothing about which.
        for offered in offered_tokens(headers) {
            allowed |= matches(&offered);
        }
        if let Some(offered) = query_token {
            allowed |= matches(offered.as_bytes());
        }
        allowed
    }
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
    use crate::config::Secret;
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
}
