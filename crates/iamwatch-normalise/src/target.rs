//! The resource a call acted on, and access-key details, as each IAM API names them.
//!
//! APIs put the identifier in different places: `UpdateAccessKey` in `requestParameters
//! .accessKeyId`, `CreateAccessKey` only in `responseElements.accessKey.accessKeyId`,
//! `CreateVirtualMFADevice` in `responseElements.virtualMFADevice.serialNumber`. One priority
//! list of keys, looked up in the request and then one level into the response, covers them
//! all: the first key found is the target, and the user, role or group also named in the
//! request is its principal.

use crate::event::{Details, Event};
use iamwatch_core::{AccessKeyMeta, Target};
use serde_json::Value;

/// `(key, kind)`, most specific first.
const TARGET_KEYS: &[(&str, &str)] = &[
    ("accessKeyId", "access_key"),
    ("serialNumber", "mfa_device"),
    ("sSHPublicKeyId", "ssh_public_key"),
    ("certificateId", "signing_certificate"),
    ("serviceSpecificCredentialId", "service_specific_credential"),
    ("policyArn", "policy"),
    ("policyName", "policy"),
    ("permissionsBoundary", "permissions_boundary"),
    ("serverCertificateName", "server_certificate"),
    ("instanceProfileName", "instance_profile"),
    ("roleName", "role"),
    ("groupName", "group"),
    ("userName", "user"),
    ("sAMLProviderArn", "identity_provider"),
    ("openIDConnectProviderArn", "identity_provider"),
    ("roleArn", "role"),
    ("trailName", "trail"),
    ("bucketName", "bucket"),
    ("functionName", "function"),
    ("secretId", "secret"),
    ("keyId", "kms_key"),
    ("snapshotId", "snapshot"),
    ("imageId", "image"),
    ("dBSnapshotIdentifier", "db_snapshot"),
    ("dBClusterSnapshotIdentifier", "db_snapshot"),
    ("dBInstanceIdentifier", "db_instance"),
    ("dBClusterIdentifier", "db_cluster"),
    ("detectorId", "detector"),
    ("groupId", "security_group"),
    ("instanceId", "instance"),
    ("instanceIds", "instance"),
    ("networkAclId", "network_acl"),
    ("routeTableId", "route_table"),
    ("internetGatewayId", "internet_gateway"),
    ("natGatewayId", "nat_gateway"),
    ("vpcId", "vpc"),
    ("dbiResourceId", "db_instance"),
    ("globalClusterIdentifier", "db_cluster"),
    ("dBSecurityGroupName", "db_security_group"),
    ("repositoryName", "repository"),
    ("projectArn", "codebuild_project"),
    ("guardrailIdentifier", "guardrail"),
    ("configurationRecorderName", "config_recorder"),
    ("deliveryChannelName", "config_delivery_channel"),
    ("logGroupName", "log_group"),
    ("queueUrl", "queue"),
    ("topicArn", "topic"),
    ("stackName", "stack"),
    ("domainName", "domain"),
    ("resourceArn", "resource"),
    ("sourceArn", "resource"),
    ("name", "resource"),
    ("names", "resource"),
];

const PRINCIPAL_KEYS: &[(&str, &str)] = &[
    ("userName", "user"),
    ("roleName", "role"),
    ("groupName", "group"),
];

/// The target of the call; the eventID (kind `event`) when nothing else identifies it.
pub fn target(event: &Event<'_>, details: &Details) -> Target {
    // The keys the call has, ranked once, rather than every key of the list looked up in turn
    // (a hash of the key each time): most calls have none of them, and a few keys each.
    let found = first_target_key(details, event.api).and_then(|rank| {
        let (key, kind) = &TARGET_KEYS[rank];
        let id =
            lookup(&details.request, key).or_else(|| lookup_response(&details.response, key))?;
        Some((key, kind, id))
    });
    if let Some((key, kind, id)) = found {
        let principal = PRINCIPAL_KEYS
            .iter()
            .filter(|(principal_key, _)| principal_key != key)
            .find_map(|(principal_key, prefix)| {
                lookup(&details.request, principal_key).map(|name| format!("{prefix}/{name}"))
            })
            .unwrap_or_default();
        let kind = match *kind {
            // An inline policy is named, and belongs to the user, role or group in the request.
            "policy" if *key == "policyName" && !principal.is_empty() => "inline_policy",
            // EC2 names security groups with the key IAM names its groups with.
            "group" if event.event_source == "ec2.amazonaws.com" => "security_group",
            other => other,
        };
        return Target {
            kind: kind.to_string(),
            id,
            principal,
        };
    }
    if let Some(instances) =
        ec2_instances(&details.request).or_else(|| ec2_instances(&details.response))
    {
        return Target {
            kind: "instance".to_string(),
            id: instances,
            principal: String::new(),
        };
    }
    fallback_target(event)
}

