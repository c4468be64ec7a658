//! Turning off the lights: stopping, deleting or narrowing the trail that records everything
//! else.

use super::RuleContext;
use crate::{title, Detection};
use iamwatch_core::Localized;
use iamwatch_core::Severity::*;
use iamwatch_normalise::Event;

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
    let severity = match event.api {
        "StopLogging" | "DeleteTrail" => Critical,
        _ => High,
    };
    let mut reasons = vec![Localized::new(
        "CloudTrail logging changed: later activity may go unrecorded",
        "CloudTrail 로깅 변경: 이후 활동이 기록되지 않을 수 있음",
    )];
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
