//! Sigma conditions of any shape: checks no pattern says under `or` and `not`, `not` inside
//! groups, one field tested twice, and a condition of exclusions alone.

use super::tests::{check_document, record, sigma, user_named};
use serde_json::{json, Value};

fn by_agent(name: &str, agent: &str) -> Value {
    let mut event = record("iam.amazonaws.com", name, json!({}));
    event["userAgent"] = json!(agent);
    event
}

#[test]
fn checks_under_or_and_not_and_fields_tested_twice_keep_sigmas_meaning() {
    // A regular expression in one branch of `or`.
    let under_or = sigma(json!({
        "deleted": {"eventName": "DeleteUser"},
        "scripted": {"eventName": "CreateUser", "userAgent|re": "^Boto3/"},
        "condition": "deleted or scripted"}));
    assert_eq!(
        check_document(
            &under_or,
            "or",
            &[
                ("the plain branch", true, by_agent("DeleteUser", "console")),
                (
                    "the checked branch",
                    true,
                    by_agent("CreateUser", "Boto3/1.34")
                ),
                (
                    "the check fails",
                    false,
                    by_agent("CreateUser", "aws-cli/2")
                ),
                (
                    "the check alone",
                    false,
                    by_agent("CreateRole", "Boto3/1.34")
                ),
            ]
        ),
        Vec::<String>::new()
    );

    // `not` of a pattern with a check beside it, and `not` inside a group.
    let filtered = sigma(json!({
        "selection": {"eventSource": "iam.amazonaws.com"},
        "ci": {"eventName": "CreateUser", "userAgent|re": "terraform"},
        "console": {"userAgent": "console"},
        "condition": "selection and not ci and (console or not ci)"}));
    assert_eq!(
        check_document(
            &filtered,
            "not",
            &[
                (
                    "another call by terraform",
                    true,
                    by_agent("CreateRole", "terraform/1.9")
                ),
                ("by hand", true, by_agent("CreateUser", "aws-cli/2")),
                (
                    "by terraform",
                    false,
                    by_agent("CreateUser", "Terraform terraform/1.9")
                ),
            ]
        ),
        Vec::<String>::new()
    );

    // One field tested twice (two selections, or a field and its modifier in one mapping).
    let twice = sigma(json!({
        "created": {"eventName|startswith": "Create"},
        "users": {"eventName|endswith": "User", "requestParameters.userName|contains": "svc",
                  "requestParameters.userName|startswith": "ci-"},
        "condition": "created and users"}));
    assert_eq!(
        check_document(
            &twice,
            "twice",
            &[
                ("both", true, user_named("ci-svc-1")),
                ("the second test fails", false, user_named("svc-1")),
                (
                    "the first field's second test fails",
                    false,
                    record(
                        "iam.amazonaws.com",
                        "CreateRole",
                        json!({"requestParameters": {"userName": "ci-svc-1"}})
                    )
                ),
            ]
        ),
        Vec::<String>::new()
    );

    // Exclusions alone: every event but those.
    let only_not = sigma(json!({"filter": {"eventName": "CreateUser"}, "condition": "not filter"}));
    assert_eq!(
        check_document(
            &only_not,
            "only not",
            &[
                ("another call", true, by_agent("DeleteUser", "x")),
                ("the excluded call", false, by_agent("CreateUser", "x")),
            ]
        ),
        Vec::<String>::new()
    );
}
