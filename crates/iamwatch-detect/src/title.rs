//! Incident titles in both languages, built the same way for every rule so they read alike.

use crate::builtin::RuleContext;
use iamwatch_core::text::concat;
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
        let code = context.event.error_code;
        (
            concat(["Failed attempt (", code, "): "]),
            concat(["실패한 시도(", code, "): "]),
        )
    } else {
        (String::new(), String::new())
    };
    let show_resource = context.target.kind != "event";
    let (label_en, label_ko) = (context.label.en.as_str(), context.label.ko.as_str());
    let en = if show_resource {
        concat([&attempt_en, label_en, ": ", &resource, " (by ", actor, ")"])
    } else {
        concat([&attempt_en, label_en, " (by ", actor, ")"])
    };
    let ko = if show_resource {
        concat([
            &attempt_ko,
            label_ko,
            ": ",
            &resource,
            " (수행자: ",
            actor,
            ")",
        ])
    } else {
        concat([&attempt_ko, label_ko, " (수행자: ", actor, ")"])
    };
    Localized { en, ko }
}

/// A title with a lead phrase before the standard one ("Root account used — …").
pub fn with_lead(context: &RuleContext<'_>, lead_en: &str, lead_ko: &str) -> Localized {
    let standard = standard(context);
    Localized {
        en: concat([lead_en, " — ", &standard.en]),
        ko: concat([lead_ko, " — ", &standard.ko]),
    }
}

/// "Failed console sign-in: judy" / "콘솔 로그인 실패: judy": the lead says it all.
pub fn lead_and_target(context: &RuleContext<'_>, lead_en: &str, lead_ko: &str) -> Localized {
    let resource = shown_resource(context);
    Localized {
        en: concat([lead_en, ": ", &resource]),
        ko: concat([lead_ko, ": ", &resource]),
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
        concat([short, " [", &target.principal, "]"])
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
            concat([&title.en, ": ", &resource, " (by ", actor, ")"]),
            concat([&title.ko, ": ", &resource, " (수행자: ", actor, ")"]),
        )
    } else {
        (
            concat([&title.en, " (by ", actor, ")"]),
            concat([&title.ko, " (수행자: ", actor, ")"]),
        )
    };
    Localized { en, ko }
}
