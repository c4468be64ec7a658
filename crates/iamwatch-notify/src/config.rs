//! `[[notify]]` tables of `iamwatch.toml`, as written, and what each becomes once checked: a
//! [`Route`] (who gets what, in which language and zone) and a [`Destination`] (where it goes).
//!
//! Secrets (a Discord or Slack webhook URL carries its own token; an SMTP password; a signing
//! key) may be written in the file or named by an environment variable (`url_env`,
//! `password_env`, `secret_env`), which keeps them out of a config file that is checked in.

use crate::zone::Zone;
use iamwatch_core::{Lang, Secret, Severity};
use serde::Deserialize;

/// One `[[notify]]` table as written. Which fields apply depends on `kind`; [`ChannelConfig::check`]
/// says which one is missing or out of place.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChannelConfig {
    pub kind: Kind,
    /// In logs and `/metrics`. Default: the kind and the table's place (`discord-1`).
    pub name: Option<String>,
    /// New incidents of this severity or worse are sent. Default HIGH.
    pub min_severity: Option<String>,
    #[serde(default)]
    pub lang: Lang,
    /// An IANA zone (`Asia/Seoul`, `Europe/Berlin`, `UTC`). Default: Asia/Seoul for `ko`
    /// (KST), UTC for `en`.
    pub timezone: Option<String>,
    /// The dashboard's address: each message links to its incident there.
    pub dashboard_url: Option<String>,
    /// discord, slack, webhook: where to POST (or `url_env`, the variable holding it).
    pub url: Option<Secret>,
    pub url_env: Option<String>,
    /// Plain `http://` to a host other than this one. Off: incidents and webhook tokens
    /// would cross the network readable by anyone on the way.
    #[serde(default)]
    pub insecure_http: bool,
    /// webhook: the variable holding the key the body is signed with (HMAC-SHA256).
    pub secret_env: Option<String>,
    /// email: the SMTP server.
    pub smtp_host: Option<String>,
    pub smtp_port: Option<u16>,
    /// email: `starttls` (default), `tls` (implicit TLS, port 465) or `none` (this host only,
    /// unless `insecure_smtp` is set).
    pub smtp_tls: Option<SmtpTls>,
    #[serde(default)]
    pub insecure_smtp: bool,
    pub username: Option<String>,
    pub password_env: Option<String>,
    pub from: Option<String>,
    #[serde(default)]
    pub to: Vec<String>,
    /// sns: the topic's ARN (credentials and region from the AWS environment).
    pub topic_arn: Option<String>,
    /// Incidents that may wait for this destination; more are counted as dropped. Default
    /// 10,000 (a waiting incident is shared with the store's copy: a pointer each).
    pub queue: Option<usize>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Discord,
    Slack,
    Webhook,
    Email,
    Sns,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Discord => "discord",
            Self::Slack => "slack",
            Self::Webhook => "webhook",
            Self::Email => "email",
            Self::Sns => "sns",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SmtpTls {
    Starttls,
    Tls,
    None,
}

/// Who gets which incidents, and how they read them.
#[derive(Clone, Debug)]
pub struct Route {
    pub name: String,
    pub kind: Kind,
    pub min_severity: Severity,
    pub lang: Lang,
    pub zone: Zone,
    pub dashboard_url: Option<String>,
    pub queue: usize,
}

impl Route {
    pub fn wants(&self, severity: Severity) -> bool {
        severity >= self.min_severity
    }
}

#[derive(Clone, Debug)]
pub enum Destination {
    Discord {
        url: Secret,
    },
    Slack {
        url: Secret,
    },
    Webhook {
        url: Secret,
        signing_key: Option<Secret>,
    },
    Email(EmailDestination),
    Sns {
        topic_arn: String,
    },
}

#[derive(Clone, Debug)]
pub struct EmailDestination {
    pub host: String,
    pub port: u16,
    pub tls: SmtpTls,
    pub credentials: Option<(String, Secret)>,
    pub from: String,
    pub to: Vec<String>,
}

/// A `[[notify]]` table that cannot be used, and why.
#[derive(Debug, thiserror::Error)]
#[error("[[notify]] #{place} ({kind}{name}): {message}")]
pub struct NotifyConfigError {
    /// 1-based, as a reader counts the tables in the file.
    pub place: usize,
    pub kind: &'static str,
    pub name: String,
    pub message: String,
}

