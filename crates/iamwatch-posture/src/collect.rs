//! The inventory read from the IAM API: `GetAccountAuthorizationDetails` (users, groups,
//! roles, the account's own managed policies with their default versions), the credential
//! report (generated, then read), and the account summary (the root user's keys and MFA).
//!
//! AWS managed policies are not fetched (there are over a thousand): they are judged by name
//! (AdministratorAccess, IAMFullAccess, PowerUserAccess, …), as detection judges them.

use crate::inventory::{read_credential_report, Group, Inventory, Role, Root, User};
use aws_sdk_iam::types::{
    AttachedPolicy, EntityType, PolicyDetail, ReportStateType, SummaryKeyType,
};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
#[error("{call}: {message}")]
pub struct PostureError {
    pub call: &'static str,
    pub message: String,
}

fn failed<E, R>(
    call: &'static str,
) -> impl FnOnce(aws_sdk_iam::error::SdkError<E, R>) -> PostureError
where
    E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    move |error| PostureError {
        call,
        message: iamwatch_aws::explain(&error),
    }
}

/// A client from the AWS environment (credentials, region, endpoint), as the AWS CLI's.
pub async fn client_from_env() -> aws_sdk_iam::Client {
    let shared = iamwatch_aws::sdk_config_from_env().await;
    let mut config = aws_sdk_iam::config::Builder::from(&shared);
    if shared.region().is_none() {
        // IAM is global; the SDK still signs for a region.
        config = config.region(aws_sdk_iam::config::Region::new("us-east-1"));
    }
    aws_sdk_iam::Client::from_conf(config.build())
}

/// Reads the account. Needs `iam:GetAccountAuthorizationDetails`,
/// `iam:GenerateCredentialReport`, `iam:GetCredentialReport` and `iam:GetAccountSummary`
/// (the `SecurityAudit` managed policy has them).
///
/// # Errors
/// [`PostureError`] naming the call IAM refused or that could not be made.
pub async fn collect(client: &aws_sdk_iam::Client) -> Result<Inventory, PostureError> {
    let mut inventory = Inventory::default();
    let mut marker: Option<String> = None;
    loop {
        let page = client
            .get_account_authorization_details()
            .filter(EntityType::User)
            .filter(EntityType::Group)
            .filter(EntityType::Role)
            .filter(EntityType::LocalManagedPolicy)
            .set_marker(marker.take())
            .send()
            .await
            .map_err(failed("GetAccountAuthorizationDetails"))?;
        for user in page.user_detail_list() {
            inventory.users.push(User {
                name: user.user_name().unwrap_or_default().to_string(),
                arn: user.arn().unwrap_or_default().to_string(),
                created_ms: user.create_date().map(|date| date.to_millis().unwrap_or(0)),
                groups: user.group_list().to_vec(),
                attached: attached(user.attached_managed_policies()),
                inline: inline(user.user_policy_list()),
                boundary: user
                    .permissions_boundary()
                    .and_then(|boundary| boundary.permissions_boundary_arn())
                    .map(str::to_string),
                ..User::default()
            });
        }
        for group in page.group_detail_list() {
            inventory.groups.push(Group {
                name: group.group_name().unwrap_or_default().to_string(),
                attached: attached(group.attached_managed_policies()),
                inline: inline(group.group_policy_list()),
            });
        }
        for role in page.role_detail_list() {
            inventory.roles.push(Role {
                name: role.role_name().unwrap_or_default().to_string(),
                arn: role.arn().unwrap_or_default().to_string(),
                trust_policy: role
                    .assume_role_policy_document()
                    .unwrap_or_default()
                    .to_string(),
                attached: attached(role.attached_managed_policies()),
                inline: inline(role.role_policy_list()),
                service_linked: role
                    .path()
                    .unwrap_or_default()
                    .starts_with("/aws-service-role/"),
                boundary: role
                    .permissions_boundary()
                    .and_then(|boundary| boundary.permissions_boundary_arn())
                    .map(str::to_string),
            });
        }
        for policy in page.policies() {
            let default = policy
                .policy_version_list()
                .iter()
                .find(|version| version.is_default_version());
            if let (Some(arn), Some(document)) =
                (policy.arn(), default.and_then(|version| version.document()))
            {
                inventory
                    .policies
                    .insert(arn.to_string(), document.to_string());
            }
        }
        match page.marker() {
            Some(next) if page.is_truncated() => marker = Some(next.to_string()),
            _ => break,
        }
    }
    let (credentials, root) = credential_report(client).await?;
    for user in &mut inventory.users {
        if let Some(found) = credentials.get(&user.name) {
            user.credentials = found.clone();
        }
    }
    inventory.root = match root {
        Some(root) => root,
        None => root_from_summary(client).await?,
    };
    inventory.account = inventory
        .users
        .iter()
        .map(|user| &user.arn)
        .chain(inventory.roles.iter().map(|role| &role.arn))
        .find_map(|arn| arn.split(':').nth(4).filter(|account| !account.is_empty()))
        .unwrap_or_default()
        .to_string();
    Ok(inventory)
}

/// The ARNs of attached managed policies.
fn attached(policies: &[AttachedPolicy]) -> Vec<String> {
    policies
        .iter()
        .filter_map(|policy| policy.policy_arn().map(str::to_string))
        .collect()
}

/// Inline policies: name and document (URL-encoded, as the API returns them).
fn inline(policies: &[PolicyDetail]) -> Vec<(String, String)> {
    policies
        .iter()
        .map(|policy| {
            (
                policy.policy_name().unwrap_or_default().to_string(),
                policy.policy_document().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

type Report = (
    std::collections::BTreeMap<String, crate::inventory::Credentials>,
    Option<Root>,
);

/// Generates the credential report (IAM makes one at most every four hours, and answers at
/// once with the last), waits for it, and reads it.
async fn credential_report(client: &aws_sdk_iam::Client) -> Result<Report, PostureError> {
    for _ in 0..30 {
        let state = client
            .generate_credential_report()
            .send()
            .await
            .map_err(failed("GenerateCredentialReport"))?;
        if state.state() == Some(&ReportStateType::Complete) {
            break;
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
    let report = client
        .get_credential_report()
        .send()
        .await
        .map_err(failed("GetCredentialReport"))?;
    let csv = report
        .content()
        .map(|blob| String::from_utf8_lossy(blob.as_ref()).into_owned())
        .unwrap_or_default();
    Ok(read_credential_report(&csv))
}

/// The root user's keys and MFA from the account summary, where the credential report has no
/// root line.
async fn root_from_summary(client: &aws_sdk_iam::Client) -> Result<Root, PostureError> {
    let summary = client
        .get_account_summary()
        .send()
        .await
        .map_err(failed("GetAccountSummary"))?;
    let value = |key: SummaryKeyType| {
        summary
            .summary_map()
            .and_then(|map| map.get(&key))
            .copied()
            .unwrap_or(0)
    };
    Ok(Root {
        access_keys: value(SummaryKeyType::AccountAccessKeysPresent) > 0,
        mfa_enabled: value(SummaryKeyType::AccountMfaEnabled) > 0,
    })
}
