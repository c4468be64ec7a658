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
        match (compiled.pop(), compiled.is_empty()) {
            (Some(condition), true) => Ok(condition),
            _ => Err(PatternError::new(
                "$",
                "a condition takes exactly one of fields_differ, fields_equal, account_differs, policy_grants, trust_allows_external, resource_policy_public, not, matches, text_contains, unless",
            )),
        }
    }

    /// Whether checking needs the whole event (every kind but an exclusion pattern, which the
    /// extracted leaves answer).
    pub fn needs_whole_event(&self) -> bool {
        match self {
            Self::Not(_) => false,
            Self::Unless(inner) => inner.needs_whole_event(),
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
            | Self::TextContains { .. } => [None, None],
        }
    }

    /// A condition answered from the leaves at its [`leaf_paths`](Self::leaf_paths) alone,
    /// when they tell what the whole event holds there (see
    /// [`FlatEvent::scalar_at`](crate::eventbridge::FlatEvent::scalar_at)); `None` when only
    /// the whole event can tell, and for the kinds that read objects. Cross-account role
    /// assumption, a user acting on another, and a policy document or trust policy given as
    /// text are answered this way without parsing the record whole.
    pub fn holds_on_leaves(&self, flat: &crate::eventbridge::FlatEvent<'_, '_>) -> Option<bool> {
        if let Self::Unless(inner) = self {
            return inner.holds_on_leaves(flat).map(|holds| !holds);
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

    /// Every pattern the condition reads, nested ones included: their paths are extracted.
    pub fn patterns_read(&self) -> Option<&EventPattern> {
        match self {
            Self::Not(pattern) => Some(pattern),
            Self::Unless(inner) => inner.patterns_read(),
            _ => None,
        }
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
            Self::Not(_) | Self::Unless(_) => false,
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
    use super::{policy_is_public, Condition};
    use crate::eventbridge::FlatEvent;
    use crate::rules::file::GrantLevel;
    use crate::rules::shape::eventbridge_event;
    use serde_json::{json, Value};

    /// The condition's answer from the leaves of `record` (read from its text, as a scan
    /// does), checked against its answer on the whole event whenever the leaves give one.
    fn on_leaves(condition: &Condition, record: Value) -> Option<bool> {
        let shaped = eventbridge_event(record.clone());
        let paths: Vec<&str> = condition.leaf_paths().into_iter().flatten().collect();
        let flat = FlatEvent::from_raw_record(&record.to_string(), &shaped, paths);
        let answer = condition.holds_on_leaves(&flat);
        if let Some(answer) = answer {
            assert_eq!(
                answer,
                condition.holds(&shaped),
                "{condition:?} on {record}"
            );
        }
        answer
    }

    #[test]
    fn leaves_answer_what_they_can_tell_and_leave_the_rest_to_the_whole_event() {
        let differ = Condition::FieldsDiffer(
            "detail.requestParameters.userName".into(),
            "detail.userIdentity.userName".into(),
        );
        let by = |identity: Value, request: Value| {
            json!({"eventSource": "iam.amazonaws.com", "eventName": "CreateLoginProfile",
                   "userIdentity": identity, "requestParameters": request})
        };
        let role = json!({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/r/s"});
        // A role has no userName: acting on a user is acting on another identity.
        assert_eq!(
            on_leaves(&differ, by(role.clone(), json!({"userName": "alice"}))),
            Some(true)
        );
        assert_eq!(
            on_leaves(
                &differ,
                by(json!({"userName": "alice"}), json!({"userName": "alice"}))
            ),
            Some(false)
        );
        // An object where the first field is, or values in an array: only the whole event tells.
        assert_eq!(
            on_leaves(&differ, by(role.clone(), json!({"userName": {"n": 1}}))),
            None
        );
        assert_eq!(
            on_leaves(&differ, by(role.clone(), json!({"userName": ["a"]}))),
            None
        );
        let equal = Condition::FieldsEqual(
            "detail.requestParameters.userName".into(),
            "detail.userIdentity.userName".into(),
        );
        assert_eq!(
            on_leaves(&equal, by(role.clone(), json!({"userName": "alice"}))),
            Some(false)
        );
        assert_eq!(
            on_leaves(&equal, by(json!({"userName": {}}), json!({"userName": {}}))),
            None
        );

        let grants = Condition::PolicyGrants {
            path: "detail.requestParameters.policyDocument".into(),
            at_least: GrantLevel::Admin,
        };
        let document = |text: Value| by(role.clone(), json!({"policyDocument": text}));
        let admin = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
        let narrow = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
        assert_eq!(on_leaves(&grants, document(json!(admin))), Some(true));
        assert_eq!(on_leaves(&grants, document(json!(narrow))), Some(false));
        assert_eq!(on_leaves(&grants, by(role.clone(), json!({}))), Some(false));

        let trust = Condition::TrustAllowsExternal {
            path: "detail.requestParameters.policyDocument".into(),
        };
        let trusting = |account: &str| {
            let mut record = document(json!(format!(
                r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
            )));
            record["recipientAccountId"] = json!("111122223333");
            record
        };
        assert_eq!(on_leaves(&trust, trusting("999988887777")), Some(true));
        assert_eq!(on_leaves(&trust, trusting("111122223333")), Some(false));

        // Objects are read whole.
        assert_eq!(
            on_leaves(&Condition::ResourceInOtherAccount, by(role, json!({}))),
            None
        );
    }

    #[test]
    fn rule_files_say_regular_expressions_searches_and_negations_of_conditions() {
        let text = r#"
id: x.role_policy_by_ci
title: {en: X, ko: 엑스}
description: {en: X, ko: 엑스}
severity: HIGH
pattern: {detail: {eventName: [PutRolePolicy]}}
conditions:
  - matches: {path: detail.userIdentity.arn, regex: ':assumed-role/ci-[0-9]+/'}
  - text_contains: {path: detail.requestParameters, values: ['"iam:PassRole"', '"Resource":"*"'], all: true}
  - unless: {matches: {path: detail.requestParameters.roleName, regex: '^sandbox-'}}
tests:
  - {name: wide, match: true, event: {eventName: PutRolePolicy, userIdentity: {arn: "arn:aws:sts::1:assumed-role/ci-42/job"}, requestParameters: {roleName: app, policyDocument: '{"Action":"iam:PassRole","Resource":"*"}'}}}
  - {name: sandbox, match: false, event: {eventName: PutRolePolicy, userIdentity: {arn: "arn:aws:sts::1:assumed-role/ci-42/job"}, requestParameters: {roleName: sandbox-1, policyDocument: '{"Action":"iam:PassRole","Resource":"*"}'}}}
  - {name: narrow, match: false, event: {eventName: PutRolePolicy, userIdentity: {arn: "arn:aws:sts::1:assumed-role/ci-42/job"}, requestParameters: {roleName: app, policyDocument: '{"Action":"iam:PassRole","Resource":"arn:aws:iam::1:role/app"}'}}}
  - {name: a person, match: false, event: {eventName: PutRolePolicy, userIdentity: {arn: "arn:aws:sts::1:assumed-role/admin/alice"}, requestParameters: {roleName: app, policyDocument: '{"Action":"iam:PassRole","Resource":"*"}'}}}
"#;
        let rules = crate::rules::set::parse_file(text, "ci.yml").unwrap();
        let failures = rules[0].run_tests();
        assert!(failures.is_empty(), "{failures:?}");

        // Answered from the leaves as on the whole event (`on_leaves` compares both).
        let compile = |spec: Value| Condition::compile(&serde_json::from_value(spec).unwrap());
        let record =
            |arn: &str| json!({"eventName": "PutRolePolicy", "userIdentity": {"arn": arn}});
        let by_ci = compile(
            json!({"matches": {"path": "detail.userIdentity.arn", "regex": "assumed-role/ci-"}}),
        )
        .unwrap();
        assert_eq!(
            on_leaves(&by_ci, record("arn:aws:sts::1:assumed-role/ci-1/j")),
            Some(true)
        );
        assert_eq!(
            on_leaves(&by_ci, record("arn:aws:iam::1:user/ci-1")),
            Some(false)
        );
        let unless = compile(json!({"unless": {"matches":
            {"path": "detail.userIdentity.arn", "regex": "assumed-role/ci-"}}}))
        .unwrap();
        assert_eq!(
            on_leaves(&unless, record("arn:aws:sts::1:assumed-role/ci-1/j")),
            Some(false)
        );
        assert_eq!(
            on_leaves(&unless, record("arn:aws:iam::1:user/ci-1")),
            Some(true)
        );
        // A search reads objects: the whole event only.
        let search = compile(json!({"text_contains":
            {"path": "detail.userIdentity", "values": ["ci-1"]}}))
        .unwrap();
        assert!(search.needs_whole_event());
        assert_eq!(on_leaves(&search, record("arn:aws:iam::1:user/ci-1")), None);

        // A bad regex says where, inside `unless` too.
        let error =
            compile(json!({"unless": {"matches": {"path": "a", "regex": "("}}})).unwrap_err();
        assert!(
            error.to_string().starts_with("$.unless.matches.regex: "),
            "{error}"
        );
    }

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
