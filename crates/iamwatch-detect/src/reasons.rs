//! Reasons the built-in rules give that a later stage reads back from an incident
//! (correlation: `iamwatch-correlate`), written once so that both sides say the same words.
//! Incidents keep them in English (what correlation reads) and in Korean beside.

use iamwatch_core::Localized;

/// A console sign-in that failed (wrong password, wrong MFA code, no such user).
pub const CONSOLE_SIGN_IN_FAILED: &str = "console sign-in failed";

/// A policy attached or written that allows every action on every resource.
pub const GRANTS_ADMINISTRATOR_ACCESS: &str =
    "grants administrator access (Action * on Resource *)";

/// [`CONSOLE_SIGN_IN_FAILED`] as a reason, in each language.
pub fn console_sign_in_failed() -> Localized {
    Localized::new(CONSOLE_SIGN_IN_FAILED, "콘솔 로그인 실패")
}

/// [`GRANTS_ADMINISTRATOR_ACCESS`] as a reason, in each language.
pub fn grants_administrator_access() -> Localized {
    Localized::new(
        GRANTS_ADMINISTRATOR_ACCESS,
        "관리자 권한 부여 (모든 리소스에 대한 모든 작업)",
    )
}

/// A failed call's reason: "the call failed: AccessDenied".
pub fn call_failed(error_code: &str) -> Localized {
    Localized::new(
        format!("the call failed: {error_code}"),
        format!("호출 실패: {error_code}"),
    )
}
