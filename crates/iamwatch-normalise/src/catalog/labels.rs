//! Event labels in English and Korean: `CreateAccessKey` → "Create access key" / "액세스 키 생성".
//!
//! Every mutating IAM API, the sign-in events, STS and the security-relevant calls of other
//! services have a written label. Anything else gets a readable fallback built from the name:
//! the words split apart, and for Korean the nouns translated and the verb put last, as Korean
//! puts it ("DeleteBucketPolicy" → "버킷 정책 삭제").

use crate::kept::{kept_or_compute, Kept};
use fallback::fallback;
use iamwatch_core::Localized;

mod fallback;

/// A label, borrowed when it comes from the table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Label {
    pub en: String,
    pub ko: String,
    /// False when the label is the fallback, not a written one.
    pub known: bool,
}

impl From<Label> for Localized {
    fn from(label: Label) -> Self {
        Localized {
            en: label.en,
            ko: label.ko,
        }
    }
}

/// The label of an API call (`eventName` without any API-version suffix).
pub fn label(api: &str) -> Label {
    match known_label(api) {
        Some((en, ko)) => Label {
            en: en.to_string(),
            ko: ko.to_string(),
            known: true,
        },
        None => cached_fallback(api),
    }
}

/// Fallback labels repeat (a trail calls a few hundred APIs), and building one splits,
/// lower-cases and joins its words: the recent ones are kept per thread.
fn cached_fallback(api: &str) -> Label {
    thread_local! {
        static FALLBACKS: Kept<Label> = Kept::default();
    }
    kept_or_compute(&FALLBACKS, 1024, api, fallback)
}

