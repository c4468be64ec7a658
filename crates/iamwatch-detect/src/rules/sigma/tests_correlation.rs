//! Sigma correlation rules (v2): `event_count` and `value_count` over one rule of the same file
//! become that rule with a threshold; the rest is refused, saying why.

use crate::rules::set::parse_file;
use crate::rules::Rule;
use iamwatch_core::{Severity, Threshold};

const BASE: &str = r#"
title: Failed console sign-in
name: failed_sign_in
logsource: {product: aws, service: cloudtrail}
detection:
    selection:
        eventName: ConsoleLogin
        responseElements.ConsoleLogin: Failure
    condition: selection
level: low
"#;

/// The base rule, then a correlation over it whose `correlation:` body is `body`.
fn file(body: &str) -> String {
    format!(
        "{BASE}---\ntitle: Password spraying\nname: spraying\nid: 2d3f1c52-9a57-4b7e-8f0e-1b7f7c0d3a21\nstatus: test\ncorrelation:\n{body}\nlevel: high\ntags: [attack.credential-access, attack.t1110.003]\n"
    )
}

fn parsed(body: &str) -> Result<Vec<Rule>, Vec<String>> {
    parse_file(&file(body), "spraying.yml").map_err(|error| error.problems)
}

#[test]
fn a_value_count_over_one_rule_becomes_that_rule_with_a_threshold() {
    let rules = parsed(
        "    type: value_count\n    rules: [failed_sign_in]\n    group-by: [sourceIPAddress]\n    timespan: 30m\n    condition: {field: userIdentity.userName, gt: 9}",
    )
    .unwrap();
    let [rule] = &rules[..] else {
        panic!("the counted rule raises nothing of its own: {rules:?}");
    };
    assert_eq!(rule.id, "sigma.spraying");
    assert_eq!(rule.title.en, "Password spraying");
    assert_eq!(rule.severity, Severity::High);
    assert_eq!(rule.tags, ["T1110.003"]);
    assert_eq!(
        rule.threshold,
        Some(Threshold {
            events: 10,
            window_ms: 30 * 60_000
        })
    );
    assert_eq!(
        rule.distinct.as_deref(),
        Some("detail.userIdentity.userName")
    );
    assert_eq!(rule.dedup.as_deref(), Some("{detail.sourceIPAddress}"));
    assert!(rule
        .description
        .en
        .contains("2d3f1c52-9a57-4b7e-8f0e-1b7f7c0d3a21"));
}

#[test]
fn an_event_count_grouped_by_two_fields_and_generating_its_rule_too() {
    let rules = parsed(
        "    type: event_count\n    rules: failed_sign_in\n    generate: true\n    group-by: [sourceIPAddress, userIdentity.userName]\n    timespan: 5m\n    condition: {gte: 4}",
    )
    .unwrap();
    let ids: Vec<&str> = rules.iter().map(|rule| rule.id.as_str()).collect();
    assert_eq!(ids, ["sigma.failed_sign_in", "sigma.spraying"]);
    assert_eq!(rules[0].threshold, None);
    assert_eq!(
        rules[1].threshold.map(|threshold| threshold.events),
        Some(4)
    );
    assert_eq!(rules[1].distinct, None);
    assert_eq!(
        rules[1].dedup.as_deref(),
        Some("{detail.sourceIPAddress} {detail.userIdentity.userName}")
    );
}

#[test]
fn what_a_correlation_cannot_say_here_is_refused_with_the_reason() {
    let refused = |body: &str| parsed(body).unwrap_err().join("\n");
    let count = "    rules: [failed_sign_in]\n    timespan: 5m\n";
    assert!(refused(&format!("    type: temporal\n{count}"))
        .contains("a temporal correlation names two rules or more"));
    assert!(refused(
        "    type: temporal_ordered\n    rules: [failed_sign_in, failed_sign_in]\n    timespan: 5m"
    )
    .contains("temporal_ordered: rules in a given order are not supported"));
    assert!(refused(&format!(
        "    type: value_sum\n{count}    condition: {{gte: 2}}"
    ))
    .contains("\"value_sum\" is not supported"));
    assert!(refused(&format!(
        "    type: event_count\n{count}    condition: {{lt: 2}}"
    ))
    .contains("only gt and gte"));
    assert!(refused(&format!(
        "    type: event_count\n{count}    condition: {{gte: many}}"
    ))
    .contains("whole number"));
    assert!(refused(&format!(
        "    type: event_count\n{count}    condition: {{}}"
    ))
    .contains("give one of gt and gte"));
    assert!(refused(&format!(
        "    type: value_count\n{count}    condition: {{gte: 2}}"
    ))
    .contains("needs condition.field"));
    assert!(
        refused("    type: event_count\n    rules: [failed_sign_in]\n    condition: {gte: 2}")
            .contains("correlation.timespan")
    );
    assert!(refused(
        "    type: event_count\n    rules: [failed_sign_in, other]\n    timespan: 5m\n    condition: {gte: 2}"
    )
    .contains("names 2 rules"));
    assert!(refused(
        "    type: event_count\n    rules: [failed_login]\n    timespan: 5m\n    condition: {gte: 2}"
    )
    .contains("\"failed_login\" is no Sigma rule of this file"));
}

