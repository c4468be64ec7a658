//! Reading IAM policy documents for what they grant: policy-aware severity.
//!
//! CloudTrail carries the policy document as a JSON string (URL-encoded when it came from the
//! IAM API itself). A statement that allows `*` on `*` is administrator access whatever the
//! policy is called; `NotAction` with Allow, or `iam:*`, is nearly as broad.

use iamwatch_core::Localized;
use serde_json::Value;

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Grant {
    /// `Action: *` on `Resource: *` (or AdministratorAccess).
    Admin,
    /// Privilege-escalation-capable: `iam:*`, `NotAction` with Allow, PassRole/AssumeRole on `*`,
    /// or a managed policy such as IAMFullAccess; what it grants, in each language.
    Broad(Localized),
    Ordinary,
}

/// AWS managed policies that amount to admin or to the means of becoming admin.
pub fn managed_policy_grant(policy_arn: &str) -> Grant {
    let name = policy_arn.rsplit('/').next().unwrap_or(policy_arn);
    let aws_managed =
        policy_arn.starts_with("arn:aws:iam::aws:policy/") || !policy_arn.contains(':');
    match name {
        "AdministratorAccess" if aws_managed => Grant::Admin,
        "IAMFullAccess"
        | "PowerUserAccess"
        | "AWSOrganizationsFullAccess"
        | "AdministratorAccess-Amplify"
        | "AdministratorAccess-AWSElasticBeanstalk"
            if aws_managed =>
        {
            Grant::Broad(Localized::new(
                format!("grants {name}"),
                format!("{name} 권한 부여"),
            ))
        }
        _ => Grant::Ordinary,
    }
}

/// What a policy document (as CloudTrail records it) grants.
pub fn document_grant(document: &str) -> Grant {
    let Some(policy) = parse_document(document) else {
        return Grant::Ordinary;
    };
    let mut broadest = Grant::Ordinary;
    for statement in statements(&policy) {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let resources = strings(statement.get("Resource"));
        let on_everything =
            resources.is_empty() || resources.iter().any(|resource| resource == "*");
        if statement.get("NotAction").is_some() {
            broadest = Grant::Broad(Localized::new(
                "allows everything except listed actions (NotAction)",
                "나열된 작업 외 모든 작업 허용 (NotAction)",
            ));
            continue;
        }
        let actions = strings(statement.get("Action"));
        if on_everything
            && actions
                .iter()
                .any(|action| action == "*" || action == "*:*")
        {
            return Grant::Admin;
        }
        let escalating = actions.iter().find(|action| {
            let lower = action.to_ascii_lowercase();
            lower == "iam:*"
                || (on_everything
                    && (lower == "iam:passrole"
                        || lower == "sts:assumerole"
                        || lower == "iam:put*"
                        || lower == "iam:attach*"
                        || lower == "iam:create*"))
        });
        if let Some(action) = escalating {
            let on = if on_everything { " on *" } else { "" };
            let on_ko = if on_everything { "*에 대해 " } else { "" };
            broadest = Grant::Broad(Localized::new(
                format!("allows {action}{on}"),
                format!("{on_ko}{action} 허용"),
            ));
        }
    }
    broadest
}

/// Who a role trust policy lets in, when that is more than the account's own principals and
/// AWS services.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TrustExposure {
    /// `Principal: *` or `{"AWS": "*"}`: anyone, in any account.
    Anyone,
    /// An AWS principal in another account.
    ExternalAccount(String),
}

pub fn trust_exposure(document: &str, own_account: &str) -> Option<TrustExposure> {
    let policy = parse_document(document)?;
    let mut exposure = None;
    for statement in statements(&policy) {
        if statement.get("Effect").and_then(Value::as_str) != Some("Allow") {
            continue;
        }
        let principal = statement.get("Principal")?;
        let aws_principals = match principal {
            Value::String(text) if text == "*" => return Some(TrustExposure::Anyone),
            Value::Object(members) => strings(members.get("AWS")),
            _ => Vec::new(),
        };
        for aws_principal in aws_principals {
            if aws_principal == "*" {
                return Some(TrustExposure::Anyone);
            }
            let account = account_of(&aws_principal);
            if !account.is_empty() && account != own_account {
                exposure = Some(TrustExposure::ExternalAccount(account.to_string()));
            }
        }
    }
    exposure
}

