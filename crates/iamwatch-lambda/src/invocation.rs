//! What an invocation is: an API Gateway WebSocket route (a connection opening, closing or
//! sending), a scheduled tick, or events for the pipeline.

use serde::Deserialize;
use std::collections::HashMap;

#[derive(Debug, PartialEq, Eq)]
pub enum Invocation {
    /// `$connect`: a client asking to receive incidents, with the token it offered.
    Connect {
        connection_id: String,
        token: Option<String>,
    },
    /// `$disconnect`: the connection is gone.
    Disconnect { connection_id: String },
    /// A message from a client (`$default`): clients only listen; answered, otherwise ignored.
    Message { connection_id: String },
    /// An EventBridge schedule: users' MFA grace periods are checked against the clock.
    Tick,
    /// Anything else: CloudTrail events in whatever wrapping the pipeline reads.
    Events,
}

/// The fields that tell the kinds apart; everything else of the payload is left unread here.
#[derive(Deserialize)]
struct Shape<'a> {
    #[serde(rename = "requestContext")]
    request_context: Option<RequestContext>,
    #[serde(rename = "queryStringParameters")]
    query: Option<HashMap<String, String>>,
    headers: Option<HashMap<String, String>>,
    #[serde(rename = "detail-type", borrow)]
    detail_type: Option<std::borrow::Cow<'a, str>>,
    #[serde(borrow)]
    source: Option<std::borrow::Cow<'a, str>>,
}

#[derive(Deserialize)]
struct RequestContext {
    #[serde(rename = "connectionId")]
    connection_id: Option<String>,
    #[serde(rename = "eventType")]
    event_type: Option<String>,
}

impl Invocation {
    /// Reads what the payload is. A payload that is not a JSON object (a log file sent as
    /// text, an array of records) is events: the pipeline says what it cannot read.
    pub fn of(payload: &str) -> Self {
        // Only objects naming a route or a schedule are parsed here (a search, not a second
        // parse of every event and log file); the pipeline reads the rest.
        if !payload.trim_start().starts_with('{')
            || !(payload.contains("requestContext") || payload.contains("Scheduled Event"))
        {
            return Self::Events;
        }
        let Ok(shape) = serde_json::from_str::<Shape<'_>>(payload) else {
            return Self::Events;
        };
        if let Some(RequestContext {
            connection_id: Some(connection_id),
            event_type: Some(event_type),
        }) = shape.request_context
        {
            return match event_type.as_str() {
                "CONNECT" => Self::Connect {
                    connection_id,
                    token: offered_token(shape.query.as_ref(), shape.headers.as_ref()),
                },
                "DISCONNECT" => Self::Disconnect { connection_id },
                _ => Self::Message { connection_id },
            };
        }
        if shape.source.as_deref() == Some("aws.events")
            && shape.detail_type.as_deref() == Some("Scheduled Event")
        {
            return Self::Tick;
        }
        Self::Events
    }
}

