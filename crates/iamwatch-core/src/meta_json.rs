//! An incident's meta as JSON text, written once, without its runbook.
//!
//! The store keeps the meta as JSON text and `scan --format jsonl` prints it inside each line:
//! serialised by each, it was written twice per incident, on two threads that each read the
//! incident's strings cold from the worker that built them. The pipeline writes it once, in the
//! worker, and both copy the text.
//!
//! The runbook is left out of that text: it is the rule's, the same for every incident the rule
//! raises, and a quarter of a typical meta's text. The SQLite store keeps each runbook once and
//! each incident a reference to it; what shows a meta appends the runbook, the meta's last
//! member, to the text ([`MetaJson::full_text`]).

use crate::Meta;
use std::borrow::Cow;

/// Most metas are 500 to 1,300 bytes of JSON.
const CAPACITY: usize = 2048;

/// The JSON text of an incident's [`Meta`] without its runbook, when it was written already. A
/// cache, not part of the incident's value: equal incidents compare equal whether or not theirs
/// is filled.
#[derive(Clone, Debug, Default)]
pub struct MetaJson(Option<String>);

impl MetaJson {
    /// Writes `meta` now, all but its runbook (taken out meanwhile, and put back). The meta
    /// must not change after: the text would no longer be its.
    pub fn of(meta: &mut Meta) -> Self {
        let runbook = meta.runbook.take();
        let text = write(meta);
        meta.runbook = runbook;
        Self(Some(text))
    }

    /// Text read back from a store: the meta it holds beside it, written without its runbook.
    pub fn from_stored(text: String) -> Self {
        Self(Some(text))
    }

    /// `meta` without its runbook, as a store keeps it: the text if written, else written now.
    pub fn stored_text<'m>(&'m self, meta: &Meta) -> Cow<'m, str> {
        match &self.0 {
            Some(text) => Cow::Borrowed(text),
            None if meta.runbook.is_none() => Cow::Owned(write(meta)),
            None => {
                let mut without = meta.clone();
                without.runbook = None;
                Cow::Owned(write(&without))
            }
        }
    }

    /// `meta` whole, as serde_json writes it: the stored text with the runbook appended.
    pub fn full_text<'m>(&'m self, meta: &Meta) -> Cow<'m, str> {
        if meta.runbook.is_none() {
            return self.stored_text(meta);
        }
        let mut whole = Vec::with_capacity(CAPACITY);
        self.write_full(meta, &mut whole);
        // UTF-8 text and ASCII put together: taken as it is, without a second copy.
        Cow::Owned(
            String::from_utf8(whole)
                .unwrap_or_else(|error| String::from_utf8_lossy(error.as_bytes()).into_owned()),
        )
    }

    /// [`Self::full_text`], appended to `out` (a line being written) without a copy between.
    pub fn write_full(&self, meta: &Meta, out: &mut Vec<u8>) {
        let text = self.stored_text(meta);
        // The text is an object, `{…}`, its last member before the runbook's place.
        match (&meta.runbook, text.strip_suffix('}')) {
            (Some(runbook), Some(open)) => {
                out.extend_from_slice(open.as_bytes());
                if open != "{" {
                    out.push(b',');
                }
                out.extend_from_slice(b"\"runbook\":");
                out.extend_from_slice(runbook.json().as_bytes());
                out.push(b'}');
            }
            _ => out.extend_from_slice(text.as_bytes()),
        }
    }
}

impl PartialEq for MetaJson {
    fn eq(&self, _other: &Self) -> bool {
        true
    }
}

/// sonic-rs: the JSON serde_json writes, strings escaped with SIMD; into a per-thread buffer
/// the size of a typical meta (sonic-rs's own starts at 128 bytes and grows four times on the
/// way), then copied out at its exact size: it is held with its incident until stored and
/// shown, thousands at a time. The copy is checked as UTF-8 by simdutf8, a quarter of what
/// `String::from_utf8` took.
fn write(meta: &Meta) -> String {
    thread_local! {
        static BUFFER: std::cell::RefCell<Vec<u8>> =
            std::cell::RefCell::new(Vec::with_capacity(CAPACITY));
    }
    BUFFER.with(|buffer| {
        let mut json = buffer.borrow_mut();
        json.clear();
        // Strings and maps of strings: nothing in a meta fails to serialise.
        if sonic_rs::to_writer(&mut *json, meta).is_err() {
            return "{}".to_string();
        }
        let text =
            simdutf8::basic::from_utf8(&json).map_or_else(|_| "{}".to_string(), str::to_owned);
        // A meta far beyond the usual is not kept around.
        if json.capacity() > 4 * CAPACITY {
            *json = Vec::with_capacity(CAPACITY);
        }
        text
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AccessKeyMeta, Actor, Runbook};

    fn meta() -> Meta {
        Meta {
            api: "DeleteAccessKey".into(),
            ip: "203.0.113.9".into(),
            actor: Actor {
                name: "alice \"the admin\"".into(),
                ..Actor::default()
            },
            access_key: Some(AccessKeyMeta {
                owner: "bob".into(),
                access_key_id: "AKIA1".into(),
                status: "Inactive".into(),
            }),
            notes: vec!["액세스 키 삭제\n줄바꿈".into()],
            ..Meta::default()
        }
    }

    #[test]
    fn the_text_is_what_serde_json_writes() {
        let mut meta = meta();
        let expected = serde_json::to_string(&meta).unwrap();
        assert_eq!(MetaJson::of(&mut meta).full_text(&meta), expected);
        assert_eq!(MetaJson::default().full_text(&meta), expected);
        let stored = MetaJson::from_stored("{\"api\":\"x\"}".into());
        assert_eq!(stored.full_text(&meta), "{\"api\":\"x\"}");
    }

    #[test]
    fn the_runbook_is_kept_apart_and_appended_when_shown() {
        let mut meta = meta();
        meta.runbook = Some(std::sync::Arc::new(Runbook::new(
            vec!["Ask \"them\"".into()],
            vec!["확인합니다".into()],
        )));
        let whole = serde_json::to_string(&meta).unwrap();
        let json = MetaJson::of(&mut meta);
        assert!(meta.runbook.is_some(), "the runbook is put back");
        let stored = json.stored_text(&meta);
        assert!(!stored.contains("runbook"), "{stored}");
        assert_eq!(json.full_text(&meta), whole);
        // Unwritten, the same texts.
        assert_eq!(MetaJson::default().stored_text(&meta), stored);
        assert_eq!(MetaJson::default().full_text(&meta), whole);
        // An otherwise empty meta's text.
        let only_runbook = Meta {
            runbook: meta.runbook.clone(),
            ..Meta::default()
        };
        let stored = MetaJson::from_stored("{}".into());
        assert_eq!(
            stored.full_text(&only_runbook),
            format!(
                "{{\"runbook\":{}}}",
                serde_json::to_string(&meta.runbook).unwrap()
            )
        );
        serde_json::from_str::<serde_json::Value>(&stored.full_text(&only_runbook)).unwrap();
    }
}
