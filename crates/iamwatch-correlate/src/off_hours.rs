//! IAM changes by people outside the team's working hours, in the team's time zone.

use crate::config::{minutes, OffHours};
use crate::window::{Seen, Windows};
use iamwatch_core::{Incident, Zone};
use jiff::civil::Weekday;

pub(crate) struct OffHoursWatch {
    zone: Zone,
    start_hour: i8,
    end_hour: i8,
    weekends: bool,
    /// One incident per person an hour: a night's session of changes is one finding.
    raised: Windows,
}

impl OffHoursWatch {
    /// `None` when off, or (checked before, by [`crate::CorrelateConfig::check`]) unusable.
    pub(crate) fn new(settings: &OffHours) -> Option<Self> {
        if !settings.enabled {
            return None;
        }
        Some(Self {
            zone: Zone::named(&settings.timezone).ok()?,
            start_hour: i8::try_from(settings.start_hour).ok()?,
            end_hour: i8::try_from(settings.end_hour).ok()?,
            weekends: settings.weekends,
            raised: Windows::new(minutes(60), 1),
        })
    }

    /// When, in the zone (`Sat 03:12 KST`), if `incident` is a person's change outside working
    /// hours that raises: the first of the hour for that person.
    pub(crate) fn judge(
        &mut self,
        incident: &Incident,
        person: &str,
        seen: Seen,
        watermark_ms: i64,
    ) -> Option<String> {
        if !made_by_a_person(incident) {
            return None;
        }
        let time = self.zone.civil(incident.event_time_ms)?;
        let weekend = matches!(time.weekday(), Weekday::Saturday | Weekday::Sunday);
        let hour = time.hour();
        let outside = (self.weekends && weekend) || hour < self.start_hour || hour >= self.end_hour;
        if !outside {
            return None;
        }
        self.raised.count(person, seen, watermark_ms)?;
        Some(time.strftime("%a %H:%M %Z").to_string())
    }

    pub(crate) fn len(&self) -> usize {
        self.raised.len()
    }
}

/// IAM users, root and IAM Identity Center (SSO) sessions are people; other roles are
/// usually automation, which works at any hour.
fn made_by_a_person(incident: &Incident) -> bool {
    let actor = &incident.meta.actor;
    matches!(actor.identity_type.as_str(), "IAMUser" | "Root")
        || actor.arn.contains(":assumed-role/AWSReservedSSO_")
}
