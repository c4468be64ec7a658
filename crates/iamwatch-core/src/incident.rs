//! The incident: one per CloudTrail event that deserves a person's attention.

use crate::{time, CountedMatch, IncidentStatus, Lang, Localized, MetaJson, Severity};
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// What the device that made the call was: `summary` is for people ("Chrome 131 on macOS",
/// "aws-cli 2.17 on Linux"), `ua` is the raw user agent for whoever needs the details.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub summary: String,
    pub ua: String,
}

/// Details of the access key an access-key operation touched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessKeyMeta {
    pub owner: String,
    pub access_key_id: String,
    pub status: String,
}

/// Who made the call, as CloudTrail's `userIdentity` says.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    #[serde(rename = "type")]
    pub identity_type: String,
    pub name: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub arn: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub account_id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub access_key_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mfa_authenticated: Option<bool>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub invoked_by: String,
}

/// The resource the call acted on, with its kind (`access_key`, `user`, `mfa_device`, …).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub kind: String,
    pub id: String,
    /// The user, role or group the resource belongs to or is attached to, when the API names one.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub principal: String,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorInfo {
    pub code: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub message: String,
}

/// First actions for a responder, in each language. Shared, not changed: a rule's runbook is
/// written as JSON once ([`Runbook::json`]) and shown in every incident the rule raises.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Runbook {
    #[serde(default)]
    pub en: Vec<String>,
    #[serde(default)]
    pub ko: Vec<String>,
    #[serde(skip)]
    json: RunbookJson,
}

impl Runbook {
    pub fn new(en: Vec<String>, ko: Vec<String>) -> Self {
        Self {
            en,
            ko,
            json: RunbookJson::default(),
        }
    }

    /// The runbook as JSON text (what serde_json writes), written the first time.
    pub fn json(&self) -> &str {
        self.json.0.get_or_init(|| {
            // Lists of strings: nothing fails to serialise.
            sonic_rs::to_string(self)
                .unwrap_or_else(|_| "null".to_string())
                .into_boxed_str()
        })
    }
}

/// [`Runbook::json`]'s text once written. A cache, not part of the runbook's value: equal
/// runbooks compare equal whether or not theirs is written, and a clone writes its own (its
/// steps may be changed).
#[derive(Debug, Default)]
struct RunbookJson(std::sync::OnceLock<Box<str>>);

impl Clone for RunbookJson {
    fn clone(&self) -> Self {
        Self::default()
    }
}

impl PartialEq for RunbookJson {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

impl Eq for RunbookJson {}

/// Context a responder needs without opening the raw event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Meta {
    pub device: Device,
    /// `sourceIPAddress` as CloudTrail wrote it.
    pub ip: String,
    /// `public`, `private`, `loopback`, `link_local`, `aws_service`, `hostname`, `invalid` or
    /// `missing`.
    pub ip_class: String,
    /// The ISO 3166 code of a public address's country, when a GeoIP database is configured
    /// (`--geoip`) and has the address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub country: Option<String>,
    /// The API called (`eventName`).
    pub api: String,
    /// CloudTrail `eventSource`, e.g. `iam.amazonaws.com`.
    pub event_source: String,
    #[serde(rename = "accessKey", skip_serializing_if = "Option::is_none")]
    pub access_key: Option<AccessKeyMeta>,
    pub actor: Actor,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<ErrorInfo>,
    /// For console sign-ins: whether MFA was used.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mfa_used: Option<bool>,
    /// How the event reached iamwatch: `cloudtrail_file`, `eventbridge`, `sns`, `sqs`, `cloudwatch_logs`, `lookup_events`, `kinesis`, `firehose`, `search_index`, `splunk`, `bare`.
    pub envelope: String,
    /// Every rule that matched, the incident's own `rule_id` first.
    pub rules: Vec<String>,
    /// Why the severity is what it is, in plain words (e.g. "grants AdministratorAccess").
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// The same reasons in Korean, one for one (empty in incidents stored before there were).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons_ko: Vec<String>,
    /// MITRE ATT&CK techniques of the rules that matched.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    /// The incident's rule's grouping key, filled in from the event.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dedup_key: Option<String>,
    /// What could not be read from the record, rather than dropping it.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// What to do first (from the incident's rule). Shared with the rule and every incident it
    /// raised: cloning it for each incident cost ten allocations, freed on other threads.
    /// Last, so that [`crate::MetaJson`] can keep the meta's text without it and append it
    /// when shown: a store keeps each rule's runbook once, not in every incident.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runbook: Option<Arc<Runbook>>,
}

impl Meta {
    /// The reasons in `lang`: the Korean ones when there are (incidents stored before they were
    /// kept have English ones only).
    pub fn reasons_in(&self, lang: Lang) -> &[String] {
        match lang {
            Lang::Ko if self.reasons_ko.len() == self.reasons.len() && !self.reasons.is_empty() => {
                &self.reasons_ko
            }
            _ => &self.reasons,
        }
    }
}

