//! Email over SMTP (STARTTLS by default, implicit TLS, or plain on this host), plain text in
//! the reader's language: one incident a mail, or a burst's incidents in one mail with a
//! subject that counts them by severity, so that a storm of findings is one mail, not fifty.

use super::{Outgoing, Payload, SendError};
use crate::config::{EmailDestination, Route, SmtpTls};
use crate::message::{digest_title, render, Rendered};
use iamwatch_core::{Incident, Lang};
use lettre::message::header::ContentType;
use lettre::message::Mailbox;
use lettre::transport::smtp::authentication::Credentials;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::sync::Arc;
use std::time::Duration;

/// Incidents in one mail, at most.
pub const INCIDENTS_PER_MAIL: usize = 50;
const SMTP_TIMEOUT: Duration = Duration::from_secs(20);

pub struct Email {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    to: Vec<Mailbox>,
}

/// `name <user@example.com>` or `user@example.com`.
///
/// # Errors
/// What is wrong with it, in a line.
pub fn check_mailbox(text: &str) -> Result<Mailbox, String> {
    text.parse::<Mailbox>()
        .map_err(|error| format!("{text:?} is not a mail address ({error})"))
}

impl Email {
    /// # Errors
    /// An address that is not one, or an SMTP host the TLS layer cannot name.
    pub fn new(destination: EmailDestination) -> Result<Self, String> {
        let host = destination.host.as_str();
        let builder = match destination.tls {
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host),
            SmtpTls::None => Ok(AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(
                host,
            )),
        }
        .map_err(|error| format!("SMTP host {host}: {error}"))?;
        let mut builder = builder.port(destination.port).timeout(Some(SMTP_TIMEOUT));
        if let Some((user, password)) = destination.credentials {
            builder = builder.credentials(Credentials::new(user, password.expose().to_string()));
        }
        Ok(Self {
            transport: builder.build(),
            from: check_mailbox(&destination.from)?,
            to: destination
                .to
                .iter()
                .map(|address| check_mailbox(address))
                .collect::<Result<_, _>>()?,
        })
    }

    pub async fn send(&self, subject: &str, text: &str) -> Result<(), SendError> {
        let mut builder = Message::builder()
            .from(self.from.clone())
            .subject(subject)
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            builder = builder.to(to.clone());
        }
        let message = builder
            .body(text.to_string())
            .map_err(|error| SendError::lasting(format!("cannot write the mail: {error}")))?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(error) if error.is_permanent() => Err(SendError::lasting(format!(
                "SMTP refused the mail: {error}"
            ))),
            // A 4xx answer, a timeout, a connection that failed: SMTP says try later.
            Err(error) => Err(SendError::passing(format!("SMTP: {error}"), None)),
        }
    }
}

pub fn messages(batch: &[Arc<Incident>], route: &Route) -> Vec<Outgoing> {
    batch
        .chunks(INCIDENTS_PER_MAIL)
        .map(|part| {
            let rendered: Vec<Rendered> = part
                .iter()
                .map(|incident| render(incident, route))
                .collect();
            let (subject, text) = compose(&rendered, route.lang);
            Outgoing {
                incidents: part.len(),
                payload: Payload::Email { subject, text },
            }
        })
        .collect()
}

/// The subject and body of one mail.
pub fn compose(rendered: &[Rendered], lang: Lang) -> (String, String) {
    let subject = match rendered {
        [one] => format!("[iamwatch] {}", one.headline),
        many => format!("[iamwatch] {}", digest_title(many, lang)),
    };
    let mut text = String::new();
    if rendered.len() > 1 {
        text.push_str(&digest_title(rendered, lang));
        text.push_str("\n\n");
    }
    for (number, one) in rendered.iter().enumerate() {
        if number > 0 {
            text.push_str("\n----\n\n");
        }
        text.push_str(&one.text(lang));
    }
    text.push_str(match lang {
        Lang::En => "\n-- \niamwatch: new incidents at or above this address's severity.\n",
        Lang::Ko => "\n-- \niamwatch: 이 주소로 설정된 심각도 이상의 새 인시던트입니다.\n",
    });
    (subject, text)
}
