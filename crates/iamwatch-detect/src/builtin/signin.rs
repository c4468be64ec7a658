//! Console sign-ins and the other sign-in events.

use super::RuleContext;
use crate::eventbridge::FlatEvent;
use crate::{title, Detection};
use iamwatch_core::text::concat;
use iamwatch_core::Localized;
use iamwatch_core::Severity::{self, *};
use iamwatch_normalise::Event;

/// The user name CloudTrail writes for a failed sign-in whose user name is no IAM user.
const HIDDEN_USER_NAME: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

pub fn applies(event: &Event<'_>) -> bool {
    event.event_source == "signin.amazonaws.com"
}

pub fn detect(context: &RuleContext<'_>) -> Option<Detection> {
    let event = context.event;
    if !applies(event) {
        return None;
    }
    if event.api != "ConsoleLogin" {
        return Some(other_sign_in_event(context));
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
        reasons.push(crate::reasons::console_sign_in_failed());
        if root {
            High
        } else {
            Medium
        }
    } else if own_password && mfa_used == Some(false) {
        reasons.push(Localized::new(
            "console sign-in without MFA",
            "MFA 없이 콘솔 로그인",
        ));
        if root {
            Critical
        } else {
            Medium
        }
    } else {
        Low
    };
    let title = if failed && event.identity.user_name == HIDDEN_USER_NAME {
        // What was typed is no IAM user of the account: CloudTrail keeps it out of the log.
        // Many of these are someone guessing user names.
        reasons.push(Localized::new(
            "the user name given is no IAM user of the account",
            "입력한 사용자 이름이 계정의 IAM 사용자가 아님",
        ));
        Localized {
            en: "Failed console sign-in: unknown user name (hidden by CloudTrail)".to_string(),
            ko: "콘솔 로그인 실패: 알 수 없는 사용자 이름 (CloudTrail이 숨김)".to_string(),
        }
    } else if failed {
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

/// Sign-in events other than `ConsoleLogin`: role switches, root password recovery, and the
/// steps of a sign-in (`CredentialChallenge`, `CredentialVerification`, `UserAuthentication`).
/// A step that failed says so: a failed `CredentialVerification` is a wrong password or MFA
/// code, which for root is someone at the account's door.
fn other_sign_in_event(context: &RuleContext<'_>) -> Detection {
    let event = context.event;
    let failed = outcome(context) == Some("Failure") || event.failed();
    let root = event.identity.is_root();
    let (severity, title, reasons) = if failed {
        // A failed call's standard title already says so ("Failed attempt (…)").
        let title = if event.failed() {
            title::standard(context)
        } else {
            title::with_lead(context, "Sign-in step failed", "로그인 단계 실패")
        };
        (
            if root { High } else { Medium },
            title,
            vec![Localized::new("sign-in step failed", "로그인 단계 실패")],
        )
    } else {
        let severity = match event.api {
            "PasswordRecoveryRequested" | "PasswordRecoveryCompleted" => High,
            _ => Low,
        };
        (severity, title::standard(context), Vec::new())
    };
    Detection::new("signin.activity", severity, title, reasons)
}

/// What a sign-in event says of its outcome: `responseElements.<eventName>` (`"SwitchRole":
/// "Success"`), or for the steps of a sign-in, which are service events,
/// `serviceEventDetails.<eventName>`, a member the record's typed read leaves out: read from
/// the raw record as rule patterns read leaves, only for the sign-in events that get here.
fn outcome<'c>(context: &'c RuleContext<'_>) -> Option<&'c str> {
    let event = context.event;
    if let Some(outcome) = context
        .details
        .response
        .get(event.api)
        .and_then(|value| value.as_str())
    {
        return Some(outcome);
    }
    let path = concat(["detail.serviceEventDetails.", event.api]);
    let raw = std::str::from_utf8(event.item.raw).ok()?;
    let leaves = FlatEvent::from_raw_record(raw, &serde_json::Value::Null, [path.as_str()]);
    match leaves.first(&path)?.as_str()? {
        "Failure" => Some("Failure"),
        "Success" => Some("Success"),
        _ => None,
    }
}