/// An incident as stored. Labels and titles are kept in every language; a reader's view picks
/// one ([`Incident::view`]).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Incident {
    pub incident_id: String,
    pub event_id: String,
    pub event_name: String,
    pub event_type: Localized,
    pub rule_id: String,
    pub title: Localized,
    pub resource: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub meta: Meta,
    /// Readable service name (`IAM`, `Sign-In`, …).
    pub source: String,
    pub account: String,
    pub region: String,
    pub event_time_ms: i64,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assignee: Option<String>,
    /// The CloudTrail record as received (JSON text), for responders and re-detection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub raw: Option<String>,
    /// `meta` as JSON text, when written already (see [`MetaJson`]).
    #[serde(skip)]
    pub meta_json: MetaJson,
    /// The event's matches of rules that raise only past a count ([`CountedMatch`]), for the
    /// stateful side to count; never stored.
    #[serde(skip)]
    pub counted: Vec<CountedMatch>,
}

/// One reader's view of an incident: labels in their language, everything else as stored.
/// This is the JSON shape `scan --format jsonl` prints.
#[derive(Debug, Serialize)]
pub struct IncidentView<'a> {
    pub incident_id: &'a str,
    pub event_id: &'a str,
    pub event_name: &'a str,
    pub event_type: &'a str,
    pub rule_id: &'a str,
    pub title: &'a str,
    pub resource: &'a str,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub meta: &'a Meta,
    pub source: &'a str,
    pub account: &'a str,
    pub region: &'a str,
    pub event_time_ms: i64,
    pub created_at: i64,
    pub updated_at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub assignee: Option<&'a str>,
}

impl Incident {
    /// A copy without the raw event, which is not copied at all (it may be hundreds of KB):
    /// what is queued for notifications and playbooks, which never read it.
    pub fn without_raw(&self) -> Incident {
        Incident {
            incident_id: self.incident_id.clone(),
            event_id: self.event_id.clone(),
            event_name: self.event_name.clone(),
            event_type: self.event_type.clone(),
            rule_id: self.rule_id.clone(),
            title: self.title.clone(),
            resource: self.resource.clone(),
            severity: self.severity,
            status: self.status,
            meta: self.meta.clone(),
            source: self.source.clone(),
            account: self.account.clone(),
            region: self.region.clone(),
            event_time_ms: self.event_time_ms,
            created_at: self.created_at,
            updated_at: self.updated_at,
            assignee: self.assignee.clone(),
            raw: None,
            meta_json: self.meta_json.clone(),
            counted: Vec::new(),
        }
    }

    /// Whether the event matched only rules that raise past a count: no incident by itself,
    /// only counted (its `meta.rules` lists the rules that raise on one event, none here).
    pub fn is_counted_only(&self) -> bool {
        self.meta.rules.is_empty() && !self.counted.is_empty()
    }

    /// What rules with a threshold counted of this event, as a store keeps it.
    pub fn kept_counts(&self) -> impl Iterator<Item = crate::KeptCount> + '_ {
        self.counted
            .iter()
            .map(|counted| counted.kept(&self.event_id, self.event_time_ms))
    }

    /// The incident as lists and live streams show it: everything stored, both languages,
    /// except the raw event, which is on the incident's own page.
    pub fn summary_json(&self) -> serde_json::Value {
        let mut value = serde_json::to_value(self).unwrap_or(serde_json::Value::Null);
        if let Some(object) = value.as_object_mut() {
            object.remove("raw");
        }
        value
    }

    /// A live message about the incident (`incident.created`, `incident.updated`), as every
    /// dashboard and WebSocket client receives it, from `serve` or from the Lambda function.
    pub fn live_message(&self, kind: &str) -> String {
        serde_json::json!({ "type": kind, "incident": self.summary_json() }).to_string()
    }

    pub fn view(&self, lang: Lang) -> IncidentView<'_> {
        IncidentView {
            incident_id: &self.incident_id,
            event_id: &self.event_id,
            event_name: &self.event_name,
            event_type: self.event_type.get(lang),
            rule_id: &self.rule_id,
            title: self.title.get(lang),
            resource: &self.resource,
            severity: self.severity,
            status: self.status,
            meta: &self.meta,
            source: &self.source,
            account: &self.account,
            region: &self.region,
            event_time_ms: self.event_time_ms,
            created_at: self.created_at,
            updated_at: self.updated_at,
            assignee: self.assignee.as_deref(),
        }
    }

    /// `inc-YYYYMMDD-HHMMSS-XXXXXX`: the event's UTC time, then six base-32 characters drawn
    /// from the event id and `salt`.
    ///
    /// The seed used three random letters, which collide within a second at a few hundred
    /// incidents. Deriving the suffix from the event id keeps ids stable across re-scans and
    /// unique at any rate in practice; a store that still sees a collision retries with
    /// [`Incident::resalted_id`]. The id is how a store knows an event it has seen: a record
    /// with no readable time must pass a time of its own that does not change between
    /// deliveries (the pipeline passes 0).
    pub fn make_id(event_time_ms: i64, event_id: &str, salt: u32) -> String {
        let mut id = String::with_capacity(ID_LEN);
        id.push_str("inc-");
        time::push_compact(&mut id, event_time_ms);
        id.push('-');
        push_suffix(&mut id, event_id, salt);
        id
    }

    /// The id for the next attempt after `id` (made by [`Incident::make_id`] with salt 0)
    /// collided with another event's: the same time, the suffix drawn again with `salt`. An id
    /// of another shape is kept as a prefix.
    pub fn resalted_id(id: &str, event_id: &str, salt: u32) -> String {
        let mut salted = match id.get(..ID_LEN - SUFFIX_LEN) {
            Some(prefix) if id.len() == ID_LEN => prefix.to_string(),
            _ => format!("{id}-"),
        };
        push_suffix(&mut salted, event_id, salt);
        salted
    }
}

