//! The fast path is held to the serde path: whenever it reads a document, the serde path must
//! read the same document (compared by their `Debug` text, which shows every field and every
//! raw member's text).

use super::super::{
    Document, SessionAttributes, SessionContext, SessionIssuer, SnsPayload, UserIdentity,
};
use super::differential::{check, check_prefix, parse};
use proptest::prelude::*;
use serde::Deserialize;
use std::path::Path;

/// The keys serde's derive reads for a struct, aliases included.
fn serde_keys<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    let keys = super::serde_keys::recorded::<T>();
    assert!(!keys.is_empty(), "serde's derive names its keys");
    keys
}

/// Values of every shape, for every key.
const VALUES: &[&str] = &[
    r#""x""#,
    r#""true""#,
    r#""with \"escape\"""#,
    r#""\u00e9 \u0041""#,
    "null",
    "true",
    "12",
    "-1.5",
    "{}",
    r#"{"type":"Root","userName":"admin"}"#,
    r#"{"sessionIssuer":{"userName":"deploy"},"attributes":{"mfaAuthenticated":"true"}}"#,
    "[]",
    r#"["a",{"b":null}]"#,
];

/// Wraps a member so that it lands in the struct it belongs to.
fn within(path: &[&str], member: &str) -> String {
    path.iter()
        .rev()
        .fold(format!("{{{member}}}"), |inner, key| {
            format!(r#"{{"{key}":{inner}}}"#)
        })
}

#[test]
fn every_key_serde_reads_is_read_here_as_serde_reads_it_or_left_to_serde() {
    let structs: [(&[&str], Vec<&str>); 6] = [
        (&[], serde_keys::<Document>()),
        (&["Sns"], serde_keys::<SnsPayload>()),
        (&["userIdentity"], serde_keys::<UserIdentity>()),
        (
            &["userIdentity", "sessionContext"],
            serde_keys::<SessionContext>(),
        ),
        (
            &["userIdentity", "sessionContext", "sessionIssuer"],
            serde_keys::<SessionIssuer>(),
        ),
        (
            &["userIdentity", "sessionContext", "attributes"],
            serde_keys::<SessionAttributes>(),
        ),
    ];
    // The derive lists aliases too (a lower-cased key must not be skipped as unknown here).
    assert!(structs[0].1.contains(&"eventname"), "{:?}", structs[0].1);
    let mut read = 0;
    for (path, keys) in &structs {
        for key in keys {
            for value in VALUES {
                read += usize::from(check(&within(path, &format!(r#""{key}":{value}"#))));
            }
        }
    }
    // Most keys are read here with most values; a path that refused everything would pass the
    // comparison above and do nothing.
    assert!(
        read > 100,
        "the fast path read only {read} of the documents"
    );
}

#[test]
fn plain_records_are_read_here_and_unusual_ones_are_left_to_serde() {
    let plain = r#"{"eventVersion":"1.09","userIdentity":{"type":"AssumedRole","principalId":"AROA:s","arn":"arn:aws:sts::1:assumed-role/r/s","accountId":"1","sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROA","arn":"arn:aws:iam::1:role/r","accountId":"1","userName":"r"},"webIdFederationData":{},"attributes":{"creationDate":"2024-06-01T00:00:00Z","mfaAuthenticated":"false"}}},"eventTime":"2024-06-01T00:00:01Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","awsRegion":"us-east-1","sourceIPAddress":"198.51.100.1","userAgent":"aws-cli/2.17","requestParameters":{"userName":"bob","tags":[{"key":"a\"b","value":"\u00e9"}]},"responseElements":null,"requestID":"r","eventID":"e","readOnly":false,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"1","eventCategory":"Management","tlsDetails":{"tlsVersion":"TLSv1.3","clientProvidedHostHeader":"iam.amazonaws.com"}}"#;
    assert!(check(plain));
    let doc = parse(plain.as_bytes()).unwrap();
    assert_eq!(doc.event_name.or_empty(), "CreateUser");
    assert_eq!(doc.read_only.0, Some(false));
    let identity = doc.user_identity.as_ref().unwrap();
    let session = identity.session_context.as_ref().unwrap();
    assert_eq!(
        session
            .session_issuer
            .as_ref()
            .unwrap()
            .user_name
            .or_empty(),
        "r"
    );
    assert_eq!(
        session.attributes.as_ref().unwrap().mfa_authenticated.0,
        Some(false)
    );
    assert!(doc
        .request_parameters
        .unwrap()
        .as_raw_str()
        .starts_with(r#"{"userName":"bob""#));

    for unusual in [
        // A key given twice: serde refuses it and the repair path notes it.
        r#"{"eventName":"A","eventName":"B"}"#,
        r#"{"userIdentity":{"type":"Root","type":"IAMUser"}}"#,
        // Lower-cased keys, an escape in a text field, a number where text belongs.
        r#"{"eventname":"CreateUser"}"#,
        r#"{"eventName":"Create\u0055ser"}"#,
        r#"{"eventName":"CreateUser","recipientAccountId":123}"#,
        // Not an object, trailing text, a bad raw member, invalid UTF-8 is tested below.
        r#"["eventName"]"#,
        r#"{"eventName":"A"} x"#,
        r#"{"eventName":"A","requestParameters":{"a":tru}}"#,
        r#"{"eventName":"A","tlsDetails":[1,]}"#,
        // A `\u` escape without four hex digits (sonic-rs would take it; left to it).
        r#"{"eventName":"A","requestParameters":{"a":"\u00zz"}}"#,
        r#"{"eventName":"A","tlsDetails":"\u12"}"#,
        // A control character in a string.
        "{\"eventName\":\"A\tB\"}",
        // Envelopes.
        r#"{"detail-type":"AWS API Call via CloudTrail","detail":{"eventName":"A"}}"#,
    ] {
        assert!(parse(unusual.as_bytes()).is_none(), "{unusual}");
    }
    assert!(parse(b"{\"eventName\":\"\xff\"}").is_none());
}

/// Real records: the seed fixtures, Panther's test records and the attack-simulation logs.
fn real_records() -> Vec<String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut records: Vec<String> =
        std::fs::read_to_string(root.join("tests/fixtures/seed_events.jsonl"))
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
    let corpus = root.join("../shared/corpus");
    if let Ok(panther) = std::fs::read_to_string(corpus.join("panther/tests.jsonl")) {
        for line in panther.lines() {
            let test: serde_json::Value = serde_json::from_str(line).unwrap();
            if let Some(record) = test.get("record").filter(|record| record.is_object()) {
                records.push(record.to_string());
            }
        }
    }
    if let Ok(files) = std::fs::read_dir(corpus.join("raw_logs/stratus-red-team")) {
        for file in files {
            let text = std::fs::read_to_string(file.unwrap().path()).unwrap();
            if let Ok(serde_json::Value::Array(array)) = serde_json::from_str(&text) {
                records.extend(array.iter().map(ToString::to_string));
            }
        }
    }
    records
}

#[test]
fn real_records_are_read_as_serde_reads_them_and_mostly_here() {
    let records = real_records();
    let read = records.iter().filter(|record| check(record)).count();
    // The seed records alone are 48; the corpus adds hundreds when it is beside the project.
    assert!(records.len() >= 48);
    assert!(
        read * 10 >= records.len() * 9,
        "the fast path read {read} of {} real records",
        records.len()
    );
}

/// A JSON-like text: members drawn from the keys the structs read, unknown keys and every
/// shape of value, nested where `userIdentity` nests.
fn document_text() -> impl Strategy<Value = String> {
    let key = prop::sample::select(vec![
        "eventName",
        "eventSource",
        "eventTime",
        "eventID",
        "readOnly",
        "managementEvent",
        "userIdentity",
        "sessionContext",
        "sessionIssuer",
        "attributes",
        "mfaAuthenticated",
        "type",
        "userName",
        "arn",
        "requestParameters",
        "responseElements",
        "errorCode",
        "eventname",
        "detail",
        "Sns",
        "Records",
        "tlsDetails",
        "requestID",
        "x",
    ]);
    let leaf = prop::sample::select(VALUES.to_vec()).prop_map(str::to_string);
    // Gaps between tokens: none (as CloudTrail writes), one space (as Python's `json.dumps`
    // does), or runs of every kind of whitespace (pretty-printed files).
    let gap = || {
        prop::sample::select(vec![
            "", "", " ", " ", "  ", "\n", "\t", "\r\n", " \n  ", "\n\t",
        ])
    };
    let value = leaf.prop_recursive(3, 24, 6, move |inner| {
        let member = (gap(), key.clone(), gap(), gap(), inner, gap());
        (prop::collection::vec(member, 0..6), gap()).prop_map(|(members, end)| {
            let members: Vec<String> = members
                .into_iter()
                .map(|(before, key, colon, after, value, last)| {
                    format!(r#"{before}"{key}"{colon}:{after}{value}{last}"#)
                })
                .collect();
            format!("{{{}{end}}}", members.join(","))
        })
    });
    value.prop_filter("an object", |text| text.starts_with('{'))
}

/// A record with its keys in CloudTrail's order (the `expected` tables'), some left out and
/// some unknown ones put in between, among them keys that begin like an expected one: the keys
/// the fast path finds by comparing bytes, which the random order above seldom puts where they
/// are looked for.
fn ordered_record() -> impl Strategy<Value = String> {
    use super::expected::{ATTRIBUTES, DOCUMENT, IDENTITY, ISSUER, SESSION};
    let attributes = ordered_object(&ATTRIBUTES.order, |_| None);
    let issuer = ordered_object(&ISSUER.order, |_| None);
    let session = ordered_object(&SESSION.order, move |name| match name {
        "sessionIssuer" => Some(issuer.clone()),
        "attributes" => Some(attributes.clone()),
        _ => None,
    });
    let identity = ordered_object(&IDENTITY.order, move |name| {
        (name == "sessionContext").then(|| session.clone())
    });
    ordered_object(&DOCUMENT.order, move |name| {
        (name == "userIdentity").then(|| identity.clone())
    })
}

/// An object of `table`'s keys in order, each kept or not, with the value `nested` gives it (or
/// any value), a stray key before it or not.
fn ordered_object(
    table: &'static super::expected::Expected,
    nested: impl Fn(&str) -> Option<BoxedStrategy<String>>,
) -> BoxedStrategy<String> {
    let leaf = || prop::sample::select(VALUES.to_vec()).prop_map(str::to_string);
    let gap = || prop::sample::select(vec!["", "", "", " ", "\n  "]);
    let stray = || prop::sample::select(vec!["", "", "", "types", "eventNames", "arn ", "x"]);
    let members: Vec<BoxedStrategy<Option<String>>> = table
        .keys()
        .map(|(name, _)| {
            let value = nested(name).unwrap_or_else(|| leaf().boxed());
            (any::<bool>(), stray(), leaf(), gap(), value)
                .prop_map(move |(kept, stray, stray_value, gap, value)| {
                    kept.then(|| {
                        let stray = if stray.is_empty() {
                            String::new()
                        } else {
                            format!(r#""{stray}":{stray_value},"#)
                        };
                        format!(r#"{stray}"{name}":{gap}{value}"#)
                    })
                })
                .boxed()
        })
        .collect();
    members
        .prop_map(|members| {
            let members: Vec<String> = members.into_iter().flatten().collect();
            format!("{{{}}}", members.join(","))
        })
        .boxed()
}

#[test]
fn the_expected_orders_name_each_key_as_its_struct_does() {
    use super::expected::{Key, ATTRIBUTES, DOCUMENT, IDENTITY, ISSUER, SESSION};
    // Each struct's order, against its member indices and serde's keys for it.
    for members in [&DOCUMENT, &IDENTITY, &SESSION, &ISSUER, &ATTRIBUTES] {
        assert!(
            !members.serde_keys.is_empty(),
            "serde's derive names its keys"
        );
        let mut names = Vec::new();
        for (name, key) in members.order.keys() {
            match key {
                Key::Read(index) => assert_eq!(Some(index), (members.bit)(name), "{name}"),
                // Skipped without a look at serde's keys: serde must not read it either.
                Key::Unread => {
                    assert_eq!((members.bit)(name), None, "{name}");
                    assert!(!members.serde_keys.contains(name), "{name}");
                    assert!(!name.contains('.'), "{name}");
                }
                Key::Text(_) => panic!("{name}: a table names keys, it does not hold text"),
            }
            assert!(!names.contains(&name), "{name} twice");
            names.push(name);
        }
    }
}

#[test]
fn a_key_that_begins_like_the_expected_one_is_not_taken_for_it() {
    // After `eventVersion` and `userIdentity`, `eventTime` is looked for; within the identity,
    // `type` first.
    let text = r#"{"eventVersion":"1.09","userIdentity":{"types":"x","type":"Root","typ":1},"eventTimes":"x","eventTime":"2024-06-01T00:00:00Z","eventSource" :"iam.amazonaws.com"}"#;
    assert!(check(text), "the fast path reads it");
    let doc = parse(text.as_bytes()).unwrap();
    assert_eq!(doc.event_time.or_empty(), "2024-06-01T00:00:00Z");
    assert_eq!(doc.event_source.or_empty(), "iam.amazonaws.com");
    let identity = doc.user_identity.unwrap();
    assert_eq!(identity.identity_type.or_empty(), "Root");
}

/// [`check`] and [`check_prefix`] on `text` with the byte at `cut` made `byte`: most such texts
/// are invalid, and must be left to serde.
fn check_with_a_byte_changed(text: String, cut: prop::sample::Index, byte: u8) {
    let mut bytes = text.into_bytes();
    let at = cut.index(bytes.len());
    bytes[at] = byte;
    if let Ok(text) = String::from_utf8(bytes) {
        check(&text);
        check_prefix(&text);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn records_in_cloudtrail_order_are_read_as_the_serde_path_reads_them(
        text in ordered_record(),
    ) {
        check(&text);
    }

    #[test]
    fn records_in_cloudtrail_order_changed_by_a_byte_are_never_misread(
        text in ordered_record(),
        cut in any::<prop::sample::Index>(),
        byte in prop::sample::select(b" {}[],:\"\\0n-ufs".to_vec()),
    ) {
        check_with_a_byte_changed(text, cut, byte);
    }

    #[test]
    fn fast_path_reads_as_the_serde_path_does(text in document_text()) {
        check(&text);
    }

    #[test]
    fn a_prefix_read_counts_the_newlines_it_passes(
        text in document_text(),
        rest in prop::sample::select(vec!["", ",\n{", "\n\n]"]),
    ) {
        // Newlines are only ever whitespace here (a string holding one is left to serde), and
        // a framer reading records by this parse keeps its line numbers with the count.
        // `check_prefix` holds the count and the document read to those of the object alone.
        let text = format!("{text}{rest}");
        let mut doc = Document::default();
        if let Some((length, _)) = super::parse_prefix_into(&text, &mut doc) {
            prop_assert_eq!(length, text.len() - rest.len());
            prop_assert!(check_prefix(&text));
        }
    }

    #[test]
    fn fast_path_never_reads_what_serde_refuses(
        text in document_text(),
        cut in any::<prop::sample::Index>(),
        byte in prop::sample::select(b" {}[],:\"\\0n-uf".to_vec()),
    ) {
        check_with_a_byte_changed(text, cut, byte);
    }
}

#[test]
fn the_keys_read_tell_absent_from_null_and_notice_dotted_keys() {
    let null_error =
        r#"{"eventName":"CreateUser","errorCode":null,"userIdentity":{"type":"Root","arn":null}}"#;
    assert!(check(null_error));
    let doc = parse(null_error.as_bytes()).unwrap();
    assert_eq!(doc.lacks_key("errorCode"), Some(false), "present, if null");
    assert_eq!(doc.lacks_key("errorMessage"), Some(true));
    let identity = doc.user_identity.as_ref().unwrap();
    assert_eq!(identity.lacks_key("arn"), Some(false));
    assert_eq!(identity.lacks_key("userName"), Some(true));
    assert!(doc.surely_no_dotted_keys());
    let dotted = r#"{"eventName":"CreateUser","userIdentity.type":"Root"}"#;
    assert!(check(dotted));
    assert!(!parse(dotted.as_bytes()).unwrap().surely_no_dotted_keys());
    // Read by serde: nothing is known.
    let serde_read = Document::parse_with_serde(null_error).unwrap();
    assert_eq!(serde_read.lacks_key("errorMessage"), None);
    assert!(!serde_read.surely_no_dotted_keys());
}

/// The indices `index` gives the keys serde reads for `T`: distinct, and together 0, 1, … up
/// to the number of members the fast path reads (so each has a bit of its own in a `u64`).
fn indices_of<'de, T: Deserialize<'de>>(index: fn(&str) -> Option<u32>) -> Vec<u32> {
    let mut indices: Vec<u32> = serde_keys::<T>().into_iter().filter_map(index).collect();
    indices.sort_unstable();
    indices
}

#[test]
fn members_are_indexed_one_bit_each_and_other_keys_not_at_all() {
    // Every key serde reads that has an index has its own; lower-cased aliases have none.
    let document = indices_of::<Document>(super::document_member_index);
    assert_eq!(document, (0..22).collect::<Vec<u32>>());
    let identity = indices_of::<UserIdentity>(super::identity_member_index);
    assert_eq!(identity, (0..8).collect::<Vec<u32>>());
    for alias in [
        "eventname",
        "eventid",
        "useridentity",
        "accountid",
        "username",
    ] {
        assert_eq!(super::document_member_index(alias), None, "{alias}");
        assert_eq!(super::identity_member_index(alias), None, "{alias}");
    }
}

/// Found by the `document` fuzz target: a lone surrogate in a value no field reads is passed by
/// both paths (each checks a `\u` escape for its four hex digits only), and the check of the
/// keys read must not refuse what they both read.
#[test]
fn a_lone_surrogate_in_an_unread_value_is_read_by_both_paths_alike() {
    for text in [
        r#"{"sev":"A\uDAAe4"}"#,
        r#"{"eventName":"A","requestParameters":{"a":"\uDAAe"}}"#,
        r#"{"userIdentity":{"type":"IAMUser","x":"\uDC00"},"eventName":"A"}"#,
    ] {
        assert!(check(text), "{text}");
        assert!(check_prefix(&format!("{text},{{")), "{text}");
    }
}
