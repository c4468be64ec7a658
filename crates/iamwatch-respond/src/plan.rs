//! From an incident to the IAM calls a playbook would make.

use iamwatch_core::{Incident, Localized};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Playbook {
    /// Make the incident's long-term access key inactive (the key the event acted on, or the
    /// one its caller used).
    DeactivateKey,
    /// Undo the grant the event made: detach the managed policy, delete the inline policy, or
    /// take the user out of the group.
    DetachPolicy,
    /// Deny the user everything (an inline deny-all policy) and make its access keys inactive.
    QuarantineUser,
    /// Deny every session of the caller's role issued until now (what the console's "Revoke
    /// active sessions" does): the answer to temporary credentials that leaked.
    RevokeSessions,
    /// Undo a quarantine: delete the deny-all policy it put on the user. The keys it made
    /// inactive stay so: which of them the user should have again is for a person to say.
    ReleaseUser,
}

impl Playbook {
    pub const ALL: [Playbook; 5] = [
        Self::DeactivateKey,
        Self::DetachPolicy,
        Self::QuarantineUser,
        Self::RevokeSessions,
        Self::ReleaseUser,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeactivateKey => "deactivate-key",
            Self::DetachPolicy => "detach-policy",
            Self::QuarantineUser => "quarantine-user",
            Self::RevokeSessions => "revoke-sessions",
            Self::ReleaseUser => "release-user",
        }
    }
}

impl fmt::Display for Playbook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Playbook {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|playbook| playbook.as_str() == text)
            .ok_or_else(|| {
                format!(
                    "unknown playbook {text:?}: expected {}",
                    Self::ALL.map(Playbook::as_str).join(", ")
                )
            })
    }
}

/// A user, role or group, as the IAM API names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Principal {
    User(String),
    Role(String),
    Group(String),
}

/// One IAM call (or, for `DeactivateAllKeys`, one per key found when it runs).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    DeactivateKey {
        user: String,
        key_id: String,
    },
    DetachManagedPolicy {
        from: Principal,
        policy_arn: String,
    },
    DeleteInlinePolicy {
        from: Principal,
        name: String,
    },
    RemoveFromGroup {
        user: String,
        group: String,
    },
    /// An inline policy denying every action on every resource.
    DenyAll {
        user: String,
    },
    DeactivateAllKeys {
        user: String,
    },
    /// An inline policy denying everything to sessions issued before the step runs.
    RevokeSessions {
        role: String,
    },
}

/// The name of the deny-all policy a quarantine puts on a user.
pub const QUARANTINE_POLICY: &str = "iamwatch-quarantine";
/// The name AWS's console gives the policy that revokes a role's sessions.
pub const REVOKE_POLICY: &str = "AWSRevokeOlderSessions";

impl Step {
    /// What the step does, for people.
    pub fn describe(&self) -> Localized {
        match self {
            Self::DeactivateKey { user, key_id } => Localized::new(
                format!("UpdateAccessKey: access key {key_id} of user {user} → Inactive"),
                format!("UpdateAccessKey: 사용자 {user}의 액세스 키 {key_id} → 비활성"),
            ),
            Self::DetachManagedPolicy { from, policy_arn } => Localized::new(
                format!("Detach{}Policy: {policy_arn} from {}", from.kind_title(), from.en()),
                format!("Detach{}Policy: {}에서 {policy_arn} 분리", from.kind_title(), from.ko()),
            ),
            Self::DeleteInlinePolicy { from, name } => Localized::new(
                format!("Delete{}Policy: inline policy {name} of {}", from.kind_title(), from.en()),
                format!("Delete{}Policy: {}의 인라인 정책 {name} 삭제", from.kind_title(), from.ko()),
            ),
            Self::RemoveFromGroup { user, group } => Localized::new(
                format!("RemoveUserFromGroup: user {user} out of group {group}"),
                format!("RemoveUserFromGroup: 사용자 {user}를 그룹 {group}에서 제외"),
            ),
            Self::DenyAll { user } => Localized::new(
                format!("PutUserPolicy: inline policy {QUARANTINE_POLICY} denying everything to user {user}"),
                format!("PutUserPolicy: 사용자 {user}에게 모든 작업을 거부하는 인라인 정책 {QUARANTINE_POLICY}"),
            ),
            Self::RevokeSessions { role } => Localized::new(
                format!("PutRolePolicy: inline policy {REVOKE_POLICY} on role {role} denying every session issued until now"),
                format!("PutRolePolicy: 역할 {role}에 지금까지 발급된 모든 세션을 거부하는 인라인 정책 {REVOKE_POLICY}"),
            ),
            Self::DeactivateAllKeys { user } => Localized::new(
                format!("UpdateAccessKey: every access key of user {user} → Inactive"),
                format!("UpdateAccessKey: 사용자 {user}의 모든 액세스 키 → 비활성"),
            ),
        }
    }
}

