//! An account in the moto server's IAM with something of each kind for the posture scan to
//! find: administrators through a managed policy (with a console password and no MFA), an
//! inline policy and a group; a tidy user with a fresh key; a role another account may assume.

use crate::moto::Moto;

const STAR: &str =
    r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
const ADMIN: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

pub async fn make_account(client: &aws_sdk_iam::Client) {
    for name in ["admin-direct", "admin-inline", "admin-by-group", "tidy"] {
        client.create_user().user_name(name).send().await.unwrap();
    }
    client
        .attach_user_policy()
        .user_name("admin-direct")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    client
        .create_login_profile()
        .user_name("admin-direct")
        .password("Correct-Horse-9")
        .send()
        .await
        .unwrap();
    client
        .put_user_policy()
        .user_name("admin-inline")
        .policy_name("everything")
        .policy_document(STAR)
        .send()
        .await
        .unwrap();
    client
        .create_group()
        .group_name("ops")
        .send()
        .await
        .unwrap();
    client
        .attach_group_policy()
        .group_name("ops")
        .policy_arn(ADMIN)
        .send()
        .await
        .unwrap();
    client
        .add_user_to_group()
        .group_name("ops")
        .user_name("admin-by-group")
        .send()
        .await
        .unwrap();
    client
        .create_access_key()
        .user_name("tidy")
        .send()
        .await
        .unwrap();
    client
        .create_role()
        .role_name("vendor")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::999988887777:root"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap();
}

/// An IAM client of `moto`.
pub fn client(moto: &Moto) -> aws_sdk_iam::Client {
    aws_sdk_iam::Client::new(&moto.sdk_config())
}

/// A user of `client`'s IAM holding `statements` as its one inline policy, and its access key:
/// the keys a test runs a process with while moto checks each request against IAM
/// (`Moto::check_iam`). moto checks two calls as actions of their own, which AWS checks as
/// others a policy grants: a DynamoDB transaction as the actions of its parts (`PutItem`,
/// `UpdateItem`, `ConditionCheckItem`), SQS's `SendMessageBatch` as `SendMessage`. The user is
/// granted those two besides, so that a policy is held to what AWS would ask of it.
#[allow(dead_code)] // the tests of what a policy allows use it, the posture scan's do not
pub async fn user_holding(
    client: &aws_sdk_iam::Client,
    user: &str,
    mut statements: Vec<serde_json::Value>,
) -> aws_sdk_iam::types::AccessKey {
    statements.push(serde_json::json!({
        "Effect": "Allow",
        "Action": ["dynamodb:TransactWriteItems", "sqs:SendMessageBatch"],
        "Resource": "*"
    }));
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
    client.create_user().user_name(user).send().await.unwrap();
    client
        .put_user_policy()
        .user_name(user)
        .policy_name("under-test")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let created = client.create_access_key().user_name(user).send().await;
    created.unwrap().access_key.unwrap()
}