/// `inc-YYYYMMDD-HHMMSS-XXXXXX`
const ID_LEN: usize = 26;
const SUFFIX_LEN: usize = 6;

fn push_suffix(id: &mut String, event_id: &str, salt: u32) {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut hash = crate::text::fnv1a64(event_id.as_bytes())
        ^ u64::from(salt).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    hash = splitmix64(hash);
    for _ in 0..SUFFIX_LEN {
        id.push(ALPHABET[(hash & 31) as usize] as char);
        hash >>= 5;
    }
}

fn splitmix64(mut value: u64) -> u64 {
    value = (value ^ (value >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    value = (value ^ (value >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    value ^ (value >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_without_the_raw_event_keeps_everything_else() {
        let mut incident: Incident = serde_json::from_value(serde_json::json!({
            "incident_id": "inc-1", "event_id": "e", "event_name": "DeleteUser",
            "event_type": {"en": "Delete user", "ko": "사용자 삭제"}, "rule_id": "r",
            "title": {"en": "t", "ko": "제목"}, "resource": "bob", "severity": "HIGH",
            "status": "NEW", "meta": {"ip": "203.0.113.7"}, "source": "IAM",
            "account": "111122223333", "region": "us-east-1", "event_time_ms": 5,
            "created_at": 6, "updated_at": 7, "assignee": "alice", "raw": "{}"
        }))
        .unwrap();
        let copy = incident.without_raw();
        assert_eq!(copy.raw, None);
        incident.raw = None;
        assert_eq!(copy, incident);
    }
    use std::collections::HashSet;

    #[test]
    fn a_runbook_is_written_once_and_its_text_is_not_part_of_its_value() {
        let runbook = Runbook::new(vec!["Ask \"them\"".into()], vec!["확인합니다".into()]);
        let unwritten = runbook.clone();
        assert_eq!(runbook.json(), serde_json::to_string(&runbook).unwrap());
        assert_eq!(runbook, unwritten, "written or not, equal");
        let mut changed = runbook.clone();
        changed.en.push("Then rotate".into());
        assert_eq!(changed.json(), serde_json::to_string(&changed).unwrap());
        let read: Runbook = serde_json::from_str(runbook.json()).unwrap();
        assert_eq!(read, runbook);
    }

    #[test]
    fn incident_id_has_the_seed_shape() {
        let id = Incident::make_id(1_717_200_005_000, "c64c4ded-ef03-4e5c", 0);
        assert!(id.starts_with("inc-20240601-000005-"), "{id}");
        assert_eq!(id.len(), "inc-20240601-000005-".len() + 6);
    }

    #[test]
    fn incident_ids_are_stable_and_distinct_for_thousands_in_one_second() {
        let time_ms = 1_717_200_005_000;
        let ids: HashSet<String> = (0..20_000)
            .map(|n| Incident::make_id(time_ms, &format!("event-{n}"), 0))
            .collect();
        assert_eq!(ids.len(), 20_000);
        assert_eq!(
            Incident::make_id(time_ms, "e", 0),
            Incident::make_id(time_ms, "e", 0)
        );
        assert_ne!(
            Incident::make_id(time_ms, "e", 0),
            Incident::make_id(time_ms, "e", 1)
        );
    }

    #[test]
    fn a_resalted_id_keeps_the_time_of_the_first() {
        let first = Incident::make_id(1_717_200_005_000, "e", 0);
        for salt in 1..4 {
            assert_eq!(
                Incident::resalted_id(&first, "e", salt),
                Incident::make_id(1_717_200_005_000, "e", salt)
            );
        }
        // Not the time the incident may carry: the one its first id was made with.
        let untimed = Incident::make_id(0, "e", 0);
        assert!(Incident::resalted_id(&untimed, "e", 1).starts_with("inc-19700101-000000-"));
        let odd = Incident::resalted_id("custom", "e", 1);
        assert!(
            odd.starts_with("custom-") && odd.len() == "custom-".len() + 6,
            "{odd}"
        );
    }
}
