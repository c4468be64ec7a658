//! The pack's rules with a threshold through a scan: many different secrets read by one role
//! raise on the read that makes the count; the same secret read as often raises nothing; the
//! reads before the count are no incidents.

use crate::helpers::Workspace;
use crate::sigma_count::{event_ids, scanned};
use serde_json::{json, Value};

/// `GetSecretValue` of `secret` by the role session `role`, `second` seconds after 9:00.
fn secret_read(id: &str, second: u32, role: &str, secret: &str) -> Value {
    json!({
        "eventVersion": "1.08",
        "eventTime": format!("2024-06-01T09:{:02}:{:02}Z", second / 60, second % 60),
        "eventSource": "secretsmanager.amazonaws.com", "eventName": "GetSecretValue",
        "awsRegion": "us-east-1", "sourceIPAddress": "10.0.3.7",
        "userAgent": "aws-sdk-go-v2/1.30.3 os/linux lang/go#1.22.5",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAAPP:i-0abc",
            "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/i-0abc"),
            "accountId": "111122223333"},
        "requestParameters": {"secretId": secret}, "responseElements": null,
        "eventID": id, "readOnly": true, "eventType": "AwsApiCall",
        "managementEvent": true, "recipientAccountId": "111122223333"
    })
}

#[test]
fn many_different_secrets_read_by_one_role_raise_once_and_one_secret_read_often_does_not() {
    let workspace = Workspace::new();
    // The app role reads its one secret 40 times; the stolen role reads 25 different ones.
    let records: Vec<Value> = (0..40)
        .map(|n| secret_read(&format!("app{n}"), n * 30, "app", "prod/app/db"))
        .chain((0..25).map(|n| {
            secret_read(
                &format!("thief{n}"),
                n * 20,
                "ci",
                &format!("prod/service-{n}/key"),
            )
        }))
        .collect();
    let file = workspace.write(
        "secrets.json",
        json!({ "Records": records }).to_string().as_bytes(),
    );
    let found = scanned(&workspace, &["--format", "jsonl"], &[&file]);
    assert_eq!(
        event_ids(&found),
        ["thief19/secretsmanager.many_secrets_read"],
        "the twentieth different secret, once: {found:#?}"
    );
    let incident = &found[0];
    assert_eq!(incident["severity"], "HIGH");
    assert_eq!(
        incident["title"],
        "Many different secrets read: prod/service-19/key (by i-0abc)"
    );
    assert_eq!(
        incident["meta"]["reasons"][1],
        "20 different values of requestParameters.secretId within 1 h for arn:aws:sts::111122223333:assumed-role/ci/i-0abc"
    );
    assert_eq!(incident["meta"]["tags"], json!(["T1555.006"]));
}
