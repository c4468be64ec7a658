use super::differential::Chunks;
use super::*;

fn frames_of(input: &[u8], chunk: usize) -> Vec<Result<(String, u64, u64, bool), String>> {
    let reader = Chunks::new(input, chunk);
    let mut framer = Framer::with_limit(reader, 1024);
    let mut out = Vec::new();
    while let Some(item) = framer.next_frame() {
        out.push(match item {
            Ok(frame) => Ok((
                String::from_utf8_lossy(frame.bytes).into_owned(),
                frame.line,
                frame.index,
                frame.in_records,
            )),
            Err(error) => Err(error.to_string()),
        });
    }
    out
}

fn values(input: &[u8]) -> Vec<String> {
    frames_of(input, 3)
        .into_iter()
        .map(|item| item.unwrap().0)
        .collect()
}

#[test]
fn cloudtrail_file_yields_each_record() {
    let input = br#"{"Records":[{"eventName":"A","x":"}]"},{"eventName":"B"}]}"#;
    let frames = frames_of(input, 5);
    assert_eq!(frames.len(), 2);
    let (first, _, index, in_records) = frames[0].clone().unwrap();
    assert_eq!(first, r#"{"eventName":"A","x":"}]"}"#);
    assert_eq!((index, in_records), (0, true));
    assert_eq!(frames[1].clone().unwrap().0, r#"{"eventName":"B"}"#);
}

#[test]
fn pretty_printed_wrapper_with_other_members_is_closed_cleanly() {
    let input = b"{\n  \"Records\" : [\n    {\"a\": 1},\n    {\"b\": [2, {\"c\": 3}]}\n  ],\n  \"other\": {\"x\": \"]}\"}\n}\n{\"next\": true}\n";
    let frames = frames_of(input, 7);
    let lines: Vec<u64> = frames
        .iter()
        .map(|frame| frame.clone().unwrap().1)
        .collect();
    assert_eq!(
        values(input),
        vec!["{\"a\": 1}", "{\"b\": [2, {\"c\": 3}]}", "{\"next\": true}"]
    );
    assert_eq!(lines, vec![3, 4, 8]);
}

#[test]
fn json_lines_and_bare_arrays_and_single_documents() {
    assert_eq!(
        values(b"{\"a\":1}\n{\"b\":2}\n\n{\"c\":3}"),
        vec!["{\"a\":1}", "{\"b\":2}", "{\"c\":3}"]
    );
    assert_eq!(
        values(b"[ {\"a\":1} , {\"b\":2} ]"),
        vec!["{\"a\":1}", "{\"b\":2}"]
    );
    assert_eq!(
        values(b"{\"detail-type\":\"x\",\"Records\":[1]}"),
        vec!["{\"detail-type\":\"x\",\"Records\":[1]}"]
    );
    assert_eq!(values(b"\xEF\xBB\xBF{\"a\":1}"), vec!["{\"a\":1}"]);
    assert_eq!(values(b"[1, \"two\", null]"), vec!["1", "\"two\"", "null"]);
}

/// Files saved with a byte-order mark and joined (`cat a.json b.json`) carry one before each
/// value: each is passed over as the first one is, in a stream and in memory alike, and lines
/// are still counted.
#[test]
fn byte_order_marks_between_values_are_passed_over() {
    let joined = b"\xEF\xBB\xBF{\"a\":1}\n\xEF\xBB\xBF{\"Records\":[{\"b\":2}]}\n\xEF\xBB\xBF\xEF\xBB\xBF{\"c\":3}\n\xEF\xBB\xBF";
    let expected = vec![
        ("{\"a\":1}".to_string(), 1),
        ("{\"b\":2}".to_string(), 2),
        ("{\"c\":3}".to_string(), 3),
    ];
    for chunk in [1, 2, 3, 100] {
        let streamed: Vec<(String, u64)> = frames_of(joined, chunk)
            .into_iter()
            .map(|frame| frame.map(|(text, line, ..)| (text, line)).unwrap())
            .collect();
        assert_eq!(streamed, expected, "read {chunk} bytes at a time");
    }
    let mut in_memory = Framer::for_input(InputData::Memory(joined.to_vec()));
    let mut framed = Vec::new();
    while let Some(frame) = in_memory.next_frame() {
        let frame = frame.unwrap();
        framed.push((
            String::from_utf8_lossy(frame.bytes).into_owned(),
            frame.line,
        ));
    }
    assert_eq!(framed, expected);
    // A mark cut short is not one: the input is reported, not lost.
    assert!(frames_of(b"{\"a\":1}\n\xEF\xBB{\"b\":2}", 2)[1].is_err());
}

#[test]
fn escaped_quotes_and_backslashes_do_not_end_strings() {
    let input = br#"[{"a":"he said \"}\" \\"},{"b":"\\\\"}]"#;
    assert_eq!(
        values(input),
        vec![r#"{"a":"he said \"}\" \\"}"#, r#"{"b":"\\\\"}"#]
    );
}

#[test]
fn garbage_lines_are_reported_and_skipped() {
    let frames = frames_of(b"# a comment\n{\"a\":1}\nnot json\n{\"b\":2}", 4);
    assert!(frames[0].as_ref().unwrap_err().contains("line 1"));
    assert_eq!(frames[1].as_ref().unwrap().0, "{\"a\":1}");
    assert!(frames[2].as_ref().unwrap_err().contains("line 3"));
    assert_eq!(frames[3].as_ref().unwrap().0, "{\"b\":2}");
}

#[test]
fn commas_are_skipped_between_array_elements_only() {
    // Inside an array a stray comma is passed over; between top-level values it is garbage.
    assert_eq!(
        values(b"[{\"a\":1},,\n ,{\"b\":2}]"),
        ["{\"a\":1}", "{\"b\":2}"]
    );
    let frames = frames_of(b"{\"a\":1}\n, {\"b\":2}\n{\"c\":3}", 4);
    assert_eq!(frames[0].as_ref().unwrap().0, "{\"a\":1}");
    assert!(frames[1].as_ref().unwrap_err().contains("line 2"));
    assert_eq!(frames[2].as_ref().unwrap().0, "{\"c\":3}");
}

#[test]
fn truncated_input_is_reported_once() {
    let frames = frames_of(b"{\"Records\":[{\"a\":1},{\"b\":", 4);
    assert_eq!(frames.len(), 2);
    assert!(frames[1].as_ref().unwrap_err().contains("ends inside"));
    let frames = frames_of(b"{\"Records\":[{\"a\":1}", 4);
    assert!(frames[1].as_ref().unwrap_err().contains("ends inside"));
}

/// What a truncated input holds of its last value is kept for the dead letters: in a stream
/// and in memory, inside a `Records` array and at the top, and the start of one that had grown
/// over the limit before the input ended.
#[test]
fn a_truncated_value_keeps_what_the_input_holds_of_it() {
    fn last_error<R: io::Read>(mut framer: Framer<R>) -> (Vec<u8>, usize) {
        loop {
            match framer.next_frame() {
                Some(Ok(_)) => continue,
                Some(Err(FrameError::Truncated { text, size, .. })) => return (text, size),
                other => panic!(
                    "{:?}",
                    other.map(|frame| frame.map(|frame| frame.bytes.to_vec()))
                ),
            }
        }
    }
    // Streamed, a value over the limit is held only up to it; in memory it is all there.
    // Either way the text is the value's start, at least as much of it as the limit.
    let truncated = |input: &[u8], chunk: usize, limit: usize| -> (Vec<u8>, usize) {
        let streamed = last_error(Framer::with_limit(Chunks::new(input, chunk), limit));
        let mut in_memory =
            Framer::build(Box::new(io::empty()), input.to_vec(), input.len(), limit);
        in_memory.eof = true;
        let in_memory = last_error(in_memory);
        assert_eq!(in_memory.1, streamed.1, "the same size in memory");
        assert!(
            in_memory.0.starts_with(&streamed.0) && streamed.0.len() >= limit.min(streamed.1),
            "{} and {} bytes kept",
            in_memory.0.len(),
            streamed.0.len()
        );
        streamed
    };
    for chunk in [3, 64, 4096] {
        assert_eq!(
            truncated(
                b"{\"Records\":[{\"a\":1},{\"eventName\":\"DeleteUs",
                chunk,
                1024
            ),
            (b"{\"eventName\":\"DeleteUs".to_vec(), 22)
        );
        assert_eq!(
            truncated(b"{\"a\":1}\n{\"broken json\n", chunk, 1024),
            (b"{\"broken json\n".to_vec(), 14)
        );
        // Between elements there is nothing of a value to keep.
        assert_eq!(
            truncated(b"{\"Records\":[{\"a\":1},", chunk, 1024),
            (Vec::new(), 0)
        );
        let big = format!("[{{\"pad\":\"{}", "x".repeat(3000));
        let (text, size) = truncated(big.as_bytes(), chunk, 1024);
        assert_eq!(
            size,
            big.len() - 1,
            "the whole value past the array's bracket"
        );
        assert!(
            text.len() >= 1024 && big.as_bytes()[1..].starts_with(&text),
            "{}",
            text.len()
        );
    }
}

#[test]
fn a_json_line_cut_short_costs_only_that_line() {
    for chunk in [1, 3, 7, 64] {
        // Cut after a key, and cut inside a string (whose quote the next line then closes).
        for cut in ["{\"b\":", "{\"b\":\"x"] {
            let input = format!("{{\"a\":1}}\n{cut}\n{{\"c\":3}}\r\n{{\"d\":4}}\n");
            let frames = frames_of(input.as_bytes(), chunk);
            assert_eq!(frames.len(), 4, "{input:?} {frames:?}");
            assert_eq!(frames[0].as_ref().unwrap().0, "{\"a\":1}");
            let error = frames[1].as_ref().unwrap_err();
            assert!(
                error.starts_with("line 2: the value does not end on its line"),
                "{error}"
            );
            assert_eq!(frames[2].as_ref().unwrap().0, "{\"c\":3}");
            assert_eq!(frames[3].as_ref().unwrap().0, "{\"d\":4}");
            // Lines and positions stay true after the cut.
            assert_eq!(frames[2].as_ref().unwrap().1, 3);
            assert_eq!(frames[3].as_ref().unwrap().2, 3);
        }
    }
    // The last line cut short is what it always was: the input ends inside it.
    let frames = frames_of(b"{\"a\":1}\n{\"b\":", 3);
    assert!(frames[1].as_ref().unwrap_err().contains("ends inside"));
}

/// A log group exported to S3: each line the event's timestamp, blanks, then the record. The
/// timestamps are passed over (they were numbers followed by "trailing characters"), and a line
/// cut short ends where the next timestamped line starts.
#[test]
fn a_log_exports_timestamps_are_passed_over() {
    for chunk in [1, 3, 7, 64] {
        let input = b"2024-06-01T10:00:01.123Z {\"a\":1}\n2024-06-01T10:00:02.000Z\t{\"b\":\n2024-06-01T10:00:03Z {\"c\":3}\n";
        let frames = frames_of(input, chunk);
        assert_eq!(frames.len(), 3, "{frames:?}");
        assert_eq!(frames[0], Ok(("{\"a\":1}".to_string(), 1, 0, false)));
        let error = frames[1].as_ref().unwrap_err();
        assert!(
            error.starts_with("line 2: the value does not end"),
            "{error}"
        );
        assert_eq!(frames[2], Ok(("{\"c\":3}".to_string(), 3, 2, false)));
    }
    // A number at the top level is still a number.
    let frames = frames_of(b"2024 {\"a\":1}\n", 3);
    assert_eq!(frames[0], Ok(("2024".to_string(), 1, 0, false)));
}

/// A live pipe (`aws logs tail --follow | iamwatch scan -`, or any producer of JSON Lines) may
/// bring a short line and then nothing for minutes: the line's value is framed without reading
/// on. (Telling a `{"Records":[` apart read on to 64 bytes, so a shorter event waited.)
#[test]
fn a_timestamped_line_is_framed_without_waiting_for_more() {
    struct OneLine(Option<&'static [u8]>);
    impl Read for OneLine {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            let line = self
                .0
                .take()
                .expect("read on past the line: the pipe would block");
            out[..line.len()].copy_from_slice(line);
            Ok(line.len())
        }
    }
    for line in [
        &b"2024-06-01T10:00:01.123000+00:00 111122223333_CloudTrail_us-east-1 {\"a\":1}\n"[..],
        b"2024-06-01T10:00:01Z {\"a\":1}\n",
        b"{\"a\":1}\n",
        b"  {\"a\":\n1}\n",
    ] {
        let mut framer = Framer::new(OneLine(Some(line)));
        let frame = framer.next_frame().unwrap().unwrap();
        assert_eq!(
            String::from_utf8_lossy(frame.bytes).replace('\n', ""),
            "{\"a\":1}"
        );
    }
}

#[test]
fn pretty_printed_values_span_lines_as_they_always_did() {
    let input = b"{\n  \"detail\": {\n    \"eventName\": \"A\"\n  },\n  \"resources\": [\n    {\"arn\": \"x\"}\n  ]\n}\n{\"next\": 1}\n";
    assert_eq!(
        values(input),
        vec![
            "{\n  \"detail\": {\n    \"eventName\": \"A\"\n  },\n  \"resources\": [\n    {\"arn\": \"x\"}\n  ]\n}",
            "{\"next\": 1}"
        ]
    );
}

#[test]
fn oversized_value_is_reported_and_framing_resumes() {
    let big = format!("[{{\"pad\":\"{}\"}},{{\"ok\":1}}]", "x".repeat(5000));
    let frames = frames_of(big.as_bytes(), 100);
    assert!(frames[0]
        .as_ref()
        .unwrap_err()
        .contains("over the 1024-byte limit"));
    assert_eq!(frames[1].as_ref().unwrap().0, "{\"ok\":1}");
}

/// The error for an oversized value keeps the value's start for the dead letters, in a
/// stream and in memory alike, and framing goes on after it.
#[test]
fn an_oversized_value_keeps_its_start_and_is_refused_wherever_it_comes_from() {
    let big = format!("{{\"pad\":\"{}\"}}\n{{\"ok\":1}}\n", "x".repeat(3000));
    let streamed = {
        let mut framer = Framer::with_limit(Chunks::new(big.as_bytes(), 100), 1024);
        let error = framer.next_frame().unwrap().unwrap_err();
        let next = framer.next_frame().unwrap().unwrap().bytes.to_vec();
        (error, next)
    };
    let in_memory = {
        let mut framer = Framer::build(
            Box::new(io::empty()),
            big.clone().into_bytes(),
            big.len(),
            1024,
        );
        framer.eof = true;
        let error = framer.next_frame().unwrap().unwrap_err();
        let next = framer.next_frame().unwrap().unwrap().bytes.to_vec();
        (error, next)
    };
    for (error, next) in [streamed, in_memory] {
        let FrameError::TooLarge {
            line, size, text, ..
        } = error
        else {
            panic!("not refused as too large: {error}");
        };
        assert_eq!((line, size), (1, 3010));
        assert!(
            text.len() >= 1024 && big.as_bytes().starts_with(&text),
            "{}",
            text.len()
        );
        assert_eq!(next, b"{\"ok\":1}");
    }
}

proptest::proptest! {
    #[test]
    fn the_word_at_a_time_search_finds_the_first_quote_or_backslash(
        bytes in proptest::collection::vec(proptest::prop_oneof![
            4 => proptest::num::u8::ANY,
            1 => proptest::strategy::Just(b'"'),
            1 => proptest::strategy::Just(b'\\'),
            1 => proptest::strategy::Just(0u8),
            1 => proptest::strategy::Just(0x80u8),
        ], 0..100),
    ) {
        let expected = bytes.iter().position(|byte| *byte == b'"' || *byte == b'\\');
        proptest::prop_assert_eq!(find_quote_or_backslash(&bytes), expected);
    }

    #[test]
    fn framing_arbitrary_bytes_never_panics_and_terminates(input in proptest::collection::vec(proptest::num::u8::ANY, 0..400), chunk in 1usize..50) {
        let frames = frames_of(&input, chunk);
        proptest::prop_assert!(frames.len() <= input.len() + 1);
    }

    #[test]
    fn json_lines_with_one_line_cut_short_lose_only_that_line(
        texts in proptest::collection::vec("[a-z\"\\\\{}\\[\\] ]{0,12}", 2..12),
        which in 0usize..12,
        keep in 0usize..40,
        chunk in 1usize..40,
        exported in proptest::bool::ANY,
    ) {
        let values: Vec<String> = texts.iter().map(|text| serde_json::json!({ "k": text }).to_string()).collect();
        let which = which % values.len();
        // Cut the line anywhere inside it, but not so that it still ends the value.
        let keep = 1 + keep % (values[which].len() - 1);
        let mut lines = values.clone();
        lines[which].truncate(keep);
        // As a CloudWatch Logs export writes them: each line after its event's timestamp.
        if exported {
            for (n, line) in lines.iter_mut().enumerate() {
                *line = format!("2024-06-01T10:00:{:02}.{n:03}Z {line}", n % 60);
            }
        }
        let input = lines.join("\n");
        let frames = frames_of(input.as_bytes(), chunk);
        let framed: Vec<String> = frames.iter().filter_map(|item| item.as_ref().ok().map(|frame| frame.0.clone())).collect();
        let mut expected = values.clone();
        expected.remove(which);
        proptest::prop_assert_eq!(framed, expected);
        proptest::prop_assert_eq!(frames.iter().filter(|item| item.is_err()).count(), 1);
    }

    #[test]
    fn framing_json_lines_of_objects_recovers_every_value(texts in proptest::collection::vec("[a-z\"\\\\{}\\[\\] ]{0,12}", 0..20), chunk in 1usize..40) {
        let values: Vec<String> = texts.iter().map(|text| serde_json::json!({ "k": text }).to_string()).collect();
        let input = values.join("\n");
        let framed: Vec<String> = frames_of(input.as_bytes(), chunk).into_iter().map(|item| item.unwrap().0).collect();
        proptest::prop_assert_eq!(framed, values);
    }
}

/// Bytes that matter to the scanner, often, among bytes that do not.
fn json_ish_byte() -> impl proptest::strategy::Strategy<Value = u8> {
    proptest::prop_oneof![
        4 => proptest::sample::select(b"{}[]\"\\".to_vec()),
        1 => proptest::sample::select(b":, \n0a".to_vec()),
        3 => proptest::num::u8::ANY,
    ]
}

/// Scans `input` as it would arrive, `chunk` bytes more at each call.
fn scan_growing(input: &[u8], chunk: usize, blocks: bool) -> (Option<usize>, usize, u32, bool) {
    let mut state = ScanState::default();
    let mut length = 0;
    loop {
        length = (length + chunk).min(input.len());
        if let Some(end) = scan_with(&input[..length], &mut state, blocks) {
            return (Some(end), state.offset, state.depth, state.in_string);
        }
        if length == input.len() {
            return (None, state.offset, state.depth, state.in_string);
        }
    }
}

proptest::proptest! {
    /// The 64-byte fast path frames any input (JSON or not, read whole or in pieces) exactly
    /// as the byte-by-byte scanner does.
    #[test]
    fn block_scanning_frames_as_the_byte_scanner_does(
        opening in proptest::sample::select(b"{[\" a".to_vec()),
        body in proptest::collection::vec(json_ish_byte(), 0..600),
        chunk in 1usize..300,
    ) {
        let input = [&[opening][..], &body].concat();
        proptest::prop_assert_eq!(
            scan_growing(&input, chunk, true),
            scan_growing(&input, chunk, false)
        );
    }
}

#[test]
fn block_scanning_frames_real_records_as_the_byte_scanner_does() {
    let records = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/seed_events.jsonl"
    ))
    .unwrap_or_default();
    let mut checked = 0;
    for line in records.lines().filter(|line| line.starts_with('{')) {
        let input = format!("{line}\n{line}");
        for chunk in [7, 64, 1000, input.len()] {
            let blocks = scan_growing(input.as_bytes(), chunk, true);
            assert_eq!(blocks, scan_growing(input.as_bytes(), chunk, false));
            assert_eq!(blocks.0, Some(line.len()));
        }
        checked += 1;
    }
    assert!(checked > 0, "no records read");
}
