//! Mutating IAM calls, by family, with policy-aware weighting.

use super::RuleContext;
use crate::policy::{document_grant, managed_policy_grant, trust_exposure, Grant, TrustExposure};
use crate::{title, Detection};
use iamwatch_core::Localized;
use iamwatch_core::Severity::{self, *};
use iamwatch_normalise::Event;

pub fn applies(event: &Event<'_>) -> bool {
    event.event_source == "iam.amazonaws.com" && !event.read_only
}

/// The family's rule id and base severity. At least as strict as the seed: MFA, password,
/// login-profile and access-key changes HIGH; policy changes MEDIUM (raised by what they
/// grant); other IAM changes MEDIUM; tagging LOW.
fn family(api: &str) -> (&'static str, Severity) {
    match api {
        "CreateAccessKey" | "UpdateAccessKey" | "DeleteAccessKey" => {
            ("iam.access_key_change", High)
        }
        "DeactivateMFADevice" | "DeleteVirtualMFADevice" => ("iam.mfa_change", High),
        "CreateVirtualMFADevice" | "EnableMFADevice" | "ResyncMFADevice" => {
            ("iam.mfa_change", Medium)
        }
        "CreateLoginProfile"
        | "UpdateLoginProfile"
        | "DeleteLoginProfile"
        | "ChangePassword"
        | "UpdateAccountPasswordPolicy"
        | "DeleteAccountPasswordPolicy" => ("iam.password_change", High),
        "UploadSSHPublicKey" | "UpdateSSHPublicKey" | "DeleteSSHPublicKey" => {
            ("iam.ssh_key_change", High)
        }
        "UploadSigningCertificate" | "UpdateSigningCertificate" | "DeleteSigningCertificate" => {
            ("iam.signing_certificate_change", High)
        }
        "CreateServiceSpecificCredential"
        | "UpdateServiceSpecificCredential"
        | "ResetServiceSpecificCredential"
        | "DeleteServiceSpecificCredential" => ("iam.service_credential_change", High),
        "CreateUser" | "UpdateUser" | "DeleteUser" => ("iam.user_change", Medium),
        "CreateGroup"
        | "UpdateGroup"
        | "DeleteGroup"
        | "AddUserToGroup"
        | "RemoveUserFromGroup" => ("iam.group_change", Medium),
        "AttachUserPolicy"
        | "AttachGroupPolicy"
        | "AttachRolePolicy"
        | "PutUserPolicy"
        | "PutGroupPolicy"
        | "PutRolePolicy"
        | "CreatePolicy"
        | "CreatePolicyVersion"
        | "SetDefaultPolicyVersion"
        | "DetachUserPolicy"
        | "DetachGroupPolicy"
        | "DetachRolePolicy"
        | "DeleteUserPolicy"
        | "DeleteGroupPolicy"
        | "DeleteRolePolicy"
        | "DeletePolicy"
        | "DeletePolicyVersion" => ("iam.policy_change", Medium),
        "DeleteUserPermissionsBoundary" | "DeleteRolePermissionsBoundary" => {
            ("iam.policy_change", High)
        }
        "PutUserPermissionsBoundary" | "PutRolePermissionsBoundary" => {
            ("iam.policy_change", Medium)
        }
        "UpdateAssumeRolePolicy" => ("iam.role_trust_change", High),
        "CreateRole"
        | "UpdateRole"
        | "UpdateRoleDescription"
        | "DeleteRole"
        | "CreateServiceLinkedRole"
        | "DeleteServiceLinkedRole"
        | "CreateInstanceProfile"
        | "DeleteInstanceProfile"
        | "AddRoleToInstanceProfile"
        | "RemoveRoleFromInstanceProfile" => ("iam.role_change", Medium),
        "CreateSAMLProvider"
        | "UpdateSAMLProvider"
        | "DeleteSAMLProvider"
        | "CreateOpenIDConnectProvider"
        | "DeleteOpenIDConnectProvider"
        | "UpdateOpenIDConnectProviderThumbprint"
        | "AddClientIDToOpenIDConnectProvider"
        | "RemoveClientIDFromOpenIDConnectProvider" => ("iam.identity_provider_change", High),
        api if api.starts_with("Tag") || api.starts_with("Untag") => ("iam.tag_change", Low),
        _ => ("iam.other_change", Medium),
    }
}

