//! Carrying a plan out through the IAM API, step by step; every step is tried (a quarantine
//! still makes the keys inactive when the deny policy is refused), and each says how it went.

use crate::plan::{Principal, Step, QUARANTINE_POLICY, REVOKE_POLICY};
use aws_sdk_iam::types::StatusType;
use iamwatch_core::Localized;

/// The deny-all policy a quarantine puts on a user.
const DENY_ALL: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"IamwatchQuarantine","Effect":"Deny","Action":"*","Resource":"*"}]}"#;

#[derive(Debug)]
pub struct StepOutcome {
    pub step: Step,
    /// What was done, or why it was not.
    pub result: Result<String, String>,
}

impl StepOutcome {
    /// `done: <step>: <what was done>` or `failed: <step>: <why>`, in each language.
    pub fn said(&self) -> Localized {
        let step = self.step.describe();
        match &self.result {
            Ok(done) => Localized::new(
                format!("done: {}: {done}", step.en),
                format!("완료: {}: {done}", step.ko),
            ),
            Err(error) => Localized::new(
                format!("failed: {}: {error}", step.en),
                format!("실패: {}: {error}", step.ko),
            ),
        }
    }
}

/// Runs every step of `steps`.
pub async fn execute(client: &aws_sdk_iam::Client, steps: &[Step]) -> Vec<StepOutcome> {
    let mut outcomes = Vec::with_capacity(steps.len());
    for step in steps {
        outcomes.push(StepOutcome {
            step: step.clone(),
            result: run(client, step).await,
        });
    }
    outcomes
}

async fn run(client: &aws_sdk_iam::Client, step: &Step) -> Result<String, String> {
    match step {
        Step::DeactivateKey { user, key_id } => {
            deactivate(client, user, key_id).await?;
            Ok(format!("{key_id} is inactive"))
        }
        Step::DetachManagedPolicy { from, policy_arn } => {
            match from {
                Principal::User(name) => client
                    .detach_user_policy()
                    .user_name(name)
                    .policy_arn(policy_arn)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|error| error.said()),
                Principal::Role(name) => client
                    .detach_role_policy()
                    .role_name(name)
                    .policy_arn(policy_arn)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|error| error.said()),
                Principal::Group(name) => client
                    .detach_group_policy()
                    .group_name(name)
                    .policy_arn(policy_arn)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|error| error.said()),
            }?;
            Ok("detached".into())
        }
        Step::DeleteInlinePolicy { from, name } => {
            match from {
                Principal::User(principal) => client
                    .delete_user_policy()
                    .user_name(principal)
                    .policy_name(name)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|error| error.said()),
                Principal::Role(principal) => client
                    .delete_role_policy()
                    .role_name(principal)
                    .policy_name(name)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|error| error.said()),
                Principal::Group(principal) => client
                    .delete_group_policy()
                    .group_name(principal)
                    .policy_name(name)
                    .send()
                    .await
                    .map(drop)
                    .map_err(|error| error.said()),
            }?;
            Ok("deleted".into())
        }
        Step::RemoveFromGroup { user, group } => {
            client
                .remove_user_from_group()
                .user_name(user)
                .group_name(group)
                .send()
                .await
                .map_err(|error| error.said())?;
            Ok("removed".into())
        }
        Step::DenyAll { user } => {
            client
                .put_user_policy()
                .user_name(user)
                .policy_name(QUARANTINE_POLICY)
                .policy_document(DENY_ALL)
                .send()
                .await
                .map_err(|error| error.said())?;
            Ok(format!("{QUARANTINE_POLICY} is on {user}"))
        }
        Step::RevokeSessions { role } => {
            let now = iamwatch_core::time::format_rfc3339_ms(iamwatch_core::time::now_ms());
            client
                .put_role_policy()
                .role_name(role)
                .policy_name(REVOKE_POLICY)
                .policy_document(revoke_policy(&now))
                .send()
                .await
                .map_err(|error| error.said())?;
            Ok(format!("sessions of {role} issued before {now} are denied"))
        }
        Step::DeactivateAllKeys { user } => {
            let listed = client
                .list_access_keys()
                .user_name(user)
                .send()
                .await
                .map_err(|error| error.said())?;
            let mut done = Vec::new();
            for key in listed.access_key_metadata() {
                let Some(key_id) = key.access_key_id() else {
                    continue;
                };
                deactivate(client, user, key_id).await?;
                done.push(key_id.to_string());
            }
            Ok(if done.is_empty() {
                "no access keys".into()
            } else {
                format!("{} inactive", done.join(", "))
            })
        }
    }
}

/// The policy AWS's console writes to revoke a role's sessions: everything denied to
/// credentials issued before `now`.
fn revoke_policy(now: &str) -> String {
    format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Deny","Action":["*"],"Resource":["*"],"Condition":{{"DateLessThan":{{"aws:TokenIssueTime":"{now}"}}}}}}]}}"#
    )
}

async fn deactivate(client: &aws_sdk_iam::Client, user: &str, key_id: &str) -> Result<(), String> {
    client
        .update_access_key()
        .user_name(user)
        .access_key_id(key_id)
        .status(StatusType::Inactive)
        .send()
        .await
        .map(drop)
        .map_err(|error| error.said())
}

/// An SDK error said in a line, whatever the operation.
trait Explained {
    fn said(&self) -> String;
}

impl<E, R> Explained for aws_sdk_iam::error::SdkError<E, R>
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    fn said(&self) -> String {
        iamwatch_aws::explain(self)
    }
}