/// The token a connecting client offers: the `token` query parameter (browsers cannot set
/// headers on a WebSocket), or `Authorization: Bearer …` / `x-api-key` (API Gateway gives
/// header names as the client sent them; HTTP's are case-insensitive).
fn offered_token(
    query: Option<&HashMap<String, String>>,
    headers: Option<&HashMap<String, String>>,
) -> Option<String> {
    if let Some(token) = query.and_then(|query| query.get("token")) {
        return Some(token.clone());
    }
    let headers = headers?;
    headers.iter().find_map(|(name, value)| {
        if name.eq_ignore_ascii_case("authorization") {
            value
                .strip_prefix("Bearer ")
                .map(|token| token.trim().to_string())
        } else if name.eq_ignore_ascii_case("x-api-key") {
            Some(value.trim().to_string())
        } else {
            None
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn websocket_routes_are_told_apart_by_their_event_type() {
        let connect = r#"{"requestContext":{"routeKey":"$connect","eventType":"CONNECT","connectionId":"L0SM9cOFvHcCIhw="},"queryStringParameters":{"token":"s3cret"},"isBase64Encoded":false}"#;
        assert_eq!(
            Invocation::of(connect),
            Invocation::Connect {
                connection_id: "L0SM9cOFvHcCIhw=".into(),
                token: Some("s3cret".into())
            }
        );
        let disconnect = r#"{"requestContext":{"routeKey":"$disconnect","eventType":"DISCONNECT","connectionId":"abc"}}"#;
        assert_eq!(
            Invocation::of(disconnect),
            Invocation::Disconnect {
                connection_id: "abc".into()
            }
        );
        let message = r#"{"requestContext":{"routeKey":"$default","eventType":"MESSAGE","connectionId":"abc"},"body":"hello"}"#;
        assert_eq!(
            Invocation::of(message),
            Invocation::Message {
                connection_id: "abc".into()
            }
        );
    }

    #[test]
    fn a_connecting_client_may_offer_its_token_in_a_header() {
        let bearer = r#"{"requestContext":{"eventType":"CONNECT","connectionId":"a"},"headers":{"authorization":"Bearer t0ken"}}"#;
        let api_key = r#"{"requestContext":{"eventType":"CONNECT","connectionId":"a"},"headers":{"X-Api-Key":"k3y"},"queryStringParameters":null}"#;
        let none = r#"{"requestContext":{"eventType":"CONNECT","connectionId":"a"},"headers":{"Host":"x"}}"#;
        let token = |payload| match Invocation::of(payload) {
            Invocation::Connect { token, .. } => token,
            other => panic!("{other:?}"),
        };
        assert_eq!(token(bearer).as_deref(), Some("t0ken"));
        assert_eq!(token(api_key).as_deref(), Some("k3y"));
        assert_eq!(token(none), None);
    }

    proptest::proptest! {
        /// Whatever Lambda is handed (API Gateway passes clients' headers and query strings
        /// through), telling it apart never panics, and a payload that is not a WebSocket
        /// route or a schedule is left to the pipeline.
        #[test]
        fn any_payload_is_told_apart_without_a_panic(
            payload in proptest::prop_oneof![
                ".{0,200}",
                r#"\{"requestContext":\{"eventType":"(CONNECT|DISCONNECT|MESSAGE|.{0,8})","connectionId":".{0,12}"\},"(queryStringParameters|headers)":\{".{0,10}":".{0,10}"\}\}"#,
                r#"\{"source":".{0,12}","detail-type":".{0,16}"(,"detail":.{0,10})?\}"#,
            ]
        ) {
            let told = Invocation::of(&payload);
            if !payload.contains("requestContext") && !payload.contains("Scheduled Event") {
                proptest::prop_assert_eq!(told, Invocation::Events);
            }
        }
    }

    #[test]
    fn events_in_every_wrapping_are_events_and_a_schedule_is_a_tick() {
        let eventbridge = r#"{"version":"0","id":"1","detail-type":"AWS API Call via CloudTrail","source":"aws.iam","detail":{"eventName":"CreateUser"}}"#;
        let sqs = r#"{"Records":[{"messageId":"m1","eventSource":"aws:sqs","body":"{}"}]}"#;
        let scheduled = r#"{"version":"0","id":"2","detail-type":"Scheduled Event","source":"aws.events","resources":[],"detail":{}}"#;
        assert_eq!(Invocation::of(eventbridge), Invocation::Events);
        assert_eq!(Invocation::of(sqs), Invocation::Events);
        assert_eq!(Invocation::of("[1,2]"), Invocation::Events);
        assert_eq!(Invocation::of("{not json"), Invocation::Events);
        assert_eq!(Invocation::of(scheduled), Invocation::Tick);
        // A request context without a connection is not a WebSocket route (an HTTP API's).
        let http = r#"{"requestContext":{"http":{"method":"POST"}},"body":"{}"}"#;
        assert_eq!(Invocation::of(http), Invocation::Events);
    }
}
