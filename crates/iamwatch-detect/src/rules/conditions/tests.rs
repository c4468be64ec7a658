//! Conditions answered from leaves as on whole events, and rule files that use them.

use super::{policy_is_public, Condition};
use crate::eventbridge::FlatEvent;
use crate::rules::file::GrantLevel;
use crate::rules::shape::eventbridge_event;
use serde_json::{json, Value};

/// The condition's answer from the leaves of `record` (read from its text, as a scan
/// does), checked against its answer on the whole event whenever the leaves give one.
fn on_leaves(condition: &Condition, record: Value) -> Option<bool> {
    let shaped = eventbridge_event(record.clone());
    // What a rule extracts for it (see `Rule::paths`).
    let mut paths: Vec<&str> = condition.paths_read_as_leaves();
    paths.extend(
        condition
            .patterns_read()
            .into_iter()
            .flat_map(|pattern| pattern.paths()),
    );
    let flat = FlatEvent::from_raw_record(&record.to_string(), &shaped, paths);
    let answer = condition.holds_on_leaves(&flat);
    if let Some(answer) = answer {
        assert_eq!(
            answer,
            condition.holds(&shaped),
            "{condition:?} on {record}"
        );
    }
    answer
}

#[test]
fn leaves_answer_what_they_can_tell_and_leave_the_rest_to_the_whole_event() {
    let differ = Condition::FieldsDiffer(
        "detail.requestParameters.userName".into(),
        "detail.userIdentity.userName".into(),
    );
    let by = |identity: Value, request: Value| {
        json!({"eventSource": "iam.amazonaws.com", "eventName": "CreateLoginProfile",
               "userIdentity": identity, "requestParameters": request})
    };
    let role = json!({"type": "AssumedRole", "arn": "arn:aws:sts::1:assumed-role/r/s"});
    // A role has no userName: acting on a user is acting on another identity.
    assert_eq!(
        on_leaves(&differ, by(role.clone(), json!({"userName": "alice"}))),
        Some(true)
    );
    assert_eq!(
        on_leaves(
            &differ,
            by(json!({"userName": "alice"}), json!({"userName": "alice"}))
        ),
        Some(false)
    );
    // An object where the first field is, or values in an array: only the whole event tells.
    assert_eq!(
        on_leaves(&differ, by(role.clone(), json!({"userName": {"n": 1}}))),
        None
    );
    assert_eq!(
        on_leaves(&differ, by(role.clone(), json!({"userName": ["a"]}))),
        None
    );
    let equal = Condition::FieldsEqual(
        "detail.requestParameters.userName".into(),
        "detail.userIdentity.userName".into(),
    );
    assert_eq!(
        on_leaves(&equal, by(role.clone(), json!({"userName": "alice"}))),
        Some(false)
    );
    assert_eq!(
        on_leaves(&equal, by(json!({"userName": {}}), json!({"userName": {}}))),
        None
    );

    let grants = Condition::PolicyGrants {
        path: "detail.requestParameters.policyDocument".into(),
        at_least: GrantLevel::Admin,
    };
    let document = |text: Value| by(role.clone(), json!({"policyDocument": text}));
    let admin = r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;
    let narrow = r#"{"Statement":[{"Effect":"Allow","Action":"s3:GetObject","Resource":"*"}]}"#;
    assert_eq!(on_leaves(&grants, document(json!(admin))), Some(true));
    assert_eq!(on_leaves(&grants, document(json!(narrow))), Some(false));
    assert_eq!(on_leaves(&grants, by(role.clone(), json!({}))), Some(false));

    let trust = Condition::TrustAllowsExternal {
        path: "detail.requestParameters.policyDocument".into(),
    };
    let trusting = |account: &str| {
        let mut record = document(json!(format!(
            r#"{{"Statement":[{{"Effect":"Allow","Principal":{{"AWS":"arn:aws:iam::{account}:root"}},"Action":"sts:AssumeRole"}}]}}"#
        )));
        record["recipientAccountId"] = json!("111122223333");
        record
    };
    assert_eq!(on_leaves(&trust, trusting("999988887777")), Some(true));
    assert_eq!(on_leaves(&trust, trusting("111122223333")), Some(false));

    // Objects are read whole.
    assert_eq!(
        on_leaves(&Condition::ResourceInOtherAccount, by(role, json!({}))),
        None
    );
}

