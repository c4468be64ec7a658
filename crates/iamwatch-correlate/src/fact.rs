//! What an incident says that a stateful detection counts: read back from the incident's own
//! fields (API, actor, target, the rules' reasons), so that correlation needs nothing the
//! store does not keep.

use iamwatch_core::Incident;
use iamwatch_detect::reasons::{CONSOLE_SIGN_IN_FAILED, GRANTS_ADMINISTRATOR_ACCESS};

/// The user name CloudTrail writes for a failed sign-in whose user name is no IAM user.
const HIDDEN_USER_NAME: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

/// One thing an incident's event did, as the stateful detections see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Fact<'i> {
    /// A console sign-in that failed: the user typed (`None` when CloudTrail hides it), and
    /// the address it came from.
    SignInFailed {
        user: Option<&'i str>,
        ip: &'i str,
    },
    SignedIn {
        user: &'i str,
        ip: &'i str,
    },
    /// A successful IAM change by `actor`, and what it did to `subject` (`user/alice`,
    /// `role/deploy`; empty when it names no principal).
    Change {
        actor: &'i str,
        subject: String,
        step: Option<Step>,
    },
    Other,
}

/// The steps of the sequences the escalation and MFA detections follow.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Step {
    /// `CreateUser`, `CreateRole`.
    Created,
    /// A policy granting `*` on `*` attached to or written for the subject.
    AdminGranted,
    /// A password or access key given to the subject.
    CredentialsGiven,
    /// An MFA device enabled for the subject.
    MfaEnabled,
    /// The subject deleted.
    Deleted,
}

pub(crate) fn fact(incident: &Incident) -> Fact<'_> {
    let meta = &incident.meta;
    if incident.event_name == "ConsoleLogin" && meta.event_source == "signin.amazonaws.com" {
        let failed = meta
            .reasons
            .iter()
            .any(|reason| reason == CONSOLE_SIGN_IN_FAILED);
        let user = meta.actor.name.as_str();
        return if failed {
            Fact::SignInFailed {
                user: (!user.is_empty() && user != HIDDEN_USER_NAME).then_some(user),
                ip: &meta.ip,
            }
        } else {
            Fact::SignedIn { user, ip: &meta.ip }
        };
    }
    if meta.event_source != "iam.amazonaws.com" || meta.error.is_some() {
        return Fact::Other;
    }
    let actor = if meta.actor.arn.is_empty() {
        meta.actor.name.as_str()
    } else {
        meta.actor.arn.as_str()
    };
    let admin = meta
        .reasons
        .iter()
        .any(|reason| reason == GRANTS_ADMINISTRATOR_ACCESS);
    let step = match incident.event_name.as_str() {
        _ if admin => Some(Step::AdminGranted),
        "CreateUser" | "CreateRole" => Some(Step::Created),
        "CreateLoginProfile" | "UpdateLoginProfile" | "CreateAccessKey" => {
            Some(Step::CredentialsGiven)
        }
        "EnableMFADevice" => Some(Step::MfaEnabled),
        "DeleteUser" | "DeleteRole" => Some(Step::Deleted),
        _ => None,
    };
    Fact::Change {
        actor,
        subject: subject(incident),
        step,
    }
}

/// The principal the call acted on: the target itself when it is a user or role, else the
/// user, role or group the request also named.
fn subject(incident: &Incident) -> String {
    let Some(target) = &incident.meta.target else {
        return String::new();
    };
    match target.kind.as_str() {
        "user" | "role" | "group" => format!("{}/{}", target.kind, target.id),
        _ => target.principal.clone(),
    }
}

/// Whether `actor` (an ARN, or a name) is `subject` (`user/alice`, `role/deploy`): a user
/// acting on itself, or a session of the role.
pub(crate) fn acts_as(actor: &str, subject: &str) -> bool {
    match subject.split_once('/') {
        Some(("user", name)) => actor
            .rsplit_once(":user/")
            .is_some_and(|(_, path)| path.rsplit('/').next() == Some(name)),
        Some(("role", name)) => actor
            .split_once(":assumed-role/")
            .is_some_and(|(_, rest)| rest.split('/').next() == Some(name)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::acts_as;

    #[test]
    fn a_user_or_a_session_of_a_role_acts_as_itself_only() {
        assert!(acts_as(
            "arn:aws:iam::111122223333:user/alice",
            "user/alice"
        ));
        assert!(acts_as(
            "arn:aws:iam::111122223333:user/ops/alice",
            "user/alice"
        ));
        assert!(!acts_as(
            "arn:aws:iam::111122223333:user/alice2",
            "user/alice"
        ));
        assert!(!acts_as(
            "arn:aws:iam::111122223333:user/alice",
            "role/alice"
        ));
        assert!(acts_as(
            "arn:aws:sts::111122223333:assumed-role/deploy/session",
            "role/deploy"
        ));
        assert!(!acts_as(
            "arn:aws:sts::111122223333:assumed-role/deploy/session",
            "role/dep"
        ));
        assert!(!acts_as("alice", "user/alice"));
        assert!(!acts_as("arn:aws:iam::111122223333:user/alice", ""));
    }
}
