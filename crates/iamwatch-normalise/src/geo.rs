//! The country of a public address, from a GeoIP database of countries in the MaxMind DB
//! format: MaxMind's GeoLite2-Country (or -City, or the paid GeoIP2 ones) and DB-IP's
//! IP-to-Country Lite are all read alike. iamwatch ships none: their licences ask each user to
//! fetch them, and they go stale within weeks.

use std::net::IpAddr;
use std::path::{Path, PathBuf};

/// A GeoIP database that cannot be used, named.
#[derive(Debug, thiserror::Error)]
#[error("GeoIP database {}: {reason}", path.display())]
pub struct GeoError {
    path: PathBuf,
    reason: String,
}

/// A database of countries by address, read into memory once (GeoLite2-Country is 9 MB).
pub struct Countries {
    reader: maxminddb::Reader<Vec<u8>>,
}

impl std::fmt::Debug for Countries {
    fn fmt(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter
            .debug_struct("Countries")
            .field("database_type", &self.reader.metadata().database_type)
            .field("build_epoch", &self.reader.metadata().build_epoch)
            .finish()
    }
}

impl Countries {
    /// Reads the database at `path`.
    ///
    /// # Errors
    /// [`GeoError`] naming the file when it cannot be read, is no MaxMind DB, or holds no
    /// countries (an ASN database, say: every lookup would come back empty).
    pub fn open(path: &Path) -> Result<Self, GeoError> {
        let error = |reason: String| GeoError {
            path: path.to_path_buf(),
            reason,
        };
        let reader = maxminddb::Reader::open_readfile(path).map_err(|e| error(e.to_string()))?;
        let kind = reader.metadata().database_type.to_ascii_lowercase();
        if !kind.contains("country") && !kind.contains("city") {
            return Err(error(format!(
                "a {:?} database has no countries; give a country or city database \
                 (GeoLite2-Country, GeoLite2-City, DB-IP IP-to-Country Lite)",
                reader.metadata().database_type
            )));
        }
        Ok(Self { reader })
    }

    /// The ISO 3166 code of the country `ip` is in, else of the country it is registered to;
    /// `None` for what is no address or not in the database.
    pub fn country(&self, ip: &str) -> Option<String> {
        let address: IpAddr = ip.trim().parse().ok()?;
        // An IPv4 address written IPv6-mapped (`::ffff:198.51.100.7`) is looked up as IPv4: not
        // every database aliases that range to its IPv4 part as MaxMind's do.
        let address = match address {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
            IpAddr::V4(_) => address,
        };
        // A record that cannot be read counts as none: a country is enrichment, never a
        // reason to lose an incident.
        let found: Record<'_> = self.reader.lookup(address).ok()?.decode().ok()??;
        found
            .country
            .iso_code
            .or(found.registered_country.iso_code)
            .map(str::to_string)
    }
}

/// The part of a country or city record iamwatch reads. The rest (names, ids, continents) is
/// skipped unread: databases differ in how they write it (one writer's 16-bit id where
/// MaxMind's is 32-bit is refused by the crate's full record), and none of it is needed.
#[derive(serde::Deserialize)]
struct Record<'a> {
    #[serde(borrow, default)]
    country: Code<'a>,
    #[serde(borrow, default)]
    registered_country: Code<'a>,
}

#[derive(Default, serde::Deserialize)]
struct Code<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

#[cfg(test)]
mod tests {
    use super::Countries;
    use std::path::Path;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/geoip")
            .join(name)
    }

    #[test]
    fn addresses_in_the_database_have_their_country_and_others_none() {
        let countries = Countries::open(&fixture("countries.mmdb")).unwrap();
        assert_eq!(countries.country("198.51.100.23").as_deref(), Some("KR"));
        assert_eq!(countries.country(" 203.0.113.10 ").as_deref(), Some("US"));
        assert_eq!(countries.country("192.0.2.44").as_deref(), Some("JP"));
        assert_eq!(countries.country("2001:db8::7").as_deref(), Some("DE"));
        // IPv4 mapped into IPv6, as some records write it.
        assert_eq!(
            countries.country("::ffff:198.51.100.23").as_deref(),
            Some("KR")
        );
        for nowhere in [
            "8.8.8.8",
            "10.20.30.40",
            "AWS Internal",
            "iam.amazonaws.com",
            "",
        ] {
            assert_eq!(countries.country(nowhere), None, "{nowhere:?}");
        }
    }

    #[test]
    fn a_file_that_is_no_country_database_is_refused_by_name() {
        let script = fixture("make_countries.py");
        let error = Countries::open(&script).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("GeoIP database {}: ", script.display())),
            "{error}"
        );
        let asn = fixture("asn.mmdb");
        let error = Countries::open(&asn).unwrap_err().to_string();
        assert!(
            error.contains("asn.mmdb")
                && error.contains("\"GeoLite2-ASN\" database has no countries"),
            "{error}"
        );
        let missing = fixture("missing.mmdb");
        let error = Countries::open(&missing).unwrap_err().to_string();
        assert!(error.contains("missing.mmdb"), "{error}");
    }
}
