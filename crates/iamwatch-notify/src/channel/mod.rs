//! Destinations. Each turns a batch of incidents into the messages it sends
//! ([`Channel::compose`]: a chat message holds several incidents, a webhook call or an SNS
//! message one) and sends one message at a time ([`Channel::deliver`]), saying whether a
//! failure is worth another try.

pub mod chat;
pub mod email;
pub mod sns;
pub mod webhook;

use crate::config::{Destination, Route};
use iamwatch_core::Incident;
use std::sync::Arc;
use std::time::Duration;

/// A destination, connected.
pub enum Channel {
    Discord(chat::Chat),
    Slack(chat::Chat),
    Webhook(webhook::Webhook),
    Email(Box<email::Email>),
    Sns(sns::Sns),
}

/// One message to send, and how many incidents of the batch it carries.
pub struct Outgoing {
    pub incidents: usize,
    pub payload: Payload,
}

pub enum Payload {
    /// A JSON body, and for a signed webhook the id the receiver deduplicates by.
    Json {
        body: Vec<u8>,
        delivery: String,
    },
    Email {
        subject: String,
        text: String,
    },
    Sns(sns::Publication),
}

/// Why a message was not sent.
#[derive(Debug)]
pub struct SendError {
    /// Worth another try (a timeout, a 5xx, a 429), after this long when the destination said.
    pub retry: Option<Option<Duration>>,
    /// Said in logs: never the URL (it may carry a token) nor a password.
    pub reason: String,
}

impl SendError {
    pub fn passing(reason: impl Into<String>, after: Option<Duration>) -> Self {
        Self {
            retry: Some(after),
            reason: reason.into(),
        }
    }

    pub fn lasting(reason: impl Into<String>) -> Self {
        Self {
            retry: None,
            reason: reason.into(),
        }
    }
}

/// Seconds an HTTP destination may take to answer.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

impl Channel {
    /// Connects to `destination` (an SNS client is made from the AWS environment).
    pub async fn open(destination: Destination) -> Result<Self, String> {
        let http = || {
            reqwest::Client::builder()
                .timeout(HTTP_TIMEOUT)
                // A webhook that redirects is misconfigured; following it would send the
                // incident (and a signature) somewhere nobody configured.
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .map_err(|error| format!("cannot make an HTTP client: {error}"))
        };
        Ok(match destination {
            Destination::Discord { url } => Self::Discord(chat::Chat::new(http()?, url)),
            Destination::Slack { url } => Self::Slack(chat::Chat::new(http()?, url)),
            Destination::Webhook { url, signing_key } => {
                Self::Webhook(webhook::Webhook::new(http()?, url, signing_key))
            }
            Destination::Email(email) => Self::Email(Box::new(email::Email::new(email)?)),
            Destination::Sns { topic_arn } => Self::Sns(sns::Sns::from_env(topic_arn).await),
        })
    }

    /// Incidents taken from the queue at once, at most.
    pub fn batch_limit(&self) -> usize {
        match self {
            Self::Discord(_) => chat::DISCORD_EMBEDS,
            Self::Slack(_) => chat::SLACK_INCIDENTS,
            Self::Email(_) => email::INCIDENTS_PER_MAIL,
            Self::Webhook(_) | Self::Sns(_) => 1,
        }
    }

    pub fn compose(&self, batch: &[Arc<Incident>], route: &Route) -> Vec<Outgoing> {
        match self {
            Self::Discord(_) => chat::discord_messages(batch, route),
            Self::Slack(_) => chat::slack_messages(batch, route),
            Self::Webhook(_) => webhook::messages(batch, route),
            Self::Email(_) => email::messages(batch, route),
            Self::Sns(_) => sns::messages(batch, route),
        }
    }

    /// # Errors
    /// [`SendError`], saying whether to try again.
    pub async fn deliver(&self, payload: &Payload) -> Result<(), SendError> {
        match (self, payload) {
            (Self::Discord(chat) | Self::Slack(chat), Payload::Json { body, .. }) => {
                chat.post(body).await
            }
            (Self::Webhook(webhook), Payload::Json { body, delivery }) => {
                webhook.post(body, delivery).await
            }
            (Self::Email(email), Payload::Email { subject, text }) => {
                email.send(subject, text).await
            }
            (Self::Sns(sns), Payload::Sns(publication)) => sns.publish(publication).await,
            _ => Err(SendError::lasting(
                "a message of another destination's kind",
            )),
        }
    }
}

/// What an HTTP destination's answer means: 2xx sent; 429 and 5xx (and no answer) worth
/// another try, after `Retry-After` when given; any other status a lasting refusal.
pub async fn http_outcome(
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<(), SendError> {
    let response = match sent {
        Ok(response) => response,
        Err(error) => {
            // reqwest's error names the URL; say only what happened.
            let what = if error.is_timeout() {
                "no answer in time"
            } else if error.is_connect() {
                "cannot connect"
            } else {
                "the request failed"
            };
            return Err(SendError::passing(what, None));
        }
    };
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let header_wait = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<f64>().ok());
    let body = response.text().await.unwrap_or_default();
    // Discord says how long to wait in the body too, in seconds with a fraction.
    let body_wait = serde_json::from_str::<serde_json::Value>(&body)
        .ok()
        .and_then(|value| value.get("retry_after").and_then(serde_json::Value::as_f64));
    let wait = header_wait
        .or(body_wait)
        .filter(|seconds| seconds.is_finite() && *seconds >= 0.0)
        .map(|seconds| Duration::from_secs_f64(seconds.min(3600.0)));
    let reason = match crate::message::cut(body.trim(), 200) {
        said if said.is_empty() => format!("HTTP {}", status.as_u16()),
        said => format!("HTTP {}: {said}", status.as_u16()),
    };
    if status.as_u16() == 429 || status.is_server_error() {
        Err(SendError::passing(reason, wait))
    } else {
        Err(SendError::lasting(reason))
    }
}