impl Principal {
    fn kind_title(&self) -> &'static str {
        match self {
            Self::User(_) => "User",
            Self::Role(_) => "Role",
            Self::Group(_) => "Group",
        }
    }

    fn en(&self) -> String {
        match self {
            Self::User(name) => format!("user {name}"),
            Self::Role(name) => format!("role {name}"),
            Self::Group(name) => format!("group {name}"),
        }
    }

    fn ko(&self) -> String {
        match self {
            Self::User(name) => format!("사용자 {name}"),
            Self::Role(name) => format!("역할 {name}"),
            Self::Group(name) => format!("그룹 {name}"),
        }
    }

    /// `user/alice`, `role/x`, `group/y`, as the incident's target names its principal.
    fn parse(text: &str) -> Option<Self> {
        let (kind, name) = text.split_once('/')?;
        let name = name.to_string();
        match kind {
            "user" => Some(Self::User(name)),
            "role" => Some(Self::Role(name)),
            "group" => Some(Self::Group(name)),
            _ => None,
        }
    }
}

/// Why a playbook has nothing to act on in this incident.
#[derive(Debug, thiserror::Error)]
#[error("{playbook} cannot act on {incident}: {reason}")]
pub struct PlanError {
    pub playbook: Playbook,
    pub incident: String,
    pub reason: String,
}

/// The steps `playbook` takes for `incident`; `user` names the user to quarantine (or release)
/// instead of the one the incident points at.
///
/// # Errors
/// [`PlanError`] when the incident names nothing the playbook can act on.
pub fn plan(
    playbook: Playbook,
    incident: &Incident,
    user: Option<&str>,
) -> Result<Vec<Step>, PlanError> {
    let fail = |reason: &str| PlanError {
        playbook,
        incident: incident.incident_id.clone(),
        reason: reason.to_string(),
    };
    let meta = &incident.meta;
    let target = meta.target.as_ref();
    match playbook {
        Playbook::DeactivateKey => {
            let long_term = |key: &str| key.starts_with("AKIA");
            let from_event = meta
                .access_key
                .as_ref()
                .filter(|key| {
                    long_term(&key.access_key_id) && !key.owner.is_empty() && key.owner != "root"
                })
                .map(|key| (key.owner.clone(), key.access_key_id.clone()));
            let actor = &meta.actor;
            let from_caller = (actor.identity_type == "IAMUser" && long_term(&actor.access_key_id))
                .then(|| (actor.name.clone(), actor.access_key_id.clone()));
            let (user, key_id) = from_event.or(from_caller).ok_or_else(|| {
                fail("it names no IAM user's long-term access key (a temporary ASIA… key expires by itself: revoke the role's sessions instead)")
            })?;
            Ok(vec![Step::DeactivateKey { user, key_id }])
        }
        Playbook::DetachPolicy => {
            let target = target.ok_or_else(|| fail("it names no policy"))?;
            let principal = Principal::parse(&target.principal)
                .ok_or_else(|| fail("it names no user, role or group the policy is on"))?;
            match (target.kind.as_str(), principal) {
                ("policy", from) if target.id.starts_with("arn:") => {
                    Ok(vec![Step::DetachManagedPolicy {
                        from,
                        policy_arn: target.id.clone(),
                    }])
                }
                ("inline_policy", from) => Ok(vec![Step::DeleteInlinePolicy {
                    from,
                    name: target.id.clone(),
                }]),
                ("group", Principal::User(user)) => Ok(vec![Step::RemoveFromGroup {
                    user,
                    group: target.id.clone(),
                }]),
                _ => Err(fail(
                    "its event attached no policy and added no user to a group",
                )),
            }
        }
        Playbook::RevokeSessions => {
            // arn:aws:sts::111122223333:assumed-role/ROLE/SESSION
            let role = meta
                .actor
                .arn
                .split_once(":assumed-role/")
                .and_then(|(_, rest)| rest.split('/').next())
                .filter(|role| !role.is_empty())
                .ok_or_else(|| fail("its caller is not a role's session"))?;
            Ok(vec![Step::RevokeSessions {
                role: role.to_string(),
            }])
        }
        Playbook::QuarantineUser => {
            let user = user_of(incident, user).ok_or_else(|| fail(NO_USER))?;
            Ok(vec![
                Step::DenyAll { user: user.clone() },
                Step::DeactivateAllKeys { user },
            ])
        }
        Playbook::ReleaseUser => {
            let user = user_of(incident, user).ok_or_else(|| fail(NO_USER))?;
            Ok(vec![Step::DeleteInlinePolicy {
                from: Principal::User(user),
                name: QUARANTINE_POLICY.to_string(),
            }])
        }
    }
}

