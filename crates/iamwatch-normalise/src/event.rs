//! The normalised view of one record.

use iamwatch_core::text::concat;
use iamwatch_core::time::{parse_epoch_ms, parse_timestamp_ms};
use iamwatch_sources::RecordItem;
use serde_json::Value;
use std::borrow::Cow;

/// Who made the call.
#[derive(Clone, Debug, Default)]
pub struct Identity<'r> {
    /// `IAMUser`, `AssumedRole`, `Root`, `AWSService`, `FederatedUser`, … (`""` when absent).
    pub identity_type: &'r str,
    /// The role an assumed-role session came from (`sessionIssuer.userName`).
    pub issuer_name: &'r str,
    pub principal_id: &'r str,
    pub arn: &'r str,
    pub account_id: &'r str,
    pub access_key_id: &'r str,
    /// `userIdentity.userName` (IAM users and root sign-ins carry it).
    pub user_name: &'r str,
    pub mfa_authenticated: Option<bool>,
    pub invoked_by: &'r str,
    /// The identity-store user id an `IdentityCenterUser` acts for (`onBehalfOf.userId`).
    pub on_behalf_of: &'r str,
}

impl<'r> Identity<'r> {
    pub fn is_root(&self) -> bool {
        self.identity_type == "Root"
    }

    /// A readable name: the user name, `root`, `role/session` for an assumed role, the person
    /// and permission set for an IAM Identity Center session, the service. Built on demand:
    /// only incidents need it, and most records are assumed-role sessions whose name is a
    /// fresh string.
    pub fn name(&self) -> Cow<'r, str> {
        let arn_tail = self.arn.rsplit(['/', ':']).next().unwrap_or("");
        let issuer_name = self.issuer_name;
        match self.identity_type {
            "Root" => Cow::Borrowed("root"),
            "IAMUser" if !self.user_name.is_empty() => Cow::Borrowed(self.user_name),
            "AssumedRole" if issuer_name.starts_with("AWSReservedSSO_") => {
                let permission_set = issuer_name
                    .trim_start_matches("AWSReservedSSO_")
                    .rsplit_once('_')
                    .map_or(issuer_name, |(permission_set, _suffix)| permission_set);
                Cow::Owned(concat([arn_tail, " (SSO ", permission_set, ")"]))
            }
            "AssumedRole" if !issuer_name.is_empty() => {
                Cow::Owned(concat([issuer_name, "/", arn_tail]))
            }
            "AWSService" => Cow::Borrowed(self.invoked_by),
            // A principal of another account (cross-account access): its principal id alone
            // hid which account it came from, the thing to know.
            "AWSAccount" if !self.account_id.is_empty() => match self.principal_id {
                "" => Cow::Borrowed(self.account_id),
                principal => Cow::Owned(concat([self.account_id, "/", principal])),
            },
            // No ARN or user name: the identity store's id for the person is all there is.
            "IdentityCenterUser" if !self.on_behalf_of.is_empty() => {
                Cow::Owned(concat([self.on_behalf_of, " (Identity Center)"]))
            }
            _ if !self.user_name.is_empty() => Cow::Borrowed(self.user_name),
            _ if !arn_tail.is_empty() => Cow::Borrowed(arn_tail),
            _ => Cow::Borrowed(self.principal_id),
        }
    }
}

/// A record, normalised. Borrows from the framed input; nothing here allocates unless the
/// record needed fixing.
#[derive(Debug)]
pub struct Event<'r> {
    pub item: &'r RecordItem<'r>,
    pub event_id: Cow<'r, str>,
    pub event_name: &'r str,
    /// `eventName` without an API-version suffix (`UpdateFunctionCode20150331v2` →
    /// `UpdateFunctionCode`).
    pub api: &'r str,
    pub event_source: &'r str,
    /// The event's time; the ingestion time when the record has none that can be read.
    pub time_ms: i64,
    /// Whether `time_ms` was read from the record (or its envelope).
    pub time_known: bool,
    pub account: &'r str,
    pub region: &'r str,
    pub source_ip: &'r str,
    pub user_agent: &'r str,
    pub identity: Identity<'r>,
    pub read_only: bool,
    pub error_code: &'r str,
    pub error_message: &'r str,
    /// What could not be read and how it was filled in.
    pub notes: Vec<String>,
}

/// Request, response and additional data, parsed for events that become incidents.
#[derive(Debug, Default)]
pub struct Details {
    pub request: Value,
    pub response: Value,
    pub additional: Value,
    /// What could not be read (a part holding a number past `f64`, say), for the incident.
    pub notes: Vec<String>,
}

