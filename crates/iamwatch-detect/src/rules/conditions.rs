//! Compiled extra conditions.

use super::file::{ConditionSpec, GrantLevel};
use super::shape::lookup;
use crate::eventbridge::{EventPattern, PatternError};
use crate::policy::{document_grant, managed_policy_grant, trust_exposure, Grant};
use serde_json::Value;

#[derive(Clone, Debug)]
pub enum Condition {
    FieldsDiffer(String, String),
    FieldsEqual(String, String),
    AccountDiffers { arn: String, account: String },
    PolicyGrants { path: String, at_least: GrantLevel },
    TrustAllowsExternal { path: String },
    Not(EventPattern),
}

impl Condition {
    pub fn compile(spec: &ConditionSpec) -> Result<Self, PatternError> {
        let mut compiled = Vec::new();
        if let Some([first, second]) = &spec.fields_differ {
            compiled.push(Self::FieldsDiffer(first.clone(), second.clone()));
        }
        if let Some([first, second]) = &spec.fields_equal {
            compiled.push(Self::FieldsEqual(first.clone(), second.clone()));
        }
        if let Some(differs) = &spec.account_differs {
            compiled.push(Self::AccountDiffers { arn: differs.arn.clone(), account: differs.account.clone() });
        }
        if let Some(grants) = &spec.policy_grants {
            compiled.push(Self::PolicyGrants { path: grants.path.clone(), at_least: grants.at_least });
        }
        if let Some(path) = &spec.trust_allows_external {
            compiled.push(Self::TrustAllowsExternal { path: path.clone() });
        }
        if let Some(pattern) = &spec.not {
            compiled.push(Self::Not(EventPattern::from_value(pattern)?));
        }
        match (compiled.pop(), compiled.is_empty()) {
            (Some(condition), true) => Ok(condition),
            _ => Err(PatternError::new(
                "$",
                "a condition takes exactly one of fields_differ, fields_equal, account_differs, policy_grants, trust_allows_external, not",
            )),
        }
    }

    pub fn holds(&self, event: &Value) -> bool {
        let text = |path: &str| lookup(event, path).and_then(Value::as_str);
        match self {
            // The second field missing counts as different: a role (which has no userName)
            // creating a key for a user is acting on another identity.
            Self::FieldsDiffer(first, second) => {
                match (lookup(event, first), lookup(event, second)) {
                    (Some(left), right) => !left.is_null() && right != Some(left),
                    (None, _) => false,
                }
            }
            Self::FieldsEqual(first, second) => match (lookup(event, first), lookup(event, second))
            {
                (Some(left), Some(right)) => left == right,
                _ => false,
            },
            Self::AccountDiffers { arn, account } => match (text(arn), text(account)) {
                (Some(arn), Some(account)) => {
                    let arn_account = arn.split(':').nth(4).unwrap_or("");
                    !arn_account.is_empty() && arn_account != account
                }
                _ => false,
            },
            Self::PolicyGrants { path, at_least } => {
                let Some(policy) = text(path) else {
                    return false;
                };
                let grant = if policy.starts_with("arn:") {
                    managed_policy_grant(policy)
                } else {
                    document_grant(policy)
                };
                match (grant, at_least) {
                    (Grant::Admin, _) => true,
                    (Grant::Broad(_), GrantLevel::Broad) => true,
                    _ => false,
                }
            }
            Self::TrustAllowsExternal { path } => {
                let account = text("account").unwrap_or("");
                text(path).is_some_and(|document| trust_exposure(document, account).is_some())
            }
            Self::Not(pattern) => !pattern.matches(event),
        }
    }
}
