//! The fast path held to the serde path, as one check any input can be put through: the unit
//! and property tests beside it call it on chosen and random records, and the coverage-guided
//! fuzz targets (`fuzz/`, through the `fuzzing` feature) on whatever bytes libFuzzer makes.
//! Whenever the fast path reads a document, the serde path must read the same document
//! (compared by their `Debug` text, which shows every field and every raw member's text).

use super::super::Document;
use super::{parse_into, parse_prefix_into};
use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// The fast path alone, behind the UTF-8 check both paths share: the document, or `None` when
/// it leaves the bytes to serde (or to the repair, when they are not text).
pub(crate) fn parse(bytes: &[u8]) -> Option<Document<'_>> {
    let text = super::super::utf8(bytes).ok()?;
    let mut doc = Document::default();
    parse_into(text, &mut doc).map(|()| doc)
}

/// Fails unless the serde path reads `text` as the fast path did (when the fast path read it).
/// Returns whether the fast path read it.
pub(crate) fn check(text: &str) -> bool {
    checked_read(text).is_some()
}

/// [`check`], answering what the fast path read, its account of keys left out (serde keeps
/// none; the rest must be the same).
fn checked_read(text: &str) -> Option<Document<'_>> {
    let mut fast = parse(text.as_bytes())?;
    check_keys_read(text, &fast);
    leave_out_keys_read(&mut fast);
    match Document::parse_with_serde(text) {
        Ok(reference) => assert_eq!(
            format!("{fast:#?}"),
            format!("{reference:#?}"),
            "the two paths read {text} differently"
        ),
        Err(error) => panic!("the fast path read {text}, the serde path refuses it: {error}"),
    }
    Some(fast)
}

fn leave_out_keys_read(doc: &mut Document<'_>) {
    doc.keys_read = None;
    if let Some(identity) = doc.user_identity.as_mut() {
        identity.keys_read = None;
    }
}

/// Fails unless the fast path's account of the keys of `text` (which it read into `fast`) is
/// what the JSON holds: each member it reads present exactly when the object has the key, and
/// a dotted top-level key noticed.
fn check_keys_read(text: &str, fast: &Document<'_>) {
    // Members by key, their values unread (`members`): a value holding a lone surrogate
    // (`"\uDAAE"`) is refused by `serde_json::Value` but passed by both paths, which check such
    // escapes only for their four hex digits (found by the fuzz target). Keys are plain: an
    // escaped key leaves the object to serde.
    let object = members(text);
    let keys = [
        "eventVersion",
        "eventTime",
        "@timestamp",
        "eventName",
        "errorCode",
        "eventID",
        "userIdentity",
        "requestParameters",
        "readOnly",
        "vpcEndpointId",
    ];
    for key in keys {
        assert_eq!(
            fast.lacks_key(key),
            Some(!object.contains_key(key)),
            "{key} in {text}"
        );
    }
    assert_eq!(fast.lacks_key("notAMemberItReads"), None);
    let dotted = object.keys().any(|key| key.contains('.'));
    assert_eq!(fast.surely_no_dotted_keys(), !dotted, "{text}");
    let identity_object = object
        .get("userIdentity")
        .filter(|raw| raw.get().starts_with('{'));
    if let (Some(identity), Some(raw)) = (&fast.user_identity, identity_object) {
        let members = members(raw.get());
        for key in [
            "type",
            "arn",
            "accountId",
            "accessKeyId",
            "userName",
            "sessionContext",
        ] {
            assert_eq!(
                identity.lacks_key(key),
                Some(!members.contains_key(key)),
                "{key} in {text}"
            );
        }
    }
}

/// An object's members by key, their values unread.
fn members(json: &str) -> BTreeMap<&str, &RawValue> {
    serde_json::from_str(json).unwrap_or_else(|error| panic!("{error}: {json}"))
}

/// Fails unless the object the fast path reads from the start of `text` (as a framer reading a
/// `Records` array in place would) is what it reads from that object alone, with the count of
/// newlines in it. Returns whether it read one.
pub(crate) fn check_prefix(text: &str) -> bool {
    let mut prefix = Document::default();
    let Some((length, newlines)) = parse_prefix_into(text, &mut prefix) else {
        return false;
    };
    let object = &text[..length];
    let lines = object.bytes().filter(|byte| *byte == b'\n').count();
    assert_eq!(newlines, lines as u64, "newlines in {object}");
    // The object alone, read once and held to serde; the prefix read must give the same.
    let Some(alone) = checked_read(object) else {
        panic!("read from the start of {text}, not alone: {object}");
    };
    // Its account of keys is held to the object's keys, as the object alone's was.
    check_keys_read(object, &prefix);
    leave_out_keys_read(&mut prefix);
    assert_eq!(
        format!("{prefix:#?}"),
        format!("{alone:#?}"),
        "{object} read differently alone and at the start of {text}"
    );
    true
}