/// The record's members a [`Details`] holds, in its order: request, response, additional data.
pub const DETAIL_PARTS: [&str; 3] = [
    "requestParameters",
    "responseElements",
    "additionalEventData",
];

impl Details {
    /// Reads each part written as JSON text as the JSON it holds (see [`read_written_as_text`]),
    /// and notes it.
    pub fn read_parts_written_as_text(&mut self) {
        let Details {
            request,
            response,
            additional,
            notes,
        } = self;
        for (name, part) in DETAIL_PARTS
            .into_iter()
            .zip([request, response, additional])
        {
            notes.extend(read_written_as_text(name, part));
        }
    }
}

/// Whether JSON text (or a string's text) opens like an object or an array.
fn opens_like_json(text: &[u8]) -> bool {
    matches!(
        text.iter().find(|byte| !byte.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// Reads a part (`name`) written as JSON text as the JSON it holds, and returns what the
/// incident says of it: Athena's CloudTrail table keeps `requestParameters`,
/// `responseElements` and `additionalEventData` as strings, and its JSON exports (`UNLOAD …
/// format = 'JSON'`) write them so. Read as strings, the target was the event id and the access
/// key unknown. Text that is not an object or an array is left as it is.
pub fn read_written_as_text(name: &str, part: &mut Value) -> Option<String> {
    let Value::String(text) = part else {
        return None;
    };
    if !opens_like_json(text.as_bytes()) {
        return None;
    }
    *part = serde_json::from_str::<Value>(text).ok()?;
    Some(written_as_text_note(name))
}

/// What an incident says of a part it read from JSON written as text.
fn written_as_text_note(name: &str) -> String {
    format!("{name} was JSON written as text; read as that JSON")
}

/// Normalises one record. `now_ms` stands in for a missing event time (and says so in notes).
pub fn normalise<'r>(item: &'r RecordItem<'r>, now_ms: i64) -> Event<'r> {
    let doc = item.doc;
    let mut notes: Vec<String> = item.notes.to_vec();

    let known_time = time_of(item, &mut notes);
    let time_ms = known_time.unwrap_or_else(|| {
        notes.push("event time missing or unreadable; ingestion time used".to_string());
        now_ms
    });
    let event_id = match doc.event_id.as_str().filter(|id| !id.is_empty()) {
        Some(id) => Cow::Borrowed(id),
        None => {
            notes.push("eventID missing; id derived from the record's content".to_string());
            Cow::Owned(format!("sha-{:016x}", content_hash(item.raw)))
        }
    };
    let identity = identity_of(item);
    let account = [
        doc.recipient_account_id.or_empty(),
        identity.account_id,
        item.envelope_account.unwrap_or(""),
    ]
    .into_iter()
    .find(|account| !account.is_empty())
    .unwrap_or("");
    let region = Some(doc.aws_region.or_empty())
        .filter(|region| !region.is_empty())
        .or(item.envelope_region)
        .unwrap_or("");
    // An Insights event is named after the API it is about (detection tells the two apart).
    let insight = doc.insight_details.as_ref();
    let event_name = (doc.event_name.as_str())
        .or_else(|| insight?.event_name.as_str())
        .unwrap_or("");
    let api = strip_api_version(event_name);
    let read_only = doc.read_only.0.unwrap_or_else(|| looks_read_only(api));
    let event_source = match (doc.event_source.as_str())
        .or_else(|| insight?.event_source.as_str())
        .filter(|source| !source.is_empty())
    {
        Some(source) => source,
        None => match crate::catalog::source_of(api) {
            Some(inferred) => {
                notes.push(format!(
                    "eventSource missing; {inferred} inferred from eventName"
                ));
                inferred
            }
            None => {
                notes.push("eventSource missing".to_string());
                ""
            }
        },
    };
    Event {
        item,
        event_id,
        event_name,
        api,
        event_source,
        time_ms,
        time_known: known_time.is_some(),
        account,
        region,
        source_ip: doc.source_ip_address.or_empty(),
        user_agent: doc.user_agent.or_empty(),
        identity,
        read_only,
        error_code: doc.error_code.or_empty(),
        error_message: doc.error_message.or_empty(),
        notes,
    }
}

impl Event<'_> {
    /// Parses request parameters, response elements and additional event data. A part that
    /// cannot be read (the record's read checks its JSON, not that each number fits an `f64`)
    /// becomes `Null`, and a note says so. By serde_json itself: sonic-rs feeding a
    /// `serde_json::Value` took a fifth longer on objects this small (it is the faster one on a
    /// whole record).
    pub fn details(&self) -> Details {
        let mut notes = Vec::new();
        let mut parse = |name: &str, raw: &Option<iamwatch_sources::Raw<'_>>| {
            let raw = raw.as_ref()?;
            serde_json::from_str::<Value>(raw.as_raw_str())
                .map_err(|error| notes.push(format!("{name} could not be read: {error}")))
                .ok()
        };
        let doc = self.item.doc;
        let request = parse("requestParameters", &doc.request_parameters);
        let response = parse("responseElements", &doc.response_elements);
        let additional = parse("additionalEventData", &doc.additional_event_data);
        let mut details = Details {
            request: request.unwrap_or_default(),
            response: response.unwrap_or_default(),
            additional: additional.unwrap_or_default(),
            notes,
        };
        details.read_parts_written_as_text();
        details
    }

    /// The raw record as text (lossy only for bytes that were never valid UTF-8).
    pub fn raw_text(&self) -> String {
        // Valid UTF-8 is the rule: check it the fast way before the lossy conversion.
        match simdutf8::basic::from_utf8(self.item.raw) {
            Ok(text) => text.to_owned(),
            Err(_) => String::from_utf8_lossy(self.item.raw).into_owned(),
        }
    }

    /// The parts (`requestParameters`, `responseElements`, `additionalEventData`) the record
    /// holds as strings that open like JSON (see [`Details::read_parts_written_as_text`]).
    pub fn parts_written_as_text(&self) -> impl Iterator<Item = &'static str> + '_ {
        let doc = self.item.doc;
        let parts = [
            &doc.request_parameters,
            &doc.response_elements,
            &doc.additional_event_data,
        ];
        DETAIL_PARTS
            .into_iter()
            .zip(parts)
            .filter(|(_, raw)| {
                raw.as_ref().is_some_and(|raw| {
                    (raw.as_raw_str().as_bytes().strip_prefix(b"\"")).is_some_and(opens_like_json)
                })
            })
            .map(|(name, _)| name)
    }

    pub fn failed(&self) -> bool {
        !self.error_code.is_empty()
    }
}

fn time_of(item: &RecordItem<'_>, notes: &mut Vec<String>) -> Option<i64> {
    let doc = item.doc;
    if let Some(text) = doc.event_time.as_str() {
        if let Some(time_ms) = parse_timestamp_ms(text) {
            return Some(time_ms);
        }
        if let Some(time_ms) = parse_epoch_ms(text) {
            notes.push(format!("eventTime {text:?} read as a Unix epoch"));
            return Some(time_ms);
        }
        notes.push(format!("eventTime {text:?} is not a timestamp"));
    }
    for (field, candidate) in [
        ("EventBridge time", item.envelope_time),
        ("@timestamp", doc.at_timestamp.as_str()),
        ("p_event_time", doc.p_event_time.as_str()),
    ] {
        if let Some(time_ms) = candidate.and_then(parse_timestamp_ms) {
            if doc.event_time.as_str().is_none() {
                notes.push(format!("eventTime missing; {field} used"));
            }
            return Some(time_ms);
        }
    }
    None
}

fn identity_of<'r>(item: &'r RecordItem<'r>) -> Identity<'r> {
    let Some(user) = item.doc.user_identity.as_ref() else {
        return Identity::default();
    };
    let identity_type = user.identity_type.or_empty();
    let arn = user.arn.or_empty();
    let user_name = user.user_name.or_empty();
    let session = user.session_context.as_ref();
    let issuer_name = session
        .and_then(|session| session.session_issuer.as_ref())
        .map_or("", |issuer| issuer.user_name.or_empty());
    Identity {
        identity_type,
        issuer_name,
        principal_id: user.principal_id.or_empty(),
        arn,
        account_id: user.account_id.or_empty(),
        access_key_id: user.access_key_id.or_empty(),
        user_name,
        mfa_authenticated: session
            .and_then(|session| session.attributes.as_ref())
            .and_then(|attributes| attributes.mfa_authenticated.0),
        invoked_by: user.invoked_by.or_empty(),
        on_behalf_of: (user.on_behalf_of.as_ref()).map_or("", |person| person.user_id.or_empty()),
    }
}

/// Lambda and a few other services suffix event names with the API version.
fn strip_api_version(event_name: &str) -> &str {
    let bytes = event_name.as_bytes();
    let mut end = bytes.len();
    // Optional `v<digits>` at the end.
    let mut cursor = end;
    while cursor > 0 && bytes[cursor - 1].is_ascii_digit() {
        cursor -= 1;
    }
    if cursor < end && cursor > 0 && bytes[cursor - 1] == b'v' {
        end = cursor - 1;
    }
    let digits_end = end;
    let mut digits_start = digits_end;
    while digits_start > 0 && bytes[digits_start - 1].is_ascii_digit() {
        digits_start -= 1;
    }
    if digits_end - digits_start == 8
        && digits_start > 0
        && bytes[digits_start..].starts_with(b"20")
    {
        return &event_name[..digits_start];
    }
    event_name
}

fn looks_read_only(api: &str) -> bool {
    const READ_PREFIXES: &[&str] = &[
        "Get", "List", "Describe", "Head", "Lookup", "BatchGet", "Search", "Query", "Scan",
        "Select", "Download", "Simulate",
    ];
    READ_PREFIXES.iter().any(|prefix| {
        api.strip_prefix(prefix).is_some_and(|rest| {
            rest.is_empty() || rest.starts_with(|character: char| character.is_ascii_uppercase())
        })
    })
}

fn content_hash(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in bytes {
        hash ^= u64::from(*byte);
        hash = hash.wrapping_mul(0x0100_0000_01b3);
    }
    hash
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamwatch_sources::{visit_document, Item};

    fn with_event(json: &str, check: impl FnOnce(&Event<'_>)) {
        let mut check = Some(check);
        visit_document(json.as_bytes(), false, &mut |item| {
            if let Item::Record(record) = item {
                let event = normalise(&record, 42);
                if let Some(check) = check.take() {
                    check(&event);
                }
            }
        });
        assert!(check.is_none(), "no record in {json}");
    }

    /// Athena's exports write the parts as JSON text; text that is not JSON of an object or an
    /// array stays the string it is, with no note.
    #[test]
    fn parts_written_as_json_text_are_read_as_that_json() {
        let json = r#"{"eventName":"PutUserPolicy","eventID":"e","requestParameters":" {\"userName\":\"bob\"}","responseElements":"[1]","additionalEventData":"{broken"}"#;
        with_event(json, |event| {
            assert_eq!(
                event.parts_written_as_text().collect::<Vec<_>>(),
                [
                    "requestParameters",
                    "responseElements",
                    "additionalEventData"
                ]
            );
            let details = event.details();
            assert_eq!(details.request["userName"], "bob");
            assert_eq!(details.response, serde_json::json!([1]));
            assert_eq!(details.additional, "{broken");
            assert_eq!(
                details.notes,
                [
                    written_as_text_note("requestParameters"),
                    written_as_text_note("responseElements")
                ]
            );
        });
        let plain = r#"{"eventName":"X","eventID":"e","requestParameters":"bob","responseElements":{"a":"{}"}}"#;
        with_event(plain, |event| {
            assert_eq!(event.parts_written_as_text().count(), 0);
            let details = event.details();
            assert_eq!(
                (details.request.as_str(), details.notes.len()),
                (Some("bob"), 0)
            );
        });
    }

    #[test]
    fn assumed_role_identity_and_times_are_normalised() {
        let json = r#"{"eventTime":"2024-06-01T00:00:05Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventID":"e1","awsRegion":"us-east-1","recipientAccountId":"111122223333","readOnly":false,
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111122223333:assumed-role/ci-deploy/GitHubActions","accountId":"111122223333","sessionContext":{"sessionIssuer":{"userName":"ci-deploy"},"attributes":{"mfaAuthenticated":"false"}}}}"#;
        with_event(json, |event| {
            assert_eq!(event.time_ms, 1_717_200_005_000);
            assert_eq!(event.identity.name(), "ci-deploy/GitHubActions");
            assert_eq!(event.identity.mfa_authenticated, Some(false));
            assert_eq!(
                (event.account, event.region, event.read_only),
                ("111122223333", "us-east-1", false)
            );
            assert!(event.notes.is_empty());
        });
    }

    #[test]
    fn event_times_written_as_epochs_or_only_by_panther_are_read_with_a_note() {
        let epoch_ms = r#"{"eventTime":1717200005123,"eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventID":"e"}"#;
        with_event(epoch_ms, |event| {
            assert_eq!(event.time_ms, 1_717_200_005_123);
            assert_eq!(
                event.notes,
                ["eventTime \"1717200005123\" read as a Unix epoch"]
            );
        });
        let epoch_s = r#"{"eventTime":"1717200005","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventID":"e"}"#;
        with_event(epoch_s, |event| {
            assert_eq!(event.time_ms, 1_717_200_005_000)
        });
        let panther = r#"{"p_event_time":"2024-06-01 00:00:05.123456789","eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventID":"e"}"#;
        with_event(panther, |event| {
            assert_eq!(event.time_ms, 1_717_200_005_123);
            assert_eq!(event.notes, ["eventTime missing; p_event_time used"]);
        });
        // A number of no certain unit is not guessed at.
        let unclear = r#"{"eventTime":42,"eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventID":"e"}"#;
        with_event(unclear, |event| {
            assert_eq!(event.time_ms, 42);
            assert_eq!(event.notes[0], "eventTime \"42\" is not a timestamp");
        });
    }

    #[test]
    fn sso_sessions_are_named_by_person_and_permission_set() {
        let json = r#"{"eventSource":"iam.amazonaws.com","eventName":"CreateUser","eventID":"e",
            "userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::1:assumed-role/AWSReservedSSO_PowerUserAccess_5b7c9d1e3f2a4b68/bob@example.com",
            "sessionContext":{"sessionIssuer":{"userName":"AWSReservedSSO_PowerUserAccess_5b7c9d1e3f2a4b68"}}}}"#;
        with_event(json, |event| {
            assert_eq!(
                event.identity.name(),
                "bob@example.com (SSO PowerUserAccess)"
            )
        });
    }

    #[test]
    fn principals_of_another_account_are_named_with_their_account() {
        // As CloudTrail writes a call made from another account through a resource policy.
        let json = r#"{"eventSource":"iam.amazonaws.com","eventName":"DeleteUser","eventID":"e",
            "userIdentity":{"type":"AWSAccount","principalId":"AIDACKCEVSQ6C2EXAMPLE",
            "accountId":"444455556666"}}"#;
        with_event(json, |event| {
            assert_eq!(event.identity.name(), "444455556666/AIDACKCEVSQ6C2EXAMPLE")
        });
        let json = r#"{"eventSource":"iam.amazonaws.com","eventName":"DeleteUser","eventID":"e",
            "userIdentity":{"type":"AWSAccount","accountId":"444455556666"}}"#;
        with_event(json, |event| {
            assert_eq!(event.identity.name(), "444455556666")
        });
    }

    #[test]
    fn identity_center_users_are_named_by_their_identity_store_id() {
        // As CloudTrail writes a call made with trusted identity propagation (eventVersion 1.09+):
        // no ARN, no user name; it was "unknown".
        let json = r#"{"eventSource":"iam.amazonaws.com","eventName":"DeleteUser","eventID":"e",
            "userIdentity":{"type":"IdentityCenterUser","accountId":"123456789012",
            "onBehalfOf":{"userId":"94482488-3041-7026-18f3-be45837cd0e4",
            "identityStoreArn":"arn:aws:identitystore::123456789012:identitystore/d-9067642ac7"},
            "credentialId":"EXAMPLEVHULjJdTUdPJfofVa1sufHDoj7aYcOYcxFVllWR_Whr1fEXAMPLE"}}"#;
        with_event(json, |event| {
            assert_eq!(event.identity.identity_type, "IdentityCenterUser");
            assert_eq!(
                event.identity.name(),
                "94482488-3041-7026-18f3-be45837cd0e4 (Identity Center)"
            )
        });
    }

    #[test]
    fn missing_fields_are_filled_in_with_notes() {
        with_event(
            r#"{"eventSource":"iam.amazonaws.com","eventName":"ListUsers"}"#,
            |event| {
                assert_eq!(event.time_ms, 42);
                assert!(event.event_id.starts_with("sha-"));
                assert!(
                    event.read_only,
                    "List* is read-only when readOnly is absent"
                );
                assert_eq!(event.notes.len(), 2, "{:?}", event.notes);
            },
        );
        with_event(
            r#"{"eventSource":"s3.amazonaws.com","eventName":"GetObject","eventID":"x","eventTime":"soon","@timestamp":"2020-09-14T01:19:40.000Z"}"#,
            |event| {
                assert_eq!(event.time_ms, 1_600_046_380_000);
                assert!(event.notes[0].contains("\"soon\""), "{:?}", event.notes);
            },
        );
    }

    #[test]
    fn api_version_suffixes_are_stripped() {
        assert_eq!(
            strip_api_version("UpdateFunctionCode20150331v2"),
            "UpdateFunctionCode"
        );
        assert_eq!(
            strip_api_version("DeleteFunction20150331"),
            "DeleteFunction"
        );
        assert_eq!(strip_api_version("CreateUser"), "CreateUser");
        assert_eq!(strip_api_version("GetObject2"), "GetObject2");
    }

    #[test]
    fn read_only_inference_needs_a_word_boundary() {
        assert!(looks_read_only("GetUser"));
        assert!(!looks_read_only("Getaway"));
        assert!(!looks_read_only("ConsoleLogin"));
    }
}