/// SigmaHQ's SES rule (`_unsupported/aws_ses_messaging_enabled.yml`, which correlates its two
/// selections with `timeframe: 5m`) written as Sigma v2 says it: two rules and a temporal
/// correlation over them.
const SES: &str = include_str!("../../../../../tests/fixtures/sigma/ses_abuse.yml");

#[test]
fn a_temporal_correlation_of_two_rules_becomes_a_rule_of_steps() {
    let rules = parse_file(SES, "ses.yml").unwrap();
    let [rule] = &rules[..] else {
        panic!("the correlated rules raise nothing of their own: {rules:?}");
    };
    assert_eq!(rule.id, "sigma.ses_abuse");
    assert_eq!(rule.severity, Severity::Medium);
    assert_eq!(
        rule.threshold,
        Some(Threshold {
            events: 2,
            window_ms: 5 * 60_000
        })
    );
    let steps: Vec<&str> = rule.steps.iter().map(|step| step.name.as_str()).collect();
    assert_eq!(steps, ["ses_sending_enabled", "ses_identity_verified"]);
    assert_eq!(rule.dedup.as_deref(), Some("{detail.userIdentity.arn}"));
    // Each event is the step it matches; the second rule's filter holds in its step.
    let event = |name: &str, agent: &str| {
        serde_json::json!({
            "eventSource": "ses.amazonaws.com", "eventName": name, "userAgent": agent,
            "eventID": "e", "userIdentity": {"arn": "arn:aws:iam::111122223333:user/mallory"}
        })
    };
    let step = |name: &str, agent: &str| {
        let shaped = crate::rules::shape::eventbridge_event(event(name, agent));
        let flat = crate::eventbridge::FlatEvent::new(&shaped, rule.paths());
        (
            rule.evaluate(Some(&shaped), &flat).is_some(),
            rule.distinct_value(Some(&shaped), &flat),
        )
    };
    assert_eq!(
        step("UpdateAccountSendingEnabled", "aws-cli/2"),
        (true, Some("ses_sending_enabled".to_string()))
    );
    assert_eq!(
        step("VerifyEmailIdentity", "aws-cli/2"),
        (true, Some("ses_identity_verified".to_string()))
    );
    assert_eq!(step("VerifyEmailIdentity", "terraform/1.9"), (false, None));
    assert_eq!(step("SendEmail", "aws-cli/2"), (false, None));
}

#[test]
fn a_temporal_correlation_may_ask_for_fewer_rules_than_it_names_and_generate_them() {
    let text = SES.replace(
        "    timespan: 5m\n",
        "    timespan: 5m\n    generate: true\n    condition: {gte: 1}\n",
    );
    let rules = parse_file(&text, "ses.yml").unwrap();
    let ids: Vec<&str> = rules.iter().map(|rule| rule.id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "sigma.ses_sending_enabled",
            "sigma.ses_identity_verified",
            "sigma.ses_abuse"
        ]
    );
    assert_eq!(
        rules[2].threshold.map(|threshold| threshold.events),
        Some(1)
    );
    let too_many = SES.replace(
        "    timespan: 5m\n",
        "    timespan: 5m\n    condition: {gte: 3}\n",
    );
    let problems = parse_file(&too_many, "ses.yml")
        .unwrap_err()
        .problems
        .join("\n");
    assert!(
        problems.contains("threshold.events: 3, but only 2 steps"),
        "{problems}"
    );
}
