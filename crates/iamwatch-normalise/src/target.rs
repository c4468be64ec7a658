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
    ("accountAlias", "account_alias"),
    // AWS Organizations: service control and other policies, units, member accounts; IAM
    // Identity Center's permission sets.
    ("policyId", "organizations_policy"),
    ("organizationalUnitId", "organizational_unit"),
    ("accountId", "account"),
    ("accountName", "account"),
    ("permissionSetArn", "permission_set"),
    ("trailName", "trail"),
    ("bucketName", "bucket"),
    ("functionName", "function"),
    ("secretId", "secret"),
    ("secretIdList", "secret"),
    ("keyId", "kms_key"),
    ("snapshotId", "snapshot"),
    ("imageId", "image"),
    ("dBSnapshotIdentifier", "db_snapshot"),
    ("dBClusterSnapshotIdentifier", "db_snapshot"),
    ("sourceDBSnapshotIdentifier", "db_snapshot"),
    ("dBInstanceIdentifier", "db_instance"),
    ("dBClusterIdentifier", "db_cluster"),
    ("detectorId", "detector"),
    ("groupId", "security_group"),
    ("instanceId", "instance"),
    ("instanceIds", "instance"),
    // SSM's StartSession names the instance it opens a shell on `target`.
    ("target", "instance"),
    // Traffic mirroring: a session copies a network interface's traffic to a target through a
    // filter; the interface whose traffic is copied is what `CreateTrafficMirrorSession` acts on.
    ("trafficMirrorSessionId", "traffic_mirror_session"),
    ("networkInterfaceId", "network_interface"),
    ("trafficMirrorTargetId", "traffic_mirror_target"),
    ("trafficMirrorFilterId", "traffic_mirror_filter"),
    ("flowLogId", "flow_log"),
    ("flowLogIds", "flow_log"),
    ("networkAclId", "network_acl"),
    ("routeTableId", "route_table"),
    ("internetGatewayId", "internet_gateway"),
    ("natGatewayId", "nat_gateway"),
    ("vpcId", "vpc"),
    ("associationId", "association"),
    ("dbiResourceId", "db_instance"),
    ("globalClusterIdentifier", "db_cluster"),
    ("dbClusterResourceId", "db_cluster"),
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
    ("resolverQueryLogConfigId", "resolver_query_log_config"),
    ("modelId", "model"),
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
    let query_form = query_form_request(&details.request, event.api);
    let request = query_form.as_ref().unwrap_or(&details.request);
    // The keys the call has, ranked once, rather than every key of the list looked up in turn
    // (a hash of the key each time): most calls have none of them, and a few keys each.
    let found = first_target_key(request, &details.response, event.api).and_then(|rank| {
        let (key, kind) = &TARGET_KEYS[rank];
        let id = lookup(request, key).or_else(|| lookup_response(&details.response, key))?;
        Some((key, kind, id))
    });
    if let Some((key, kind, id)) = found {
        let principal = PRINCIPAL_KEYS
            .iter()
            .filter(|(principal_key, _)| principal_key != key)
            .find_map(|(principal_key, prefix)| {
                lookup(request, principal_key).map(|name| format!("{prefix}/{name}"))
            })
            .unwrap_or_default();
        let kind = match *kind {
            // An inline policy is named, and belongs to the user, role or group in the request.
            "policy" if *key == "policyName" && !principal.is_empty() => "inline_policy",
            // EC2 names security groups with the key IAM names its groups with.
            "group" if event.event_source == "ec2.amazonaws.com" => "security_group",
            "resource" if matches!(*key, "name" | "names") => {
                named_kind(event.event_source, event.api)
            }
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

/// What a bare `name` names, where the service tells: CloudTrail's calls name their trail so
/// (`StopLogging`), SSM's parameter calls their parameters, STS's `GetFederationToken` the
/// federated user it makes, IAM Roles Anywhere's calls what they create.
fn named_kind(event_source: &str, api: &str) -> &'static str {
    match event_source {
        "cloudtrail.amazonaws.com" if api.contains("EventDataStore") => "event_data_store",
        "cloudtrail.amazonaws.com" if !api.contains("Channel") && !api.contains("Dashboard") => {
            "trail"
        }
        "ssm.amazonaws.com" if api.contains("Parameter") => "parameter",
        "ssm.amazonaws.com" if api.contains("Document") => "ssm_document",
        "sts.amazonaws.com" if api == "GetFederationToken" => "federated_user",
        "rolesanywhere.amazonaws.com" if api.contains("TrustAnchor") => "trust_anchor",
        "rolesanywhere.amazonaws.com" if api.contains("Profile") => "rolesanywhere_profile",
        "organizations.amazonaws.com" if api.contains("OrganizationalUnit") => {
            "organizational_unit"
        }
        "organizations.amazonaws.com" if api.contains("Policy") => "organizations_policy",
        _ => "resource",
    }
}

/// EC2's query-form record of a call: `{"DeleteFlowLogsRequest": {"FlowLogId": {"content":
/// "fl-0e…", "tag": 1}}}`, as CloudTrail writes some of EC2's newer APIs (flow logs, traffic
/// mirroring), read as the usual form (`{"flowLogId": "fl-0e…"}`) so that the same keys find
/// the target. `None` for every other request (nothing is copied for them).
fn query_form_request(request: &Value, api: &str) -> Option<Value> {
    let Value::Object(members) = request else {
        return None;
    };
    let (wrapper, Value::Object(inner)) = members.iter().next()? else {
        return None;
    };
    if members.len() != 1 || wrapper.strip_suffix("Request") != Some(api) {
        return None;
    }
    let plain = |value: &Value| match value {
        Value::Object(tagged) if tagged.contains_key("content") => tagged["content"].clone(),
        other => other.clone(),
    };
    let usual = inner
        .iter()
        .map(|(key, value)| {
            let mut chars = key.chars();
            let key = chars.next().map_or_else(String::new, |first| {
                first.to_ascii_lowercase().to_string() + chars.as_str()
            });
            let value = match value {
                Value::Array(items) => Value::Array(items.iter().map(plain).collect()),
                other => plain(other),
            };
            (key, value)
        })
        .collect();
    Some(Value::Object(usual))
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
fn first_target_key(request: &Value, response: &Value, api: &str) -> Option<usize> {
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
    let nested = match response {
        Value::Object(members) => nested_objects(members).filter_map(ranks_in).min(),
        _ => None,
    };
    [ranks_in(request), ranks_in(response), nested]
        .into_iter()
        .flatten()
        .min()
}

/// Whether `key` can name what `api` acted on. A permissions boundary is the target of the calls
/// that set or remove one (`PutRolePermissionsBoundary`); `CreateRole` and `CreateUser` may name
/// one too, as a setting of the role or user they create, which is their target. `target` and
/// `accountId` are words many APIs use for other things.
fn names_the_target(key: &str, api: &str) -> bool {
    match key {
        "permissionsBoundary" => api.contains("PermissionsBoundary"),
        "target" => api == "StartSession",
        // Many services' requests carry the caller's account; Organizations' calls on an
        // account (`RemoveAccountFromOrganization`, `CloseAccount`, `MoveAccount`) act on it.
        "accountId" => api.contains("Account") || api.contains("DelegatedAdministrator"),
        _ => true,
    }
}

/// Who the call acted on when no key names it.
fn fallback_target(event: &Event<'_>) -> Target {
    // Sign-ins, ChangePassword, GetSessionToken and GetCallerIdentity act on the caller itself.
    if event.event_source == "signin.amazonaws.com"
        || matches!(
            event.api,
            "ChangePassword" | "GetSessionToken" | "GetCallerIdentity"
        )
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

/// The resource an access-denied message names ("… on resource: ARN", up to the next space);
/// not `*`, which calls that act on no one resource (`LeaveOrganization`, `ListFunctions`) are
/// refused on, and which says nothing the eventID does not.
fn refused_resource(message: &str) -> Option<&str> {
    let (_, rest) = message.split_once(" on resource: ")?;
    let resource = rest.split_whitespace().next()?;
    let resource = resource.trim_end_matches(['.', ',', ';']);
    (!resource.is_empty() && resource != "*").then_some(resource)
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
mod tests;
