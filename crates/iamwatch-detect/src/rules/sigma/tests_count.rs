//! SigmaHQ's rules that count (`| count() > n` with a `timeframe`) become rules with a
//! threshold; those that correlate different events (`near`, a `timeframe` over an `and` of
//! selections without a count) become rules of steps, or are refused saying why (`near`
//! without a timeframe). (`../shared/corpus/sigma_aws/_unsupported`, Detection Rule License
//! 1.1, see its README.)

use super::tests::{corpus, load};
use crate::rules::set::parse_file;
use iamwatch_core::Threshold;

/// The rule in `_unsupported/<stem>.yml`: its threshold and dedup template.
fn counted(stem: &str) -> (Option<Threshold>, Option<String>) {
    let path = corpus().join("_unsupported").join(format!("{stem}.yml"));
    let text = std::fs::read_to_string(&path).unwrap();
    let mut rules = parse_file(&text, &path.display().to_string()).unwrap();
    let rule = rules.pop().unwrap();
    (rule.threshold, rule.dedup)
}

fn threshold(events: u32, minutes: i64) -> Option<Threshold> {
    Some(Threshold {
        events,
        window_ms: minutes * 60_000,
    })
}

#[test]
fn sigmahq_counting_rules_load_with_their_thresholds() {
    assert_eq!(counted("aws_enum_listing"), (threshold(51, 10), None));
    assert_eq!(counted("aws_enum_backup"), (threshold(6, 10), None));
    assert_eq!(
        counted("aws_ec2_download_userdata"),
        (threshold(11, 30), None)
    );
    assert_eq!(
        counted("aws_macic_evasion"),
        (
            threshold(6, 10),
            Some("{detail.sourceIPAddress}".to_string())
        )
    );
    let outcomes = load(&corpus().join("_unsupported"));
    let loaded: Vec<&str> = outcomes
        .iter()
        .filter(|(_, problems)| problems.is_empty())
        .map(|(stem, _)| stem.as_str())
        .collect();
    assert_eq!(
        loaded,
        [
            "aws_ec2_download_userdata",
            "aws_enum_backup",
            "aws_enum_listing",
            "aws_enum_network",
            "aws_enum_storage",
            "aws_macic_evasion",
            "aws_ses_messaging_enabled"
        ]
    );
}

#[test]
fn sigmahq_rules_that_correlate_different_events_become_rules_of_steps() {
    // `selection1 and selection2` within 5 minutes: two events, not one matching both.
    let path = corpus().join("_unsupported/aws_ses_messaging_enabled.yml");
    let text = std::fs::read_to_string(&path).unwrap();
    let rules = parse_file(&text, "aws_ses_messaging_enabled.yml").unwrap();
    let steps: Vec<&str> = rules[0]
        .steps
        .iter()
        .map(|step| step.name.as_str())
        .collect();
    assert_eq!(steps, ["selection1", "selection2"]);
    assert_eq!(rules[0].threshold, threshold(2, 5));
    assert_eq!(rules[0].dedup, None, "Sigma v1 groups nothing");
    // `near` without the span its selections must fall within.
    let outcomes = load(&corpus().join("_unsupported"));
    let near = &outcomes["aws_lambda_function_created_or_invoked"];
    assert!(near[0].contains("near needs a timeframe"), "{near:?}");
    let near = |condition: &str| {
        format!(
            "title: t\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  created: {{eventName: CreateFunction20150331}}\n  invoked: {{eventName: Invoke}}\n  filter: {{userAgent|contains: terraform}}\n  timeframe: 10m\n  condition: {condition}\n"
        )
    };
    let rules = parse_file(&near("created | near invoked"), "r.yml").unwrap();
    let steps: Vec<&str> = rules[0]
        .steps
        .iter()
        .map(|step| step.name.as_str())
        .collect();
    assert_eq!(steps, ["created", "invoked"]);
    assert_eq!(rules[0].threshold, threshold(2, 10));
    // A stray timeframe beside `and not`: no correlation, and refused as before.
    let problems = parse_file(&near("created and not filter"), "r.yml")
        .unwrap_err()
        .problems;
    assert!(
        problems[0].contains("timeframe without a count"),
        "{problems:?}"
    );
}

#[test]
fn a_count_needs_a_timeframe_it_can_read() {
    let rule = |timeframe: &str| {
        format!(
            "title: t\nlogsource: {{product: aws, service: cloudtrail}}\ndetection:\n  selection: {{eventName: ListUsers}}\n{timeframe}  condition: selection | count() > 3\n"
        )
    };
    let problems = |text: String| parse_file(&text, "r.yml").unwrap_err().problems;
    assert!(problems(rule(""))[0].contains("a count needs a timeframe"));
    assert!(problems(rule("  timeframe: 10 minutes\n"))[0]
        .contains("timeframe: \"10 minutes\" is no span"));
    assert!(problems(rule("  timeframe: 10\n"))[0].contains("not a span"));
    let loaded = parse_file(&rule("  timeframe: 90s\n"), "r.yml").unwrap();
    assert_eq!(
        loaded[0].threshold,
        Some(Threshold {
            events: 4,
            window_ms: 90_000
        })
    );
}
