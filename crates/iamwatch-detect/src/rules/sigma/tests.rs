//! Sigma rules from SigmaHQ (`../shared/corpus/sigma_aws`, Detection Rule License 1.1, see its
//! README) converted, and checked on CloudTrail records.

use super::convert;
use crate::rules::file::RuleTest;
use crate::rules::set::parse_file;
use crate::rules::Rule;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::path::PathBuf;

pub(super) fn corpus() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpus/sigma_aws")
}

/// Every rule file directly in `folder`: file stem → the problems of its conversion (none
/// when it loaded).
pub(super) fn load(folder: &PathBuf) -> BTreeMap<String, Vec<String>> {
    let mut outcomes = BTreeMap::new();
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|extension| extension == "yml") {
            let text = std::fs::read_to_string(&path).unwrap();
            let origin = path.display().to_string();
            let problems = match parse_file(&text, &origin) {
                Ok(rules) => {
                    assert_eq!(rules.len(), 1, "{origin}");
                    Vec::new()
                }
                Err(error) => error.problems,
            };
            let stem = path.file_stem().unwrap().to_string_lossy().into_owned();
            outcomes.insert(stem, problems);
        }
    }
    outcomes
}

#[test]
fn sigmahq_cloudtrail_rules_all_load_and_those_sigmahq_marks_unsupported_are_refused() {
    let outcomes = load(&corpus());
    let refused: BTreeMap<&str, &Vec<String>> = outcomes
        .iter()
        .filter(|(_, problems)| !problems.is_empty())
        .map(|(stem, problems)| (stem.as_str(), problems))
        .collect();
    assert_eq!(outcomes.len(), 57, "rule files in the corpus");
    // Regular expressions, searches in objects and `|all` included (see the next tests).
    assert!(refused.is_empty(), "{refused:#?}");

    // The rules SigmaHQ itself marks unsupported (counts, correlations): tests_count.rs.
    for (stem, problems) in load(&corpus().join("_placeholder")) {
        assert!(
            problems[0].contains("|expand is not supported"),
            "{stem}: {problems:?}"
        );
    }
}

