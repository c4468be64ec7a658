//! Rules as data: YAML files, each an EventBridge pattern with optional extra conditions,
//! severity (fixed or chosen by conditions), English and Korean text, ATT&CK tags, a runbook,
//! and inline tests that `iamwatch rules test` runs (as Panther does).
//!
//! [`RuleSet`] compiles rules once and indexes them by the `eventName` (or else `eventSource`)
//! their pattern requires, so the cost of an event grows with the rules that could match it,
//! not with the number of rules.

mod builtin;
mod conditions;
pub mod file;
mod head_cache;
mod rule;
mod set;
pub mod shape;
mod sigma;
mod steps;

pub use rule::{Rule, TestFailure};
pub use set::{Candidates, RuleError, RuleSet};
pub use steps::Step;

#[cfg(test)]
mod tests {
    use super::RuleSet;

    #[test]
    fn builtin_pack_loads_passes_its_inline_tests_and_lints_clean() {
        let set = RuleSet::builtin().expect("the built-in pack loads");
        assert!(set.rules().len() >= 70, "{} rules", set.rules().len());
        let failures: Vec<_> = set
            .rules()
            .iter()
            .flat_map(|rule| rule.run_tests())
            .collect();
        assert!(failures.is_empty(), "{failures:#?}");
        let problems: Vec<String> = set
            .rules()
            .iter()
            .flat_map(|rule| {
                rule.lint()
                    .into_iter()
                    .map(move |problem| format!("{}: {problem}", rule.id))
            })
            .collect();
        assert!(problems.is_empty(), "{problems:#?}");
    }

    #[test]
    fn raw_record_evaluation_agrees_with_whole_event_evaluation_on_every_inline_test() {
        use crate::eventbridge::FlatEvent;
        use crate::rules::shape::eventbridge_event;
        let set = RuleSet::builtin().unwrap();
        let mut compared = 0;
        let mut answered_by_leaves = 0;
        for rule in set.rules() {
            for test in &rule.tests {
                let record_text = test.event.to_string();
                let shaped = eventbridge_event(test.event.clone());
                if rule.needs_whole_event() {
                    let leaves = FlatEvent::from_raw_record(&record_text, &shaped, rule.paths());
                    if !rule.decidable_on_leaves(&leaves) {
                        continue;
                    }
                    answered_by_leaves += 1;
                }
                let whole = rule.evaluate(Some(&shaped), &FlatEvent::new(&shaped, rule.paths()));
                let raw = rule.evaluate(
                    None,
                    &FlatEvent::from_raw_record(&record_text, &shaped, rule.paths()),
                );
                assert_eq!(whole, raw, "{} / {}", rule.id, test.name);
                assert_eq!(
                    rule.dedup_key(&shaped),
                    rule.dedup_key_from(&FlatEvent::from_raw_record(
                        &record_text,
                        &shaped,
                        rule.paths()
                    )),
                    "{} / {}",
                    rule.id,
                    test.name
                );
                compared += 1;
            }
        }
        assert!(compared > 140, "{compared} tests compared");
        assert!(
            // 12 before policy documents, trust policies and a missing second field were read
            // from the leaves.
            answered_by_leaves >= 26,
            "comparisons answered from leaves: {answered_by_leaves}"
        );
    }

    #[test]
    fn head_checks_on_per_record_fields_run_per_record_and_only_where_repeating_fields_allow() {
        use crate::rules::shape::Head;
        let rules = super::set::parse_file(
            "id: endpoint_from_public\ntitle: {en: X, ko: 엑스}\ndescription: {en: X, ko: 엑스}\nseverity: HIGH\n\
             pattern: {detail: {eventSource: [s3.amazonaws.com], vpcEndpointId: [{exists: true}], sourceIPAddress: [{prefix: \"203.\"}]}}\n",
            "test.yml",
        )
        .unwrap();
        let set = RuleSet::new(rules);
        let head = |vpc_endpoint_id, source_ip| Head {
            event_source: "s3.amazonaws.com",
            event_name: "GetObject",
            vpc_endpoint_id,
            source_ip,
            ..Head::default()
        };
        // Same repeating fields, different addresses: the plan is shared, the verdict is not.
        assert!(!set
            .candidates_for_head(&head("vpce-1", "203.0.113.9"))
            .is_empty());
        assert!(set
            .candidates_for_head(&head("vpce-1", "10.0.0.1"))
            .is_empty());
        assert!(!set
            .candidates_for_head(&head("vpce-1", "203.0.113.10"))
            .is_empty());
        // No endpoint: out on the repeating fields, whatever the address.
        assert!(set.candidates_for_head(&head("", "203.0.113.9")).is_empty());
    }

    #[test]
    fn a_rule_with_a_broken_pattern_reports_every_problem_with_its_place() {
        let directory = std::env::temp_dir().join(format!("iamwatch-rules-{}", std::process::id()));
        std::fs::create_dir_all(&directory).unwrap();
        std::fs::write(
            directory.join("broken.yml"),
            "id: x\ntitle: {en: X, ko: 엑스}\ndescription: {en: X, ko: 엑스}\nseverity: HIGH\npattern: {detail: {eventName: [{NUMERIC: [\">\", 1]}]}}\nconditions:\n  - {fields_differ: [a, b], not: {a: [1]}}\n",
        )
        .unwrap();
        let errors = RuleSet::load_dir(&directory).unwrap_err();
        let text = errors[0].to_string();
        assert!(text.contains("broken.yml"), "{text}");
        assert!(
            text.contains("pattern: $.detail.eventName[0].NUMERIC: unknown operator"),
            "{text}"
        );
        assert!(text.contains("conditions[0]"), "{text}");
        std::fs::remove_dir_all(directory).unwrap();
    }
}

