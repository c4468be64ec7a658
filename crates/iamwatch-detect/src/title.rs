//! Incident titles in both languages, built the same way for every rule so they read alike.

use crate::builtin::RuleContext;
use iamwatch_core::Localized;

/// "Delete access key AKIA… (by olivia)" / "액세스 키 삭제: AKIA… (수행자: olivia)".
/// A failed call is titled as an attempt.
pub fn standard(context: &RuleContext<'_>) -> Localized {
    let resource = shown_resource(context);
    let name = context.event.identity.name();
    let actor = if name.is_empty() {
        "unknown"
    } else {
        name.as_ref()
    };
    let (attempt_en, attempt_ko) = if context.event.failed() {
        (
            format!("Failed attempt ({}): ", context.event.error_code),
            format!("실패한 시도({}): ", context.event.error_code),
        )
    } else {
        (String::new(), String::new())
    };
    let show_resource = context.target.kind != "event";
    let en = if show_resource {
        format!("{attempt_en}{}: {resource} (by {actor})", context.label.en)
    } else {
        format!("{attempt_en}{} (by {actor})", context.label.en)
    };
    let ko = if show_resource {
        format!(
            "{attempt_ko}{}: {resource} (수행자: {actor})",
            context.label.ko
        )
    } else {
        format!("{attempt_ko}{} (수행자: {actor})", context.label.ko)
    };
    Localized { en, ko }
}

/// A title with a lead phrase before the standard one ("Root account used — …").
pub fn with_lead(context: &RuleContext<'_>, lead_en: &str, lead_ko: &str) -> Localized {
    let standard = standard(context);
    Localized {
        en: format!("{lead_en} — {}", standard.en),
        ko: format!("{lead_ko} — {}", standard.ko),
    }
}

/// "Failed console sign-in: judy" / "콘솔 로그인 실패: judy": the lead says it all.
pub fn lead_and_target(context: &RuleContext<'_>, lead_en: &str, lead_ko: &str) -> Localized {
    let resource = shown_resource(context);
    Localized {
        en: format!("{lead_en}: {resource}"),
        ko: format!("{lead_ko}: {resource}"),
    }
}

/// The target as a title shows it: the resource part of an ARN (`policy/AdministratorAccess`,
/// `mfa/dave`), and the user, role or group it belongs to in brackets. The full identifier
/// stays in the incident's `resource`.
fn shown_resource(context: &RuleContext<'_>) -> String {
    let target = context.target;
    let id = target.id.as_str();
    let short = if id.starts_with("arn:") {
        id.splitn(6, ':').nth(5).unwrap_or(id)
    } else {
        id
    };
    if target.principal.is_empty() {
        short.to_string()
    } else {
        format!("{short} [{}]", target.principal)
    }
}

/// A rule file's title, then the target and the actor: "Backdoor access key: AKIA… [user/bob] (by alice)".
pub fn rule_title(context: &RuleContext<'_>, title: &Localized) -> Localized {
    let resource = shown_resource(context);
    let name = context.event.identity.name();
    let actor = if name.is_empty() {
        "unknown"
    } else {
        name.as_ref()
    };
    let show_resource = context.target.kind != "event";
    let (en, ko) = if show_resource {
        (
            format!("{}: {resource} (by {actor})", title.en),
            format!("{}: {resource} (수행자: {actor})", title.ko),
        )
    } else {
        (
            format!("{} (by {actor})", title.en),
            format!("{} (수행자: {actor})", title.ko),
        )
    };
    Localized { en, ko }
}