/// The instances an EC2 call names in `instancesSet.items` (`StopInstances`, `RunInstances`'s
/// response): the first one's id, and how many more.
fn ec2_instances(object: &Value) -> Option<String> {
    let Value::Array(items) = object.get("instancesSet")?.get("items")? else {
        return None;
    };
    let mut ids = items.iter().filter_map(|item| lookup(item, "instanceId"));
    let first = ids.next()?;
    Some(first_of_many(&first, ids.count()))
}

/// The first of a list of identifiers, and how many `more` there are: `i-0a (+2)`, the same in
/// every language (it is part of the resource, which titles show in both).
fn first_of_many(first: &str, more: usize) -> String {
    match more {
        0 => first.to_string(),
        more => format!("{first} (+{more})"),
    }
}

/// The rank in [`TARGET_KEYS`] of the first key holding an identifier, in the request or in the
/// response (at its top or one level in): the key a lookup of each key in turn finds first.
fn first_target_key(details: &Details, api: &str) -> Option<usize> {
    let rank = |key: &str| {
        TARGET_KEYS
            .iter()
            .position(|(target, _)| *target == key)
            .filter(|_| names_the_target(key, api))
    };
    let ranks_in = |object: &Value| -> Option<usize> {
        let Value::Object(members) = object else {
            return None;
        };
        members
            .iter()
            .filter(|(_, value)| has_text(value))
            .filter_map(|(key, _)| rank(key))
            .min()
    };
    let nested = match &details.response {
        Value::Object(members) => nested_objects(members).filter_map(ranks_in).min(),
        _ => None,
    };
    [
        ranks_in(&details.request),
        ranks_in(&details.response),
        nested,
    ]
    .into_iter()
    .flatten()
    .min()
}

/// Whether `key` can name what `api` acted on. A permissions boundary is the target of the calls
/// that set or remove one (`PutRolePermissionsBoundary`); `CreateRole` and `CreateUser` may name
/// one too, as a setting of the role or user they create, which is their target.
fn names_the_target(key: &str, api: &str) -> bool {
    key != "permissionsBoundary" || api.contains("PermissionsBoundary")
}

/// Who the call acted on when no key names it.
fn fallback_target(event: &Event<'_>) -> Target {
    // Sign-ins, ChangePassword and GetSessionToken act on the caller itself.
    if event.event_source == "signin.amazonaws.com"
        || matches!(event.api, "ChangePassword" | "GetSessionToken")
    {
        let who = if event.identity.is_root() {
            "root"
        } else {
            event.identity.user_name
        };
        let name = event.identity.name();
        let id = if who.is_empty() { name.as_ref() } else { who };
        if !id.is_empty() {
            return Target {
                kind: "user".to_string(),
                id: id.to_string(),
                principal: String::new(),
            };
        }
    }
    // A refused call's record holds no parameters, but AWS's refusal names what was asked for:
    // "User: … is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::…:role/x".
    if let Some(resource) = refused_resource(event.error_message) {
        return Target {
            kind: "resource".to_string(),
            id: resource.to_string(),
            principal: String::new(),
        };
    }
    Target {
        kind: "event".to_string(),
        id: event.event_id.to_string(),
        principal: String::new(),
    }
}

