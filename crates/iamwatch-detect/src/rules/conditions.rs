//! Compiled extra conditions.

mod text;

use super::file::{ConditionSpec, GrantLevel};
use super::shape::lookup;
use crate::eventbridge::{EventPattern, PatternError};
use crate::policy::{document_grant, managed_policy_grant, trust_exposure, Grant};
use serde_json::Value;
pub use text::{TextSearch, ValueRegex};

#[derive(Clone, Debug)]
pub enum Condition {
    FieldsDiffer(String, String),
    FieldsEqual(String, String),
    AccountDiffers {
        arn: String,
        account: String,
    },
    PolicyGrants {
        path: String,
        at_least: GrantLevel,
    },
    TrustAllowsExternal {
        path: String,
    },
    ResourcePolicyPublic(Vec<String>),
    ResourceInOtherAccount,
    Not(EventPattern),
    Matches {
        path: String,
        regex: ValueRegex,
    },
    TextContains {
        path: String,
        search: TextSearch,
    },
    /// The inner condition does not hold.
    Unless(Box<Condition>),
    /// Every inner condition holds.
    AllOf(Vec<Condition>),
    /// One inner condition holds, at least.
    AnyOf(Vec<Condition>),
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
        if let Some(matches) = &spec.matches {
            compiled.push(Self::Matches {
                path: matches.path.clone(),
                regex: ValueRegex::new(&matches.regex)
                    .map_err(|why| PatternError::new("$.matches.regex", why))?,
            });
        }
        if let Some(contains) = &spec.text_contains {
            compiled.push(Self::TextContains {
                path: contains.path.clone(),
                search: TextSearch::new(&contains.values, contains.all)
                    .map_err(|why| PatternError::new("$.text_contains", why))?,
            });
        }
        if let Some(inner) = &spec.unless {
            let inner = Self::compile(inner).map_err(|error| {
                PatternError::new(&format!("$.unless{}", &error.path[1..]), error.reason)
            })?;
            compiled.push(Self::Unless(Box::new(inner)));
        }
        for (key, specs, all) in [
            ("all_of", &spec.all_of, true),
            ("any_of", &spec.any_of, false),
        ] {
            let Some(specs) = specs else { continue };
            if specs.is_empty() {
                return Err(PatternError::new(&format!("$.{key}"), "empty"));
            }
            let inner = specs
                .iter()
                .enumerate()
                .map(|(index, spec)| {
                    Self::compile(spec).map_err(|error| {
                        PatternError::new(
                            &format!("$.{key}[{index}]{}", &error.path[1..]),
                            error.reason,
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            compiled.push(if all {
                Self::AllOf(inner)
            } else {
                Self::AnyOf(inner)
            });
        }
        match (compiled.pop(), compiled.is_empty()) {
            (Some(condition), true) => Ok(condition),
            _ => Err(PatternError::new(
                "$",
                "a condition takes exactly one of fields_differ, fields_equal, account_differs, policy_grants, trust_allows_external, resource_policy_public, not, matches, text_contains, unless, all_of, any_of",
            )),
        }
    }

    /// Whether checking needs the whole event (every kind but an exclusion pattern, which the
    /// extracted leaves answer).
    pub fn needs_whole_event(&self) -> bool {
        match self {
            Self::Not(_) => false,
            Self::Unless(inner) => inner.needs_whole_event(),
            Self::AllOf(inner) | Self::AnyOf(inner) => inner.iter().any(Self::needs_whole_event),
            _ => true,
        }
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
            (Self::Unless(inner), _) => !inner.holds_on(whole, flat),
            (Self::AllOf(inner), _) => inner.iter().all(|each| each.holds_on(whole, flat)),
            (Self::AnyOf(inner), _) => inner.iter().any(|each| each.holds_on(whole, flat)),
            (_, Some(event)) => self.holds(event),
            (_, None) => self.holds_on_leaves(flat).unwrap_or(false),
        }
    }

    /// The paths the kinds that read plain values read, for the leaves to be extracted at;
    /// the other kinds read objects and none.
    pub fn leaf_paths(&self) -> [Option<&str>; 2] {
        match self {
            Self::FieldsDiffer(first, second) | Self::FieldsEqual(first, second) => {
                [Some(first), Some(second)]
            }
            Self::AccountDiffers { arn, account } => [Some(arn), Some(account)],
            Self::PolicyGrants { path, .. } | Self::Matches { path, .. } => [Some(path), None],
            Self::Unless(inner) => inner.leaf_paths(),
            Self::TrustAllowsExternal { path } => [Some(path), Some("account")],
            Self::ResourcePolicyPublic(_)
            | Self::ResourceInOtherAccount
            | Self::Not(_)
            | Self::TextContains { .. }
            | Self::AllOf(_)
            | Self::AnyOf(_) => [None, None],
        }
    }

    /// Every path whose leaves the condition reads, nested conditions' included.
    pub fn paths_read_as_leaves(&self) -> Vec<&str> {
        match self {
            Self::Unless(inner) => inner.paths_read_as_leaves(),
            Self::AllOf(inner) | Self::AnyOf(inner) => {
                inner.iter().flat_map(Self::paths_read_as_leaves).collect()
            }
            other => other.leaf_paths().into_iter().flatten().collect(),
        }
    }

    /// A condition answered from the leaves at its [`leaf_paths`](Self::leaf_paths) alone,
    /// when they tell what the whole event holds there (see
    /// [`FlatEvent::scalar_at`](crate::eventbridge::FlatEvent::scalar_at)); `None` when only
    /// the whole event can tell, and for the kinds that read objects. Cross-account role
    /// assumption, a user acting on another, and a policy document or trust policy given as
    /// text are answered this way without parsing the record whole.
    pub fn holds_on_leaves(&self, flat: &crate::eventbridge::FlatEvent<'_, '_>) -> Option<bool> {
        match self {
            Self::Unless(inner) => return inner.decided_on_leaves(flat).map(|holds| !holds),
            // One answer that decides (a false for all, a true for any) is enough; else every
            // one is needed.
            Self::AllOf(inner) | Self::AnyOf(inner) => {
                let deciding = matches!(self, Self::AnyOf(_));
                let mut undecided = false;
                for each in inner {
                    match each.decided_on_leaves(flat) {
                        Some(answer) if answer == deciding => return Some(deciding),
                        Some(_) => {}
                        None => undecided = true,
                    }
                }
                return (!undecided).then_some(!deciding);
            }
            _ => {}
        }
        let [first, second] = self.leaf_paths();
        let first = first?;
        let values = [
            flat.scalar_at(first)?,
            match second {
                Some(path) => flat.scalar_at(path)?,
                None => None,
            },
        ];
        match (self, values) {
            // No scalar at the first field may be an object there, which differs from the
            // second field where a missing one does not.
            (Self::FieldsDiffer(..), [None, _]) => return None,
            // Neither a scalar: two objects may be equal.
            (Self::FieldsEqual(..), [None, None]) => return None,
            _ => {}
        }
        // The other kinds read text: what is no scalar is no text either.
        Some(self.holds_with(|path| {
            if path == first {
                values[0]
            } else if Some(path) == second {
                values[1]
            } else {
                None
            }
        }))
    }

    /// The answer from the leaves: an exclusion pattern always has one; the other kinds
    /// when [`holds_on_leaves`](Self::holds_on_leaves) gives one.
    fn decided_on_leaves(&self, flat: &crate::eventbridge::FlatEvent<'_, '_>) -> Option<bool> {
        match self {
            Self::Not(pattern) => Some(!pattern.matches_flattened(flat)),
            other => other.holds_on_leaves(flat),
        }
    }

    /// Every pattern the condition reads, nested ones included: their paths are extracted.
    pub fn patterns_read(&self) -> Vec<&EventPattern> {
        match self {
            Self::Not(pattern) => vec![pattern],
            Self::Unless(inner) => inner.patterns_read(),
            Self::AllOf(inner) | Self::AnyOf(inner) => {
                inner.iter().flat_map(Self::patterns_read).collect()
            }
            _ => Vec::new(),
        }
    }

    /// Every event path the condition reads: its patterns' and those it reads as leaves.
    pub fn paths(&self) -> Vec<&str> {
        let mut paths: Vec<&str> = self
            .patterns_read()
            .into_iter()
            .flat_map(EventPattern::paths)
            .collect();
        paths.extend(self.paths_read_as_leaves());
        paths
    }

    /// The pattern an exclusion condition matches, if it is one.
    pub fn pattern(&self) -> Option<&EventPattern> {
        match self {
            Self::Not(pattern) => Some(pattern),
            _ => None,
        }
    }

    pub fn holds(&self, event: &Value) -> bool {
        match self {
            Self::Not(pattern) => !pattern.matches(event),
            Self::Unless(inner) => !inner.holds(event),
            Self::AllOf(inner) => inner.iter().all(|each| each.holds(event)),
            Self::AnyOf(inner) => inner.iter().any(|each| each.holds(event)),
            _ => self.holds_with(|path| lookup(event, path)),
        }
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
            Self::Matches { path, regex } => {
                value_at(path).is_some_and(|value| regex.matches(value))
            }
            Self::TextContains { path, search } => {
                value_at(path).is_some_and(|value| search.found_in(value))
            }
            // Answered by the callers, which hold the event or its leaves (`holds`,
            // `holds_on_leaves` and `holds_on` answer `unless` before coming here).
            Self::Not(_) | Self::Unless(_) | Self::AllOf(_) | Self::AnyOf(_) => false,
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
mod tests;
