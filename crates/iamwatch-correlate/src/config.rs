//! What each stateful detection counts, and over how long: the `[correlate]` table of
//! `serve`'s config, and the defaults a scan uses.

use iamwatch_core::Severity;
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};

/// Every stateful detection's settings. Each can be turned off alone.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct CorrelateConfig {
    /// Turns every stateful detection off at once.
    pub enabled: bool,
    pub brute_force: BruteForce,
    pub burst: Burst,
    pub escalation: Escalation,
    pub mfa_grace: MfaGrace,
    pub off_hours: OffHours,
    pub first_seen: FirstSeen,
    /// Days of stored incidents `serve` and the serverless function read again when they
    /// start, so that these detections remember what came before a restart (a user created
    /// yesterday still waiting for its MFA device, a principal's addresses); 0: none.
    pub recall_days: u32,
    /// Rule ids turned off (`--disable-rule`, `[rules] disable`), as for every other rule.
    #[serde(skip)]
    pub disabled: BTreeSet<String>,
    /// Rule id → severity (`--rule-severity`, `[rules.severity]`).
    #[serde(skip)]
    pub severities: BTreeMap<String, Severity>,
}

impl Default for CorrelateConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            brute_force: BruteForce::default(),
            burst: Burst::default(),
            escalation: Escalation::default(),
            mfa_grace: MfaGrace::default(),
            off_hours: OffHours::default(),
            first_seen: FirstSeen::default(),
            // Four learning weeks of addresses and clients, and every shorter window whole.
            recall_days: 30,
            disabled: BTreeSet::new(),
            severities: BTreeMap::new(),
        }
    }
}

/// Failed console sign-ins for one user, or from one address.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct BruteForce {
    pub enabled: bool,
    /// Failures within the window that raise an incident.
    pub failures: u32,
    pub window_minutes: u32,
}

impl Default for BruteForce {
    /// Five in ten minutes: more than a mistyped password and a retry, fewer than any
    /// password-guessing tool makes (CIS and most SIEM content use 3 to 10 in 5 to 15 min).
    fn default() -> Self {
        Self {
            enabled: true,
            failures: 5,
            window_minutes: 10,
        }
    }
}

/// IAM changes made by one principal.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Burst {
    pub enabled: bool,
    /// Changes within the window that raise an incident.
    pub changes: u32,
    pub window_minutes: u32,
}

impl Default for Burst {
    /// Thirty in five minutes: a person at the console does not make that many, a script or
    /// a stolen key mass-creating users and keys does (so does a Terraform apply: say which
    /// principals deploy and raise their threshold by turning the detection off for them in
    /// a rule, or raise `changes`).
    fn default() -> Self {
        Self {
            enabled: true,
            changes: 30,
            window_minutes: 5,
        }
    }
}

/// One principal creating another and making it an administrator, or giving itself
/// administrator access.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct Escalation {
    pub enabled: bool,
    /// How far apart the steps of a sequence may be.
    pub window_minutes: u32,
}

impl Default for Escalation {
    fn default() -> Self {
        Self {
            enabled: true,
            window_minutes: 60,
        }
    }
}

/// A user created and, this long after, still without an MFA device.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct MfaGrace {
    pub enabled: bool,
    pub hours: u32,
}

impl Default for MfaGrace {
    fn default() -> Self {
        Self {
            enabled: true,
            hours: 24,
        }
    }
}

/// A principal signing in or changing IAM from an address, or with a kind of client, it was
/// not seen using before, once it has been watched for the learning period.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct FirstSeen {
    pub enabled: bool,
    /// Days of events (from a principal's first) learnt before anything new raises.
    pub learning_days: u32,
}

impl Default for FirstSeen {
    fn default() -> Self {
        Self {
            enabled: true,
            learning_days: 7,
        }
    }
}

/// IAM changes made by people (IAM users, root, SSO sessions) outside working hours. Off by
/// default: working hours are the team's to say.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, default)]
pub struct OffHours {
    pub enabled: bool,
    /// An IANA time zone (`Asia/Seoul`).
    pub timezone: String,
    /// Working hours: from `start_hour`:00 to `end_hour`:00.
    pub start_hour: u32,
    pub end_hour: u32,
    /// Saturdays and Sundays are outside working hours.
    pub weekends: bool,
}

impl Default for OffHours {
    fn default() -> Self {
        Self {
            enabled: false,
            timezone: "UTC".to_string(),
            start_hour: 9,
            end_hour: 18,
            weekends: true,
        }
    }
}

impl CorrelateConfig {
    /// What in these settings cannot be used, named by its table and field.
    ///
    /// # Errors
    /// The first setting that cannot be used.
    pub fn check(&self) -> Result<(), String> {
        let hours = &self.off_hours;
        if hours.enabled {
            iamwatch_core::Zone::named(&hours.timezone)
                .map_err(|error| format!("[correlate.off_hours] timezone: {error}"))?;
            if hours.start_hour >= hours.end_hour || hours.end_hour > 24 {
                return Err(format!(
                    "[correlate.off_hours] start_hour {} and end_hour {}: working hours must start before they end, within 0 to 24",
                    hours.start_hour, hours.end_hour
                ));
            }
        }
        Ok(())
    }
}

pub(crate) const MINUTE_MS: i64 = 60_000;

pub(crate) fn minutes(minutes: u32) -> i64 {
    i64::from(minutes) * MINUTE_MS
}
