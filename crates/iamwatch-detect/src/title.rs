//! Incident titles in both languages, built the same way for every rule so they read alike.

use crate::builtin::RuleContext;
use iamwatch_core::text::concat;
use iamwatch_core::Localized;

/// "Delete access key AKIA… (by olivia)" / "액세스 키 삭제: AKIA… (수행자: olivia)".
/// A failed call is titled as an attempt.
pub fn standard(context: &RuleContext<'_>) -> Localized {
    let (attempt_en, attempt_ko) = attempt(context);
    let label = context.label;
    titled(context, (attempt_en, &label.en), (attempt_ko, &label.ko))
}

/// "Failed attempt (AccessDenied): " in each language, as pieces; empty for a call that did
/// not fail.
fn attempt<'a>(context: &RuleContext<'a>) -> ([&'a str; 3], [&'a str; 3]) {
    let code = context.event.error_code;
    if context.event.failed() {
        (
            ["Failed attempt (", code, "): "],
            ["실패한 시도(", code, "): "],
        )
    } else {
        (["", "", ""], ["", "", ""])
    }
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
/// A failed call is titled as an attempt ("Failed attempt (AccessDenied): Database deleted: …"),
/// unless the rule is about the failure itself (`about_the_error`: "Unauthorised API call").
pub fn rule_title(
    context: &RuleContext<'_>,
    title: &Localized,
    about_the_error: bool,
) -> Localized {
    let (attempt_en, attempt_ko) = if about_the_error {
        (["", "", ""], ["", "", ""])
    } else {
        attempt(context)
    };
    titled(context, (attempt_en, &title.en), (attempt_ko, &title.ko))
}

/// `{attempt}{head}: {resource} (by {actor})` in each language, each given as its attempt's
/// pieces (empty when none) and its head; without the resource when the target is the event
/// itself or the actor. One allocation per language.
fn titled(
    context: &RuleContext<'_>,
    (attempt_en, head_en): ([&str; 3], &str),
    (attempt_ko, head_ko): ([&str; 3], &str),
) -> Localized {
    let name = context.event.identity.name();
    let actor = if name.is_empty() {
        "unknown"
    } else {
        name.as_ref()
    };
    let resource = shown_resource(context);
    // A call on the caller itself (ChangePassword, GetCallerIdentity, a sign-in) names it once,
    // as the actor: "Change own password (by alice)".
    let (separator, resource) = if context.target.kind == "event" || resource == actor {
        ("", "")
    } else {
        (": ", resource.as_str())
    };
    let [open_en, code_en, close_en] = attempt_en;
    let [open_ko, code_ko, close_ko] = attempt_ko;
    Localized {
        en: concat([
            open_en, code_en, close_en, head_en, separator, resource, " (by ", actor, ")",
        ]),
        ko: concat([
            open_ko,
            code_ko,
            close_ko,
            head_ko,
            separator,
            resource,
            " (수행자: ",
            actor,
            ")",
        ]),
    }
}
