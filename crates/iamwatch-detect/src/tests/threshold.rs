//! Rules with a threshold: their matches are handed on to be counted, and name no incident.

use super::{evaluated, iam};
use crate::rules::RuleSet;
use crate::{Detector, DetectorConfig, Verdict};
use iamwatch_core::{Severity, Threshold};
use serde_json::json;
use std::sync::Arc;

const LISTING: &str = r#"
id: test.listing
title: {en: "Users listed", ko: "사용자 목록 조회"}
description: {en: Many listings., ko: 많은 목록 조회.}
severity: MEDIUM
pattern: {detail: {eventName: [ListUsers, DeleteUser]}}
dedup: "{detail.userIdentity.userName}"
threshold: {events: 20, window: 5m}
tags: [T1087.004]
"#;

fn detector() -> Detector {
    let rules = RuleSet::parse_text(LISTING, "listing.yml").unwrap();
    Detector::new(DetectorConfig::default(), Arc::new(RuleSet::new(rules)))
}

#[test]
fn an_event_matching_only_a_counted_rule_lists_no_rule_of_its_own() {
    let mut listing = iam("ListUsers", json!({}));
    listing["readOnly"] = json!(true);
    let Verdict::Incident(finding) = evaluated(&detector(), &listing) else {
        panic!("a counted match is handed on");
    };
    assert!(finding.rule_ids.is_empty(), "{:?}", finding.rule_ids);
    assert!(finding.reasons.is_empty());
    let [counted] = &finding.counted[..] else {
        panic!("{:?}", finding.counted);
    };
    assert_eq!(counted.rule_id, "test.listing");
    assert_eq!(
        counted.threshold,
        Threshold {
            events: 20,
            window_ms: 300_000
        }
    );
    assert_eq!(counted.group.as_deref(), Some("alice"));
    assert_eq!(counted.severity, Severity::Medium);
    assert_eq!(counted.reason.ko, "사용자 목록 조회");
    assert_eq!(counted.tags, ["T1087.004"]);
    assert_eq!(finding.primary.rule_id, "test.listing");
}

#[test]
fn an_event_a_rule_raises_on_carries_its_counted_matches_beside() {
    // DeleteUser: the built-in rules raise on it, and the counted rule counts it.
    let Verdict::Incident(finding) =
        evaluated(&detector(), &iam("DeleteUser", json!({"userName": "bob"})))
    else {
        panic!("an incident");
    };
    assert!(!finding.rule_ids.is_empty());
    assert!(!finding.rule_ids.iter().any(|id| id == "test.listing"));
    assert_ne!(finding.primary.rule_id, "test.listing");
    assert_eq!(finding.counted.len(), 1);
}

#[test]
fn a_rule_counting_different_values_hands_on_the_events_value_or_nothing() {
    let text = LISTING.replace(
        "{events: 20, window: 5m}",
        "{events: 20, window: 5m, distinct: detail.requestParameters.pathPrefix}",
    );
    let rules = RuleSet::parse_text(&text, "listing.yml").unwrap();
    let detector = Detector::new(DetectorConfig::default(), Arc::new(RuleSet::new(rules)));
    let mut listing = iam("ListUsers", json!({"pathPrefix": "/ops/"}));
    listing["readOnly"] = json!(true);
    let Verdict::Incident(finding) = evaluated(&detector, &listing) else {
        panic!("a counted match is handed on");
    };
    let distinct = finding.counted[0].distinct.as_ref().unwrap();
    assert_eq!(
        (distinct.field.as_str(), distinct.value.as_str()),
        ("requestParameters.pathPrefix", "/ops/")
    );
    // Without a value there, nothing to count.
    listing["requestParameters"] = json!({});
    assert!(matches!(evaluated(&detector, &listing), Verdict::Pass));
}

#[test]
fn a_threshold_needs_a_count_and_a_span() {
    let problems = |threshold: &str| {
        let text = LISTING.replace("{events: 20, window: 5m}", threshold);
        RuleSet::parse_text(&text, "listing.yml")
            .unwrap_err()
            .problems
    };
    assert!(problems("{events: 0, window: 5m}")[0].contains("threshold.events: at least 1"));
    assert!(problems("{events: 3, window: 5 min}")[0].contains("threshold.window"));
    assert!(!problems("{events: 3}").is_empty());
}

const STEPS: &str = r#"
id: test.created_and_keyed
title: {en: "User created and given a key", ko: "사용자 생성 후 키 발급"}
description: {en: Both within an hour., ko: 한 시간 안에 둘 다.}
severity: HIGH
pattern: {detail: {eventSource: [iam.amazonaws.com]}}
dedup: "{detail.userIdentity.userName}"
threshold:
  window: 1h
  steps:
    - {name: created, pattern: {detail: {eventName: [CreateUser]}}}
    - name: keyed
      pattern: {detail: {eventName: [CreateAccessKey]}}
      conditions: [{fields_differ: [detail.requestParameters.userName, detail.userIdentity.userName]}]
"#;

#[test]
fn an_event_of_a_rule_of_steps_hands_on_the_step_it_matches() {
    let rules = RuleSet::parse_text(STEPS, "steps.yml").unwrap();
    assert_eq!(
        rules[0].threshold,
        Some(Threshold {
            events: 2,
            window_ms: 3_600_000
        })
    );
    let detector = Detector::new(DetectorConfig::default(), Arc::new(RuleSet::new(rules)));
    let step = |name: &str, user: &str| match evaluated(
        &detector,
        &iam(name, json!({"userName": user})),
    ) {
        Verdict::Incident(finding) => finding
            .counted
            .iter()
            .find(|counted| counted.rule_id == "test.created_and_keyed")
            .and_then(|counted| counted.distinct.clone())
            .map(|distinct| (distinct.field, distinct.value, distinct.step)),
        _ => None,
    };
    assert_eq!(
        step("CreateUser", "bob"),
        Some(("step".to_string(), "created".to_string(), true))
    );
    assert_eq!(
        step("CreateAccessKey", "bob"),
        Some(("step".to_string(), "keyed".to_string(), true))
    );
    // Its own key: the second step's condition does not hold; no step, nothing counted.
    assert_eq!(step("CreateAccessKey", "alice"), None);
    assert_eq!(step("DeleteUser", "bob"), None);
}

#[test]
fn steps_are_named_apart_and_number_two_or_more() {
    let problems = |from: &str, to: &str| {
        let text = STEPS.replace(from, to);
        RuleSet::parse_text(&text, "steps.yml")
            .unwrap_err()
            .problems
            .join("\n")
    };
    assert!(problems("name: keyed", "name: created").contains("\"created\" names two steps"));
    assert!(problems("  window: 1h", "  window: 1h\n  events: 3").contains("only 2 steps"));
    assert!(
        problems("  window: 1h", "  window: 1h\n  distinct: detail.eventName")
            .contains("either distinct or steps")
    );
    let one = STEPS.split("    - name: keyed").next().unwrap().to_string();
    let problems = RuleSet::parse_text(&one, "steps.yml").unwrap_err().problems;
    assert!(
        problems.join("\n").contains("at least two steps"),
        "{problems:?}"
    );
}
