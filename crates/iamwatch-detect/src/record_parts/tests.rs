use super::*;
use crate::eventbridge::{extract_parts, extract_raw};
use iamwatch_sources::{visit_document, Item};
use serde_json::Value;

/// Each path's leaves: a value, and the (array, element) pairs it sits in.
type Comparable = Vec<(String, Vec<(Value, Vec<(usize, u32)>)>)>;

/// Leaves as comparable values: each array identity replaced by the order in which it is first
/// met, since two parses put the same array at different addresses.
fn comparable(leaves: &crate::eventbridge::Leaves<'_, '_>, paths: &[&str]) -> Comparable {
    let mut identities: Vec<usize> = Vec::new();
    let mut rank = |identity: usize| match identities.iter().position(|seen| *seen == identity) {
        Some(position) => position,
        None => {
            identities.push(identity);
            identities.len() - 1
        }
    };
    let mut sorted: Vec<&str> = paths.to_vec();
    sorted.sort();
    sorted.dedup();
    sorted
        .into_iter()
        .map(|path| {
            let found = leaves
                .get(path)
                .map(|found| {
                    found
                        .iter()
                        .map(|leaf| {
                            let arrays = leaf
                                .arrays
                                .iter()
                                .map(|(identity, index)| (rank(*identity), *index))
                                .collect();
                            (leaf.value.clone().into_owned(), arrays)
                        })
                        .collect()
                })
                .unwrap_or_default();
            (path.to_string(), found)
        })
        .collect()
}

/// For every record in `json`: the leaves read from its parts (`None` when it needed a whole
/// parse) and the leaves of a whole parse.
type Compared = (Option<Comparable>, Comparable);

fn compare(json: &str, paths: &[&str]) -> Vec<Compared> {
    let mut results = Vec::new();
    visit_document(json.as_bytes(), false, &mut |item| {
        let Item::Record(record) = item else { return };
        let raw = std::str::from_utf8(record.raw).unwrap();
        let whole = comparable(
            &extract_raw(raw, paths.iter().copied()).unwrap_or_default(),
            paths,
        );
        let from_parts = RecordParts::new(&record).and_then(|parts| {
            extract_parts(paths.iter().copied(), |path| parts.part(path))
                .map(|leaves| comparable(&leaves, paths))
        });
        results.push((from_parts, whole));
    });
    results
}

const PATHS: &[&str] = &[
    "eventName",
    "eventSource",
    "errorCode",
    "sourceIPAddress",
    "eventType",
    "userIdentity.type",
    "userIdentity.accountId",
    "userIdentity.invokedBy",
    "requestParameters",
    "userIdentity",
    "requestParameters.roleArn",
    "requestParameters.ipPermissions.items.ipRanges.items.cidrIp",
    "responseElements.layers.arn",
];

const ASSUME_ROLE: &str = r#"{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAEXAMPLE","arn":"arn:aws:iam::111122223333:user/alice","accountId":"111122223333","accessKeyId":"AKIAEXAMPLE","userName":"alice"},"eventTime":"2024-06-01T00:00:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.7","userAgent":"aws-cli/2.17.20","requestParameters":{"roleArn":"arn:aws:iam::444455556666:role/admin","roleSessionName":"s","ipPermissions":{"items":[{"ipRanges":{"items":[{"cidrIp":"0.0.0.0/0"},{"cidrIp":"10.0.0.0/8"}]}}]}},"responseElements":null,"eventID":"e1","eventType":"AwsApiCall","recipientAccountId":"111122223333"}"#;

#[test]
fn a_plain_record_is_read_from_its_parts_as_a_whole_parse_reads_it() {
    let results = compare(ASSUME_ROLE, PATHS);
    assert_eq!(results.len(), 1);
    let (from_parts, whole) = &results[0];
    let from_parts = from_parts
        .as_ref()
        .expect("every path of a plain record is read from its parts");
    assert_eq!(from_parts, whole);
    let leaves: Vec<&Value> = whole
        .iter()
        .find(|(path, _)| path == "requestParameters.ipPermissions.items.ipRanges.items.cidrIp")
        .map(|(_, found)| found.iter().map(|(value, _)| value).collect())
        .unwrap();
    assert_eq!(
        leaves,
        [&Value::from("0.0.0.0/0"), &Value::from("10.0.0.0/8")]
    );
}