const DEFAULT_QUEUE: usize = 10_000;

impl ChannelConfig {
    /// Checks the table (the `index`th, from 0) and reads the variables it names through
    /// `env` (`std::env::var` outside tests).
    ///
    /// # Errors
    /// [`NotifyConfigError`] naming the table and the field.
    pub fn check(
        &self,
        index: usize,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Route, Destination), NotifyConfigError> {
        let fail = |message: String| NotifyConfigError {
            place: index + 1,
            kind: self.kind.as_str(),
            name: self
                .name
                .as_ref()
                .map(|name| format!(" {name:?}"))
                .unwrap_or_default(),
            message,
        };
        let name = match &self.name {
            Some(name) if name.trim().is_empty() => return Err(fail("`name` is empty".into())),
            Some(name) => name.clone(),
            None => format!("{}-{}", self.kind.as_str(), index + 1),
        };
        let min_severity = match &self.min_severity {
            Some(text) => text
                .parse::<Severity>()
                .map_err(|error| fail(format!("`min_severity`: {error}")))?,
            None => Severity::High,
        };
        let zone = match &self.timezone {
            Some(name) => {
                Zone::named(name).map_err(|error| fail(format!("`timezone`: {error}")))?
            }
            None => Zone::default_for(self.lang),
        };
        if let Some(url) = &self.dashboard_url {
            if !(url.starts_with("https://") || url.starts_with("http://")) {
                return Err(fail(format!(
                    "`dashboard_url` {url:?} is not an http(s) address"
                )));
            }
        }
        let route = Route {
            name,
            kind: self.kind,
            min_severity,
            lang: self.lang,
            zone,
            dashboard_url: self.dashboard_url.clone(),
            queue: self.queue.unwrap_or(DEFAULT_QUEUE).max(1),
        };
        let allowed: &[&str] = match self.kind {
            Kind::Discord | Kind::Slack => &["url", "url_env", "insecure_http"],
            Kind::Webhook => &["url", "url_env", "insecure_http", "secret_env"],
            Kind::Email => &[
                "smtp_host",
                "smtp_port",
                "smtp_tls",
                "insecure_smtp",
                "username",
                "password_env",
                "from",
                "to",
            ],
            Kind::Sns => &["topic_arn"],
        };
        if let Some(field) = self
            .present_fields()
            .into_iter()
            .find(|field| !allowed.contains(field))
        {
            return Err(fail(format!(
                "`{field}` does not apply to kind = \"{}\"",
                self.kind.as_str()
            )));
        }
        let destination = match self.kind {
            Kind::Discord => Destination::Discord {
                url: self.url(env).map_err(fail)?,
            },
            Kind::Slack => Destination::Slack {
                url: self.url(env).map_err(fail)?,
            },
            Kind::Webhook => Destination::Webhook {
                url: self.url(env).map_err(fail)?,
                signing_key: match &self.secret_env {
                    Some(variable) => Some(Secret::new(
                        required_variable(env, variable, "secret_env").map_err(fail)?,
                    )),
                    None => None,
                },
            },
            Kind::Email => Destination::Email(self.email(env).map_err(fail)?),
            Kind::Sns => {
                let arn = self.topic_arn.clone().unwrap_or_default();
                if !arn.starts_with("arn:") || arn.split(':').count() != 6 {
                    return Err(fail(format!(
                        "`topic_arn` {arn:?} is not a topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)"
                    )));
                }
                Destination::Sns { topic_arn: arn }
            }
        };
        Ok((route, destination))
    }

