//! An incident's meta as JSON text, written once.
//!
//! The store keeps the meta as JSON text and `scan --format jsonl` prints it inside each line:
//! serialised by each, it was written twice per incident, on two threads that each read the
//! incident's strings cold from the worker that built them. The pipeline writes it once, in the
//! worker, and both copy the text.

use crate::Meta;
use std::borrow::Cow;

/// Most metas are 500 to 1,300 bytes of JSON.
const CAPACITY: usize = 2048;

/// The JSON text of an incident's [`Meta`], when it was written already. A cache, not part of
/// the incident's value: equal incidents compare equal whether or not theirs is filled.
#[derive(Clone, Debug, Default)]
pub struct MetaJson(Option<String>);

impl MetaJson {
    /// Writes `meta` now. The meta must not change after: the text would no longer be its.
    pub fn of(meta: &Meta) -> Self {
        Self(Some(write(meta)))
    }

    /// Text read back from a store, which wrote it from the meta it holds beside it.
    pub fn from_stored(text: String) -> Self {
        Self(Some(text))
    }

    /// The text if written, else `meta` written now.
    pub fn text_or_write<'m>(&'m self, meta: &Meta) -> Cow<'m, str> {
        match &self.0 {
            Some(text) => Cow::Borrowed(text),
            None => Cow::Owned(write(meta)),
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
    use crate::{AccessKeyMeta, Actor};

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
        let meta = meta();
        let expected = serde_json::to_string(&meta).unwrap();
        assert_eq!(MetaJson::of(&meta).text_or_write(&meta), expected);
        assert_eq!(MetaJson::default().text_or_write(&meta), expected);
        let stored = MetaJson::from_stored("{\"api\":\"x\"}".into());
        assert_eq!(stored.text_or_write(&meta), "{\"api\":\"x\"}");
    }
}
