//! Where incidents are kept, as `--db`, `IAMWATCH_DB` or `serve`'s `db` names it: a SQLite file,
//! a PostgreSQL URL (`postgres://user@host:5432/db`, `postgresql://…`, with libpq's query
//! parameters such as `?options=-c%20search_path%3Diamwatch`), or a DynamoDB table
//! (`dynamodb://TABLE`, `?region=REGION`).

use crate::dynamodb::DynamoTable;
use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Clone, Debug)]
pub enum StoreLocation {
    Sqlite(PathBuf),
    Postgres(PostgresUrl),
    DynamoDb(DynamoTable),
}

impl FromStr for StoreLocation {
    /// Says what is wrong with the URL, never the URL itself (it may hold a password).
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.split_once("://") {
            // tokio-postgres reads the scheme in lower case only.
            Some((scheme, rest))
                if scheme.eq_ignore_ascii_case("postgres")
                    || scheme.eq_ignore_ascii_case("postgresql") =>
            {
                PostgresUrl::parse(&format!("postgresql://{rest}")).map(Self::Postgres)
            }
            Some((scheme, rest)) if scheme.eq_ignore_ascii_case(DynamoTable::SCHEME) => {
                DynamoTable::parse(rest).map(Self::DynamoDb)
            }
            _ => Ok(Self::Sqlite(PathBuf::from(text))),
        }
    }
}

/// From a config file's text, as from the command line's.
impl<'de> serde::Deserialize<'de> for StoreLocation {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The path, or the URL without its password.
impl fmt::Display for StoreLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Sqlite(path) => write!(f, "{}", path.display()),
            Self::Postgres(url) => write!(f, "{url}"),
            Self::DynamoDb(table) => write!(f, "{table}"),
        }
    }
}

/// A PostgreSQL connection URL, parsed. Shown (`Display`, `Debug`) as `postgres://user@host:port/db`:
/// the password and the query parameters are left out of every message and log line.
#[derive(Clone)]
pub struct PostgresUrl {
    /// Shared: a location is cloned by clap and the config, the config is large.
    config: std::sync::Arc<tokio_postgres::Config>,
    tls: PostgresTls,
    shown: String,
}

/// How connections to the server are made, from the URL's `sslmode` (or libpq's `PGSSLMODE`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PostgresTls {
    /// Plain TCP: `disable`, `allow`, or `prefer` (libpq's default, which accepts any
    /// certificate; here it is plain, as a verifying connection would refuse the self-signed
    /// certificates `prefer` is used with).
    Plain,
    /// TLS, the server's certificate verified against `root_file` (the URL's `sslrootcert`, or
    /// libpq's `PGSSLROOTCERT`) or else the system's CAs, and its name against the host's:
    /// `verify-full`, and `require` and `verify-ca` too (libpq checks less for those; a
    /// certificate that is not checked does not keep a man in the middle out).
    Verified { root_file: Option<PathBuf> },
}

impl PostgresUrl {
    /// A password neither in the URL nor here is not sent (trust or peer authentication). Keeping
    /// it in `PGPASSWORD`, as libpq's tools do, keeps it out of the command line that `ps` shows.
    pub const PASSWORD_VARIABLE: &'static str = "PGPASSWORD";
    /// libpq's variables for the URL's `sslmode` and `sslrootcert`, read when it has none.
    pub const SSL_MODE_VARIABLE: &'static str = "PGSSLMODE";
    pub const ROOT_CERT_VARIABLE: &'static str = "PGSSLROOTCERT";