#[rustfmt::skip]
fn known_label(api: &str) -> Option<(&'static str, &'static str)> {
    Some(match api {
        // Access keys
        "CreateAccessKey" => ("Create access key", "액세스 키 생성"),
        "UpdateAccessKey" => ("Update access key status", "액세스 키 상태 변경"),
        "DeleteAccessKey" => ("Delete access key", "액세스 키 삭제"),
        // MFA
        "CreateVirtualMFADevice" => ("Create virtual MFA device", "가상 MFA 디바이스 생성"),
        "EnableMFADevice" => ("Enable MFA device", "MFA 디바이스 활성화"),
        "DeactivateMFADevice" => ("Deactivate MFA device", "MFA 디바이스 비활성화"),
        "DeleteVirtualMFADevice" => ("Delete virtual MFA device", "가상 MFA 디바이스 삭제"),
        "ResyncMFADevice" => ("Resynchronise MFA device", "MFA 디바이스 재동기화"),
        "TagMFADevice" => ("Tag MFA device", "MFA 디바이스 태그 지정"),
        "UntagMFADevice" => ("Untag MFA device", "MFA 디바이스 태그 제거"),
        // Passwords and login profiles
        "CreateLoginProfile" => ("Create console password (login profile)", "콘솔 비밀번호(로그인 프로필) 생성"),
        "UpdateLoginProfile" => ("Change console password (login profile)", "콘솔 비밀번호(로그인 프로필) 변경"),
        "DeleteLoginProfile" => ("Delete console password (login profile)", "콘솔 비밀번호(로그인 프로필) 삭제"),
        "ChangePassword" => ("Change own password", "본인 비밀번호 변경"),
        "UpdateAccountPasswordPolicy" => ("Update account password policy", "계정 비밀번호 정책 변경"),
        "DeleteAccountPasswordPolicy" => ("Delete account password policy", "계정 비밀번호 정책 삭제"),
        // SSH public keys
        "UploadSSHPublicKey" => ("Upload SSH public key", "SSH 공개 키 업로드"),
        "UpdateSSHPublicKey" => ("Update SSH public key status", "SSH 공개 키 상태 변경"),
        "DeleteSSHPublicKey" => ("Delete SSH public key", "SSH 공개 키 삭제"),
        // Signing certificates and server certificates
        "UploadSigningCertificate" => ("Upload signing certificate", "서명 인증서 업로드"),
        "UpdateSigningCertificate" => ("Update signing certificate status", "서명 인증서 상태 변경"),
        "DeleteSigningCertificate" => ("Delete signing certificate", "서명 인증서 삭제"),
        "UploadServerCertificate" => ("Upload server certificate", "서버 인증서 업로드"),
        "UpdateServerCertificate" => ("Update server certificate", "서버 인증서 수정"),
        "DeleteServerCertificate" => ("Delete server certificate", "서버 인증서 삭제"),
        "TagServerCertificate" => ("Tag server certificate", "서버 인증서 태그 지정"),
        "UntagServerCertificate" => ("Untag server certificate", "서버 인증서 태그 제거"),
        // Service-specific credentials
        "CreateServiceSpecificCredential" => ("Create service-specific credential", "서비스별 자격 증명 생성"),
        "UpdateServiceSpecificCredential" => ("Update service-specific credential", "서비스별 자격 증명 상태 변경"),
        "ResetServiceSpecificCredential" => ("Reset service-specific credential", "서비스별 자격 증명 재설정"),
        "DeleteServiceSpecificCredential" => ("Delete service-specific credential", "서비스별 자격 증명 삭제"),
        // Users
        "CreateUser" => ("Create user", "사용자 생성"),
        "UpdateUser" => ("Update user", "사용자 정보 변경"),
        "DeleteUser" => ("Delete user", "사용자 삭제"),
        "TagUser" => ("Tag user", "사용자 태그 지정"),
        "UntagUser" => ("Untag user", "사용자 태그 제거"),
        "PutUserPermissionsBoundary" => ("Set user permissions boundary", "사용자 권한 경계 설정"),
        "DeleteUserPermissionsBoundary" => ("Remove user permissions boundary", "사용자 권한 경계 제거"),
        // Groups
        "CreateGroup" => ("Create group", "그룹 생성"),
        "UpdateGroup" => ("Update group", "그룹 정보 변경"),
        "DeleteGroup" => ("Delete group", "그룹 삭제"),
        "AddUserToGroup" => ("Add user to group", "그룹에 사용자 추가"),
        "RemoveUserFromGroup" => ("Remove user from group", "그룹에서 사용자 제거"),
        // Managed and inline policies
        "AttachUserPolicy" => ("Attach policy to user", "사용자에 정책 연결"),
        "DetachUserPolicy" => ("Detach policy from user", "사용자에서 정책 분리"),
        "PutUserPolicy" => ("Put user inline policy", "사용자 인라인 정책 설정"),
        "DeleteUserPolicy" => ("Delete user inline policy", "사용자 인라인 정책 삭제"),
        "AttachGroupPolicy" => ("Attach policy to group", "그룹에 정책 연결"),
        "DetachGroupPolicy" => ("Detach policy from group", "그룹에서 정책 분리"),
        "PutGroupPolicy" => ("Put group inline policy", "그룹 인라인 정책 설정"),
        "DeleteGroupPolicy" => ("Delete group inline policy", "그룹 인라인 정책 삭제"),
        "AttachRolePolicy" => ("Attach policy to role", "역할에 정책 연결"),
        "DetachRolePolicy" => ("Detach policy from role", "역할에서 정책 분리"),
        "PutRolePolicy" => ("Put role inline policy", "역할 인라인 정책 설정"),
        "DeleteRolePolicy" => ("Delete role inline policy", "역할 인라인 정책 삭제"),
        "CreatePolicy" => ("Create managed policy", "관리형 정책 생성"),
        "DeletePolicy" => ("Delete managed policy", "관리형 정책 삭제"),
        "CreatePolicyVersion" => ("Create policy version", "정책 버전 생성"),
        "DeletePolicyVersion" => ("Delete policy version", "정책 버전 삭제"),
        "SetDefaultPolicyVersion" => ("Set default policy version", "기본 정책 버전 변경"),
        "TagPolicy" => ("Tag policy", "정책 태그 지정"),
        "UntagPolicy" => ("Untag policy", "정책 태그 제거"),
        // Roles and trust
        "CreateRole" => ("Create role", "역할 생성"),
        "UpdateRole" => ("Update role", "역할 수정"),
        "UpdateRoleDescription" => ("Update role description", "역할 설명 변경"),
        "DeleteRole" => ("Delete role", "역할 삭제"),
        "UpdateAssumeRolePolicy" => ("Update role trust policy", "역할 신뢰 정책 변경"),
        "PutRolePermissionsBoundary" => ("Set role permissions boundary", "역할 권한 경계 설정"),
        "DeleteRolePermissionsBoundary" => ("Remove role permissions boundary", "역할 권한 경계 제거"),
        "CreateServiceLinkedRole" => ("Create service-linked role", "서비스 연결 역할 생성"),
        "DeleteServiceLinkedRole" => ("Delete service-linked role", "서비스 연결 역할 삭제"),
        "TagRole" => ("Tag role", "역할 태그 지정"),
        "UntagRole" => ("Untag role", "역할 태그 제거"),
        "CreateInstanceProfile" => ("Create instance profile", "인스턴스 프로파일 생성"),
        "DeleteInstanceProfile" => ("Delete instance profile", "인스턴스 프로파일 삭제"),
        "AddRoleToInstanceProfile" => ("Add role to instance profile", "인스턴스 프로파일에 역할 추가"),
        "RemoveRoleFromInstanceProfile" => ("Remove role from instance profile", "인스턴스 프로파일에서 역할 제거"),
        "TagInstanceProfile" => ("Tag instance profile", "인스턴스 프로파일 태그 지정"),
        "UntagInstanceProfile" => ("Untag instance profile", "인스턴스 프로파일 태그 제거"),
        // Identity providers
        "CreateSAMLProvider" => ("Create SAML identity provider", "SAML 자격 증명 공급자 생성"),
        "UpdateSAMLProvider" => ("Update SAML identity provider", "SAML 자격 증명 공급자 수정"),
        "DeleteSAMLProvider" => ("Delete SAML identity provider", "SAML 자격 증명 공급자 삭제"),
        "TagSAMLProvider" => ("Tag SAML identity provider", "SAML 자격 증명 공급자 태그 지정"),
        "UntagSAMLProvider" => ("Untag SAML identity provider", "SAML 자격 증명 공급자 태그 제거"),
        "CreateOpenIDConnectProvider" => ("Create OIDC identity provider", "OIDC 자격 증명 공급자 생성"),
        "DeleteOpenIDConnectProvider" => ("Delete OIDC identity provider", "OIDC 자격 증명 공급자 삭제"),
        "UpdateOpenIDConnectProviderThumbprint" => ("Update OIDC provider thumbprint", "OIDC 공급자 지문 변경"),
        "AddClientIDToOpenIDConnectProvider" => ("Add client ID to OIDC provider", "OIDC 공급자에 클라이언트 ID 추가"),
        "RemoveClientIDFromOpenIDConnectProvider" => ("Remove client ID from OIDC provider", "OIDC 공급자에서 클라이언트 ID 제거"),
        "TagOpenIDConnectProvider" => ("Tag OIDC identity provider", "OIDC 자격 증명 공급자 태그 지정"),
        "UntagOpenIDConnectProvider" => ("Untag OIDC identity provider", "OIDC 자격 증명 공급자 태그 제거"),
        // Account settings
        "CreateAccountAlias" => ("Create account alias", "계정 별칭 생성"),
        "DeleteAccountAlias" => ("Delete account alias", "계정 별칭 삭제"),
        "SetSecurityTokenServicePreferences" => ("Set STS token preferences", "STS 토큰 설정 변경"),
        "GenerateCredentialReport" => ("Generate credential report", "자격 증명 보고서 생성"),
        "GenerateServiceLastAccessedDetails" => ("Generate service last-accessed report", "서비스 마지막 액세스 보고서 생성"),
        "GenerateOrganizationsAccessReport" => ("Generate Organizations access report", "Organizations 액세스 보고서 생성"),
        "EnableOrganizationsRootCredentialsManagement" => ("Enable central root credentials management", "루트 자격 증명 중앙 관리 활성화"),
        "DisableOrganizationsRootCredentialsManagement" => ("Disable central root credentials management", "루트 자격 증명 중앙 관리 비활성화"),
        "EnableOrganizationsRootSessions" => ("Enable privileged root sessions", "권한 있는 루트 세션 활성화"),
        "DisableOrganizationsRootSessions" => ("Disable privileged root sessions", "권한 있는 루트 세션 비활성화"),
        // Sign-in
        "ConsoleLogin" => ("Console sign-in", "콘솔 로그인"),
        "ConsoleLogout" => ("Console sign-out", "콘솔 로그아웃"),
        "CheckMfa" => ("MFA check at sign-in", "로그인 MFA 확인"),
        "SwitchRole" => ("Switch role in console", "콘솔 역할 전환"),
        "ExitRole" => ("Exit switched role", "전환한 역할 종료"),
        "RenewRole" => ("Renew console role session", "콘솔 역할 세션 갱신"),
        "GetSigninToken" => ("Get federation sign-in token", "페더레이션 로그인 토큰 발급"),
        "PasswordRecoveryRequested" => ("Root password recovery requested", "루트 비밀번호 복구 요청"),
        "PasswordRecoveryCompleted" => ("Root password recovery completed", "루트 비밀번호 복구 완료"),
        "CredentialChallenge" => ("Sign-in credential challenge", "로그인 자격 증명 확인"),
        "CredentialVerification" => ("Sign-in credential verification", "로그인 자격 증명 검증"),
        "UserAuthentication" => ("User authentication", "사용자 인증"),
        "ExternalIdPDirectoryLogin" => ("Sign-in through an external identity provider", "외부 자격 증명 공급자를 통한 로그인"),
        "PasswordUpdated" => ("Console password updated", "콘솔 비밀번호 변경"),
        // STS
        "AssumeRole" => ("Assume role", "역할 수임"),
        "AssumeRoleWithSAML" => ("Assume role with SAML", "SAML로 역할 수임"),
        "AssumeRoleWithWebIdentity" => ("Assume role with web identity", "웹 자격 증명으로 역할 수임"),
        "AssumeRoot" => ("Assume root (privileged task)", "루트 권한 수임(권한 있는 작업)"),
        "GetSessionToken" => ("Get session token", "세션 토큰 발급"),
        "GetFederationToken" => ("Get federation token", "페더레이션 토큰 발급"),
        "GetCallerIdentity" => ("Get caller identity", "호출자 자격 증명 조회"),
        "DecodeAuthorizationMessage" => ("Decode authorization message", "권한 부여 메시지 해독"),
        // Logging and detection tampering
        "StopLogging" => ("Stop CloudTrail logging", "CloudTrail 로깅 중지"),
        "StartLogging" => ("Start CloudTrail logging", "CloudTrail 로깅 시작"),
        "DeleteTrail" => ("Delete CloudTrail trail", "CloudTrail 추적 삭제"),
        "UpdateTrail" => ("Update CloudTrail trail", "CloudTrail 추적 수정"),
        "CreateTrail" => ("Create CloudTrail trail", "CloudTrail 추적 생성"),
        "PutEventSelectors" => ("Change CloudTrail event selectors", "CloudTrail 이벤트 선택기 변경"),
        "DeleteDetector" => ("Delete GuardDuty detector", "GuardDuty 탐지기 삭제"),
        "StopConfigurationRecorder" => ("Stop AWS Config recorder", "AWS Config 기록기 중지"),
        "DeleteConfigurationRecorder" => ("Delete AWS Config recorder", "AWS Config 기록기 삭제"),
        "DeleteDeliveryChannel" => ("Delete AWS Config delivery channel", "AWS Config 전송 채널 삭제"),
        "DeleteFlowLogs" => ("Delete VPC flow logs", "VPC 흐름 로그 삭제"),
        // Organizations and accounts
        "LeaveOrganization" => ("Leave organization", "조직 탈퇴"),
        // KMS and secrets
        "DisableKey" => ("Disable KMS key", "KMS 키 비활성화"),
        "ScheduleKeyDeletion" => ("Schedule KMS key deletion", "KMS 키 삭제 예약"),
        "GetSecretValue" => ("Read secret value", "보안 암호 값 조회"),
        "BatchGetSecretValue" => ("Read secret values in batch", "보안 암호 값 일괄 조회"),
        // Sharing and exposure
        "PutBucketPolicy" => ("Change S3 bucket policy", "S3 버킷 정책 변경"),
        "DeleteBucketPolicy" => ("Delete S3 bucket policy", "S3 버킷 정책 삭제"),
        "PutBucketAcl" => ("Change S3 bucket ACL", "S3 버킷 ACL 변경"),
        "ModifySnapshotAttribute" => ("Change EBS snapshot sharing", "EBS 스냅샷 공유 설정 변경"),
        "ModifyImageAttribute" => ("Change AMI sharing", "AMI 공유 설정 변경"),
        "ModifyDBSnapshotAttribute" => ("Change RDS snapshot sharing", "RDS 스냅샷 공유 설정 변경"),
        "AuthorizeSecurityGroupIngress" => ("Open security group ingress", "보안 그룹 인바운드 허용"),
        "GetPasswordData" => ("Read EC2 Windows password", "EC2 Windows 비밀번호 조회"),
        _ => return None,
    })
}