    /// The kind-specific fields that are set.
    fn present_fields(&self) -> Vec<&'static str> {
        let set = [
            ("url", self.url.is_some()),
            ("url_env", self.url_env.is_some()),
            ("insecure_http", self.insecure_http),
            ("secret_env", self.secret_env.is_some()),
            ("smtp_host", self.smtp_host.is_some()),
            ("smtp_port", self.smtp_port.is_some()),
            ("smtp_tls", self.smtp_tls.is_some()),
            ("insecure_smtp", self.insecure_smtp),
            ("username", self.username.is_some()),
            ("password_env", self.password_env.is_some()),
            ("from", self.from.is_some()),
            ("to", !self.to.is_empty()),
            ("topic_arn", self.topic_arn.is_some()),
        ];
        set.into_iter()
            .filter(|(_, present)| *present)
            .map(|(field, _)| field)
            .collect()
    }

    fn url(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<Secret, String> {
        let url = match (&self.url, &self.url_env) {
            (Some(_), Some(_)) => return Err("set `url` or `url_env`, not both".into()),
            (Some(url), None) => url.clone(),
            (None, Some(variable)) => Secret::new(required_variable(env, variable, "url_env")?),
            (None, None) => return Err("`url` (or `url_env`) is required".into()),
        };
        // The URL is a secret (a Discord or Slack webhook's path is its token): errors name
        // its scheme and host at most.
        let text = url.expose();
        let (scheme, rest) = text
            .split_once("://")
            .ok_or_else(|| "the URL has no scheme (https://…)".to_string())?;
        let host = host_of(rest);
        match scheme {
            "https" => {}
            "http" if is_this_host(host) || self.insecure_http => {}
            "http" => {
                return Err(format!(
                    "plain http:// to {host} would send incidents readable on the way; use \
                     https://, or set insecure_http = true"
                ))
            }
            other => return Err(format!("the URL's scheme {other:?} is not https")),
        }
        if host.is_empty() {
            return Err("the URL has no host".into());
        }
        Ok(url)
    }

    fn email(&self, env: &dyn Fn(&str) -> Option<String>) -> Result<EmailDestination, String> {
        let host = self
            .smtp_host
            .clone()
            .filter(|host| !host.trim().is_empty())
            .ok_or("`smtp_host` is required")?;
        let tls = self.smtp_tls.unwrap_or(SmtpTls::Starttls);
        if tls == SmtpTls::None && !is_this_host(&host) && !self.insecure_smtp {
            return Err(format!(
                "smtp_tls = \"none\" to {host} would send incidents (and the password) readable \
                 on the way; use starttls or tls, or set insecure_smtp = true"
            ));
        }
        let port = self.smtp_port.unwrap_or(match tls {
            SmtpTls::Tls => 465,
            SmtpTls::Starttls => 587,
            SmtpTls::None => 25,
        });
        let credentials = match (&self.username, &self.password_env) {
            (Some(user), Some(variable)) => Some((
                user.clone(),
                Secret::new(required_variable(env, variable, "password_env")?),
            )),
            (None, None) => None,
            _ => return Err("`username` and `password_env` go together".into()),
        };
        let from = self.from.clone().ok_or("`from` is required")?;
        crate::channel::email::check_mailbox(&from).map_err(|error| format!("`from`: {error}"))?;
        if self.to.is_empty() {
            return Err("`to` needs at least one address".into());
        }
        for address in &self.to {
            crate::channel::email::check_mailbox(address)
                .map_err(|error| format!("`to`: {error}"))?;
        }
        Ok(EmailDestination {
            host,
            port,
            tls,
            credentials,
            from,
            to: self.to.clone(),
        })
    }
}

fn required_variable(
    env: &dyn Fn(&str) -> Option<String>,
    variable: &str,
    field: &str,
) -> Result<String, String> {
    env(variable)
        .filter(|value| !value.is_empty())
        .ok_or_else(|| format!("`{field}` names {variable}, which is not set"))
}

/// The host of `rest`, what follows `scheme://` (no user info, port or path).
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let authority = authority.rsplit('@').next().unwrap_or("");
    if let Some(bracketed) = authority.strip_prefix('[') {
        return bracketed.split(']').next().unwrap_or("");
    }
    authority.split(':').next().unwrap_or("")
}

