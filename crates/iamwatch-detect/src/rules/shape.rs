//! A CloudTrail record as the EventBridge event that carries it. Rule patterns are written
//! against this shape, as users write them for EventBridge.

use iamwatch_normalise::event::{read_written_as_text, DETAIL_PARTS};
use memchr::memmem::Finder;
use serde_json::{Map, Value};
use std::sync::LazyLock;

/// Wraps a CloudTrail record; an EventBridge event (it has `detail`) is returned unchanged.
/// The record is moved into `detail`, not copied: this runs for every event a rule may want.
pub fn eventbridge_event(record: Value) -> Value {
    if record.get("detail").is_some()
        && (record.get("detail-type").is_some() || record.get("source").is_some())
    {
        return record;
    }
    let text = |key: &str| {
        record
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_string()
    };
    let detail_type = match text("eventType").as_str() {
        "AwsConsoleSignIn" => "AWS Console Sign In via CloudTrail",
        "AwsServiceEvent" => "AWS Service Event via CloudTrail",
        _ => "AWS API Call via CloudTrail",
    };
    let event_source = text("eventSource");
    let source = format!(
        "aws.{}",
        event_source
            .strip_suffix(".amazonaws.com")
            .unwrap_or(&event_source)
    );
    let account = Some(text("recipientAccountId"))
        .filter(|account| !account.is_empty())
        .or_else(|| {
            record
                .pointer("/userIdentity/accountId")
                .and_then(Value::as_str)
                .map(str::to_string)
        })
        .unwrap_or_default();
    let mut event = Map::with_capacity(9);
    event.insert("version".into(), Value::String("0".into()));
    event.insert("id".into(), Value::String(text("eventID")));
    event.insert("detail-type".into(), Value::String(detail_type.into()));
    event.insert("source".into(), Value::String(source));
    event.insert("account".into(), Value::String(account));
    event.insert("time".into(), Value::String(text("eventTime")));
    event.insert("region".into(), Value::String(text("awsRegion")));
    event.insert("resources".into(), Value::Array(Vec::new()));
    event.insert("detail".into(), record);
    Value::Object(event)
}

/// Fields every record's normalised head has, as their EventBridge paths. A rule's pattern
/// restricted to these is checked before the record is parsed whole.
pub const HEAD_PATHS: &[&str] = &[
    "source",
    "detail.eventSource",
    "detail.eventName",
    "detail.errorCode",
    "detail.userIdentity.type",
    "detail.userAgent",
    "detail.sourceIPAddress",
    "detail.awsRegion",
    "detail.vpcEndpointId",
];

/// Head paths whose values repeat across records (a few hundred APIs, a handful of identity
/// types and regions): a head check reading only these has the same verdict for every record
/// with the same values, so it is decided once per combination.
pub const REPEATING_HEAD_PATHS: &[&str] = &[
    "source",
    "detail.eventSource",
    "detail.eventName",
    "detail.errorCode",
    "detail.userIdentity.type",
    "detail.awsRegion",
    "detail.vpcEndpointId",
];

/// Head fields of a record, as far as they are present (absent ones stay absent).
#[derive(Clone, Copy, Debug, Default)]
pub struct Head<'h> {
    pub event_source: &'h str,
    pub event_name: &'h str,
    pub error_code: &'h str,
    pub identity_type: &'h str,
    pub user_agent: &'h str,
    pub source_ip: &'h str,
    pub region: &'h str,
    pub vpc_endpoint_id: &'h str,
}

impl Head<'_> {
    /// The head field at an EventBridge path, when the record has it.
    pub fn value_at(&self, path: &str) -> Option<String> {
        let text = match path {
            "source" => {
                let prefix = self
                    .event_source
                    .strip_suffix(".amazonaws.com")
                    .unwrap_or(self.event_source);
                return (!self.event_source.is_empty()).then(|| format!("aws.{prefix}"));
            }
            "detail.eventSource" => self.event_source,
            "detail.eventName" => self.event_name,
            "detail.errorCode" => self.error_code,
            "detail.userIdentity.type" => self.identity_type,
            "detail.userAgent" => self.user_agent,
            "detail.sourceIPAddress" => self.source_ip,
            "detail.awsRegion" => self.region,
            "detail.vpcEndpointId" => self.vpc_endpoint_id,
            _ => return None,
        };
        (!text.is_empty()).then(|| text.to_string())
    }
}

/// The head as a small EventBridge-shaped event.
pub fn head_event(head: &Head<'_>) -> Value {
    let mut detail = Map::new();
    let mut put = |key: &str, value: &str| {
        if !value.is_empty() {
            detail.insert(key.to_string(), Value::String(value.to_string()));
        }
    };
    put("eventSource", head.event_source);
    put("eventName", head.event_name);
    put("errorCode", head.error_code);
    put("userAgent", head.user_agent);
    put("sourceIPAddress", head.source_ip);
    put("awsRegion", head.region);
    put("vpcEndpointId", head.vpc_endpoint_id);
    if !head.identity_type.is_empty() {
        let mut identity = Map::new();
        identity.insert("type".into(), Value::String(head.identity_type.to_string()));
        detail.insert("userIdentity".into(), Value::Object(identity));
    }
    let source = format!(
        "aws.{}",
        head.event_source
            .strip_suffix(".amazonaws.com")
            .unwrap_or(head.event_source)
    );
    let mut event = Map::new();
    event.insert("source".into(), Value::String(source));
    event.insert("detail".into(), Value::Object(detail));
    Value::Object(event)
}