pub fn detect(context: &RuleContext<'_>) -> Option<Detection> {
    let event = context.event;
    if !applies(event) {
        return None;
    }
    let (rule_id, mut severity) = family(event.api);
    let mut reasons = Vec::new();
    let request = &context.details.request;
    let text = |key: &str| {
        request
            .get(key)
            .and_then(|value| value.as_str())
            .unwrap_or("")
    };

    // What the policy grants, not just that it changed.
    let grant = match event.api {
        "AttachUserPolicy" | "AttachGroupPolicy" | "AttachRolePolicy" => {
            managed_policy_grant(text("policyArn"))
        }
        "PutUserPolicy"
        | "PutGroupPolicy"
        | "PutRolePolicy"
        | "CreatePolicyVersion"
        | "CreatePolicy" => document_grant(text("policyDocument")),
        _ => Grant::Ordinary,
    };
    match grant {
        Grant::Admin => {
            severity = Critical;
            reasons.push(crate::reasons::grants_administrator_access());
        }
        Grant::Broad(what) => {
            severity = severity.max(High);
            reasons.push(what);
        }
        Grant::Ordinary => {}
    }
    if matches!(event.api, "UpdateAssumeRolePolicy" | "CreateRole") {
        let document = if event.api == "CreateRole" {
            text("assumeRolePolicyDocument")
        } else {
            text("policyDocument")
        };
        match trust_exposure(document, event.account) {
            Some(TrustExposure::Anyone) => {
                severity = Critical;
                reasons.push(Localized::new(
                    "trust policy lets any AWS principal assume the role",
                    "신뢰 정책이 모든 AWS 주체의 역할 수임을 허용함",
                ));
            }
            Some(TrustExposure::ExternalAccount(account)) => {
                severity = if event.api == "CreateRole" {
                    severity.max(High)
                } else {
                    Critical
                };
                reasons.push(Localized::new(
                    format!("trust policy lets account {account} assume the role"),
                    format!("신뢰 정책이 계정 {account}의 역할 수임을 허용함"),
                ));
            }
            None => {}
        }
    }
    if event.api == "AddUserToGroup" && text("groupName").to_ascii_lowercase().contains("admin") {
        severity = severity.max(High);
        let group = text("groupName");
        reasons.push(Localized::new(
            format!("adds a user to group {group}"),
            format!("그룹 {group}에 사용자를 추가함"),
        ));
    }
    // IAM Identity Center keeps its own SAML provider (`AWSSSO_…_DO_NOT_DELETE`) through its
    // service-linked role, when it is enabled and when its certificate turns over: routine,
    // and no one's doing. Both marks are needed: a role of that name could be made by anyone
    // where Identity Center is off, but only AWS writes `invokedBy`. Anyone else changing an
    // identity provider stays HIGH.
    if rule_id == "iam.identity_provider_change"
        && event.identity.issuer_name == "AWSServiceRoleForSSO"
        && event.identity.invoked_by == "sso.amazonaws.com"
    {
        severity = Low;
        reasons.push(Localized::new(
            "made by IAM Identity Center's service-linked role",
            "IAM Identity Center의 서비스 연결 역할이 수행함",
        ));
    }
    if event.api == "UpdateAccessKey" && text("status") == "Active" {
        reasons.push(Localized::new(
            "re-activates an access key",
            "액세스 키를 다시 활성화함",
        ));
    }
    if event.failed() {
        reasons.push(crate::reasons::call_failed(event.error_code));
    }
    Some(Detection::new(
        rule_id,
        severity,
        title::standard(context),
        reasons,
    ))
}
