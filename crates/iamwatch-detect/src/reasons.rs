//! Reasons the built-in rules give that a later stage reads back from an incident
//! (correlation: `iamwatch-correlate`), written once so that both sides say the same words.

/// A console sign-in that failed (wrong password, wrong MFA code, no such user).
pub const CONSOLE_SIGN_IN_FAILED: &str = "console sign-in failed";

/// A policy attached or written that allows every action on every resource.
pub const GRANTS_ADMINISTRATOR_ACCESS: &str =
    "grants administrator access (Action * on Resource *)";