/// The value at a dot-joined path (`detail.requestParameters.userName`).
pub fn lookup<'v>(event: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(event, |value, key| value.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn cloudtrail_records_take_the_eventbridge_shape() {
        let record = json!({"eventSource": "signin.amazonaws.com", "eventName": "ConsoleLogin", "eventType": "AwsConsoleSignIn",
            "eventID": "e", "eventTime": "2024-06-01T00:00:00Z", "awsRegion": "us-east-1", "userIdentity": {"accountId": "1"}});
        let shaped = eventbridge_event(record);
        assert_eq!(shaped["source"], "aws.signin");
        assert_eq!(shaped["detail-type"], "AWS Console Sign In via CloudTrail");
        assert_eq!(shaped["account"], "1");
        assert_eq!(
            lookup(&shaped, "detail.eventName"),
            Some(&json!("ConsoleLogin"))
        );
        assert_eq!(
            eventbridge_event(shaped.clone()),
            shaped,
            "an EventBridge event is kept as it is"
        );
    }
}

/// CloudTrail's own keys, for records from exports that lower-case every key (`eventname`).
/// Service-specific keys under `requestParameters` and the like cannot be restored.
const CLOUDTRAIL_KEYS: &[&str] = &[
    "eventVersion",
    "userIdentity",
    "type",
    "principalId",
    "arn",
    "accountId",
    "accessKeyId",
    "userName",
    "sessionContext",
    "sessionIssuer",
    "attributes",
    "mfaAuthenticated",
    "creationDate",
    "invokedBy",
    "webIdFederationData",
    "sourceIdentity",
    "eventTime",
    "eventSource",
    "eventName",
    "awsRegion",
    "sourceIPAddress",
    "userAgent",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "requestID",
    "eventID",
    "readOnly",
    "eventType",
    "managementEvent",
    "recipientAccountId",
    "eventCategory",
    "errorCode",
    "errorMessage",
    "resources",
    "sharedEventID",
    "vpcEndpointId",
    "vpcEndpointAccountId",
    "serviceEventDetails",
    "tlsDetails",
    "apiVersion",
    "sessionCredentialFromConsole",
    "edgeDeviceDetails",
];

/// Whether a raw record spells CloudTrail's keys in lower case (some exports do): such a
/// record carries `"eventname"` and not `"eventName"`.
pub fn has_lowercased_keys(raw: &[u8]) -> bool {
    // Searchers built once: `memmem::find` built one per call, costlier than the search.
    static CLOUDTRAIL: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"eventName\""));
    static LOWERCASED: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(b"\"eventname\""));
    CLOUDTRAIL.find(raw).is_none() && LOWERCASED.find(raw).is_some()
}

/// Reads the record's parts written as JSON text as that JSON (Athena's exports write them so;
/// see [`read_written_as_text`]), so that patterns reading inside them match.
/// Returns the notes the incident carries for them.
pub fn read_parts_written_as_text(record: &mut Value) -> Vec<String> {
    let Some(object) = record.as_object_mut() else {
        return Vec::new();
    };
    DETAIL_PARTS
        .into_iter()
        .filter_map(|name| read_written_as_text(name, object.get_mut(name)?))
        .collect()
}

/// Restores CloudTrail's spelling of its own keys at the top level and in `userIdentity`, so
/// that patterns written against CloudTrail's documented names match lower-cased exports too.
pub fn restore_cloudtrail_keys(record: &mut Value) {
    fn restore(object: &mut serde_json::Map<String, Value>) {
        let renames: Vec<(String, &str)> = object
            .keys()
            .filter_map(|key| {
                CLOUDTRAIL_KEYS
                    .iter()
                    .find(|known| known.eq_ignore_ascii_case(key) && **known != key.as_str())
                    .map(|known| (key.clone(), *known))
            })
            .collect();
        for (from, to) in renames {
            if !object.contains_key(to) {
                if let Some(value) = object.remove(&from) {
                    object.insert(to.to_string(), value);
                }
            }
        }
    }
    if let Some(object) = record.as_object_mut() {
        restore(object);
        if let Some(Value::Object(identity)) = object.get_mut("userIdentity") {
            restore(identity);
            if let Some(Value::Object(session)) = identity.get_mut("sessionContext") {
                restore(session);
                for inner in ["sessionIssuer", "attributes"] {
                    if let Some(Value::Object(inner)) = session.get_mut(inner) {
                        restore(inner);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod lowercased_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lowercased_exports_get_cloudtrail_keys_back() {
        let raw = br#"{"eventname":"CreateIPSet","eventsource":"guardduty.amazonaws.com","useridentity":{"type":"IAMUser","accountid":"1"}}"#;
        assert!(has_lowercased_keys(raw));
        assert!(!has_lowercased_keys(
            br#"{"eventName":"X","note":"eventname"}"#
        ));
        let mut record: Value = serde_json::from_slice(raw).unwrap();
        restore_cloudtrail_keys(&mut record);
        assert_eq!(
            record,
            json!({"eventName":"CreateIPSet","eventSource":"guardduty.amazonaws.com","userIdentity":{"type":"IAMUser","accountId":"1"}})
        );
    }
}
