//! An EventBridge pattern and an event, one JSON text each, on the input's first line and the
//! rest: compiling and matching must not panic, and a pattern narrowed to some of its fields
//! (as rule sets narrow every rule to the record's head fields, to reject most records before
//! parsing them whole) must match every event the whole pattern matches. A narrowed pattern
//! that refused such an event would make a rule miss its incidents.
#![no_main]

use iamwatch_detect::eventbridge::EventPattern;
use iamwatch_detect::rules::shape::{HEAD_PATHS, REPEATING_HEAD_PATHS};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|bytes: &[u8]| {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return;
    };
    let (pattern, event) = text.split_once('\n').unwrap_or((text, "{}"));
    let Ok(pattern) = EventPattern::parse(pattern) else {
        return;
    };
    let Ok(event) = serde_json::from_str::<Value>(event) else {
        return;
    };
    if !pattern.matches(&event) {
        return;
    }
    let own: Vec<&str> = pattern.paths().take(1).collect();
    for paths in [HEAD_PATHS, REPEATING_HEAD_PATHS, &own[..], &[]] {
        assert!(
            pattern.restricted_to(paths).matches(&event),
            "narrowed to {paths:?}, the pattern refuses an event it matches whole: {text}"
        );
    }
});
