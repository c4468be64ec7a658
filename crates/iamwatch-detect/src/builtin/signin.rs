//! Console sign-ins and the other sign-in events.

use super::RuleContext;
use crate::{title, Detection};
use iamwatch_core::Severity::{self, *};
use iamwatch_normalise::Event;

pub fn applies(event: &Event<'_>) -> bool {
    event.event_source == "signin.amazonaws.com"
}

pub fn detect(context: &RuleContext<'_>) -> Option<Detection> {
    let event = context.event;
    if !applies(event) {
        return None;
    }
    if event.api != "ConsoleLogin" {
        let severity = match event.api {
            "PasswordRecoveryRequested" | "PasswordRecoveryCompleted" => High,
            _ => Low,
        };
        return Some(Detection::new(
            "signin.activity",
            severity,
            title::standard(context),
            Vec::new(),
        ));
    }
    let details = context.details;
    let outcome = details
        .response
        .get("ConsoleLogin")
        .and_then(|value| value.as_str())
        .unwrap_or("");
    let failed = outcome == "Failure" || event.failed() || !event.error_message.is_empty();
    let mfa_used = details
        .additional
        .get("MFAUsed")
        .and_then(|value| value.as_str())
        .map(|used| used == "Yes");
    let root = event.identity.is_root();
    // Federated and SSO sessions do MFA at their identity provider; CloudTrail says "No" for them.
    let own_password = root || event.identity.identity_type == "IAMUser";
    let mut reasons = Vec::new();
    let severity: Severity = if failed {
        reasons.push("console sign-in failed".to_string());
        if root {
            High
        } else {
            Medium
        }
    } else if own_password && mfa_used == Some(false) {
        reasons.push("console sign-in without MFA".to_string());
        if root {
            Critical
        } else {
            Medium
        }
    } else {
        Low
    };
    let title = if failed {
        title::lead_and_target(context, "Failed console sign-in", "콘솔 로그인 실패")
    } else if own_password && mfa_used == Some(false) {
        title::lead_and_target(
            context,
            "Console sign-in without MFA",
            "MFA 없이 콘솔 로그인",
        )
    } else {
        title::lead_and_target(context, "Console sign-in", "콘솔 로그인")
    };
    Some(Detection::new(
        "signin.console_login",
        severity,
        title,
        reasons,
    ))
}