#[test]
fn what_the_typed_parse_may_have_read_differently_is_left_to_a_whole_parse() {
    let cases = [
        // A lower-cased alias: the typed parse reads it, a walk over the record does not.
        (
            r#"{"eventName":"X","errorcode":"AccessDenied"}"#,
            "errorCode",
        ),
        (
            r#"{"eventName":"X","userIdentity":{"accountid":"1"}}"#,
            "userIdentity.accountId",
        ),
        // A key with dots is also at the dotted path.
        (
            r#"{"eventName":"X","userIdentity.type":"Root","userIdentity":{}}"#,
            "userIdentity.type",
        ),
        // A key spelt with an escape.
        (r#"{"eventName":"X","error\u0043ode":null}"#, "errorCode"),
        // Null is a leaf; absent is none; the typed field is empty for both.
        (r#"{"eventName":"X","errorCode":null}"#, "errorCode"),
        // Not a plain string.
        (r#"{"eventName":"X","errorCode":42}"#, "errorCode"),
        (
            r#"{"eventName":"X","errorCode":"Access\"Denied"}"#,
            "errorCode",
        ),
        // A field the typed parse does not keep.
        (
            r#"{"eventName":"X","tlsDetails":{"tlsVersion":"TLSv1.3"}}"#,
            "tlsDetails.tlsVersion",
        ),
    ];
    for (json, path) in cases {
        let results = compare(json, &[path]);
        assert_eq!(results.len(), 1, "{json}");
        let (from_parts, whole) = &results[0];
        assert_eq!(*from_parts, None, "{json} at {path} needs a whole parse");
        // And the whole parse is what patterns see.
        assert!(!whole.is_empty());
    }
}

#[test]
fn absent_fields_and_members_are_known_absent_without_a_whole_parse() {
    let json = r#"{"eventName":"X","eventSource":"s3.amazonaws.com","requestParameters":null}"#;
    let paths = [
        "errorCode",
        "requestParameters.roleArn",
        "responseElements.layers.arn",
        "userIdentity.type",
    ];
    let results = compare(json, &paths);
    let (from_parts, whole) = &results[0];
    assert_eq!(from_parts.as_ref(), Some(whole));
    assert!(whole.iter().all(|(_, found)| found.is_empty()));
}

#[test]
fn a_repaired_record_is_not_read_from_its_parts() {
    // userIdentity as a string is repaired (read as its arn), so its typed fields are not the
    // record's own.
    let json = r#"{"eventName":"X","userIdentity":"arn:aws:iam::1:root","errorCode":"E"}"#;
    let mut repaired = 0;
    visit_document(json.as_bytes(), false, &mut |item| {
        if let Item::Record(record) = item {
            assert!(!record.notes.is_empty());
            assert!(RecordParts::new(&record).is_none());
            repaired += 1;
        }
    });
    assert_eq!(repaired, 1);
}

fn fragment() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    let scalar = prop_oneof![
        Just("\"AccessDenied\"".to_string()),
        Just("\"a\\\"b\"".to_string()),
        Just("\"\"".to_string()),
        Just("null".to_string()),
        Just("7".to_string()),
        Just("true".to_string()),
    ];
    let key = prop_oneof![
        Just("errorCode"),
        Just("errorcode"),
        Just("eventSource"),
        Just("sourceIPAddress"),
        Just("requestParameters.roleArn"),
        Just("userIdentity.type"),
        Just("error\\u0043ode"),
        Just("other"),
    ];
    let member = prop_oneof![
        Just("{\"roleArn\":\"r1\"}".to_string()),
        Just("{\"roleArn\":[\"r1\",{\"x\":1},\"r2\"],\"roleArn.x\":2}".to_string()),
        Just("{\"ipPermissions\":{\"items\":[{\"ipRanges\":{\"items\":[{\"cidrIp\":\"0.0.0.0/0\"}]}}]}}".to_string()),
        Just("null".to_string()),
        Just("[]".to_string()),
    ];
    let identity = prop_oneof![
        Just("{\"type\":\"Root\",\"accountId\":\"1\"}".to_string()),
        Just("{\"type\":null,\"accountid\":\"2\"}".to_string()),
        Just("{\"invokedBy\":\"ec2.amazonaws.com\", \"type\" : \"AWSService\"}".to_string()),
        Just("null".to_string()),
    ];
    prop_oneof![
        (key, scalar).prop_map(|(key, value)| format!("\"{key}\":{value}")),
        member
            .clone()
            .prop_map(|value| format!("\"requestParameters\":{value}")),
        member.prop_map(|value| format!("\"responseElements\": {value}")),
        identity.prop_map(|value| format!("\"userIdentity\":{value}")),
    ]
}

proptest::proptest! {
    /// Whatever the record, a path read from its parts reads what a whole parse reads.
    #[test]
    fn reading_from_parts_agrees_with_a_whole_parse(
        fragments in proptest::collection::vec(fragment(), 0..6),
    ) {
        let mut members = vec!["\"eventName\":\"X\"".to_string()];
        members.extend(fragments);
        let json = format!("{{{}}}", members.join(","));
        for (from_parts, whole) in compare(&json, PATHS) {
            if let Some(from_parts) = from_parts {
                proptest::prop_assert_eq!(from_parts, whole, "{}", json);
            }
        }
    }
}

#[test]
fn a_needle_searcher_kept_from_an_earlier_record_answers_for_the_next() {
    let pieces: &[&[u8]] = &[b"\"", b"errorCode", b"\""];
    assert!(super::contains(br#"{"errorCode":"X"}"#, pieces));
    assert!(!super::contains(br#"{"eventName":"X"}"#, pieces));
    assert!(super::contains(br#"{"a":1,"errorCode":null}"#, pieces));
    // Past the number of needles kept, the table starts over and still answers.
    for n in 0..super::FINDERS_KEPT + 5 {
        let key = format!("key{n}");
        assert!(!super::contains(b"{}", &[b"\"", key.as_bytes(), b"\""]));
    }
    assert!(super::contains(br#"{"errorCode":"X"}"#, pieces));
    assert!(!super::contains(br#"{"errorcode":"X"}"#, pieces));
}
