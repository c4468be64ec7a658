use super::*;
use crate::event::normalise;

mod services;

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
        let ranked = first_target_key(&details.request, &details.response, "AnyCall").map(|rank| {
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

/// A call refused with AccessDenied: no parameters, the refusal naming `resource` as AWS words it.
fn refused(name: &str, caller: &str, action: &str, resource: &str) -> Value {
    let mut refused = record(name, Value::Null, Value::Null);
    refused["errorCode"] = json!("AccessDenied");
    refused["errorMessage"] = json!(format!(
        "User: {caller} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
    ));
    refused
}

fn record(name: &str, request: Value, response: Value) -> Value {
    let source = match name {
        "StopInstances"
        | "RunInstances"
        | "AttachInternetGateway"
        | "CreateVpc"
        | "CreateSecurityGroup"
        | "DeleteFlowLogs"
        | "CreateTrafficMirrorSession"
        | "DisassociateRouteTable" => "ec2.amazonaws.com",
        "SendCommand" | "StartSession" | "GetParameters" => "ssm.amazonaws.com",
        "StopLogging" => "cloudtrail.amazonaws.com",
        "LeaveOrganization"
        | "RemoveAccountFromOrganization"
        | "AttachPolicy"
        | "CreateOrganizationalUnit" => "organizations.amazonaws.com",
        "CreateAccountAssignment" => "sso.amazonaws.com",
        "InitiateJob" => "glacier.amazonaws.com",
        "DeleteResolverQueryLogConfig" => "route53resolver.amazonaws.com",
        "CreateFoundationModelAgreement" => "bedrock.amazonaws.com",
        "CreateDBInstance" | "StopActivityStream" => "rds.amazonaws.com",
        "DeleteDeliveryChannel" => "config.amazonaws.com",
        "SetQueueAttributes" => "sqs.amazonaws.com",
        "AssumeRole" | "GetSessionToken" | "GetFederationToken" | "GetCallerIdentity" => {
            "sts.amazonaws.com"
        }
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
            refused(
                "AssumeRole",
                "arn:aws:iam::1:user/bert-jan",
                "sts:AssumeRole",
                "arn:aws:iam::1:role/ec2-admin",
            ),
            "resource",
            "arn:aws:iam::1:role/ec2-admin",
        ),
        // What STS hands out is not what the call acted on: the role, the federated user's
        // name, the caller itself.
        (
            record(
                "AssumeRole",
                json!({"roleArn": "arn:aws:iam::999988887777:role/deploy", "roleSessionName": "alice"}),
                json!({"credentials": {"accessKeyId": "ASIATEMP", "sessionToken": "x"},
                       "assumedRoleUser": {"arn": "arn:aws:sts::999988887777:assumed-role/deploy/alice"}}),
            ),
            "role",
            "arn:aws:iam::999988887777:role/deploy",
        ),
        (
            record(
                "GetSessionToken",
                json!({"durationSeconds": 3600}),
                json!({"credentials": {"accessKeyId": "ASIATEMP", "sessionToken": "x"}}),
            ),
            "user",
            "alice",
        ),
        (
            record("ChangePassword", Value::Null, Value::Null),
            "user",
            "alice",
        ),
        (
            record("GetCallerIdentity", Value::Null, Value::Null),
            "user",
            "alice",
        ),
        (
            record(
                "GetFederationToken",
                json!({"name": "stratus_red_team", "policy": "{}"}),
                json!({"credentials": {"accessKeyId": "ASIATEMP", "sessionToken": "x"},
                       "federatedUser": {"federatedUserId": "1:stratus_red_team"}}),
            ),
            "federated_user",
            "stratus_red_team",
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
    assert_targets(cases);
}

fn assert_targets<const N: usize>(cases: [(Value, &str, &str); N]) {
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

#[test]
fn target_names_what_was_acted_on_only_for_start_session() {
    let request = json!({"target": "i-0a1d", "sessionId": "s"});
    let rank = first_target_key(&request, &Value::Null, "StartSession");
    assert_eq!(
        rank.map(|rank| TARGET_KEYS[rank]),
        Some(("target", "instance"))
    );
    assert_eq!(
        first_target_key(&request, &Value::Null, "AttachPolicy"),
        None
    );
}

#[test]
fn only_a_request_wrapped_in_its_own_api_name_is_read_as_the_query_form() {
    let wrapped =
        json!({"DeleteTrafficMirrorTargetRequest": {"TrafficMirrorTargetId": "tmt-0fd4"}});
    assert_eq!(
        query_form_request(&wrapped, "DeleteTrafficMirrorTarget"),
        Some(json!({"trafficMirrorTargetId": "tmt-0fd4"}))
    );
    assert_eq!(query_form_request(&wrapped, "DeleteFlowLogs"), None);
    let two = json!({"DeleteFlowLogsRequest": {"FlowLogId": "fl-1"}, "other": 1});
    assert_eq!(query_form_request(&two, "DeleteFlowLogs"), None);
    assert_eq!(
        query_form_request(&json!({"DeleteFlowLogsRequest": "fl-1"}), "DeleteFlowLogs"),
        None
    );
    let listed = json!({"DeleteFlowLogsRequest": {"FlowLogId": [{"content": "fl-1", "tag": 1}, {"content": "fl-2", "tag": 2}]}});
    assert_eq!(
        query_form_request(&listed, "DeleteFlowLogs"),
        Some(json!({"flowLogId": ["fl-1", "fl-2"]}))
    );
}
