//! The reader's time zone: a message says when the event happened as the people reading it
//! count time (KST for a Korean team by default), with the zone's abbreviation so that nobody
//! has to guess.

use crate::Lang;
use jiff::tz::TimeZone;

#[derive(Clone, Debug)]
pub struct Zone {
    name: String,
    zone: TimeZone,
}

#[derive(Debug, thiserror::Error)]
#[error("{0:?} is not a time zone iamwatch knows (an IANA name such as Asia/Seoul or UTC)")]
pub struct UnknownZone(pub String);

impl Zone {
    /// An IANA zone, from the zone database built into the binary.
    ///
    /// # Errors
    /// [`UnknownZone`].
    pub fn named(name: &str) -> Result<Self, UnknownZone> {
        let zone = TimeZone::get(name.trim()).map_err(|_| UnknownZone(name.to_string()))?;
        Ok(Self {
            name: name.trim().to_string(),
            zone,
        })
    }

    /// KST for Korean readers, UTC for the others.
    pub fn default_for(lang: Lang) -> Self {
        let name = match lang {
            Lang::Ko => "Asia/Seoul",
            Lang::En => "UTC",
        };
        Self::named(name).unwrap_or_else(|_| Self {
            name: "UTC".to_string(),
            zone: TimeZone::UTC,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The instant `epoch_ms` as a date and time in this zone; `None` outside what the zone
    /// database covers.
    pub fn civil(&self, epoch_ms: i64) -> Option<jiff::Zoned> {
        jiff::Timestamp::from_millisecond(epoch_ms)
            .ok()
            .map(|instant| instant.to_zoned(self.zone.clone()))
    }

    /// `2024-06-01 09:00:05 KST`. A time outside what the zone database covers is written in UTC.
    pub fn format(&self, epoch_ms: i64) -> String {
        match jiff::Timestamp::from_millisecond(epoch_ms) {
            Ok(instant) => instant
                .to_zoned(self.zone.clone())
                .strftime("%Y-%m-%d %H:%M:%S %Z")
                .to_string(),
            Err(_) => format!("{} UTC", crate::time::format_local(epoch_ms, 0)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // 2024-06-01T00:00:05Z
    const AT: i64 = 1_717_200_005_000;

    #[test]
    fn korean_readers_see_kst_by_default_and_others_utc() {
        assert_eq!(
            Zone::default_for(Lang::Ko).format(AT),
            "2024-06-01 09:00:05 KST"
        );
        assert_eq!(
            Zone::default_for(Lang::En).format(AT),
            "2024-06-01 00:00:05 UTC"
        );
    }

    #[test]
    fn named_zones_follow_their_daylight_saving() {
        let berlin = Zone::named("Europe/Berlin").unwrap();
        assert_eq!(berlin.format(AT), "2024-06-01 02:00:05 CEST");
        // 2024-01-15T12:00:00Z, winter.
        assert_eq!(berlin.format(1_705_320_000_000), "2024-01-15 13:00:00 CET");
        assert!(Zone::named("Asia/Nowhere").is_err());
    }
}
