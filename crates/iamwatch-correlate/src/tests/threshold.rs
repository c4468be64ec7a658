//! Rules with a threshold: their matches counted per rule and group, the rule's incident
//! raised on the event that reaches the count, once per window; an event counted only is no
//! event for the other detections.

use super::{by_user, incident, rules_of};
use crate::{rule, CorrelateConfig, Correlator};
use iamwatch_core::threshold::DistinctValue;
use iamwatch_core::{CountedMatch, Incident, Localized, MetaJson, Severity, Threshold};

const RULE: &str = "sigma.aws_enum_listing";

/// A `ListUsers` by `actor` that the counted rule (3 within 10 min, per actor) matched; `only`:
/// no other rule did.
fn listing(event_id: &str, minute: i64, actor: &str, only: bool) -> Incident {
    let mut listing = by_user(
        incident(event_id, minute, "ListUsers", "iam.amazonaws.com"),
        actor,
    );
    listing.raw = Some(format!(r#"{{"eventID":"{event_id}"}}"#));
    if only {
        listing.meta.rules.clear();
    } else {
        listing.meta.rules = vec!["iam.other_change".to_string()];
    }
    listing.counted = vec![CountedMatch {
        rule_id: RULE.to_string(),
        threshold: Threshold {
            events: 3,
            window_ms: 10 * 60_000,
        },
        group: Some(actor.to_string()),
        severity: Severity::Low,
        title: Localized::new(
            format!("Listing by {actor}"),
            format!("{actor}의 목록 조회"),
        ),
        reason: Localized::new("Listing", "목록 조회"),
        tags: vec!["T1087.004".to_string()],
        runbook: None,
        distinct: None,
    }];
    // Written as the pipeline writes it: what a raised incident must write anew.
    listing.meta_json = MetaJson::of(&mut listing.meta);
    listing
}

fn observed(correlator: &mut Correlator, incidents: &[Incident]) -> Vec<Incident> {
    incidents
        .iter()
        .flat_map(|incident| correlator.observe(incident))
        .collect()
}

#[test]
fn the_count_reached_raises_the_rules_incident_on_that_event_once_per_window() {
    let mut correlator = Correlator::new(CorrelateConfig::default());
    let first = [
        listing("l0", 0, "alice", true),
        listing("l1", 2, "alice", true),
        listing("l1", 2, "alice", true),
        listing("b0", 3, "bob", true),
        listing("b1", 4, "bob", true),
    ];
    assert_eq!(
        rules_of(&observed(&mut correlator, &first)),
        [] as [&str; 0],
        "an event delivered twice counts once; bob is counted apart"
    );
    let raised = correlator.observe(&listing("l2", 9, "alice", true));
    let [reached] = &raised[..] else {
        panic!("{raised:?}");
    };
    assert_eq!(reached.rule_id, RULE);
    assert_eq!(reached.event_id, format!("l2/{RULE}"));
    assert_eq!(reached.title.en, "Listing by alice");
    assert_eq!(reached.severity, Severity::Low);
    assert_eq!(reached.meta.rules, [RULE]);
    assert_eq!(
        reached.meta.reasons,
        ["Listing", "3 matching events within 10 min for alice"]
    );
    assert_eq!(
        reached.meta.reasons_ko[1],
        "10분 안에 일치하는 이벤트 3건 (alice)"
    );
    assert_eq!(reached.meta.tags, ["T1087.004"]);
    assert_eq!(reached.meta.dedup_key.as_deref(), Some("alice"));
    assert_eq!(
        reached.meta.notes.last().map(String::as_str),
        Some("events: l0, l1, l2")
    );
    assert_eq!(reached.raw.as_deref(), Some(r#"{"eventID":"l2"}"#));
    assert!(reached.counted.is_empty());
    assert!(reached
        .meta_json
        .full_text(&reached.meta)
        .contains("3 matching events within 10 min"));
    assert_eq!(
        Correlator::raised_among(&raised).len(),
        1,
        "kept if the store fails"
    );

    // Once per window: the next within ten minutes of the raise raises nothing; bob's third
    // does, and alice's third ten minutes later.
    assert_eq!(
        rules_of(&observed(
            &mut correlator,
            &[listing("l3", 12, "alice", true)]
        )),
        [] as [&str; 0]
    );
    assert_eq!(
        rules_of(&observed(
            &mut correlator,
            &[listing("b2", 12, "bob", true)]
        )),
        [RULE]
    );
    let later = [
        listing("l4", 20, "alice", true),
        listing("l5", 21, "alice", true),
    ];
    assert_eq!(rules_of(&observed(&mut correlator, &later)), [RULE]);
}

#[test]
fn events_counted_only_are_no_changes_for_the_other_detections() {
    // 40 IAM calls by one principal in four minutes: a burst, were they incidents.
    let calls = |only: bool| -> Vec<Incident> {
        (0..40)
            .map(|n| listing(&format!("c{n}"), n / 10, "mallory", only))
            .collect()
    };
    let mut correlator = Correlator::new(CorrelateConfig::default());
    let raised = observed(&mut correlator, &calls(false));
    assert!(
        rules_of(&raised).contains(&rule::BURST),
        "{:?}",
        rules_of(&raised)
    );
    let mut correlator = Correlator::new(CorrelateConfig::default());
    let raised = observed(&mut correlator, &calls(true));
    assert!(
        !rules_of(&raised).contains(&rule::BURST),
        "{:?}",
        rules_of(&raised)
    );
    assert!(rules_of(&raised).contains(&RULE));
}

#[test]
fn different_values_are_counted_once_each() {
    // Three different users signed in for from one address (password spraying): the same
    // user twice counts once.
    let attempt = |event_id: &str, minute: i64, user: &str| {
        let mut attempt = listing(event_id, minute, "mallory", true);
        let counted = &mut attempt.counted[0];
        counted.group = Some("203.0.113.9".to_string());
        counted.distinct = Some(DistinctValue {
            field: "userIdentity.userName".to_string(),
            value: user.to_string(),
            step: false,
        });
        attempt
    };
    let mut correlator = Correlator::new(CorrelateConfig::default());
    let first = [
        attempt("u0", 0, "alice"),
        attempt("u1", 1, "alice"),
        attempt("u2", 2, "bob"),
    ];
    assert_eq!(
        rules_of(&observed(&mut correlator, &first)),
        [] as [&str; 0]
    );
    let raised = correlator.observe(&attempt("u3", 3, "carol"));
    assert_eq!(rules_of(&raised), [RULE]);
    assert_eq!(
        raised[0].meta.reasons[1],
        "3 different values of userIdentity.userName within 10 min for 203.0.113.9"
    );
    assert_eq!(
        raised[0].meta.reasons_ko[1],
        "10분 안에 서로 다른 userIdentity.userName 값 3개 (203.0.113.9)"
    );
    assert_eq!(
        raised[0].meta.notes.last().map(String::as_str),
        Some("events: u1, u2, u3")
    );
}

#[test]
fn thresholds_are_counted_with_the_stateful_detections_off() {
    let mut correlator = Correlator::new(CorrelateConfig {
        enabled: false,
        ..CorrelateConfig::default()
    });
    let three: Vec<Incident> = (0..3)
        .map(|n| listing(&format!("l{n}"), n, "alice", false))
        .collect();
    assert_eq!(rules_of(&observed(&mut correlator, &three)), [RULE]);
}

#[test]
fn a_rule_whose_threshold_changed_counts_anew() {
    // `serve` reloaded its rules (SIGHUP) between the second and the third event: 2 now.
    let lowered = |event_id: &str, minute: i64| {
        let mut listing = listing(event_id, minute, "alice", true);
        listing.counted[0].threshold.events = 2;
        listing
    };
    let mut correlator = Correlator::new(CorrelateConfig::default());
    let before = [
        listing("l0", 0, "alice", true),
        listing("l1", 1, "alice", true),
    ];
    assert_eq!(
        rules_of(&observed(&mut correlator, &before)),
        [] as [&str; 0]
    );
    assert_eq!(
        rules_of(&observed(&mut correlator, &[lowered("l2", 2)])),
        [] as [&str; 0],
        "the events before the change are not counted against the new threshold"
    );
    let raised = observed(&mut correlator, &[lowered("l3", 3)]);
    assert_eq!(rules_of(&raised), [RULE]);
    assert_eq!(
        raised[0].meta.notes.last().map(String::as_str),
        Some("events: l2, l3")
    );
}

#[test]
fn a_rule_of_steps_raises_once_every_step_was_seen_within_the_window() {
    // Sending enabled and an address verified (two rules of a Sigma temporal correlation), by
    // one principal within 5 min, in any order.
    let step = |event_id: &str, minute: i64, actor: &str, name: &str| {
        let mut event = listing(event_id, minute, actor, true);
        let counted = &mut event.counted[0];
        counted.threshold = Threshold {
            events: 2,
            window_ms: 5 * 60_000,
        };
        counted.distinct = Some(DistinctValue {
            field: "step".to_string(),
            value: name.to_string(),
            step: true,
        });
        event
    };
    let mut correlator = Correlator::new(CorrelateConfig::default());
    let first = [
        step("v0", 0, "alice", "verify"),
        step("v1", 1, "alice", "verify"),
        // Another principal's step is not alice's.
        step("e0", 2, "bob", "enable"),
    ];
    assert_eq!(
        rules_of(&observed(&mut correlator, &first)),
        [] as [&str; 0]
    );
    let raised = correlator.observe(&step("e1", 4, "alice", "enable"));
    assert_eq!(rules_of(&raised), [RULE]);
    assert_eq!(raised[0].event_id, format!("e1/{RULE}"));
    assert_eq!(
        raised[0].meta.reasons[1],
        "events of verify, enable within 5 min for alice"
    );
    assert_eq!(
        raised[0].meta.reasons_ko[1],
        "5분 안에 verify, enable의 이벤트 (alice)"
    );
    assert_eq!(
        raised[0].meta.notes.last().map(String::as_str),
        Some("events: v1, e1")
    );
    // Bob's second step comes too late: 9 minutes after his first.
    assert!(correlator
        .observe(&step("v2", 11, "bob", "verify"))
        .is_empty());
}

/// What an earlier process counted of `incidents`, as its store kept it.
fn kept(incidents: &[Incident]) -> Vec<iamwatch_core::KeptCount> {
    incidents.iter().flat_map(Incident::kept_counts).collect()
}

#[test]
fn counts_kept_by_an_earlier_process_are_counted_on_and_what_they_raised_is_not_raised_again() {
    let before = [
        listing("l0", 0, "alice", true),
        listing("l1", 2, "alice", false),
        listing("b0", 1, "bob", true),
        listing("b1", 2, "bob", true),
        listing("b2", 3, "bob", true),
    ];
    let mut earlier = Correlator::new(CorrelateConfig::default());
    assert_eq!(
        rules_of(&observed(&mut earlier, &before)),
        [RULE],
        "bob reached the count in the earlier process"
    );

    let mut started = Correlator::new(CorrelateConfig::default());
    for count in kept(&before) {
        started.recall_count(count);
    }
    // alice's third within the window reaches the count with the two recalled; bob's fourth
    // is within the window bob raised in: nothing again.
    let raised = observed(
        &mut started,
        &[
            listing("b3", 5, "bob", true),
            listing("l2", 6, "alice", true),
        ],
    );
    let [reached] = &raised[..] else {
        panic!("{raised:?}");
    };
    assert_eq!(reached.event_id, format!("l2/{RULE}"));
    assert_eq!(
        reached.meta.notes.last().map(String::as_str),
        Some("events: l0, l1, l2")
    );

    // Without the recall the same events raise nothing: the count starts from zero.
    let mut forgetful = Correlator::new(CorrelateConfig::default());
    assert!(observed(&mut forgetful, &[listing("l2", 6, "alice", true)]).is_empty());
}

#[test]
fn counts_are_recalled_unless_the_recall_is_off_even_with_the_stateful_detections_off() {
    let now = 1_800_000_000_000;
    let off = Correlator::new(CorrelateConfig {
        enabled: false,
        ..CorrelateConfig::default()
    });
    assert_eq!(
        off.counts_since(now),
        Some(now - iamwatch_core::KeptCount::LATE_EVENTS_MS)
    );
    assert_eq!(off.recall_since(now), None);
    let no_recall = Correlator::new(CorrelateConfig {
        recall_days: 0,
        ..CorrelateConfig::default()
    });
    assert_eq!(no_recall.counts_since(now), None);
}