/// The corpus rule `stem`, with `tests` as its inline tests: what failed.
fn check(stem: &str, tests: &[(&str, bool, Value)]) -> Vec<String> {
    let path = corpus().join(format!("{stem}.yml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let document: Value = serde_yaml_ng::from_str(&text).unwrap();
    check_document(&document, &path.display().to_string(), tests)
}

/// The Sigma rule `document`, with `tests` as its inline tests: what failed.
pub(super) fn check_document(
    document: &Value,
    origin: &str,
    tests: &[(&str, bool, Value)],
) -> Vec<String> {
    let mut file = convert(document, "rule").unwrap();
    file.tests = tests
        .iter()
        .map(|(name, expect_match, event)| RuleTest {
            name: (*name).to_string(),
            event: event.clone(),
            expect_match: *expect_match,
            severity: None,
        })
        .collect();
    let rule = Rule::compile(file, origin).unwrap();
    rule.run_tests()
        .into_iter()
        .map(|failure| format!("{}: {}", failure.test, failure.reason))
        .collect()
}

pub(super) fn record(event_source: &str, event_name: &str, extra: Value) -> Value {
    let mut record = json!({
        "eventVersion": "1.08", "eventTime": "2024-06-01T09:00:00Z",
        "eventSource": event_source, "eventName": event_name, "awsRegion": "us-east-1",
        "sourceIPAddress": "203.0.113.9", "userAgent": "aws-cli/2.17.0",
        "userIdentity": {"type": "IAMUser", "arn": "arn:aws:iam::111122223333:user/alice",
            "accountId": "111122223333", "userName": "alice"},
        "requestParameters": null, "responseElements": null,
        "eventID": "e1", "recipientAccountId": "111122223333"
    });
    for (key, value) in extra.as_object().unwrap() {
        record[key] = value.clone();
    }
    record
}

#[test]
fn values_compare_as_sigma_compares_them() {
    // `MFAUsed: 'NO'` in the rule; CloudTrail writes "No": Sigma ignores case.
    let without_mfa = |mfa: &str, outcome: &str| {
        record(
            "signin.amazonaws.com",
            "ConsoleLogin",
            json!({"additionalEventData": {"MFAUsed": mfa},
                   "responseElements": {"ConsoleLogin": outcome}}),
        )
    };
    assert_eq!(
        check(
            "aws_cloudtrail_console_login_success_without_mfa",
            &[
                ("no MFA", true, without_mfa("No", "Success")),
                ("MFA", false, without_mfa("Yes", "Success")),
                ("failed", false, without_mfa("No", "Failure")),
            ]
        ),
        Vec::<String>::new()
    );
    // `errorCode: null` (absent or null) or 'Success', in `1 of selection_status_*`.
    let delete = |extra: Value| record("s3.amazonaws.com", "DeleteBucket", extra);
    assert_eq!(
        check(
            "aws_cloudtrail_bucket_deleted",
            &[
                ("no error code", true, delete(json!({}))),
                ("null error code", true, delete(json!({"errorCode": null}))),
                (
                    "refused",
                    false,
                    delete(json!({"errorCode": "AccessDenied"}))
                ),
                (
                    "another call",
                    false,
                    record("s3.amazonaws.com", "CreateBucket", json!({}))
                ),
            ]
        ),
        Vec::<String>::new()
    );
    // Two `1 of` groups and a field holding a JSON boolean that the rule writes as 'false'.
    let guardduty = |name: &str, extra: Value| record("guardduty.amazonaws.com", name, extra);
    assert_eq!(
        check(
            "aws_cloudtrail_guardduty_detector_deleted_or_updated",
            &[
                ("deleted", true, guardduty("DeleteDetector", json!({}))),
                (
                    "disabled",
                    true,
                    guardduty(
                        "UpdateDetector",
                        json!({"requestParameters": {"enable": false}})
                    )
                ),
                (
                    "enabled",
                    false,
                    guardduty(
                        "UpdateDetector",
                        json!({"requestParameters": {"enable": true}})
                    )
                ),
                (
                    "deletion refused",
                    false,
                    guardduty("DeleteDetector", json!({"errorCode": "AccessDenied"}))
                ),
            ]
        ),
        Vec::<String>::new()
    );
    // `contains: '*'`: any value at all; `startswith` on the versioned API name.
    let layers = |request: Value| {
        record(
            "lambda.amazonaws.com",
            "UpdateFunctionConfiguration20150331v2",
            json!({ "requestParameters": request }),
        )
    };
    assert_eq!(
        check(
            "aws_new_lambda_layer_attached",
            &[
                (
                    "a layer",
                    true,
                    layers(json!({"layers": ["arn:aws:lambda:us-east-1:444455556666:layer:x:1"]}))
                ),
                ("no layers", false, layers(json!({"functionName": "f"}))),
            ]
        ),
        Vec::<String>::new()
    );
    // `not 1 of filter_main_*` holding a field reference alone: the fields differ.
    let update = |user: &str| {
        record(
            "iam.amazonaws.com",
            "UpdateLoginProfile",
            json!({"requestParameters": {"userName": user}}),
        )
    };
    assert_eq!(
        check(
            "aws_update_login_profile",
            &[("another user's password", true, update("bob"))]
        ),
        Vec::<String>::new()
    );
}

#[test]
fn a_sigma_rule_becomes_a_rule_with_its_level_tags_and_a_readable_id() {
    let text = std::fs::read_to_string(corpus().join("aws_update_login_profile.yml")).unwrap();
    let document: Value = serde_yaml_ng::from_str(&text).unwrap();
    let file = convert(&document, "aws_update_login_profile").unwrap();
    assert_eq!(file.id, "sigma.aws_update_login_profile");
    assert_eq!(file.title.en, document["title"].as_str().unwrap());
    assert_eq!(format!("{:?}", file.severity), "Fixed(High)");
    assert!(
        file.tags.iter().all(|tag| tag.starts_with('T')),
        "{:?}",
        file.tags
    );
    assert!(file
        .description
        .en
        .contains(document["id"].as_str().unwrap()));
    assert_eq!(
        file.pattern,
        json!({"detail": {"eventSource": ["iam.amazonaws.com"], "eventName": ["UpdateLoginProfile"]}})
    );

    let windows = json!({"title": "t", "logsource": {"product": "windows"},
        "detection": {"selection": {"EventID": 1}, "condition": "selection"}});
    assert!(convert(&windows, "w")
        .unwrap_err()
        .contains("only aws / cloudtrail"));
}

/// A Sigma rule on CloudTrail with this detection.
pub(super) fn sigma(detection: Value) -> Value {
    json!({"title": "t", "logsource": {"product": "aws", "service": "cloudtrail"},
           "detection": detection})
}

#[test]
fn regular_expressions_searches_in_objects_and_all_are_checks_beside_the_pattern() {
    // `userIdentity.arn|re` alone, and `not 1 of filter_main_*` (a list of mappings).
    let used = |arn: &str, extra: Value| {
        let mut event = record("s3.amazonaws.com", "ListBuckets", extra);
        event["userIdentity"] = json!({"type": "AssumedRole", "arn": arn});
        event
    };
    let instance = "arn:aws:sts::111122223333:assumed-role/aws:ec2-instance/i-0abc";
    assert_eq!(
        check(
            "aws_cloudtrail_imds_malicious_usage",
            &[
                (
                    "an instance's credentials outside",
                    true,
                    used(instance, json!({}))
                ),
                (
                    "from AWS",
                    false,
                    used(instance, json!({"sourceIPAddress": "AWS Internal"}))
                ),
                (
                    "a person's role",
                    false,
                    used(
                        "arn:aws:sts::111122223333:assumed-role/admin/alice",
                        json!({})
                    )
                ),
            ]
        ),
        Vec::<String>::new()
    );
    // `requestParameters|contains`: a search in the object's JSON text.
    let versioning = |status: &str| {
        record(
            "s3.amazonaws.com",
            "PutBucketVersioning",
            json!({"requestParameters": {"bucketName": "b", "VersioningConfiguration":
                {"Status": status, "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/"}}}),
        )
    };
    assert_eq!(
        check(
            "aws_disable_bucket_versioning",
            &[
                ("suspended", true, versioning("Suspended")),
                ("enabled", false, versioning("Enabled")),
            ]
        ),
        Vec::<String>::new()
    );
    // `not 1 of filter*`, one of them a search in `responseElements`: each excluded alone.
    let export = |extra: Value| record("ec2.amazonaws.com", "CreateInstanceExportTask", extra);
    assert_eq!(
        check(
            "aws_ec2_vm_export_failure",
            &[
                (
                    "exported",
                    true,
                    export(json!({"responseElements": {"exportTask": {"state": "active"}}}))
                ),
                (
                    "failed in the response",
                    false,
                    export(
                        json!({"responseElements": {"exportTask": {"state": "failed",
                        "statusMessage": "Failure: the instance has no volume"}}})
                    )
                ),
                (
                    "refused",
                    false,
                    export(json!({"errorCode": "AccessDenied", "errorMessage": "no"}))
                ),
            ]
        ),
        Vec::<String>::new()
    );
    // `requestParameters|contains|all`, quotes included, found in the policy document (a JSON
    // string inside the object).
    let policy = |effect: &str, agent: &str| {
        let mut event = record(
            "iam.amazonaws.com",
            "PutUserPolicy",
            json!({"requestParameters": {"userName": "bob", "policyName": "s3",
                "policyDocument": format!("{{\"Version\":\"2012-10-17\",\"Statement\":[{{\"Effect\":\"{effect}\",\"Action\":[\"s3:GetObject\"],\"Resource\":[\"arn:aws:s3:::<YOUR-BUCKET-NAME>/*\"]}}]}}")}}),
        );
        event["userAgent"] = json!(agent);
        event
    };
    let browser = "S3 Browser 9.5.5 https://s3browser.com";
    assert_eq!(
        check(
            "aws_iam_s3browser_templated_s3_bucket_policy_creation",
            &[
                ("the template", true, policy("Allow", browser)),
                ("a denial", false, policy("Deny", browser)),
                ("another client", false, policy("Allow", "aws-cli/2.17.0")),
            ]
        ),
        Vec::<String>::new()
    );

    // `|all` on a value: the pattern holds the first, a check each further one.
    let agent = |agent: &str| {
        let mut event = record("iam.amazonaws.com", "CreateUser", json!({}));
        event["userAgent"] = json!(agent);
        event
    };
    let all = sigma(json!({"selection": {"eventName": "CreateUser",
        "userAgent|contains|all": ["Boto3", "Linux", "Python"]}, "condition": "selection"}));
    assert_eq!(
        check_document(
            &all,
            "all",
            &[
                (
                    "all three",
                    true,
                    agent("Boto3/1.34.0 Python/3.11.8 Linux/6.1.0")
                ),
                ("two", false, agent("Boto3/1.34.0 Python/3.11.8 Windows/10")),
                (
                    "the first missing",
                    false,
                    agent("aws-cli/2 Python/3 Linux/6")
                ),
            ]
        ),
        Vec::<String>::new()
    );
    // `|re|i`, several values (any one), and a regular expression excluded on its own.
    let user = user_named;
    let regexes = sigma(json!({
        "selection": {"eventName": "CreateUser",
            "requestParameters.userName|re|i": ["^admin", "^root"]},
        "filter": {"requestParameters.userName|re": "-test$"},
        "condition": "selection and not filter"}));
    assert_eq!(
        check_document(
            &regexes,
            "regexes",
            &[
                ("any case", true, user("ADMIN-2")),
                ("the second value", true, user("Root-x")),
                ("excluded", false, user("admin-test")),
                ("neither", false, user("bob")),
                ("not at the start", false, user("bob-admin")),
            ]
        ),
        Vec::<String>::new()
    );

    // Keywords: anywhere in the record, any case, beside a selection and excluded.
    let keywords = sigma(json!({
        "selection": {"eventSource": "iam.amazonaws.com"},
        "keywords": ["kali", "parrot"],
        "filter": ["ci-runner"],
        "condition": "selection and keywords and not filter"}));
    let by = |agent: &str, user: &str| {
        let mut event = user_named(user);
        event["userAgent"] = json!(agent);
        event
    };
    assert_eq!(
        check_document(
            &keywords,
            "keywords",
            &[
                (
                    "in the user agent",
                    true,
                    by("aws-cli/2 Linux/6.1.0-kali9-amd64", "bob")
                ),
                (
                    "in another field, another case",
                    true,
                    by("aws-cli/2", "Parrot-1")
                ),
                ("excluded", false, by("aws-cli/2 kali", "ci-runner-7")),
                ("neither", false, by("aws-cli/2", "bob")),
            ]
        ),
        Vec::<String>::new()
    );

    // `?`: the field's values translated into a regular expression, each keeping its meaning.
    let question = sigma(json!({
        "selection": {"eventName": ["Create?ser", "DeleteUser"],
            "requestParameters.userName|startswith": ["svc-??-", "Admin"]},
        "condition": "selection"}));
    let deleted = |name: &str| {
        record(
            "iam.amazonaws.com",
            "DeleteUser",
            json!({"requestParameters": {"userName": name}}),
        )
    };
    assert_eq!(
        check_document(
            &question,
            "question",
            &[
                ("one character", true, user_named("svc-ab-1")),
                ("the plain value beside it", true, deleted("ADMIN-2")),
                ("two characters for one", false, user_named("svc-abc-1")),
                (
                    "another call",
                    false,
                    record(
                        "iam.amazonaws.com",
                        "CreateUsers",
                        json!({"requestParameters": {"userName": "svc-ab-1"}})
                    )
                ),
            ]
        ),
        Vec::<String>::new()
    );

    // What the regex crate cannot run is refused, naming the field.
    let lookaround = sigma(json!({"selection": {"userIdentity.arn|re": "(?<!aws):x"},
        "condition": "selection"}));
    let refused = convert(&lookaround, "l").unwrap_err();
    assert!(
        refused.contains("userIdentity.arn|re") && refused.contains("look-around"),
        "{refused}"
    );
}

pub(super) fn user_named(name: &str) -> Value {
    record(
        "iam.amazonaws.com",
        "CreateUser",
        json!({"requestParameters": {"userName": name}}),
    )
}
