//! What the account holds, as the posture assessment needs it: users with their policies,
//! groups and credentials, groups, roles, and the root user's keys and MFA. Plain data, filled
//! by [`crate::collect`] from the IAM API (or by a test).

use std::collections::BTreeMap;

#[derive(Clone, Debug, Default)]
pub struct Inventory {
    pub account: String,
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub roles: Vec<Role>,
    /// Managed policies' default versions, by ARN.
    pub policies: BTreeMap<String, String>,
    pub root: Root,
}

#[derive(Clone, Debug, Default)]
pub struct User {
    pub name: String,
    pub arn: String,
    pub created_ms: Option<i64>,
    pub groups: Vec<String>,
    /// Managed policies attached to the user: ARNs.
    pub attached: Vec<String>,
    /// Inline policies: name and document.
    pub inline: Vec<(String, String)>,
    /// The permissions boundary's policy ARN: the most the user may do, whatever its policies.
    pub boundary: Option<String>,
    pub credentials: Credentials,
}

/// A user's line of the credential report.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Credentials {
    pub password_enabled: bool,
    pub password_last_used_ms: Option<i64>,
    pub mfa_active: bool,
    pub keys: Vec<AccessKey>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccessKey {
    /// 1 or 2, as the credential report numbers them.
    pub slot: u8,
    pub active: bool,
    pub last_rotated_ms: Option<i64>,
    pub last_used_ms: Option<i64>,
}

#[derive(Clone, Debug, Default)]
pub struct Group {
    pub name: String,
    pub attached: Vec<String>,
    pub inline: Vec<(String, String)>,
}

#[derive(Clone, Debug, Default)]
pub struct Role {
    pub name: String,
    pub arn: String,
    pub trust_policy: String,
    pub attached: Vec<String>,
    pub inline: Vec<(String, String)>,
    /// Service-linked roles (`/aws-service-role/`) are AWS's to manage.
    pub service_linked: bool,
    /// The permissions boundary's policy ARN.
    pub boundary: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Root {
    pub access_keys: bool,
    pub mfa_enabled: bool,
}

/// The credential report (CSV, as `GetCredentialReport` returns it) by user name; the root
/// user's line (`<root_account>`) apart.
pub fn read_credential_report(csv: &str) -> (BTreeMap<String, Credentials>, Option<Root>) {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').collect();
    let column = |name: &str| header.iter().position(|field| *field == name);
    let mut users = BTreeMap::new();
    let mut root = None;
    for line in lines.filter(|line| !line.trim().is_empty()) {
        let fields: Vec<&str> = line.split(',').collect();
        let get = |name: &str| {
            column(name)
                .and_then(|at| fields.get(at))
                .copied()
                .unwrap_or("")
        };
        let keys = [1u8, 2]
            .into_iter()
            .filter_map(|slot| {
                let active = get(&format!("access_key_{slot}_active")) == "true";
                let last_rotated_ms = time_ms(get(&format!("access_key_{slot}_last_rotated")));
                (active || last_rotated_ms.is_some()).then(|| AccessKey {
                    slot,
                    active,
                    last_rotated_ms,
                    last_used_ms: time_ms(get(&format!("access_key_{slot}_last_used_date"))),
                })
            })
            .collect::<Vec<_>>();
        let credentials = Credentials {
            password_enabled: get("password_enabled") == "true",
            password_last_used_ms: time_ms(get("password_last_used")),
            mfa_active: get("mfa_active") == "true",
            keys,
        };
        if get("user") == "<root_account>" {
            root = Some(Root {
                access_keys: credentials.keys.iter().any(|key| key.active),
                mfa_enabled: credentials.mfa_active,
            });
        } else {
            users.insert(get("user").to_string(), credentials);
        }
    }
    (users, root)
}

/// The report's times (`2024-06-01T09:00:00+00:00`); `N/A`, `no_information` and
/// `not_supported` are `None`.
fn time_ms(text: &str) -> Option<i64> {
    let text = text.trim();
    let utc = text.strip_suffix("+00:00").map(|rest| format!("{rest}Z"));
    iamwatch_core::time::parse_timestamp_ms(utc.as_deref().unwrap_or(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The columns and values AWS writes (documented in the IAM user guide).
    const REPORT: &str = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::111122223333:root,2020-01-01T00:00:00+00:00,not_supported,2024-05-01T10:00:00+00:00,not_supported,not_supported,false,true,2021-03-01T00:00:00+00:00,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::111122223333:user/alice,2022-01-01T00:00:00+00:00,true,2024-05-30T08:00:00+00:00,2022-01-01T00:00:00+00:00,N/A,true,true,2022-01-02T00:00:00+00:00,2024-05-31T12:00:00+00:00,us-east-1,iam,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
bob,arn:aws:iam::111122223333:user/bob,2023-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
";

    #[test]
    fn the_credential_report_is_read_by_its_columns_with_the_root_line_apart() {
        let (users, root) = read_credential_report(REPORT);
        assert_eq!(
            root,
            Some(Root {
                access_keys: true,
                mfa_enabled: false
            })
        );
        let alice = &users["alice"];
        assert!(alice.password_enabled && alice.mfa_active);
        assert_eq!(alice.password_last_used_ms, Some(1_717_056_000_000));
        assert_eq!(
            alice.keys,
            [AccessKey {
                slot: 1,
                active: true,
                last_rotated_ms: Some(1_641_081_600_000),
                last_used_ms: Some(1_717_156_800_000),
            }]
        );
        let bob = &users["bob"];
        assert!(!bob.password_enabled && bob.keys.is_empty());
    }
}
