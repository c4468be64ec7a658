//! `deploy/serverless/forwarder.yaml`, deployed into moto's CloudFormation: in another region
//! (or for another account) an EventBridge rule with the iamwatch stack's own pattern sends to
//! the iamwatch stack's bus; in that stack's region and account it makes nothing.

use crate::helpers::*;
use crate::moto::Moto;
use crate::serverless::{forwarder_path, template};
use serde_json::Value;
use std::process::Command;

/// Deploys the forwarder in `region` with `target_account` (empty: this account) through
/// boto3, and returns the rules it made in that region: name, pattern, target ARN, role ARN.
fn deploy(workspace: &Workspace, moto: &Moto, region: &str, target_account: &str) -> Value {
    let script = r#"
import boto3, json, sys
template, region, account = sys.argv[1], sys.argv[2], sys.argv[3]
cloudformation = boto3.client("cloudformation", region_name=region)
stack = "iamwatch-forwarder-" + (account or "own")
params = [{"ParameterKey": "TargetAccount", "ParameterValue": account}] if account else []
cloudformation.create_stack(StackName=stack, TemplateBody=open(template).read(),
                            Parameters=params, Capabilities=["CAPABILITY_IAM"])
status = cloudformation.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]
events = boto3.client("events", region_name=region)
rules = []
for rule in events.list_rules(NamePrefix=stack)["Rules"]:
    for target in events.list_targets_by_rule(Rule=rule["Name"])["Targets"]:
        rules.append({"pattern": json.loads(rule["EventPattern"]), "arn": target["Arn"],
                      "role": target.get("RoleArn", "")})
print(json.dumps({"status": status, "rules": rules}))
"#;
    let mut command = Command::new("python3");
    command
        .args(["-c", script])
        .arg(forwarder_path())
        .args([region, target_account]);
    let output = workspace
        .with_aws(&mut command, &moto.endpoint, region)
        .output()
        .unwrap();
    assert_success(&output);
    serde_json::from_str(&stdout(&output)).unwrap()
}

#[test]
fn the_forwarder_sends_the_stacks_events_to_its_bus_from_elsewhere_and_does_nothing_there() {
    let moto = Moto::start_serial();
    let workspace = Workspace::new();
    let pattern =
        template()["Resources"]["CloudTrailEventsRule"]["Properties"]["EventPattern"].clone();

    // Another region of this account (moto's is 123456789012): to us-east-1's default bus.
    let elsewhere = deploy(&workspace, &moto, "eu-west-1", "");
    assert_eq!(elsewhere["status"], "CREATE_COMPLETE", "{elsewhere}");
    let rules = elsewhere["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{elsewhere}");
    assert_eq!(
        rules[0]["arn"],
        "arn:aws:events:us-east-1:123456789012:event-bus/default"
    );
    assert!(
        rules[0]["role"].as_str().unwrap().contains(":role/"),
        "{elsewhere}"
    );
    assert_eq!(rules[0]["pattern"], pattern, "the stack's own pattern");

    // The stack's own region and account: it would send to itself, so nothing is made.
    let there = deploy(&workspace, &moto, "us-east-1", "");
    assert_eq!(there["status"], "CREATE_COMPLETE", "{there}");
    assert_eq!(there["rules"], serde_json::json!([]), "{there}");

    // The same region, for the stack of another account (a member account's forwarder).
    let member = deploy(&workspace, &moto, "us-east-1", "111122223333");
    let rules = member["rules"].as_array().unwrap();
    assert_eq!(rules.len(), 1, "{member}");
    assert_eq!(
        rules[0]["arn"],
        "arn:aws:events:us-east-1:111122223333:event-bus/default"
    );
}