/// The resource an access-denied message names ("… on resource: ARN", up to the next space).
fn refused_resource(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once(" on resource: ")?;
    let resource = rest.split_whitespace().next()?;
    let resource = resource.trim_end_matches(['.', ',', ';']);
    (!resource.is_empty()).then_some(resource)
}

/// Owner, id and status of the key an access-key operation touched; `None` for other calls.
pub fn access_key_meta(event: &Event<'_>, details: &Details) -> Option<AccessKeyMeta> {
    if !event.api.contains("AccessKey") {
        return None;
    }
    let from_response = |key: &str| {
        details
            .response
            .get("accessKey")
            .and_then(|value| text(value.get(key)?))
    };
    let access_key_id = lookup(&details.request, "accessKeyId")
        .or_else(|| from_response("accessKeyId"))
        .unwrap_or_default();
    // Without userName, IAM acts on the caller's own keys.
    let owner = lookup(&details.request, "userName")
        .or_else(|| from_response("userName"))
        .unwrap_or_else(|| event.identity.name().into_owned());
    let status = lookup(&details.request, "status")
        .or_else(|| from_response("status"))
        .unwrap_or_else(|| match event.api {
            "DeleteAccessKey" if !event.failed() => "Deleted".to_string(),
            _ => String::new(),
        });
    Some(AccessKeyMeta {
        owner,
        access_key_id,
        status,
    })
}

fn lookup(object: &Value, key: &str) -> Option<String> {
    text(object.get(key)?)
}

fn lookup_response(response: &Value, key: &str) -> Option<String> {
    if let Some(found) = lookup(response, key) {
        return Some(found);
    }
    let Value::Object(members) = response else {
        return None;
    };
    nested_objects(members).find_map(|member| lookup(member, key))
}

/// The response's members one level in where a target may be named: not `credentials`, the
/// temporary keys STS (and IAM Identity Center) hand out. They are what the call made, not what
/// it acted on: `AssumeRole`'s target is the role, not its session's `ASIA…` key.
fn nested_objects(members: &serde_json::Map<String, Value>) -> impl Iterator<Item = &Value> {
    members
        .iter()
        .filter(|(key, value)| key.as_str() != "credentials" && value.is_object())
        .map(|(_, value)| value)
}

/// Whether [`text`] reads an identifier from `value`.
fn has_text(value: &Value) -> bool {
    match value {
        Value::String(text) => !text.is_empty(),
        Value::Number(_) => true,
        Value::Array(items) => items
            .first()
            .is_some_and(|first| first.is_string() && has_text(first)),
        _ => false,
    }
}

