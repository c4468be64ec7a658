//! `iamwatch.toml`: every setting of `serve`, with environment overrides for the ones
//! deployments set per host (`IAMWATCH_TOKEN`, `IAMWATCH_LISTEN`, `IAMWATCH_DB`,
//! `IAMWATCH_S3_FOLLOW`, `IAMWATCH_SQS_QUEUES`).

pub use iamwatch_core::Secret;
use iamwatch_store::StoreLocation;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: String, message: String },
    #[error(
        "no API token is set and {listen} is not a loopback address: anyone who can reach it \
         could post events and read incidents.\n  Set one with `export IAMWATCH_TOKEN=$(openssl \
         rand -hex 32)` or `token = \"…\"` in the config file, or listen on 127.0.0.1."
    )]
    TokenRequired { listen: SocketAddr },
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: SocketAddr,
    /// A SQLite file or a PostgreSQL URL.
    pub db: StoreLocation,
    pub token: Option<Secret>,
    /// Unreadable input is kept here, one JSON object per line.
    pub dead_letter: PathBuf,
    /// `text` or `json` logs.
    pub log_format: LogFormat,
    /// A GeoIP database of countries (MaxMind DB format), as `--geoip`.
    pub geoip: Option<PathBuf>,
    /// What is owed to the notification destinations, kept across a restart; by default
    /// beside a SQLite store (`<db>-notify-outbox.jsonl`), else beside the dead-letter file.
    pub notify_outbox: Option<PathBuf>,
    pub ingest: IngestConfig,
    pub stream: StreamConfig,
    pub rules: RulesConfig,
    pub sns: SnsConfig,
    pub s3: S3Config,
    pub sqs: SqsConfig,
    /// `[[notify]]` tables: where new incidents are sent, by severity.
    pub notify: Vec<iamwatch_notify::ChannelConfig>,
    pub posture: PostureConfig,
    pub respond: crate::auto_respond::RespondConfig,
    /// The stateful detections' windows and thresholds (`[correlate]`).
    pub correlate: iamwatch_correlate::CorrelateConfig,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostureConfig {
    /// Hours between IAM posture scans (the first when `serve` starts); 0, the default, is off.
    pub interval_hours: f64,
    /// A password or access key unused this many days is a finding.
    pub stale_days: i64,
    /// An active access key not rotated this many days is a finding.
    pub key_age_days: i64,
}

impl Default for PostureConfig {
    fn default() -> Self {
        let thresholds = iamwatch_posture::Thresholds::default();
        Self {
            interval_hours: 0.0,
            stale_days: thresholds.stale_days,
            key_age_days: thresholds.key_age_days,
        }
    }
}

