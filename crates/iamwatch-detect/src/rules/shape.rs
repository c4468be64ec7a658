//! A CloudTrail record as the EventBridge event that carries it. Rule patterns are written
//! against this shape, as users write them for EventBridge.

use serde_json::{json, Value};

/// Wraps a CloudTrail record; an EventBridge event (it has `detail`) is returned unchanged.
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
    json!({
        "version": "0",
        "id": text("eventID"),
        "detail-type": detail_type,
        "source": source,
        "account": account,
        "time": text("eventTime"),
        "region": text("awsRegion"),
        "resources": [],
        "detail": record,
    })
}

/// The value at a dot-joined path (`detail.requestParameters.userName`).
pub fn lookup<'v>(event: &'v Value, path: &str) -> Option<&'v Value> {
    path.split('.').try_fold(event, |value, key| value.get(key))
}

#[cfg(test)]
mod tests {
    use super::*;

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
