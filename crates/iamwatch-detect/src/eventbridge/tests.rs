use super::*;
use serde::Deserialize;
use serde_json::value::RawValue;

fn pattern(text: &str) -> EventPattern {
    EventPattern::parse(text).unwrap_or_else(|error| panic!("{text}: {error}"))
}

fn event(text: &str) -> Value {
    serde_json::from_str(text).unwrap()
}

#[test]
fn seed_rule_matches_the_events_it_names() {
    let rule = pattern(
        r#"{"source":["aws.iam"],"detail-type":["AWS API Call via CloudTrail"],"detail":{"eventSource":["iam.amazonaws.com"],"eventName":["CreateUser","DeleteUser"]}}"#,
    );
    let hit = event(
        r#"{"source":"aws.iam","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"iam.amazonaws.com","eventName":"DeleteUser"}}"#,
    );
    let miss = event(
        r#"{"source":"aws.iam","detail-type":"AWS API Call via CloudTrail","detail":{"eventSource":"iam.amazonaws.com","eventName":"GetUser"}}"#,
    );
    assert!(rule.matches(&hit));
    assert!(!rule.matches(&miss));
}

#[test]
fn fields_matched_inside_one_array_must_match_in_one_element() {
    let rule = pattern(r#"{"metrics":{"metricName":["CPUUtilization"],"namespace":["AWS/ES"]}}"#);
    assert!(!rule.matches(&event(r#"{"metrics":[{"metricName":"CPUUtilization","namespace":"AWS/EC2"},{"metricName":"RequestCount","namespace":"AWS/ES"}]}"#)));
    assert!(rule.matches(&event(r#"{"metrics":[{"metricName":"RequestCount","namespace":"AWS/EC2"},{"metricName":"CPUUtilization","namespace":"AWS/ES"}]}"#)));
}

#[test]
fn invalid_patterns_name_the_path_and_the_reason() {
    let error =
        EventPattern::parse(r#"{"detail":{"eventName":[{"NUMERIC":[">",1]}]}}"#).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"$.detail.eventName[0].NUMERIC: unknown operator "NUMERIC""#
    );
    assert_eq!(EventPattern::parse(r#"{"a":"x"}"#).unwrap_err().path, "$.a");
    assert_eq!(EventPattern::parse(r#"[]"#).unwrap_err().path, "$");
}

#[derive(Deserialize)]
struct Case<'a> {
    #[serde(borrow)]
    pattern: &'a RawValue,
    pattern_text: Option<String>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
    matches: bool,
}

#[derive(Deserialize)]
struct Invalid<'a> {
    #[serde(borrow)]
    pattern: &'a RawValue,
    #[serde(default = "yes")]
    pattern_is_json: bool,
    note: Option<String>,
}

fn yes() -> bool {
    true
}

fn corpus(name: &str) -> String {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/corpus/eventpattern/"
    )
    .to_string()
        + name;
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// `../shared/corpus/eventpattern/cases.jsonl`: 1,045 vectors from event-ruler and AWS.
#[test]
fn every_conformance_case_gives_the_expected_result() {
    let text = corpus("cases.jsonl");
    let mut failures = Vec::new();
    let mut total = 0;
    for (number, line) in text.lines().enumerate() {
        let case: Case = serde_json::from_str(line).unwrap();
        total += 1;
        let pattern_text = case
            .pattern_text
            .clone()
            .unwrap_or_else(|| case.pattern.get().to_string());
        let event: Value = case
            .event
            .map(|raw| serde_json::from_str(raw.get()).unwrap())
            .unwrap_or(Value::Object(Default::default()));
        match EventPattern::parse(&pattern_text) {
            Ok(compiled) if compiled.matches(&event) == case.matches => {}
            Ok(_) => failures.push(format!(
                "line {}: expected {} for {pattern_text} on {event}",
                number + 1,
                case.matches
            )),
            Err(error) => failures.push(format!(
                "line {}: rejected valid pattern {pattern_text}: {error}",
                number + 1
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {total} cases fail:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// `../shared/corpus/eventpattern/invalid.jsonl`: 142 patterns that must be rejected.
#[test]
fn every_invalid_pattern_is_rejected() {
    let text = corpus("invalid.jsonl");
    let mut accepted = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let case: Invalid = serde_json::from_str(line).unwrap();
        let pattern_text = if case.pattern_is_json {
            case.pattern.get().to_string()
        } else {
            serde_json::from_str::<String>(case.pattern.get()).unwrap()
        };
        if EventPattern::parse(&pattern_text).is_ok() {
            accepted.push(format!(
                "line {}: accepted {pattern_text}{}",
                number + 1,
                case.note
                    .map(|note| format!(" ({note})"))
                    .unwrap_or_default()
            ));
        }
    }
    assert!(
        accepted.is_empty(),
        "{} invalid patterns accepted:\n{}",
        accepted.len(),
        accepted.join("\n")
    );
}

/// Object keys the fuzzer uses: the pattern operators, and a few plain field names.
const FUZZ_KEYS: &[&str] = &[
    "prefix",
    "suffix",
    "exists",
    "numeric",
    "anything-but",
    "wildcard",
    "cidr",
    "equals-ignore-case",
    "$or",
    "a",
    "b",
    "c",
];

/// Arbitrary JSON, biased towards the shapes patterns and events take.
fn arbitrary_json() -> impl proptest::strategy::Strategy<Value = Value> {
    use proptest::prelude::*;
    // String leaves: the keys again (operators as values), and operands operators parse.
    let texts: Vec<&str> = FUZZ_KEYS
        .iter()
        .copied()
        .chain(["*", "", "10.0.0.0/8", ">", "<=", "a*b"])
        .collect();
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        prop::sample::select(texts).prop_map(|text| Value::String(text.to_string())),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::vec((prop::sample::select(FUZZ_KEYS), inner), 0..4).prop_map(
                |members| Value::Object(
                    members
                        .into_iter()
                        .map(|(key, value)| (key.to_string(), value))
                        .collect()
                )
            ),
        ]
    })
}

proptest::proptest! {
    #[test]
    fn compiling_and_matching_arbitrary_json_never_panics(pattern in arbitrary_json(), event in arbitrary_json()) {
        if let Ok(compiled) = EventPattern::from_value(&pattern) {
            let _ = compiled.matches(&event);
            let text = event.to_string();
            let _ = compiled.matches_flattened(&FlatEvent::from_raw_record(&text, &event, compiled.paths()));
        }
    }

    #[test]
    fn parsing_arbitrary_text_as_a_pattern_never_panics(text in "\\PC{0,80}") {
        let _ = EventPattern::parse(&text);
    }
}