fn account_of(principal: &str) -> &str {
    if principal.len() == 12 && principal.bytes().all(|byte| byte.is_ascii_digit()) {
        return principal;
    }
    principal.split(':').nth(4).unwrap_or("")
}

fn parse_document(document: &str) -> Option<Value> {
    let trimmed = document.trim();
    if trimmed.starts_with('%') {
        return serde_json::from_str(&percent_decode(trimmed)).ok();
    }
    serde_json::from_str(trimmed).ok()
}

fn statements(policy: &Value) -> Vec<&Value> {
    match policy.get("Statement") {
        Some(Value::Array(list)) => list.iter().collect(),
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    }
}

fn strings(value: Option<&Value>) -> Vec<String> {
    match value {
        Some(Value::String(text)) => vec![text.clone()],
        Some(Value::Array(list)) => list
            .iter()
            .filter_map(|item| item.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut position = 0;
    while position < bytes.len() {
        match bytes[position] {
            b'%' if position + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[position + 1..position + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                match hex {
                    Some(byte) => {
                        decoded.push(byte);
                        position += 3;
                    }
                    None => {
                        decoded.push(b'%');
                        position += 1;
                    }
                }
            }
            b'+' => {
                decoded.push(b' ');
                position += 1;
            }
            byte => {
                decoded.push(byte);
                position += 1;
            }
        }
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn star_on_star_is_admin_whatever_its_shape() {
        assert_eq!(
            document_grant(r#"{"Statement":{"Effect":"Allow","Action":"*","Resource":"*"}}"#),
            Grant::Admin
        );
        assert_eq!(
            document_grant(
                r#"{"Statement":[{"Effect":"Allow","Action":["s3:Get*","*"],"Resource":["*"]}]}"#
            ),
            Grant::Admin
        );
        let encoded = "%7B%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22%2A%22%2C%22Resource%22%3A%22%2A%22%7D%5D%7D";
        assert_eq!(document_grant(encoded), Grant::Admin);
    }

    #[test]
    fn narrow_or_denying_policies_are_ordinary() {
        assert_eq!(
            document_grant(
                r#"{"Statement":[{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}]}"#
            ),
            Grant::Ordinary
        );
        assert_eq!(
            document_grant(r#"{"Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#),
            Grant::Ordinary
        );
        assert_eq!(document_grant("not json"), Grant::Ordinary);
    }

    #[test]
    fn escalation_capable_grants_are_broad() {
        assert!(matches!(
            document_grant(
                r#"{"Statement":[{"Effect":"Allow","Action":"iam:*","Resource":"arn:aws:iam::1:user/x"}]}"#
            ),
            Grant::Broad(_)
        ));
        assert!(matches!(
            document_grant(
                r#"{"Statement":[{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}]}"#
            ),
            Grant::Broad(_)
        ));
        assert!(matches!(
            document_grant(
                r#"{"Statement":[{"Effect":"Allow","Action":"iam:PassRole","Resource":"*"}]}"#
            ),
            Grant::Broad(_)
        ));
        assert_eq!(
            managed_policy_grant("arn:aws:iam::aws:policy/AdministratorAccess"),
            Grant::Admin
        );
        assert_eq!(
            managed_policy_grant("arn:aws:iam::123:policy/AdministratorAccess"),
            Grant::Ordinary,
            "a customer policy may reuse the name"
        );
        assert!(matches!(
            managed_policy_grant("arn:aws:iam::aws:policy/IAMFullAccess"),
            Grant::Broad(_)
        ));
    }

    #[test]
    fn trust_policies_opening_the_role_to_others_are_found() {
        let external = r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::829353387443:root"},"Action":"sts:AssumeRole"}]}"#;
        assert_eq!(
            trust_exposure(external, "351099675786"),
            Some(TrustExposure::ExternalAccount("829353387443".into()))
        );
        assert_eq!(trust_exposure(external, "829353387443"), None);
        assert_eq!(
            trust_exposure(
                r#"{"Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},"Action":"sts:AssumeRole"}]}"#,
                "1"
            ),
            Some(TrustExposure::Anyone)
        );
        assert_eq!(
            trust_exposure(
                r#"{"Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
                "1"
            ),
            None
        );
    }
}
