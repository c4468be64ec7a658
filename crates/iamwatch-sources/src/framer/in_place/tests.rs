use super::*;
use crate::framer::differential::visited;
use crate::input::InputData;
use proptest::prelude::*;

fn plain_record(name: &str, padding: usize, pretty: bool) -> String {
    let space = if pretty { "\n    " } else { "" };
    format!(
        r#"{{{space}"eventVersion": "1.08",{space}"eventName":"{name}","eventSource":"iam.amazonaws.com",{space}"requestParameters":{{"userName":"{name}","pad":"{}"}},"userIdentity":{{"type":"IAMUser","userName":"{name}"}},"eventID":"{name}-{padding}"{space}}}"#,
        "x".repeat(padding)
    )
}

#[test]
fn plain_records_are_read_in_place_with_their_lines_and_indexes() {
    let records: Vec<String> = (0..5)
        .map(|n| plain_record(&format!("User{n}"), n * 100, n % 2 == 1))
        .collect();
    let input = format!("{{\"Records\":[\n{}\n]}}\n", records.join(",\n"));
    let mut framer = Framer::for_input(InputData::Memory(input.clone().into_bytes()));
    let mut seen = Vec::new();
    while let Some(result) = framer.visit_next(&mut |item, at| {
        let Item::Record(record) = item else {
            panic!("not a record: {item:?}");
        };
        seen.push((record.doc.event_name.or_empty().to_string(), at));
    }) {
        result.unwrap();
        let count = seen.len();
        // Every record is read in place, the first too: none missed, and the last one read
        // is the one just visited.
        if count > 0 {
            assert_eq!(framer.in_place.misses, 0);
            assert_eq!(framer.in_place.last_length, records[count - 1].len());
        }
    }
    assert_eq!(seen.len(), 5);
    let lines: Vec<u64> = seen.iter().map(|(_, at)| at.line).collect();
    // Each record starts on a line of its own; the odd ones hold four newlines each.
    assert_eq!(lines, [2, 3, 8, 9, 14]);
    let indexes: Vec<u64> = seen.iter().map(|(_, at)| at.index).collect();
    assert_eq!(indexes, [0, 1, 2, 3, 4]);
    assert_eq!(seen[3].0, "User3");
    assert_eq!(
        visited(input.as_bytes(), None, true),
        visited(input.as_bytes(), None, false)
    );
}

#[test]
fn a_record_longer_than_the_window_is_framed_as_before() {
    let long = plain_record("Long", MIN_WINDOW * 4, false);
    let input = format!(
        "{{\"Records\":[{},{long},{}]}}",
        plain_record("A", 0, false),
        plain_record("B", 0, false)
    );
    let items = visited(input.as_bytes(), None, true);
    assert_eq!(items.len(), 3);
    assert!(items[1].contains(&"x".repeat(MIN_WINDOW * 4)));
    assert_eq!(items, visited(input.as_bytes(), None, false));
}

#[test]
fn the_records_of_a_window_are_read_at_once_up_to_invalid_utf8() {
    let mut input = format!(
        "{{\"Records\":[{},{},{},{{\"eventName\":\"?\"}}]}}",
        plain_record("A", 0, false),
        plain_record("B", 0, true),
        plain_record("C", 0, false),
    )
    .into_bytes();
    // The last record's name made invalid UTF-8: a lone continuation byte.
    let at = input.iter().position(|byte| *byte == b'?').unwrap();
    input[at] = 0xBF;
    let mut framer = Framer::for_input(InputData::Memory(input.clone()));
    let mut names = Vec::new();
    let first = framer.visit_next(&mut |item, _| {
        if let Item::Record(record) = item {
            names.push(record.doc.event_name.or_empty().to_string());
        }
    });
    assert!(matches!(first, Some(Ok(()))));
    // One call read the three plain records, the bad UTF-8 after them notwithstanding.
    assert_eq!(names, ["A", "B", "C"]);
    assert_eq!(framer.in_place.misses, 0);
    assert_eq!(visited(&input, None, true), visited(&input, None, false));
}

/// One element of a `Records` array, of every kind the plain read must take or leave alone.
fn element() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => ("[A-Za-z가-힣]{0,6}", 0usize..6000, any::<bool>())
            .prop_map(|(name, padding, pretty)| plain_record(&name, padding, pretty).into_bytes()),
        1 => Just(br#"{"eventName":"Esc\"aped","eventSource":"iam.amazonaws.com"}"#.to_vec()),
        1 => Just(br#"{"Sns":{"Message":"{\"eventName\":\"Wrapped\",\"eventSource\":\"s3.amazonaws.com\"}"}}"#.to_vec()),
        1 => Just(br#"{"eventName": tru}"#.to_vec()),
        1 => Just(br#"{"eventName":"x",}"#.to_vec()),
        1 => Just(br#"{"eventname":"Lower","eventsource":"iam.amazonaws.com"}"#.to_vec()),
        1 => Just(b"{\"eventName\":\"\xff\xfe\"}".to_vec()),
        1 => Just(b"42".to_vec()),
        1 => Just(br#"{"unrelated":{"a":[1,2.5,-3,true,null]}}"#.to_vec()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// The plain reads change the cost of a record, never what it yields: the same items, in
    /// the same order, at the same lines and indexes, with the same errors, whether the input
    /// is in memory or read a little at a time, whole or cut short.
    #[test]
    fn reading_in_place_yields_what_framing_yields(
        elements in prop::collection::vec(element(), 0..12),
        separators in prop::collection::vec(prop::sample::select(vec![",", ", ", ",\n", "\n,\n  ", ",,"]), 12),
        bare in any::<bool>(),
        cut in prop::option::of(0usize..100_000),
        chunk in prop::option::of(prop_oneof![1usize..64, 500usize..5000]),
    ) {
        let mut input = if bare { b"[".to_vec() } else { b"{\"Records\": [\n".to_vec() };
        for (n, element) in elements.iter().enumerate() {
            if n > 0 {
                input.extend_from_slice(separators[n].as_bytes());
            }
            input.extend_from_slice(element);
        }
        input.extend_from_slice(if bare { b"]\n" } else { b"\n], \"other\": 1}\n" });
        if let Some(cut) = cut {
            input.truncate(cut);
        }
        prop_assert_eq!(visited(&input, chunk, true), visited(&input, chunk, false));
    }
}
