//! The rules written in code, for `iamwatch rules list`: rule files list themselves, and
//! without this the seed rules — most of what a trail's IAM activity meets — were missing from
//! the list. Severities are ranges where the code weighs the event (an admin grant, an open
//! trust policy, root, a failed sign-in).

/// One rule written in code.
pub struct CodeRule {
    pub id: &'static str,
    /// The lowest and highest severity it gives.
    pub severity: &'static str,
    pub en: &'static str,
    pub ko: &'static str,
}

impl CodeRule {
    pub fn title(&self, lang: iamwatch_core::Lang) -> &'static str {
        match lang {
            iamwatch_core::Lang::En => self.en,
            iamwatch_core::Lang::Ko => self.ko,
        }
    }
}

const fn rule(
    id: &'static str,
    severity: &'static str,
    en: &'static str,
    ko: &'static str,
) -> CodeRule {
    CodeRule {
        id,
        severity,
        en,
        ko,
    }
}

pub const CODE_RULES: &[CodeRule] = &[
    rule(
        "iam.access_key_change",
        "HIGH",
        "Access key created, changed or deleted",
        "액세스 키 생성·변경·삭제",
    ),
    rule(
        "iam.mfa_change",
        "MEDIUM-HIGH",
        "MFA device changes (deactivation or deletion: HIGH)",
        "MFA 디바이스 변경 (비활성화·삭제: 높음)",
    ),
    rule(
        "iam.password_change",
        "HIGH",
        "Password, login profile and password policy changes",
        "비밀번호·로그인 프로필·암호 정책 변경",
    ),
    rule(
        "iam.ssh_key_change",
        "HIGH",
        "SSH public key changes",
        "SSH 공개 키 변경",
    ),
    rule(
        "iam.signing_certificate_change",
        "HIGH",
        "Signing certificate changes",
        "서명 인증서 변경",
    ),
    rule(
        "iam.service_credential_change",
        "HIGH",
        "Service-specific credential changes",
        "서비스별 자격 증명 변경",
    ),
    rule(
        "iam.user_change",
        "MEDIUM",
        "User created, changed or deleted",
        "사용자 생성·변경·삭제",
    ),
    rule(
        "iam.group_change",
        "MEDIUM-HIGH",
        "Group and membership changes (to an admin group: HIGH)",
        "그룹·멤버십 변경 (관리자 그룹: 높음)",
    ),
    rule(
        "iam.policy_change",
        "MEDIUM-CRITICAL",
        "Policy changes, weighed by what they grant",
        "정책 변경 (부여 권한에 따라 가중)",
    ),
    rule(
        "iam.role_trust_change",
        "HIGH-CRITICAL",
        "Role trust policy changes",
        "역할 신뢰 정책 변경",
    ),
    rule(
        "iam.role_change",
        "MEDIUM-CRITICAL",
        "Role and instance profile changes, weighed by trust",
        "역할·인스턴스 프로파일 변경 (신뢰 정책에 따라 가중)",
    ),
    rule(
        "iam.identity_provider_change",
        "HIGH",
        "SAML and OIDC identity provider changes",
        "SAML·OIDC 자격 증명 공급자 변경",
    ),
    rule("iam.tag_change", "LOW", "IAM tagging", "IAM 태그 변경"),
    rule(
        "iam.other_change",
        "MEDIUM",
        "Other mutating IAM calls",
        "기타 IAM 변경",
    ),
    rule(
        "signin.console_login",
        "LOW-CRITICAL",
        "Console sign-ins, failed or without MFA",
        "콘솔 로그인 (실패, MFA 없음)",
    ),
    rule(
        "signin.activity",
        "LOW-HIGH",
        "Other sign-in events (role switch, password recovery, failed steps)",
        "기타 로그인 이벤트 (역할 전환, 비밀번호 복구, 실패한 단계)",
    ),
    rule(
        "root.activity",
        "HIGH-CRITICAL",
        "Anything the root user does",
        "루트 사용자의 모든 활동",
    ),
    rule(
        "cloudtrail.logging_tampered",
        "HIGH-CRITICAL",
        "Trail stopped, deleted or narrowed",
        "추적 중지·삭제·축소",
    ),
    rule(
        "useragent.pentest_distribution",
        "MEDIUM",
        "Calls from Kali, Parrot or Pentoo Linux",
        "Kali·Parrot·Pentoo Linux에서의 호출",
    ),
    rule(
        crate::insight::RULE_ID,
        "LOW-MEDIUM",
        "CloudTrail Insights: unusual call rates",
        "CloudTrail Insights: 비정상 호출 빈도",
    ),
];

#[cfg(test)]
mod tests {
    use super::CODE_RULES;
    use std::collections::BTreeSet;

    /// Rule ids written as string literals in the rules' code: `"iam.user_change"`, not
    /// `"iam.amazonaws.com"` (one dot, known prefixes).
    fn ids_in(source: &str) -> impl Iterator<Item = &str> {
        source.split('"').skip(1).step_by(2).filter(|text| {
            let prefixes = ["iam.", "signin.", "root.", "cloudtrail.", "useragent."];
            text.matches('.').count() == 1
                && prefixes.iter().any(|prefix| text.starts_with(prefix))
                && text
                    .bytes()
                    .all(|byte| byte.is_ascii_lowercase() || b"._".contains(&byte))
        })
    }

    #[test]
    fn the_catalogue_lists_exactly_the_rule_ids_the_code_gives() {
        let sources = [
            include_str!("iam.rs"),
            include_str!("signin.rs"),
            include_str!("root.rs"),
            include_str!("cloudtrail.rs"),
            include_str!("pentest.rs"),
            include_str!("../insight.rs"),
        ];
        let in_code: BTreeSet<&str> = sources.into_iter().flat_map(ids_in).collect();
        let listed: BTreeSet<&str> = CODE_RULES.iter().map(|rule| rule.id).collect();
        assert_eq!(in_code, listed);
        assert_eq!(listed.len(), CODE_RULES.len(), "an id listed twice");
    }
}