/// An identifier, or for a list of them (`SendCommand`'s `instanceIds`, `GetParameters`'s
/// `names`) the first and how many more.
fn text(value: &Value) -> Option<String> {
    match value {
        Value::String(text) if !text.is_empty() => Some(text.clone()),
        Value::Number(number) => Some(number.to_string()),
        Value::Array(items) if has_text(value) => Some(first_of_many(
            items[0].as_str().unwrap_or_default(),
            items.len() - 1,
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::normalise;

    /// The list looked up key by key, as before the ranking: the reference.
    fn looked_up_in_turn(details: &Details, api: &str) -> Option<(&'static str, String)> {
        TARGET_KEYS
            .iter()
            .filter(|(key, _)| names_the_target(key, api))
            .find_map(|(key, _)| {
                lookup(&details.request, key)
                    .or_else(|| lookup_response(&details.response, key))
                    .map(|id| (*key, id))
            })
    }

    #[test]
    fn ranking_the_keys_finds_what_looking_each_up_in_turn_finds() {
        let cases = [
            (json!({}), Value::Null),
            (
                json!({"userName": "bob", "accessKeyId": "AKIA1"}),
                Value::Null,
            ),
            (
                json!({"userName": ""}),
                json!({"accessKey": {"userName": "x", "accessKeyId": "AKIA2"}}),
            ),
            (json!({"name": "n"}), json!({"roleName": "r"})),
            (json!({"policyArn": 5}), Value::Null),
            (
                json!({"groupId": ["sg-0"]}),
                json!({"x": {"groupId": "sg-1"}}),
            ),
            (json!("text"), json!([1, 2])),
            (
                json!({"instancesSet": {"items": [{"instanceId": "i-1"}]}}),
                Value::Null,
            ),
            (
                Value::Null,
                json!({"a": {"userName": "u1"}, "b": {"userName": "u2", "roleName": "r"}}),
            ),
            (
                json!({"bucketName": "b", "keyId": ""}),
                json!({"keyId": "k"}),
            ),
        ];
        for (request, response) in cases {
            let details = Details {
                request,
                response,
                ..Details::default()
            };
            let ranked = first_target_key(&details, "AnyCall").map(|rank| {
                let key = TARGET_KEYS[rank].0;
                let id = lookup(&details.request, key)
                    .or_else(|| lookup_response(&details.response, key))
                    .expect("a ranked key holds an identifier");
                (key, id)
            });
            assert_eq!(
                ranked,
                looked_up_in_turn(&details, "AnyCall"),
                "{details:?}"
            );
        }
    }
    use iamwatch_sources::{visit_document, Item};
    use serde_json::json;

    fn target_and_key(record: Value) -> (Target, Option<AccessKeyMeta>) {
        let bytes = record.to_string();
        let mut out = None;
        visit_document(bytes.as_bytes(), false, &mut |item| {
            if let Item::Record(record) = item {
                let event = normalise(&record, 0);
                let details = event.details();
                out = Some((target(&event, &details), access_key_meta(&event, &details)));
            }
        });
        out.expect("a record")
    }

    fn record(name: &str, request: Value, response: Value) -> Value {
        let source = match name {
            "StopInstances"
            | "RunInstances"
            | "AttachInternetGateway"
            | "CreateVpc"
            | "CreateSecurityGroup" => "ec2.amazonaws.com",
            "SendCommand" => "ssm.amazonaws.com",
            "CreateDBInstance" => "rds.amazonaws.com",
            _ => "iam.amazonaws.com",
        };
        json!({"eventName": name, "eventSource": source, "eventID": "evt-1",
               "userIdentity": {"type": "IAMUser", "userName": "alice"},
               "requestParameters": request, "responseElements": response})
    }

    #[test]
    fn access_key_comes_from_the_response_on_create_and_the_request_on_update() {
        let (created, key) = target_and_key(record(
            "CreateAccessKey",
            json!({"userName": "bob"}),
            json!({"accessKey": {"userName": "bob", "accessKeyId": "AKIANEW", "status": "Active"}}),
        ));
        assert_eq!(
            (
                created.kind.as_str(),
                created.id.as_str(),
                created.principal.as_str()
            ),
            ("access_key", "AKIANEW", "user/bob")
        );
        assert_eq!(
            key,
            Some(AccessKeyMeta {
                owner: "bob".into(),
                access_key_id: "AKIANEW".into(),
                status: "Active".into()
            })
        );

        let (_, key) = target_and_key(record(
            "UpdateAccessKey",
            json!({"accessKeyId": "AKIAOLD", "status": "Inactive"}),
            Value::Null,
        ));
        assert_eq!(
            key.unwrap().owner,
            "alice",
            "no userName means the caller's own key"
        );
        let (_, key) = target_and_key(record(
            "DeleteAccessKey",
            json!({"accessKeyId": "AKIAOLD"}),
            Value::Null,
        ));
        assert_eq!(key.unwrap().status, "Deleted");
    }

    #[test]
    fn each_family_names_its_own_identifier() {
        let cases = [
            (
                record(
                    "DeactivateMFADevice",
                    json!({"userName": "judy", "serialNumber": "arn:aws:iam::1:mfa/judy"}),
                    Value::Null,
                ),
                "mfa_device",
                "arn:aws:iam::1:mfa/judy",
            ),
            (
                record(
                    "CreateVirtualMFADevice",
                    json!({"virtualMFADeviceName": "dev"}),
                    json!({"virtualMFADevice": {"serialNumber": "arn:aws:iam::1:mfa/dev"}}),
                ),
                "mfa_device",
                "arn:aws:iam::1:mfa/dev",
            ),
            (
                record(
                    "UploadSSHPublicKey",
                    json!({"userName": "sybil", "sSHPublicKeyBody": "ssh-rsa AAA"}),
                    json!({"sSHPublicKey": {"sSHPublicKeyId": "APKA1"}}),
                ),
                "ssh_public_key",
                "APKA1",
            ),
            (
                record(
                    "UploadSigningCertificate",
                    json!({"userName": "olivia"}),
                    json!({"certificate": {"certificateId": "CERT1"}}),
                ),
                "signing_certificate",
                "CERT1",
            ),
            (
                record(
                    "AttachUserPolicy",
                    json!({"userName": "walter", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
                    Value::Null,
                ),
                "policy",
                "arn:aws:iam::aws:policy/AdministratorAccess",
            ),
            (
                record(
                    "PutRolePolicy",
                    json!({"roleName": "r", "policyName": "inline", "policyDocument": "{}"}),
                    Value::Null,
                ),
                "inline_policy",
                "inline",
            ),
            (
                record(
                    "CreatePolicy",
                    json!({"policyName": "p", "policyDocument": "{}"}),
                    json!({"policy": {"arn": "arn:aws:iam::1:policy/p"}}),
                ),
                "policy",
                "p",
            ),
            (
                record(
                    "UpdateAssumeRolePolicy",
                    json!({"roleName": "DataPipeline", "policyDocument": "{}"}),
                    Value::Null,
                ),
                "role",
                "DataPipeline",
            ),
            (
                record(
                    "AddUserToGroup",
                    json!({"groupName": "admins", "userName": "eve"}),
                    Value::Null,
                ),
                "group",
                "admins",
            ),
            (
                record(
                    "CreateLoginProfile",
                    json!({"userName": "sybil", "passwordResetRequired": true}),
                    Value::Null,
                ),
                "user",
                "sybil",
            ),
            (
                record(
                    "CreateUser",
                    json!({"userName": "carol"}),
                    json!({"user": {"userName": "carol"}}),
                ),
                "user",
                "carol",
            ),
            // A boundary given at creation is a setting of the role or user created
            // (Stratus Red Team's backdoor role is created with `AWSDenyAll` as its boundary).
            (
                record(
                    "CreateRole",
                    json!({"roleName": "backdoor", "assumeRolePolicyDocument": "{}",
                           "permissionsBoundary": "arn:aws:iam::aws:policy/AWSDenyAll"}),
                    json!({"role": {"roleName": "backdoor", "permissionsBoundary":
                           {"permissionsBoundaryArn": "arn:aws:iam::aws:policy/AWSDenyAll"}}}),
                ),
                "role",
                "backdoor",
            ),
            (
                record(
                    "CreateUser",
                    json!({"userName": "dave",
                           "permissionsBoundary": "arn:aws:iam::1:policy/boundary"}),
                    Value::Null,
                ),
                "user",
                "dave",
            ),
            (
                record(
                    "PutUserPermissionsBoundary",
                    json!({"userName": "dave",
                           "permissionsBoundary": "arn:aws:iam::1:policy/boundary"}),
                    Value::Null,
                ),
                "permissions_boundary",
                "arn:aws:iam::1:policy/boundary",
            ),
            // Other services' resources, as the CIS and Panther rules' events name them.
            (
                record(
                    "StopInstances",
                    json!({"instancesSet": {"items": [{"instanceId": "i-0a"}, {"instanceId": "i-0b"}, {"instanceId": "i-0c"}]}, "force": false}),
                    json!({"instancesSet": {"items": [{"instanceId": "i-0a", "currentState": {"name": "stopping"}}]}}),
                ),
                "instance",
                "i-0a (+2)",
            ),
            (
                record(
                    "RunInstances",
                    json!({"instancesSet": {"items": [{"imageId": "ami-1", "minCount": 1}]}}),
                    json!({"instancesSet": {"items": [{"instanceId": "i-0new", "imageId": "ami-1"}]}}),
                ),
                "instance",
                "i-0new",
            ),
            (
                record(
                    "SendCommand",
                    json!({"documentName": "AWS-RunShellScript", "instanceIds": ["i-1", "i-2", "i-3"]}),
                    Value::Null,
                ),
                "instance",
                "i-1 (+2)",
            ),
            (
                record(
                    "AttachInternetGateway",
                    json!({"internetGatewayId": "igw-1", "vpcId": "vpc-1"}),
                    Value::Null,
                ),
                "internet_gateway",
                "igw-1",
            ),
            (
                record(
                    "CreateVpc",
                    json!({"cidrBlock": "10.0.0.0/16"}),
                    json!({"vpc": {"vpcId": "vpc-2", "state": "pending"}}),
                ),
                "vpc",
                "vpc-2",
            ),
            (
                record(
                    "CreateSecurityGroup",
                    json!({"groupName": "web", "vpcId": "vpc-1", "groupDescription": "web"}),
                    json!({"groupId": "sg-1"}),
                ),
                "security_group",
                "web",
            ),
            (
                record(
                    "StopActivityStream",
                    json!({"resourceArn": "arn:aws:rds:us-east-1:1:cluster:orders", "applyImmediately": true}),
                    Value::Null,
                ),
                "resource",
                "arn:aws:rds:us-east-1:1:cluster:orders",
            ),
            (
                record(
                    "DeleteDeliveryChannel",
                    json!({"configurationRecorderName": "default"}),
                    Value::Null,
                ),
                "config_recorder",
                "default",
            ),
            (
                record(
                    "SetQueueAttributes",
                    json!({"attributes": {"Policy": ""}, "queueUrl": "https://sqs.us-east-1.amazonaws.com/1/orders"}),
                    Value::Null,
                ),
                "queue",
                "https://sqs.us-east-1.amazonaws.com/1/orders",
            ),
            (
                record(
                    "CreateDBInstance",
                    json!({"dBInstanceIdentifier": "orders-db", "publiclyAccessible": true}),
                    Value::Null,
                ),
                "db_instance",
                "orders-db",
            ),
            (
                {
                    let mut refused = record("AssumeRole", Value::Null, Value::Null);
                    refused["eventSource"] = json!("sts.amazonaws.com");
                    refused["errorCode"] = json!("AccessDenied");
                    refused["errorMessage"] = json!("User: arn:aws:iam::1:user/bert-jan is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::1:role/ec2-admin because no identity-based policy allows the sts:AssumeRole action");
                    refused
                },
                "resource",
                "arn:aws:iam::1:role/ec2-admin",
            ),
            // What STS hands out is not what the call acted on: the role, the federated user's
            // name, the caller itself.
            (
                {
                    let mut assumed = record(
                        "AssumeRole",
                        json!({"roleArn": "arn:aws:iam::999988887777:role/deploy", "roleSessionName": "alice"}),
                        json!({"credentials": {"accessKeyId": "ASIATEMP", "sessionToken": "x"},
                               "assumedRoleUser": {"arn": "arn:aws:sts::999988887777:assumed-role/deploy/alice"}}),
                    );
                    assumed["eventSource"] = json!("sts.amazonaws.com");
                    assumed
                },
                "role",
                "arn:aws:iam::999988887777:role/deploy",
            ),
            (
                {
                    let mut session = record(
                        "GetSessionToken",
                        json!({"durationSeconds": 3600}),
                        json!({"credentials": {"accessKeyId": "ASIATEMP", "sessionToken": "x"}}),
                    );
                    session["eventSource"] = json!("sts.amazonaws.com");
                    session
                },
                "user",
                "alice",
            ),
            (
                record("ChangePassword", Value::Null, Value::Null),
                "user",
                "alice",
            ),
            (
                record(
                    "SetSecurityTokenServicePreferences",
                    json!({"globalEndpointTokenVersion": "v2Token"}),
                    Value::Null,
                ),
                "event",
                "evt-1",
            ),
        ];
        for (record, kind, id) in cases {
            let name = record["eventName"].clone();
            let (target, _) = target_and_key(record);
            assert_eq!(
                (target.kind.as_str(), target.id.as_str()),
                (kind, id),
                "{name}"
            );
        }
    }
}
