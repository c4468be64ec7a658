//! `iamwatch pattern test`, single and batch, against the conformance corpus.

use crate::helpers::*;
use std::io::Write;
use std::process::Stdio;

fn batch(input: &str) -> Vec<String> {
    let mut child = iamwatch()
        .args(["pattern", "test", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn iamwatch");
    let mut stdin = child.stdin.take().expect("stdin");
    let owned = input.to_string();
    let writer = std::thread::spawn(move || stdin.write_all(owned.as_bytes()));
    let output = child.wait_with_output().expect("wait");
    writer.join().unwrap().unwrap();
    assert_success(&output);
    stdout(&output).lines().map(str::to_string).collect()
}

#[test]
fn single_test_prints_the_verdict_and_exits_like_test_event_pattern() {
    let pattern = r#"{"source":["aws.iam"],"detail":{"eventName":["CreateUser","DeleteUser"]}}"#;
    let hit = iamwatch()
        .args([
            "pattern",
            "test",
            "--pattern",
            pattern,
            "--event",
            r#"{"source":"aws.iam","detail":{"eventName":"CreateUser"}}"#,
        ])
        .output()
        .unwrap();
    assert_eq!((stdout(&hit).trim(), hit.status.code()), ("true", Some(0)));
    let miss = iamwatch()
        .args([
            "pattern",
            "test",
            "--pattern",
            pattern,
            "--event",
            r#"{"source":"aws.iam","detail":{"eventName":"GetUser"}}"#,
        ])
        .output()
        .unwrap();
    assert_eq!(
        (stdout(&miss).trim(), miss.status.code()),
        ("false", Some(1))
    );
    let workspace = Workspace::new();
    let file = workspace.write(
        "pattern.json",
        br#"{"detail":{"eventName":[{"NUMERIC":[">",1]}]}}"#,
    );
    let invalid = iamwatch()
        .args(["pattern", "test", "--event", "{}", "--pattern"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(invalid.status.code(), Some(2));
    assert!(
        stderr(&invalid).contains("$.detail.eventName[0].NUMERIC: unknown operator"),
        "{}",
        stderr(&invalid)
    );
}

#[test]
fn batch_mode_agrees_with_every_conformance_vector() {
    let cases = std::fs::read_to_string(corpus().join("eventpattern/cases.jsonl")).unwrap();
    let invalid = std::fs::read_to_string(corpus().join("eventpattern/invalid.jsonl")).unwrap();
    let mut input = String::new();
    let mut expected = Vec::new();
    for line in cases.lines() {
        let case: serde_json::Value = serde_json::from_str(line).unwrap();
        // The one duplicate-key pattern keeps its raw text in `pattern_text`.
        match case.get("pattern_text") {
            Some(text) => input.push_str(
                &serde_json::json!({"pattern": text, "event": case["event"]}).to_string(),
            ),
            None => input.push_str(line),
        }
        input.push('\n');
        expected.push(case["matches"].as_bool().unwrap().to_string());
    }
    for line in invalid.lines() {
        input.push_str(line); // `pattern` is an object, or a string of raw (malformed) text
        input.push('\n');
        expected.push("error".to_string());
    }
    let results = batch(&input);
    assert_eq!(results.len(), expected.len());
    let wrong: Vec<String> = results
        .iter()
        .zip(&expected)
        .enumerate()
        .filter(|(_, (result, expected))| {
            if *expected == "error" {
                !result.starts_with("error: ")
            } else {
                result != expected
            }
        })
        .map(|(index, (result, expected))| {
            format!(
                "input line {}: got {result}, expected {expected}",
                index + 1
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} wrong:\n{}",
        wrong.len(),
        expected.len(),
        wrong.join("\n")
    );
}

#[test]
fn batch_lines_without_event_or_with_garbage_still_get_one_answer_each() {
    let results = batch("{\"pattern\":{\"a\":[{\"exists\":false}]}}\nnot json\n{\"pattern\":\"{\\\"a\\\": [1,}\"}\n{\"event\":{}}\n");
    assert_eq!(results[0], "true");
    assert!(results[1].starts_with("error: "));
    assert!(
        results[2].starts_with("error: $: not valid JSON"),
        "{}",
        results[2]
    );
    assert_eq!(results[3], "error: the line has no pattern");
}

#[test]
fn a_reason_naming_a_key_with_a_newline_stays_on_its_line() {
    // The key `anyth\ng-but` is unknown as an operator, and the reason names it: the answer
    // must not break the one-answer-per-line protocol.
    let line = serde_json::json!({
        "pattern": {"detail": {"path": [{"anyth\ng-but": {"wildcard": "*"}}]}},
        "event": {"detail": {}}
    });
    let results = batch(&format!(
        "{line}\n{{\"pattern\":{{\"a\":[1]}},\"event\":{{\"a\":1}}}}\n"
    ));
    assert_eq!(results.len(), 2, "{results:?}");
    assert!(
        results[0].starts_with("error: $.detail.path[0].anyth\\ng-but: "),
        "{}",
        results[0]
    );
    assert_eq!(results[1], "true");
}
