//! `iamwatch posture`: the account's IAM posture, read from the IAM API and judged principal by
//! principal: who holds administrator rights and through what (managed, inline, group
//! policies), users with a console password and no MFA, access keys and passwords unused or
//! not rotated, root keys and MFA, roles another account or anyone may assume; each principal
//! with a risk score.
//!
//! Data flow: [`collect::collect`] (IAM API → [`inventory::Inventory`]) → [`assess::assess`]
//! (→ [`assess::PrincipalReport`]s, riskiest first).

pub mod assess;
pub mod collect;
pub mod inventory;

pub use assess::{assess, count_findings, Finding, PrincipalReport, Thresholds};
pub use collect::{client_from_env, collect, PostureError};
pub use inventory::Inventory;

#[cfg(test)]
mod tests;