const NO_USER: &str = "it names no IAM user (give one with --user)";

/// The user a quarantine (or its release) is for: the one `named`, else the user the event acted
/// on (or the user of the policy or group it changed), else its caller when an IAM user.
fn user_of(incident: &Incident, named: Option<&str>) -> Option<String> {
    let meta = &incident.meta;
    named
        .map(str::to_string)
        .or_else(|| {
            let target = meta.target.as_ref()?;
            match (target.kind.as_str(), Principal::parse(&target.principal)) {
                ("user", _) if target.id != "root" => Some(target.id.clone()),
                (_, Some(Principal::User(name))) => Some(name),
                _ => None,
            }
        })
        .or_else(|| (meta.actor.identity_type == "IAMUser").then(|| meta.actor.name.clone()))
        .filter(|name| !name.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use iamwatch_core::{AccessKeyMeta, Actor, Target};

    fn incident(target: Option<(&str, &str, &str)>, actor: (&str, &str, &str)) -> Incident {
        let mut incident: Incident = serde_json::from_value(serde_json::json!({
            "incident_id": "inc-1", "event_id": "e", "event_name": "X",
            "event_type": {"en": "", "ko": ""}, "rule_id": "r", "title": {"en": "", "ko": ""},
            "resource": "", "severity": "HIGH", "status": "NEW", "meta": {}, "source": "IAM",
            "account": "111122223333", "region": "us-east-1", "event_time_ms": 0,
            "created_at": 0, "updated_at": 0
        }))
        .unwrap();
        incident.meta.target = target.map(|(kind, id, principal)| Target {
            kind: kind.into(),
            id: id.into(),
            principal: principal.into(),
        });
        incident.meta.actor = Actor {
            identity_type: actor.0.into(),
            name: actor.1.into(),
            access_key_id: actor.2.into(),
            ..Actor::default()
        };
        incident
    }

    const ALICE: (&str, &str, &str) = ("IAMUser", "alice", "AKIAALICE");
    const ROLE: (&str, &str, &str) = ("AssumedRole", "ci", "ASIASESSION");

    #[test]
    fn a_key_is_the_one_the_event_acted_on_else_the_callers_long_term_one() {
        let mut acted_on = incident(None, ALICE);
        acted_on.meta.access_key = Some(AccessKeyMeta {
            owner: "carol".into(),
            access_key_id: "AKIACAROL".into(),
            status: "Active".into(),
        });
        assert_eq!(
            plan(Playbook::DeactivateKey, &acted_on, None).unwrap(),
            [Step::DeactivateKey {
                user: "carol".into(),
                key_id: "AKIACAROL".into()
            }]
        );
        assert_eq!(
            plan(Playbook::DeactivateKey, &incident(None, ALICE), None).unwrap(),
            [Step::DeactivateKey {
                user: "alice".into(),
                key_id: "AKIAALICE".into()
            }]
        );
        let error = plan(Playbook::DeactivateKey, &incident(None, ROLE), None).unwrap_err();
        assert!(error.to_string().contains("temporary ASIA"), "{error}");
    }

    #[test]
    fn sessions_are_revoked_on_the_role_the_caller_assumed() {
        let mut session = incident(None, ROLE);
        session.meta.actor.arn =
            "arn:aws:sts::111122223333:assumed-role/AWSReservedSSO_Admin_3f1c/bob@example.com"
                .into();
        assert_eq!(
            plan(Playbook::RevokeSessions, &session, None).unwrap(),
            [Step::RevokeSessions {
                role: "AWSReservedSSO_Admin_3f1c".into()
            }]
        );
        let mut user = incident(None, ALICE);
        user.meta.actor.arn = "arn:aws:iam::111122223333:user/alice".into();
        assert!(plan(Playbook::RevokeSessions, &user, None).is_err());
    }

    #[test]
    fn a_grant_is_undone_on_the_principal_it_was_made_to() {
        let undo = |target| plan(Playbook::DetachPolicy, &incident(Some(target), ALICE), None);
        assert_eq!(
            undo((
                "policy",
                "arn:aws:iam::aws:policy/IAMFullAccess",
                "role/app"
            ))
            .unwrap(),
            [Step::DetachManagedPolicy {
                from: Principal::Role("app".into()),
                policy_arn: "arn:aws:iam::aws:policy/IAMFullAccess".into()
            }]
        );
        assert_eq!(
            undo(("inline_policy", "break-glass", "group/ops")).unwrap(),
            [Step::DeleteInlinePolicy {
                from: Principal::Group("ops".into()),
                name: "break-glass".into()
            }]
        );
        assert_eq!(
            undo(("group", "Admins", "user/svc")).unwrap(),
            [Step::RemoveFromGroup {
                user: "svc".into(),
                group: "Admins".into()
            }]
        );
        // CreatePolicy names a policy on nobody.
        assert!(undo(("policy", "reports-read", "")).is_err());
    }

    #[test]
    fn the_user_quarantined_is_the_one_named_else_the_target_else_the_caller() {
        let quarantine = |incident: &Incident, user| {
            plan(Playbook::QuarantineUser, incident, user).unwrap()[0].clone()
        };
        let created = incident(Some(("user", "backdoor", "")), ROLE);
        assert_eq!(
            quarantine(&created, None),
            Step::DenyAll {
                user: "backdoor".into()
            }
        );
        assert_eq!(
            quarantine(&created, Some("eve")),
            Step::DenyAll { user: "eve".into() }
        );
        let by_alice = incident(Some(("event", "e-1", "")), ALICE);
        assert_eq!(
            quarantine(&by_alice, None),
            Step::DenyAll {
                user: "alice".into()
            }
        );
        let root_login = incident(Some(("user", "root", "")), ("Root", "root", ""));
        assert!(plan(Playbook::QuarantineUser, &root_login, None).is_err());
        assert_eq!(
            "quarantine-user".parse::<Playbook>().unwrap(),
            Playbook::QuarantineUser
        );
        assert!("nuke"
            .parse::<Playbook>()
            .unwrap_err()
            .contains("deactivate-key"));
    }

    #[test]
    fn a_release_deletes_the_quarantine_policy_of_the_user_a_quarantine_would_take() {
        let created = incident(Some(("user", "backdoor", "")), ROLE);
        let released = |incident: &Incident, user| plan(Playbook::ReleaseUser, incident, user);
        assert_eq!(
            released(&created, None).unwrap(),
            [Step::DeleteInlinePolicy {
                from: Principal::User("backdoor".into()),
                name: QUARANTINE_POLICY.into()
            }]
        );
        assert_eq!(
            released(&created, Some("eve")).unwrap(),
            [Step::DeleteInlinePolicy {
                from: Principal::User("eve".into()),
                name: QUARANTINE_POLICY.into()
            }]
        );
        let root_login = incident(Some(("user", "root", "")), ("Root", "root", ""));
        assert!(released(&root_login, None).is_err());
        assert_eq!(
            "release-user".parse::<Playbook>().unwrap(),
            Playbook::ReleaseUser
        );
    }
}
