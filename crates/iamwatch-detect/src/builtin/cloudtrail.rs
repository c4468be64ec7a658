//! Turning off the lights: stopping, deleting or narrowing the trail that records everything
//! else.

use super::RuleContext;
use crate::{title, Detection};
use iamwatch_core::Localized;
use iamwatch_core::Severity::*;
use iamwatch_normalise::Event;
use serde_json::Value;

pub fn applies(event: &Event<'_>) -> bool {
    event.event_source == "cloudtrail.amazonaws.com"
        && matches!(
            event.api,
            "StopLogging"
                | "DeleteTrail"
                | "UpdateTrail"
                | "PutEventSelectors"
                | "PutAdvancedEventSelectors"
        )
}

pub fn detect(context: &RuleContext<'_>) -> Option<Detection> {
    let event = context.event;
    if !applies(event) {
        return None;
    }
    let whole =
        event.api == "PutEventSelectors" && keeps_management_events_whole(&context.details.request);
    let severity = match event.api {
        "StopLogging" | "DeleteTrail" => Critical,
        // What a Terraform apply of a full trail sends: a change, not a blindfold.
        _ if whole => Medium,
        _ => High,
    };
    let mut reasons = vec![if whole {
        Localized::new(
            "CloudTrail event selectors set: every management event is still recorded (data events may have changed)",
            "CloudTrail 이벤트 선택기 설정: 모든 관리 이벤트는 계속 기록됨 (데이터 이벤트는 바뀌었을 수 있음)",
        )
    } else {
        Localized::new(
            "CloudTrail logging changed: later activity may go unrecorded",
            "CloudTrail 로깅 변경: 이후 활동이 기록되지 않을 수 있음",
        )
    }];
    if event.failed() {
        reasons.push(crate::reasons::call_failed(event.error_code));
    }
    Some(Detection::new(
        "cloudtrail.logging_tampered",
        severity,
        title::standard(context),
        reasons,
    ))
}

/// Whether `PutEventSelectors`' request keeps recording every management event: a selector
/// including them, reads and writes alike, none excluded (KMS or RDS Data API events are left
/// out by `excludeManagementEventSources`).
fn keeps_management_events_whole(request: &Value) -> bool {
    let Some(selectors) = request.get("eventSelectors").and_then(Value::as_array) else {
        return false;
    };
    selectors.iter().any(|selector| {
        selector.get("includeManagementEvents") == Some(&Value::Bool(true))
            && selector
                .get("readWriteType")
                .is_none_or(|kind| kind.as_str() == Some("All"))
            && selector
                .get("excludeManagementEventSources")
                .and_then(Value::as_array)
                .is_none_or(Vec::is_empty)
    })
}
