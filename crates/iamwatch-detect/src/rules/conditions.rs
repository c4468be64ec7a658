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
    ResourcePolicyPublic(Vec<String>),
    ResourceInOtherAccount,
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
        if spec.resource_in_other_account == Some(true) {
            compiled.push(Self::ResourceInOtherAccount);
        }
        if let Some(differs) = &spec.account_differs {
            compiled.push(Self::AccountDiffers {
                arn: differs.arn.clone(),
                account: differs.account.clone(),
            });
        }
        if let Some(grants) = &spec.policy_grants {
            compiled.push(Self::PolicyGrants {
                path: grants.path.clone(),
                at_least: grants.at_least,
            });
        }
        if let Some(path) = &spec.trust_allows_external {
            compiled.push(Self::TrustAllowsExternal { path: path.clone() });
        }
        if let Some(paths) = &spec.resource_policy_public {
            compiled.push(Self::ResourcePolicyPublic(paths.clone()));
        }
        if let Some(pattern) = &spec.not {
            compiled.push(Self::Not(EventPattern::from_value(pattern)?));
        }
        match (compiled.pop(), compiled.is_empty()) {
            (Some(condition), true) => Ok(condition),
            _ => Err(PatternError::new(
                "$",
                "a condition takes exactly one of fields_differ, fields_equal, account_differs, policy_grants, trust_allows_external, resource_policy_public, not",
            )),
        }
    }

    /// Whether checking needs the whole event (every kind but an exclusion pattern, which the
    /// extracted leaves answer).
    pub fn needs_whole_event(&self) -> bool {
        !matches!(self, Self::Not(_))
    }

    /// Checks the condition on extracted leaves, with the whole event when there is one.
    /// Without it, exclusion patterns and comparisons of plain values the leaves hold are
    /// answered; callers parse the event whole for a rule that
    /// [`needs_whole_event`](Self::needs_whole_event) unless [`holds_on_leaves`](Self::holds_on_leaves)
    /// answers.
    pub fn holds_on(
        &self,
        whole: Option<&Value>,
        flat: &crate::eventbridge::FlatEvent<'_, '_>,
    ) -> bool {
        match (self, whole) {
            (Self::Not(pattern), _) => !pattern.matches_flattened(flat),
            (_, Some(event)) => self.holds(event),
            (_, None) => self.holds_on_leaves(flat).unwrap_or(false),
        }
    }

    /// The paths a comparison reads, for the kinds that compare two plain values.
    pub fn compared_paths(&self) -> Option<[&str; 2]> {
        match self {
            Self::FieldsDiffer(first, second) | Self::FieldsEqual(first, second) => {
                Some([first, second])
            }
            Self::AccountDiffers { arn, account } => Some([arn, account]),
            _ => None,
        }
    }

    /// A comparison answered from the leaves alone: only when each value it reads is there as
    /// one scalar outside any array, which is then exactly what the whole event holds at that
    /// path. `None` when only the whole event can tell (a value missing, repeated, or an
    /// object), and for the other kinds. Cross-account role assumption, the most common
    /// condition by far, is answered this way without parsing the record whole.
    pub fn holds_on_leaves(&self, flat: &crate::eventbridge::FlatEvent<'_, '_>) -> Option<bool> {
        let [first, second] = self.compared_paths()?;
        let values = [flat.single_scalar(first)?, flat.single_scalar(second)?];
        Some(self.holds_with(|path| {
            if path == first {
                Some(values[0])
            } else if path == second {
                Some(values[1])
            } else {
                None
            }
        }))
    }

    /// The pattern an exclusion condition matches, if it is one.
    pub fn pattern(&self) -> Option<&EventPattern> {
        match self {
            Self::Not(pattern) => Some(pattern),
            _ => None,
        }
    }

    pub fn holds(&self, event: &Value) -> bool {
        if let Self::Not(pattern) = self {
            return !pattern.matches(event);
        }
        self.holds_with(|path| lookup(event, path))
    }

    /// The check itself, reading values through `value_at`.
    fn holds_with<'v>(&self, value_at: impl Fn(&str) -> Option<&'v Value>) -> bool {
        let text = |path: &str| value_at(path).and_then(Value::as_str);
        match self {
            // The second field missing counts as different: a role (which has no userName)
            // creating a key for a user is acting on another identity.
            Self::FieldsDiffer(first, second) => match (value_at(first), value_at(second)) {
                (Some(left), right) => !left.is_null() && right != Some(left),
                (None, _) => false,
            },
            Self::FieldsEqual(first, second) => match (value_at(first), value_at(second)) {
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
                matches!(
                    (grant, at_least),
                    (Grant::Admin, _) | (Grant::Broad(_), GrantLevel::Broad)
                )
            }
            Self::TrustAllowsExternal { path } => {
                let account = text("account").unwrap_or("");
                text(path).is_some_and(|document| trust_exposure(document, account).is_some())
            }
            Self::ResourcePolicyPublic(paths) => paths
                .iter()
                .filter_map(|path| value_at(path))
                .any(policy_is_public),
            Self::ResourceInOtherAccount => {
                let caller = text("detail.userIdentity.accountId")
                    .filter(|account| !account.is_empty())
                    .or_else(|| text("detail.recipientAccountId"));
                let Some(caller) = caller.filter(|account| !account.is_empty()) else {
                    return false;
                };
                value_at("detail.resources")
                    .and_then(Value::as_array)
                    .is_some_and(|resources| {
                        resources.iter().any(|resource| {
                            resource
                                .get("accountId")
                                .and_then(Value::as_str)
                                .is_some_and(|account| !account.is_empty() && account != caller)
                        })
                    })
            }
            // Answered by the callers, which hold the event or its leaves.
            Self::Not(_) => false,
        }
    }
}

/// Allow with `Principal: "*"` (or `{"AWS": "*"}`) and no `Condition`: public. Policies arrive
/// as JSON text or, in some services' events, as objects.
fn policy_is_public(policy: &Value) -> bool {
    let parsed;
    let document = match policy {
        Value::String(text) => match serde_json::from_str::<Value>(text) {
            Ok(value) => {
                parsed = value;
                &parsed
            }
            Err(_) => return false,
        },
        other => other,
    };
    let statements = match document.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect::<Vec<_>>(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => return false,
    };
    statements.into_iter().any(|statement| {
        let allows = statement.get("Effect").and_then(Value::as_str) == Some("Allow");
        let wildcard = |value: &Value| match value {
            Value::String(text) => text == "*",
            Value::Array(items) => items.iter().any(|item| item == "*"),
            _ => false,
        };
        let anyone = match statement.get("Principal") {
            Some(Value::Object(members)) => members.get("AWS").is_some_and(wildcard),
            Some(other) => wildcard(other),
            None => false,
        };
        allows && anyone && statement.get("Condition").is_none()
    })
}

#[cfg(test)]
mod tests {
    use super::policy_is_public;
    use serde_json::json;

    #[test]
    fn wildcard_principals_without_conditions_are_public() {
        assert!(policy_is_public(
            &json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt"}]})
        ));
        assert!(policy_is_public(&json!("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"*\"]},\"Action\":\"sqs:*\"}}")));
        assert!(!policy_is_public(
            &json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]})
        ));
        assert!(!policy_is_public(
            &json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:*"}]})
        ));
        assert!(!policy_is_public(
            &json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*"}]})
        ));
    }
}