#[cfg(test)]
mod fuzz {
    proptest::proptest! {
        #[test]
        fn loading_arbitrary_yaml_as_rules_never_panics(text in "(id: x\ntitle: \\{en: a, ko: 가\\}\n)?[ -~\n]{0,200}") {
            let _ = super::set::parse_file(&text, "fuzz.yml");
        }

        #[test]
        fn converting_arbitrary_sigma_rules_never_panics(
            condition in "[a-zé_*() |1]{0,40}",
            key in "[a-zA-Z.é|*]{0,20}",
            value in "[ -~é]{0,20}",
            values in proptest::collection::vec("[ -~]{0,8}", 0..4),
        ) {
            let text = format!(
                "title: t\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  sel_é:\n    {key:?}: {value:?}\n  filter:\n    - {key:?}: {values:?}\n  condition: {condition:?}\n"
            );
            let _ = super::set::parse_file(&text, "fuzz.yml");
        }

        /// Modifiers, keywords, wildcards and regular expressions in any combination: the
        /// conversion refuses or loads, and a loaded rule is decided on an event, from its
        /// leaves and whole, the same way, without panicking.
        #[test]
        fn sigma_modifiers_in_any_combination_load_or_are_refused_and_decide_alike(
            field in "(eventName|userAgent|requestParameters|requestParameters.userName|userIdentity.arn)",
            modifiers in proptest::collection::vec("(re|i|m|s|all|contains|startswith|endswith|cidr|exists|fieldref|base64)", 0..3),
            values in proptest::collection::vec("[a-zA-Z?*\\\\.()\\[\\]{}+^$|/:-]{0,10}", 1..4),
            keywords in proptest::collection::vec("[a-zA-Z?*]{1,6}", 1..3),
            condition in "(sel|sel and not kw|kw or sel|not sel|sel and \\(kw or not sel\\)|1 of sel\\* or kw)",
        ) {
            let key = std::iter::once(field).chain(modifiers).collect::<Vec<_>>().join("|");
            let text = format!(
                "title: t\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  sel:\n    {key:?}: {values:?}\n  kw: {keywords:?}\n  condition: {condition:?}\n"
            );
            if let Ok(rules) = super::set::parse_file(&text, "fuzz.yml") {
                let record = serde_json::json!({"eventSource": "iam.amazonaws.com",
                    "eventName": "CreateUser", "userAgent": "Boto3/1.34 (x)?",
                    "userIdentity": {"arn": "arn:aws:sts::1:assumed-role/aws:x/i"},
                    "requestParameters": {"userName": "a.b*c", "tags": [{"key": "k"}]}});
                let shaped = super::shape::eventbridge_event(record.clone());
                for rule in &rules {
                    let whole = rule.evaluate(
                        Some(&shaped),
                        &crate::eventbridge::FlatEvent::new(&shaped, rule.paths()),
                    );
                    let leaves = crate::eventbridge::FlatEvent::from_raw_record(
                        &record.to_string(), &shaped, rule.paths());
                    if !rule.needs_whole_event() || rule.decidable_on_leaves(&leaves) {
                        proptest::prop_assert_eq!(rule.evaluate(None, &leaves), whole, "{}", text);
                    }
                }
            }
        }
    }

    /// serde_yaml_ng panicked ("unexpected end of mapping") reading a typed rule from a
    /// document that ends at an alias to no anchor; found by the `rules` fuzz target in a
    /// SigmaHQ rule whose `logsource` key had been mangled and whose `timeframe` read `*09m`.
    #[test]
    fn an_alias_to_no_anchor_is_refused_with_its_place_not_a_panic() {
        let sigma_head = "title: t\nlogsource: {product: aws, service: cloudtrail}\n";
        for text in [
            "a: *x\n".to_string(),
            "id: *x\n".to_string(),
            "- *x\n".to_string(),
            "id: x\ntitle: {en: a, ko: b}\nseverity: *level\n".to_string(),
            "id: ok\ntitle: {en: a, ko: b}\n---\nid: *x\n".to_string(),
            "logsourceR:\n    product: aws\ndetection:\n    timeframe: *09m\n".to_string(),
            format!("{sigma_head}detection:\n  sel: *x\n  condition: sel\n"),
            format!("{sigma_head}detection:\n  sel: {{eventName: x}}\n  condition: sel\n---\n{sigma_head}detection: *x\n"),
        ] {
            let error = super::set::parse_file(&text, "alias.yml").unwrap_err();
            assert!(
                error.problems.iter().any(|problem| problem.contains("unknown anchor")
                    && problem.contains("line")),
                "{text}: {:?}",
                error.problems
            );
        }
    }

    #[test]
    fn a_syntax_error_is_reported_once_and_loading_stops() {
        let error = super::set::parse_file("id: x\n  title: [\n", "broken.yml").unwrap_err();
        assert_eq!(error.problems.len(), 1, "{:?}", error.problems);
        assert!(
            error.problems[0].contains("document 1"),
            "{:?}",
            error.problems
        );
    }
}