    fn parse(text: &str) -> Result<Self, String> {
        // tokio-postgres knows neither `sslrootcert` nor the `verify-…` modes: they are read
        // here and left out of what it parses.
        let (address, query) = text.split_once('?').unwrap_or((text, ""));
        let mut kept = Vec::new();
        let (mut ssl_mode, mut root_file) = (None, None);
        for pair in query.split('&').filter(|pair| !pair.is_empty()) {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let decoded = || {
                percent_encoding::percent_decode_str(value)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            match key {
                "sslmode" => ssl_mode = Some(decoded()),
                "sslrootcert" => root_file = Some(PathBuf::from(decoded())),
                _ => kept.push(pair),
            }
        }
        let variable = |name: &str| std::env::var_os(name).filter(|value| !value.is_empty());
        let ssl_mode = ssl_mode.or_else(|| {
            variable(Self::SSL_MODE_VARIABLE).map(|mode| mode.to_string_lossy().into_owned())
        });
        let root_file = root_file.or_else(|| variable(Self::ROOT_CERT_VARIABLE).map(PathBuf::from));
        let tls = match ssl_mode.as_deref() {
            // A CA named without a mode asks for its use.
            None if root_file.is_some() => PostgresTls::Verified { root_file },
            None | Some("disable" | "allow" | "prefer") => PostgresTls::Plain,
            Some("require" | "verify-ca" | "verify-full") => PostgresTls::Verified { root_file },
            Some(other) => {
                return Err(format!(
                    "sslmode {other:?} is not one of disable, allow, prefer, require, verify-ca, verify-full"
                ))
            }
        };
        let rebuilt = if kept.is_empty() {
            address.to_string()
        } else {
            format!("{address}?{}", kept.join("&"))
        };
        let mut config = tokio_postgres::Config::from_str(&rebuilt)
            .map_err(|error| format!("not a PostgreSQL URL: {error}"))?;
        if config.get_hosts().is_empty() {
            return Err(
                "the PostgreSQL URL names no host (postgres://user@host:5432/database)".into(),
            );
        }
        if config.get_password().is_none() {
            if let Some(password) = std::env::var_os(Self::PASSWORD_VARIABLE) {
                config.password(password.as_encoded_bytes());
            }
        }
        config.ssl_mode(match tls {
            PostgresTls::Plain => tokio_postgres::config::SslMode::Disable,
            PostgresTls::Verified { .. } => tokio_postgres::config::SslMode::Require,
        });
        let shown = shown(&config);
        Ok(Self {
            config: std::sync::Arc::new(config),
            tls,
            shown,
        })
    }

    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    pub fn tls(&self) -> &PostgresTls {
        &self.tls
    }
}

fn shown(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let name = match host {
                tokio_postgres::config::Host::Tcp(name) => name.clone(),
                tokio_postgres::config::Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(index).or(config.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    let user = config
        .get_user()
        .map(|user| format!("{user}@"))
        .unwrap_or_default();
    let database = config.get_dbname().unwrap_or_default();
    format!("postgres://{user}{}/{database}", hosts.join(","))
}

impl fmt::Display for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

impl fmt::Debug for PostgresUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.shown)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_a_sqlite_file_and_a_postgres_url_is_postgres() {
        for path in [
            "iamwatch.db",
            "/var/lib/iamwatch/incidents.db",
            "postgres.db",
            "./a://b",
        ] {
            match path.parse::<StoreLocation>().unwrap() {
                StoreLocation::Sqlite(parsed) => assert_eq!(parsed, PathBuf::from(path)),
                other => panic!("{path}: {other:?}"),
            }
        }
        for url in [
            "postgres://iamwatch@db.internal:5432/incidents",
            "postgresql://iamwatch@db.internal/incidents",
            "POSTGRES://iamwatch@db.internal/incidents",
        ] {
            assert!(
                matches!(url.parse::<StoreLocation>(), Ok(StoreLocation::Postgres(_))),
                "{url}"
            );
        }
        for url in [
            "dynamodb://iamwatch-incidents",
            "DynamoDB://incidents?region=eu-west-1",
        ] {
            assert!(
                matches!(url.parse::<StoreLocation>(), Ok(StoreLocation::DynamoDb(_))),
                "{url}"
            );
        }
        let error = "dynamodb://no".parse::<StoreLocation>().unwrap_err();
        assert!(error.contains("not a DynamoDB table name"), "{error}");
    }

    #[test]
    fn the_password_is_never_shown() {
        let location: StoreLocation =
            "postgres://alice:s3cr%65t@db.internal:6432/incidents?options=-c%20search_path%3Dx"
                .parse()
                .unwrap();
        let StoreLocation::Postgres(url) = &location else {
            panic!("{location:?}");
        };
        assert_eq!(url.config().get_password(), Some(&b"s3cret"[..]));
        for shown in [location.to_string(), format!("{url}"), format!("{url:?}")] {
            assert_eq!(shown, "postgres://alice@db.internal:6432/incidents");
        }
        assert!(!format!("{location:?}").contains("s3cr"));
    }

    fn url(text: &str) -> PostgresUrl {
        match text.parse::<StoreLocation>() {
            Ok(StoreLocation::Postgres(url)) => url,
            other => panic!("{text}: {other:?}"),
        }
    }

    #[test]
    fn sslmode_and_sslrootcert_say_whether_and_how_tls_is_used() {
        use tokio_postgres::config::SslMode;
        let plain = url("postgres://alice@db/x?sslmode=prefer&application_name=iamwatch");
        assert_eq!(plain.tls(), &PostgresTls::Plain);
        assert_eq!(plain.config().get_ssl_mode(), SslMode::Disable);
        assert_eq!(plain.config().get_application_name(), Some("iamwatch"));
        for mode in ["require", "verify-ca", "verify-full"] {
            let verified = url(&format!(
                "postgres://alice@db/x?sslmode={mode}&sslrootcert=%2Fetc%2Fca%20files%2Frds.pem&connect_timeout=3"
            ));
            assert_eq!(
                verified.tls(),
                &PostgresTls::Verified {
                    root_file: Some(PathBuf::from("/etc/ca files/rds.pem"))
                },
                "{mode}"
            );
            assert_eq!(verified.config().get_ssl_mode(), SslMode::Require);
            assert_eq!(
                verified.config().get_connect_timeout(),
                Some(&std::time::Duration::from_secs(3))
            );
        }
        let named_ca = url("postgres://alice@db/x?sslrootcert=ca.pem");
        assert!(matches!(named_ca.tls(), PostgresTls::Verified { .. }));
        let error = "postgres://alice@db/x?sslmode=sometimes"
            .parse::<StoreLocation>()
            .unwrap_err();
        assert!(error.contains("\"sometimes\" is not one of"), "{error}");
    }

    #[test]
    fn a_url_without_a_host_or_malformed_is_refused_without_echoing_it() {
        let error = "postgres:///incidents"
            .parse::<StoreLocation>()
            .unwrap_err();
        assert!(error.contains("names no host"), "{error}");
        let error = "postgres://alice:hunter2@db/x?keepalives=sometimes"
            .parse::<StoreLocation>()
            .unwrap_err();
        assert!(error.starts_with("not a PostgreSQL URL"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }

    proptest::proptest! {
        /// Whatever follows the scheme, the parse answers (never a panic), and neither what is
        /// shown nor the error repeats a password the URL holds.
        #[test]
        fn any_url_parses_or_is_refused_and_never_shows_its_password(
            user in "[a-z]{1,8}",
            host in "[a-z0-9.\\-]{0,12}",
            rest in "[ -~]{0,40}",
        ) {
            let password = "Pa55w0rdXyz";
            let text = format!("postgres://{user}:{password}@{host}{rest}");
            match text.parse::<StoreLocation>() {
                Ok(location) => {
                    proptest::prop_assert!(!location.to_string().contains(password));
                    let debug = format!("{:?}", location);
                    proptest::prop_assert!(!debug.contains(password));
                }
                Err(error) => proptest::prop_assert!(!error.contains(password), "{}", error),
            }
        }
    }
}