/// The CloudTrail `eventSource` of a written label's API, for records that lost theirs.
pub fn source_of(api: &str) -> Option<&'static str> {
    known_label(api)?;
    Some(match api {
        "ConsoleLogin"
        | "ConsoleLogout"
        | "CheckMfa"
        | "SwitchRole"
        | "ExitRole"
        | "RenewRole"
        | "GetSigninToken"
        | "PasswordRecoveryRequested"
        | "PasswordRecoveryCompleted"
        | "CredentialChallenge"
        | "CredentialVerification"
        | "UserAuthentication"
        | "ExternalIdPDirectoryLogin"
        | "PasswordUpdated" => "signin.amazonaws.com",
        "AssumeRole"
        | "AssumeRoleWithSAML"
        | "AssumeRoleWithWebIdentity"
        | "AssumeRoot"
        | "GetSessionToken"
        | "GetFederationToken"
        | "GetCallerIdentity"
        | "DecodeAuthorizationMessage" => "sts.amazonaws.com",
        "StopLogging" | "StartLogging" | "DeleteTrail" | "UpdateTrail" | "CreateTrail"
        | "PutEventSelectors" => "cloudtrail.amazonaws.com",
        "DeleteDetector" => "guardduty.amazonaws.com",
        "StopConfigurationRecorder" | "DeleteConfigurationRecorder" | "DeleteDeliveryChannel" => {
            "config.amazonaws.com"
        }
        "LeaveOrganization" => "organizations.amazonaws.com",
        "DisableKey" | "ScheduleKeyDeletion" => "kms.amazonaws.com",
        "GetSecretValue" | "BatchGetSecretValue" => "secretsmanager.amazonaws.com",
        "PutBucketPolicy" | "DeleteBucketPolicy" | "PutBucketAcl" => "s3.amazonaws.com",
        "DeleteFlowLogs"
        | "ModifySnapshotAttribute"
        | "ModifyImageAttribute"
        | "AuthorizeSecurityGroupIngress"
        | "GetPasswordData" => "ec2.amazonaws.com",
        "ModifyDBSnapshotAttribute" => "rds.amazonaws.com",
        _ => "iam.amazonaws.com",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_labels_are_written_in_both_languages() {
        let create = label("CreateAccessKey");
        assert_eq!(
            (create.en.as_str(), create.ko.as_str(), create.known),
            ("Create access key", "액세스 키 생성", true)
        );
        assert_eq!(label("DeactivateMFADevice").ko, "MFA 디바이스 비활성화");
        assert_eq!(label("ConsoleLogin").ko, "콘솔 로그인");
        assert_eq!(
            label("UpdateAssumeRolePolicy").en,
            "Update role trust policy"
        );
    }

    #[test]
    fn event_sources_are_inferred_only_for_written_labels() {
        assert_eq!(source_of("CreateUser"), Some("iam.amazonaws.com"));
        assert_eq!(source_of("ConsoleLogin"), Some("signin.amazonaws.com"));
        // Sign-in events of Panther's corpus that had only the fallback ("External id p
        // directory login").
        for name in ["ExternalIdPDirectoryLogin", "PasswordUpdated"] {
            assert!(label(name).known, "{name}");
            assert_eq!(source_of(name), Some("signin.amazonaws.com"));
        }
        assert_eq!(source_of("StopLogging"), Some("cloudtrail.amazonaws.com"));
        assert_eq!(source_of("CreateAccount"), None);
    }

    #[test]
    fn a_kept_fallback_is_the_label_of_its_own_name() {
        let names = [
            "StopInstances",
            "StartInstances",
            "StopInstances",
            "Frobnicate",
        ];
        for _ in 0..2 {
            for name in names {
                assert_eq!(label(name), fallback(name), "{name}");
            }
        }
        // Past its capacity the cache starts over and still answers rightly.
        for n in 0..1100 {
            let name = format!("Describe{n}Things");
            assert_eq!(label(&name), fallback(&name));
        }
        assert_eq!(label("StopInstances").en, "Stop instances");
    }

    #[test]
    fn every_mutating_iam_api_has_a_written_label() {
        // The IAM API reference's write actions (the list the seed's rule watches).
        let iam_writes = [
            "AddClientIDToOpenIDConnectProvider",
            "AddRoleToInstanceProfile",
            "AddUserToGroup",
            "AttachGroupPolicy",
            "AttachRolePolicy",
            "AttachUserPolicy",
            "ChangePassword",
            "CreateAccessKey",
            "CreateAccountAlias",
            "CreateGroup",
            "CreateInstanceProfile",
            "CreateLoginProfile",
            "CreateOpenIDConnectProvider",
            "CreatePolicy",
            "CreatePolicyVersion",
            "CreateRole",
            "CreateSAMLProvider",
            "CreateServiceLinkedRole",
            "CreateServiceSpecificCredential",
            "CreateUser",
            "CreateVirtualMFADevice",
            "DeactivateMFADevice",
            "DeleteAccessKey",
            "DeleteAccountAlias",
            "DeleteAccountPasswordPolicy",
            "DeleteGroup",
            "DeleteGroupPolicy",
            "DeleteInstanceProfile",
            "DeleteLoginProfile",
            "DeleteOpenIDConnectProvider",
            "DeletePolicy",
            "DeletePolicyVersion",
            "DeleteRole",
            "DeleteRolePermissionsBoundary",
            "DeleteRolePolicy",
            "DeleteSAMLProvider",
            "DeleteServerCertificate",
            "DeleteServiceLinkedRole",
            "DeleteServiceSpecificCredential",
            "DeleteSigningCertificate",
            "DeleteSSHPublicKey",
            "DeleteUser",
            "DeleteUserPermissionsBoundary",
            "DeleteUserPolicy",
            "DeleteVirtualMFADevice",
            "DetachGroupPolicy",
            "DetachRolePolicy",
            "DetachUserPolicy",
            "EnableMFADevice",
            "PutGroupPolicy",
            "PutRolePermissionsBoundary",
            "PutRolePolicy",
            "PutUserPermissionsBoundary",
            "PutUserPolicy",
            "RemoveClientIDFromOpenIDConnectProvider",
            "RemoveRoleFromInstanceProfile",
            "RemoveUserFromGroup",
            "ResetServiceSpecificCredential",
            "ResyncMFADevice",
            "SetDefaultPolicyVersion",
            "SetSecurityTokenServicePreferences",
            "TagInstanceProfile",
            "TagMFADevice",
            "TagOpenIDConnectProvider",
            "TagPolicy",
            "TagRole",
            "TagSAMLProvider",
            "TagServerCertificate",
            "TagUser",
            "UntagInstanceProfile",
            "UntagMFADevice",
            "UntagOpenIDConnectProvider",
            "UntagPolicy",
            "UntagRole",
            "UntagSAMLProvider",
            "UntagServerCertificate",
            "UntagUser",
            "UpdateAccessKey",
            "UpdateAccountPasswordPolicy",
            "UpdateAssumeRolePolicy",
            "UpdateGroup",
            "UpdateLoginProfile",
            "UpdateOpenIDConnectProviderThumbprint",
            "UpdateRole",
            "UpdateRoleDescription",
            "UpdateSAMLProvider",
            "UpdateServerCertificate",
            "UpdateServiceSpecificCredential",
            "UpdateSigningCertificate",
            "UpdateSSHPublicKey",
            "UpdateUser",
            "UploadServerCertificate",
            "UploadSigningCertificate",
            "UploadSSHPublicKey",
        ];
        for api in iam_writes {
            let written = label(api);
            assert!(written.known, "{api} has no written label");
            assert!(
                written
                    .ko
                    .chars()
                    .any(|character| ('가'..='힣').contains(&character)),
                "{api}: {}",
                written.ko
            );
        }
    }
}
