//! Targets of calls outside IAM: other services' resources, AWS Organizations, IAM Identity
//! Center.

use super::{assert_targets, record, refused};
use serde_json::{json, Value};

/// Calls outside IAM that attack simulations make (Stratus Red Team's, in the corpus), each
/// naming its target in its own way.
#[test]
fn other_services_name_their_targets_their_own_way() {
    let cases = [
        // A bare `name` is a trail to CloudTrail, a parameter to SSM's parameter calls.
        (
            record(
                "StopLogging",
                json!({"name": "management-events"}),
                Value::Null,
            ),
            "trail",
            "management-events",
        ),
        (
            record(
                "GetParameters",
                json!({"names": ["/credentials/a", "/credentials/b"], "withDecryption": true}),
                Value::Null,
            ),
            "parameter",
            "/credentials/a (+1)",
        ),
        (
            record(
                "StartSession",
                json!({"target": "i-0a1d1296c1de3aa1f"}),
                json!({"sessionId": "alice-0b1", "streamUrl": "wss://x"}),
            ),
            "instance",
            "i-0a1d1296c1de3aa1f",
        ),
        // EC2's query form: the request wrapped in `<API>Request`, values as `content`.
        (
            record(
                "DeleteFlowLogs",
                json!({"DeleteFlowLogsRequest": {"FlowLogId": {"content": "fl-0e17aa62a21d4bbfe", "tag": 1}}}),
                json!({"DeleteFlowLogsResponse": {"requestId": "r", "unsuccessful": ""}}),
            ),
            "flow_log",
            "fl-0e17aa62a21d4bbfe",
        ),
        (
            record(
                "CreateTrafficMirrorSession",
                json!({"CreateTrafficMirrorSessionRequest": {"ClientToken": "c", "NetworkInterfaceId": "eni-0c61fbc84fca4138f",
                       "SessionNumber": 1, "TrafficMirrorFilterId": "tmf-010d", "TrafficMirrorTargetId": "tmt-0fd4"}}),
                Value::Null,
            ),
            "network_interface",
            "eni-0c61fbc84fca4138f",
        ),
        (
            record(
                "DisassociateRouteTable",
                json!({"associationId": "rtbassoc-0d88381fe24e7a995"}),
                json!({"requestId": "r", "associationState": {"state": "disassociating"}, "_return": true}),
            ),
            "association",
            "rtbassoc-0d88381fe24e7a995",
        ),
        // The configuration's id, not the name its description in the response holds.
        (
            record(
                "DeleteResolverQueryLogConfig",
                json!({"originSequenceNumber": 0, "resolverQueryLogConfigId": "rqlc-4473f20ca554c07"}),
                json!({"resolverQueryLogConfig": {"id": "rqlc-4473f20ca554c07", "name": "vpc-dns-logs"}}),
            ),
            "resolver_query_log_config",
            "rqlc-4473f20ca554c07",
        ),
        (
            record(
                "CreateFoundationModelAgreement",
                json!({"modelId": "anthropic.claude-3-sonnet-20240229-v1:0"}),
                Value::Null,
            ),
            "model",
            "anthropic.claude-3-sonnet-20240229-v1:0",
        ),
        // Refused on `*`: nothing names a resource, the eventID stands for the call.
        (
            refused(
                "LeaveOrganization",
                "arn:aws:sts::1:assumed-role/r/s",
                "organizations:LeaveOrganization",
                "*",
            ),
            "event",
            "evt-1",
        ),
    ];
    assert_targets(cases);
}

/// AWS Organizations and IAM Identity Center: who may do what across the organisation.
#[test]
fn organisation_calls_name_policies_units_and_accounts() {
    let cases = [
        (
            record(
                "AttachPolicy",
                json!({"policyId": "p-examplepolicyid111", "targetId": "ou-examplerootid111-exampleouid111"}),
                Value::Null,
            ),
            "organizations_policy",
            "p-examplepolicyid111",
        ),
        // IAM's CreatePolicy names a managed policy; Organizations' a service control policy.
        (
            {
                let mut create = record(
                    "CreatePolicy",
                    json!({"content": "{}", "name": "deny-leave", "type": "SERVICE_CONTROL_POLICY"}),
                    json!({"policy": {"policySummary": {"id": "p-1"}}}),
                );
                create["eventSource"] = json!("organizations.amazonaws.com");
                create
            },
            "organizations_policy",
            "deny-leave",
        ),
        (
            record(
                "CreateOrganizationalUnit",
                json!({"parentId": "r-ab12", "name": "sandbox"}),
                Value::Null,
            ),
            "organizational_unit",
            "sandbox",
        ),
        (
            record(
                "RemoveAccountFromOrganization",
                json!({"accountId": "111122223333"}),
                Value::Null,
            ),
            "account",
            "111122223333",
        ),
        (
            record(
                "CreateAccountAlias",
                json!({"accountAlias": "example-prod"}),
                Value::Null,
            ),
            "account_alias",
            "example-prod",
        ),
        (
            record(
                "CreateAccountAssignment",
                json!({"instanceArn": "arn:aws:sso:::instance/ssoins-1", "targetId": "111122223333",
                       "targetType": "AWS_ACCOUNT", "permissionSetArn": "arn:aws:sso:::permissionSet/ssoins-1/ps-1",
                       "principalType": "USER", "principalId": "u-1"}),
                Value::Null,
            ),
            "permission_set",
            "arn:aws:sso:::permissionSet/ssoins-1/ps-1",
        ),
        // Elsewhere `accountId` is the caller's own account ("-" to Glacier), not a target.
        (
            record(
                "InitiateJob",
                json!({"accountId": "-", "vaultName": "archive"}),
                Value::Null,
            ),
            "event",
            "evt-1",
        ),
    ];
    assert_targets(cases);
}