impl PostureConfig {
    /// How often to scan, when on (at least a minute apart).
    pub fn interval(&self) -> Option<std::time::Duration> {
        (self.interval_hours.is_finite() && self.interval_hours > 0.0)
            .then(|| std::time::Duration::from_secs_f64((self.interval_hours * 3600.0).max(60.0)))
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IngestConfig {
    /// Largest request body accepted (bytes, as sent: a gzipped body counts compressed).
    pub max_body_bytes: usize,
    /// Requests waiting for the store before new ones are turned away with 503.
    pub commit_queue: usize,
    /// Bodies parsed at once before new ones are turned away with 429.
    pub max_parsing: usize,
    /// APIs the generic IAM rule records as skipped instead of raising.
    pub skip: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StreamConfig {
    /// Messages that may wait for one WebSocket client before it is disconnected. Messages
    /// are shared, so a slot costs a pointer; keep it above one commit batch (4,096), which
    /// arrives as one burst.
    pub client_queue: usize,
    /// Seconds between pings; a client that has not answered for two intervals is dropped.
    pub ping_interval_secs: u64,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RulesConfig {
    /// Directories of YAML rules on top of the built-in pack.
    pub dirs: Vec<PathBuf>,
    /// Rule ids turned off.
    pub disable: Vec<String>,
    /// Rule id → severity.
    pub severity: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SnsConfig {
    /// Topic ARNs whose HTTP subscriptions are confirmed automatically. Handshakes from other
    /// topics are logged with their SubscribeURL and left alone.
    pub confirm_topics: Vec<String>,
    /// Where SubscribeURLs may point. Default: `https://sns.<region>.amazonaws.com/`.
    pub subscribe_url_prefixes: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct S3Config {
    /// Buckets whose log files are read when an S3 notification names them (an organisation
    /// trail's SNS topic, an S3 event). Empty: notifications are kept as dead letters saying
    /// which objects to scan. Only these buckets: a notification is a request to read a
    /// bucket, and anyone holding the token could send one.
    pub follow: Vec<String>,
    /// Largest object read (bytes, as stored): CloudTrail's gzipped files are a few megabytes
    /// at most, and each request being read holds its object in memory.
    pub max_object_bytes: u64,
    /// Seconds one object may take to read, every attempt included: under the 15 s SNS waits
    /// for an answer, so that S3 stalling gets a 503 (and SNS's retry) while SNS still listens.
    pub timeout_secs: u64,
}

impl Default for S3Config {
    fn default() -> Self {
        Self {
            follow: Vec::new(),
            max_object_bytes: 16 * 1024 * 1024,
            timeout_secs: 10,
        }
    }
}

impl S3Config {
    pub fn follows(&self, bucket: &str) -> bool {
        self.follow.iter().any(|name| name == bucket)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SqsConfig {
    /// Queue URLs read for as long as `serve` runs: a trail's SNS topic or an EventBridge rule
    /// delivering to a queue, or a bucket's S3 event notifications. Each message is read as a
    /// posted body would be, and deleted once its incidents are stored (or it is kept as a
    /// dead letter); a message that could not be read for a passing reason is left for SQS to
    /// deliver again. Empty: no queue is read (and SQS never asked).
    pub queues: Vec<String>,
    /// Seconds a receive waits for messages to come (SQS long polling: 1 to 20).
    pub wait_secs: u64,
}

impl SqsConfig {
    /// How long a receive waits for messages, within what SQS allows (1 to 20 s).
    pub fn wait(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.wait_secs.clamp(1, 20))
    }
}

impl Default for SqsConfig {
    fn default() -> Self {
        Self {
            queues: Vec::new(),
            wait_secs: 20,
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            db: StoreLocation::Sqlite(PathBuf::from("iamwatch.db")),
            token: None,
            dead_letter: PathBuf::from("iamwatch-deadletter.jsonl"),
            log_format: LogFormat::Text,
            geoip: None,
            notify_outbox: None,
            ingest: IngestConfig::default(),
            stream: StreamConfig::default(),
            rules: RulesConfig::default(),
            sns: SnsConfig::default(),
            s3: S3Config::default(),
            sqs: SqsConfig::default(),
            notify: Vec::new(),
            posture: PostureConfig::default(),
            respond: crate::auto_respond::RespondConfig::default(),
            correlate: iamwatch_correlate::CorrelateConfig::default(),
        }
    }
}

impl Config {
    /// Where what is owed to the notification destinations is kept: `notify_outbox`, else
    /// beside a SQLite store (one per store, as the store is one per `serve`), else beside the
    /// dead-letter file.
    pub fn notify_outbox_path(&self) -> PathBuf {
        if let Some(path) = &self.notify_outbox {
            return path.clone();
        }
        match &self.db {
            StoreLocation::Sqlite(db) => {
                let mut path = db.as_os_str().to_owned();
                path.push("-notify-outbox.jsonl");
                PathBuf::from(path)
            }
            _ => self
                .dead_letter
                .with_file_name("iamwatch-notify-outbox.jsonl"),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        Self {
            max_body_bytes: 10 * 1024 * 1024,
            commit_queue: 4096,
            max_parsing: 64,
            skip: vec!["CreateAccessKey".to_string()],
        }
    }
}

impl Default for StreamConfig {
    fn default() -> Self {
        Self {
            client_queue: 8192,
            ping_interval_secs: 15,
        }
    }
}

impl Config {
    /// Reads `path` (when given) and applies the environment overrides.
    ///
    /// # Errors
    /// [`ConfigError`] naming the file and what is wrong in it.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_with(path, |name| std::env::var(name).ok())
    }

    /// [`load`](Self::load), with the `IAMWATCH_*` variables read through `variable` (the
    /// function reads its secrets before its environment).
    ///
    /// # Errors
    /// As [`load`](Self::load).
    pub fn load_with(
        path: Option<&Path>,
        variable: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut config = match path {
            Some(path) => Self::parse(
                &std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                    path: path.display().to_string(),
                    source,
                })?,
                &path.display().to_string(),
            )?,
            None => Self::default(),
        };
        config.apply_env(variable)?;
        Ok(config)
    }

    /// # Errors
    /// [`ConfigError::Invalid`] with the TOML parser's line and column.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|error| ConfigError::Invalid {
            path: origin.to_string(),
            message: error.to_string(),
        })
    }

    /// Environment overrides; `lookup` is `std::env::var` outside tests.
    ///
    /// # Errors
    /// [`ConfigError::Invalid`] for an unparsable `IAMWATCH_LISTEN`.
    pub fn apply_env(
        &mut self,
        lookup: impl Fn(&str) -> Option<String>,
    ) -> Result<(), ConfigError> {
        if let Some(token) = lookup("IAMWATCH_TOKEN").filter(|token| !token.is_empty()) {
            self.token = Some(Secret::new(token));
        }
        if let Some(listen) = lookup("IAMWATCH_LISTEN") {
            self.listen = listen.parse().map_err(|_| ConfigError::Invalid {
                path: "IAMWATCH_LISTEN".to_string(),
                message: format!("{listen:?} is not an address like 127.0.0.1:8080"),
            })?;
        }
        if let Some(db) = lookup("IAMWATCH_DB") {
            self.db = db.parse().map_err(|message| ConfigError::Invalid {
                path: "IAMWATCH_DB".to_string(),
                message,
            })?;
        }
        if let Some(buckets) = lookup("IAMWATCH_S3_FOLLOW") {
            self.s3.follow = comma_separated(&buckets);
        }
        if let Some(queues) = lookup("IAMWATCH_SQS_QUEUES") {
            self.sqs.queues = comma_separated(&queues);
        }
        Ok(())
    }

    /// Refuses to run open to the network without a token.
    ///
    /// # Errors
    /// [`ConfigError::TokenRequired`].
    pub fn check_exposure(&self) -> Result<(), ConfigError> {
        let empty = self
            .token
            .as_ref()
            .is_none_or(|token| token.tokens().next().is_none());
        if empty && !self.listen.ip().is_loopback() {
            return Err(ConfigError::TokenRequired {
                listen: self.listen,
            });
        }
        Ok(())
    }
}

/// `a, b,` as `["a", "b"]`: a list set in one environment variable.
fn comma_separated(text: &str) -> Vec<String> {
    text.split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_config_parses() {
        let text = include_str!("../../../iamwatch.example.toml");
        let config = Config::parse(text, "iamwatch.example.toml").unwrap();
        assert_eq!(config.listen, "127.0.0.1:8080".parse().unwrap());
        assert!(config.token.is_none());
        // The example writes out the defaults of the stateful detections.
        assert_eq!(
            config.correlate,
            iamwatch_correlate::CorrelateConfig::default()
        );
    }

    #[test]
    fn the_example_configs_notification_tables_parse_and_check_once_uncommented() {
        let text = include_str!("../../../iamwatch.example.toml");
        let examples: String = text[text.find("# [[notify]]").unwrap()..]
            .lines()
            .map(|line| {
                line.strip_prefix("# ")
                    .unwrap_or(line.trim_start_matches('#'))
            })
            .map(|line| format!("{line}\n"))
            .collect();
        let config = Config::parse(&examples, "iamwatch.example.toml").unwrap();
        let kinds: Vec<&str> = config
            .notify
            .iter()
            .map(|table| table.kind.as_str())
            .collect();
        assert_eq!(kinds, ["slack", "discord", "webhook", "email", "sns"]);
        let env = |_: &str| Some("https://hooks.example.com/set-in-the-environment".to_string());
        for (index, table) in config.notify.iter().enumerate() {
            table.check(index, &env).unwrap();
        }
    }

    #[test]
    fn unknown_keys_are_errors_naming_the_place() {
        let error = Config::parse(
            "listen = \"127.0.0.1:1\"\n[ingest]\nmax_body = 3\n",
            "x.toml",
        )
        .unwrap_err()
        .to_string();
        assert!(error.starts_with("x.toml:"), "{error}");
        assert!(error.contains("max_body"), "{error}");
        assert!(error.contains("line 3"), "{error}");
    }

    #[test]
    fn environment_overrides_the_file() {
        let mut config = Config::parse("token = \"from-file\"\n", "x.toml").unwrap();
        config
            .apply_env(|name| match name {
                "IAMWATCH_TOKEN" => Some("from-env".to_string()),
                "IAMWATCH_LISTEN" => Some("0.0.0.0:9000".to_string()),
                "IAMWATCH_S3_FOLLOW" => Some("trail-a, trail-b,".to_string()),
                "IAMWATCH_SQS_QUEUES" => {
                    Some("https://sqs.eu-west-1.amazonaws.com/1/q".to_string())
                }
                _ => None,
            })
            .unwrap();
        assert_eq!(config.s3.follow, ["trail-a", "trail-b"]);
        assert_eq!(
            config.sqs.queues,
            ["https://sqs.eu-west-1.amazonaws.com/1/q"]
        );
        assert!(config.s3.follows("trail-b") && !config.s3.follows("trail"));
        assert_eq!(config.token.unwrap().expose(), "from-env");
        assert_eq!(config.listen.port(), 9000);
    }

    #[test]
    fn a_receive_waits_as_long_as_sqs_allows() {
        let wait = |wait_secs| {
            SqsConfig {
                wait_secs,
                ..SqsConfig::default()
            }
            .wait()
            .as_secs()
        };
        assert_eq!([wait(0), wait(5), wait(20), wait(300)], [1, 5, 20, 20]);
        assert_eq!(SqsConfig::default().wait().as_secs(), 20);
    }

    #[test]
    fn no_token_is_refused_off_loopback_only() {
        let mut config = Config::default();
        assert!(config.check_exposure().is_ok());
        config.listen = "0.0.0.0:8080".parse().unwrap();
        let error = config.check_exposure().unwrap_err().to_string();
        assert!(error.contains("IAMWATCH_TOKEN"), "{error}");
        // A blank token lists none: no token either.
        config.token = Some(Secret::new(" \n"));
        assert!(config.check_exposure().is_err());
        config.token = Some(Secret::new("t"));
        assert!(config.check_exposure().is_ok());
    }

    #[test]
    fn secrets_are_never_printed() {
        let config = Config {
            token: Some(Secret::new("hunter2")),
            ..Config::default()
        };
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
