//! Where incidents are kept, as `--db`, `IAMWATCH_DB` or `serve`'s `db` names it: a SQLite file,
//! or a PostgreSQL URL (`postgres://user@host:5432/db`, `postgresql://…`, with libpq's query
//! parameters such as `?options=-c%20search_path%3Diamwatch`).

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

#[derive(Clone, Debug)]
pub enum StoreLocation {
    Sqlite(PathBuf),
    Postgres(PostgresUrl),
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
        }
    }
}

/// A PostgreSQL connection URL, parsed. Shown (`Display`, `Debug`) as `postgres://user@host:port/db`:
/// the password and the query parameters are left out of every message and log line.
#[derive(Clone)]
pub struct PostgresUrl {
    /// Shared: a location is cloned by clap and the config, the config is large.
    config: std::sync::Arc<tokio_postgres::Config>,
    shown: String,
}

impl PostgresUrl {
    /// A password neither in the URL nor here is not sent (trust or peer authentication). Keeping
    /// it in `PGPASSWORD`, as libpq's tools do, keeps it out of the command line that `ps` shows.
    pub const PASSWORD_VARIABLE: &'static str = "PGPASSWORD";

    fn parse(text: &str) -> Result<Self, String> {
        let mut config = tokio_postgres::Config::from_str(text)
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
        let shown = shown(&config);
        Ok(Self {
            config: std::sync::Arc::new(config),
            shown,
        })
    }

    pub fn config(&self) -> &tokio_postgres::Config {
        &self.config
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

    #[test]
    fn a_url_without_a_host_or_malformed_is_refused_without_echoing_it() {
        let error = "postgres:///incidents"
            .parse::<StoreLocation>()
            .unwrap_err();
        assert!(error.contains("names no host"), "{error}");
        let error = "postgres://alice:hunter2@db/x?sslmode=sometimes"
            .parse::<StoreLocation>()
            .unwrap_err();
        assert!(error.starts_with("not a PostgreSQL URL"), "{error}");
        assert!(!error.contains("hunter2"), "{error}");
    }
}