/// Loopback: what is sent never leaves the machine.
fn is_this_host(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|address| address.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(text: &str) -> ChannelConfig {
        toml::from_str(text).unwrap()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn error(text: &str) -> String {
        table(text).check(2, &no_env).unwrap_err().to_string()
    }

    #[test]
    fn defaults_are_high_and_up_in_english_at_utc_or_korean_at_kst() {
        let (route, destination) = table("kind = \"discord\"\nurl = \"https://discord.example/x\"")
            .check(0, &no_env)
            .unwrap();
        assert_eq!(route.name, "discord-1");
        assert_eq!(route.min_severity, Severity::High);
        assert!(route.wants(Severity::Critical) && route.wants(Severity::High));
        assert!(!route.wants(Severity::Medium));
        assert_eq!(route.zone.name(), "UTC");
        assert!(matches!(destination, Destination::Discord { .. }));
        let (route, _) =
            table("kind = \"slack\"\nlang = \"ko\"\nurl = \"https://hooks.example/x\"")
                .check(0, &no_env)
                .unwrap();
        assert_eq!(route.zone.name(), "Asia/Seoul");
    }

    #[test]
    fn secrets_come_from_the_variables_named() {
        let env = |name: &str| match name {
            "HOOK" => Some("https://hooks.example/T0/B0/token".to_string()),
            "KEY" => Some("signing-key".to_string()),
            _ => None,
        };
        let (_, destination) =
            table("kind = \"webhook\"\nurl_env = \"HOOK\"\nsecret_env = \"KEY\"")
                .check(0, &env)
                .unwrap();
        let Destination::Webhook { url, signing_key } = destination else {
            panic!("a webhook")
        };
        assert_eq!(url.expose(), "https://hooks.example/T0/B0/token");
        assert_eq!(signing_key.unwrap().expose(), "signing-key");
        let missing = table("kind = \"webhook\"\nurl_env = \"NOPE\"").check(0, &env);
        assert_eq!(
            missing.unwrap_err().to_string(),
            "[[notify]] #1 (webhook): `url_env` names NOPE, which is not set"
        );
    }

    #[test]
    fn errors_name_the_table_and_the_field_and_never_the_url() {
        assert_eq!(
            error("kind = \"slack\"\nname = \"ops\""),
            "[[notify]] #3 (slack \"ops\"): `url` (or `url_env`) is required"
        );
        let plain =
            error("kind = \"discord\"\nurl = \"http://discord.example/api/webhooks/1/SECRET\"");
        assert!(
            plain.contains("plain http:// to discord.example"),
            "{plain}"
        );
        assert!(!plain.contains("SECRET"), "{plain}");
        assert!(error("kind = \"sns\"\ntopic_arn = \"iamwatch\"").contains("`topic_arn`"));
        assert!(error(
            "kind = \"sns\"\ntopic_arn = \"arn:aws:sns:us-east-1:1:t\"\nto = [\"a@b.c\"]"
        )
        .contains("`to` does not apply to kind = \"sns\""));
        assert!(error("kind = \"email\"\nsmtp_host = \"mail.example\"\nfrom = \"a@b.c\"\nto = [\"x@y.z\"]\nsmtp_tls = \"none\"")
            .contains("smtp_tls = \"none\" to mail.example"));
        assert!(error("kind = \"email\"\nsmtp_host = \"127.0.0.1\"\nfrom = \"not an address\"\nto = [\"x@y.z\"]")
            .contains("`from`"));
        assert!(error(
            "kind = \"discord\"\nurl = \"https://d.example/x\"\nmin_severity = \"urgent\""
        )
        .contains("`min_severity`"));
        assert!(error(
            "kind = \"discord\"\nurl = \"https://d.example/x\"\ntimezone = \"Mars/Olympus\""
        )
        .contains("`timezone`"));
    }

    #[test]
    fn plain_http_and_smtp_are_allowed_on_this_host_or_when_asked() {
        for url in [
            "http://127.0.0.1:9/x",
            "http://localhost/x",
            "http://[::1]:8/x",
        ] {
            let text = format!("kind = \"webhook\"\nurl = {url:?}");
            assert!(table(&text).check(0, &no_env).is_ok(), "{url}");
        }
        let asked = "kind = \"webhook\"\nurl = \"http://10.0.0.5/x\"\ninsecure_http = true";
        assert!(table(asked).check(0, &no_env).is_ok());
        let (_, destination) = table(
            "kind = \"email\"\nsmtp_host = \"127.0.0.1\"\nsmtp_tls = \"none\"\nfrom = \"iamwatch <iw@example.com>\"\nto = [\"sec@example.com\"]",
        )
        .check(0, &no_env)
        .unwrap();
        let Destination::Email(email) = destination else {
            panic!("an email destination")
        };
        assert_eq!((email.port, email.tls), (25, SmtpTls::None));
    }

    #[test]
    fn hosts_are_read_past_user_info_ports_and_paths() {
        assert_eq!(host_of("user:pw@example.com:8443/a?b#c"), "example.com");
        assert_eq!(host_of("[::1]:80/x"), "::1");
        assert_eq!(host_of("example.com"), "example.com");
    }
}