#[test]
fn rule_files_say_regular_expressions_searches_and_negations_of_conditions() {
    let text = r#"
id: x.role_policy_by_ci
title: {en: X, ko: 엑스}
description: {en: X, ko: 엑스}
severity: HIGH
pattern: {detail: {eventName: [PutRolePolicy]}}
conditions:
  - matches: {path: detail.userIdentity.arn, regex: ':assumed-role/ci-[0-9]+/'}
  - text_contains: {path: detail.requestParameters, values: ['"iam:PassRole"', '"Resource":"*"'], all: true}
  - unless: {matches: {path: detail.requestParameters.roleName, regex: '^sandbox-'}}
tests:
  - {name: wide, match: true, event: {eventName: PutRolePolicy, userIdentity: {arn: "arn:aws:sts::1:assumed-role/ci-42/job"}, requestParameters: {roleName: app, policyDocument: '{"Action":"iam:PassRole","Resource":"*"}'}}}
  - {name: sandbox, match: false, event: {eventName: PutRolePolicy, userIdentity: {arn: "arn:aws:sts::1:assumed-role/ci-42/job"}, requestParameters: {roleName: sandbox-1, policyDocument: '{"Action":"iam:PassRole","Resource":"*"}'}}}
  - {name: narrow, match: false, event: {eventName: PutRolePolicy, userIdentity: {arn: "arn:aws:sts::1:assumed-role/ci-42/job"}, requestParameters: {roleName: app, policyDocument: '{"Action":"iam:PassRole","Resource":"arn:aws:iam::1:role/app"}'}}}
  - {name: a person, match: false, event: {eventName: PutRolePolicy, userIdentity: {arn: "arn:aws:sts::1:assumed-role/admin/alice"}, requestParameters: {roleName: app, policyDocument: '{"Action":"iam:PassRole","Resource":"*"}'}}}
"#;
    let rules = crate::rules::set::parse_file(text, "ci.yml").unwrap();
    let failures = rules[0].run_tests();
    assert!(failures.is_empty(), "{failures:?}");

    // Answered from the leaves as on the whole event (`on_leaves` compares both).
    let compile = |spec: Value| Condition::compile(&serde_json::from_value(spec).unwrap());
    let record = |arn: &str| json!({"eventName": "PutRolePolicy", "userIdentity": {"arn": arn}});
    let by_ci = compile(
        json!({"matches": {"path": "detail.userIdentity.arn", "regex": "assumed-role/ci-"}}),
    )
    .unwrap();
    assert_eq!(
        on_leaves(&by_ci, record("arn:aws:sts::1:assumed-role/ci-1/j")),
        Some(true)
    );
    assert_eq!(
        on_leaves(&by_ci, record("arn:aws:iam::1:user/ci-1")),
        Some(false)
    );
    let unless = compile(json!({"unless": {"matches":
        {"path": "detail.userIdentity.arn", "regex": "assumed-role/ci-"}}}))
    .unwrap();
    assert_eq!(
        on_leaves(&unless, record("arn:aws:sts::1:assumed-role/ci-1/j")),
        Some(false)
    );
    assert_eq!(
        on_leaves(&unless, record("arn:aws:iam::1:user/ci-1")),
        Some(true)
    );
    // A search reads objects: the whole event only.
    let search = compile(json!({"text_contains":
        {"path": "detail.userIdentity", "values": ["ci-1"]}}))
    .unwrap();
    assert!(search.needs_whole_event());
    assert_eq!(on_leaves(&search, record("arn:aws:iam::1:user/ci-1")), None);

    // Any and all of them: decided from the leaves when a deciding answer or every answer is
    // there, else by the whole event.
    let record = |arn: &str, agent: &str| {
        json!({"eventName": "PutRolePolicy", "userIdentity": {"arn": arn}, "userAgent": agent,
               "requestParameters": {"roleName": "app"}})
    };
    let ci = json!({"matches": {"path": "detail.userIdentity.arn", "regex": "assumed-role/ci-"}});
    let boto = json!({"unless": {"not": {"detail": {"userAgent": [{"prefix": "Boto3/"}]}}}});
    let search = json!({"text_contains": {"path": "detail.requestParameters", "values": ["app"]}});
    let any = compile(json!({"any_of": [ci, boto]})).unwrap();
    assert_eq!(any.paths_read_as_leaves(), ["detail.userIdentity.arn"]);
    let role = "arn:aws:sts::1:assumed-role/ci-1/j";
    let user = "arn:aws:iam::1:user/bob";
    assert_eq!(on_leaves(&any, record(role, "aws-cli/2")), Some(true));
    assert_eq!(on_leaves(&any, record(user, "Boto3/1.34")), Some(true));
    assert_eq!(on_leaves(&any, record(user, "aws-cli/2")), Some(false));
    let all = compile(json!({"all_of": [ci, boto, search]})).unwrap();
    assert!(all.needs_whole_event());
    // A false decides all of them; otherwise the search needs the object.
    assert_eq!(on_leaves(&all, record(user, "Boto3/1.34")), Some(false));
    assert_eq!(on_leaves(&all, record(role, "Boto3/1.34")), None);
    assert!(all.holds(&crate::rules::shape::eventbridge_event(record(
        role,
        "Boto3/1.34"
    ))));
    assert!(compile(json!({"any_of": []}))
        .unwrap_err()
        .to_string()
        .starts_with("$.any_of: empty"));

    // A bad regex says where, inside `unless` too.
    let error = compile(json!({"unless": {"matches": {"path": "a", "regex": "("}}})).unwrap_err();
    assert!(
        error.to_string().starts_with("$.unless.matches.regex: "),
        "{error}"
    );
}

#[test]
fn wildcard_principals_without_conditions_are_public() {
    assert!(policy_is_public(
        &json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt"}]})
    ));
    assert!(policy_is_public(&json!("{\"Statement\":{\"Effect\":\"Allow\",\"Principal\":{\"AWS\":[\"*\"]},\"Action\":\"sqs:*\"}}")));
    assert!(!policy_is_public(
        &json!({"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "sqs:*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-1"}}}]})
    ));
    assert!(!policy_is_public(
        &json!({"Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::1:root"}, "Action": "s3:*"}]})
    ));
    assert!(!policy_is_public(
        &json!({"Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*"}]})
    ));
}
