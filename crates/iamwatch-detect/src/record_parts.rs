//! A record's fields as patterns look at them, read from what its typed parse already holds.
//!
//! Rule patterns mostly look at a few top-level strings (`eventName`, `errorCode`), at
//! `userIdentity` and into `requestParameters`. Parsing the whole record again to walk those
//! paths cost a second parse of every record a rule was indexed under; here a path is answered
//! from the typed [`Document`] and from the raw text of the one member it leads into.
//!
//! The answer must be the one a walk over the whole record gives, so a path is left
//! [`Part::Unknown`] (and the record parsed whole) whenever the typed parse could have read it
//! differently: a value read under a lower-cased alias, a value that was not a plain string, a
//! key that may be spelt with `\u` escapes or with dots (`{"userIdentity.type": …}` is also at
//! path `userIdentity.type`), a field the typed parse does not keep, or a record repaired to be
//! read at all.

use crate::eventbridge::Part;
use iamwatch_sources::{Document, Raw, RecordItem, Text};
use memchr::memmem;
use rustc_hash::FxHashMap;
use std::borrow::Cow;
use std::cell::{OnceCell, RefCell};
use std::sync::LazyLock;

pub struct RecordParts<'r> {
    doc: &'r Document<'r>,
    raw: &'r [u8],
    /// Whether the raw text holds `\u` escapes, which could spell a key that the byte searches
    /// below would miss. Found when first needed.
    escapes: OnceCell<bool>,
}

impl<'r> RecordParts<'r> {
    /// `None` for a repaired record: its typed fields were read from repaired text, not from
    /// its raw text.
    pub fn new(item: &'r RecordItem<'r>) -> Option<Self> {
        item.notes.is_empty().then_some(Self {
            doc: item.doc,
            raw: item.raw,
            escapes: OnceCell::new(),
        })
    }

    /// What the record holds at `path` (a path inside the record, without `detail.`).
    pub fn part<'p>(&self, path: &'p str) -> Part<'r, 'p> {
        let (head, rest) = path.split_once('.').unwrap_or((path, ""));
        if !rest.is_empty()
            && !self.doc.surely_no_dotted_keys()
            && !self.surely_absent(&[b"\"", head.as_bytes(), b"."])
        {
            return Part::Unknown;
        }
        let doc = self.doc;
        let field = match head {
            "requestParameters" => return self.member(doc.request_parameters.as_ref(), head, rest),
            "responseElements" => return self.member(doc.response_elements.as_ref(), head, rest),
            "additionalEventData" => {
                return self.member(doc.additional_event_data.as_ref(), head, rest)
            }
            "userIdentity" => return self.identity(rest),
            _ if !rest.is_empty() => return Part::Unknown,
            "eventName" => &doc.event_name,
            "eventSource" => &doc.event_source,
            "errorCode" => &doc.error_code,
            "errorMessage" => &doc.error_message,
            "eventType" => &doc.event_type,
            "eventCategory" => &doc.event_category,
            "sourceIPAddress" => &doc.source_ip_address,
            "userAgent" => &doc.user_agent,
            "awsRegion" => &doc.aws_region,
            "recipientAccountId" => &doc.recipient_account_id,
            "vpcEndpointId" => &doc.vpc_endpoint_id,
            _ => return Part::Unknown,
        };
        self.text(field, head, doc.lacks_key(head))
    }

    fn identity<'p>(&self, rest: &'p str) -> Part<'r, 'p> {
        let Some(identity) = &self.doc.user_identity else {
            // Absent or null (any other shape fails the typed parse): nothing inside it.
            return if rest.is_empty() {
                Part::Unknown
            } else {
                Part::Missing
            };
        };
        let field = match rest {
            // An object is no leaf.
            "" => return Part::Missing,
            "type" => &identity.identity_type,
            "principalId" => &identity.principal_id,
            "arn" => &identity.arn,
            "accountId" => &identity.account_id,
            "accessKeyId" => &identity.access_key_id,
            "userName" => &identity.user_name,
            "invokedBy" => &identity.invoked_by,
            _ => return Part::Unknown,
        };
        self.text(field, rest, identity.lacks_key(rest))
    }

    /// A typed string field read under `key`. `lacks` is what the typed parse knows of the
    /// key's presence ([`Document::lacks_key`]); when it cannot tell, the raw text is searched.
    fn text<'p>(&self, field: &'r Text<'r>, key: &str, lacks: Option<bool>) -> Part<'r, 'p> {
        match &field.0 {
            // Borrowed: a JSON string without escapes, read under `key` or its alias.
            // (The byte before a string's text is its opening quote.)
            Some(Cow::Borrowed(text)) if !text.is_empty() => {
                match self.offset_of(text.as_bytes()) {
                    Some(start) if self.keyed_by(start.saturating_sub(1), key) => Part::Text(text),
                    _ => Part::Unknown,
                }
            }
            Some(_) => Part::Unknown,
            // Absent or null (or read under an alias, which a walk does not see either): surely
            // nothing there when the plain read found no such key, or the key is nowhere in the
            // record.
            None if lacks == Some(true) => Part::Missing,
            None if lacks.is_none() && self.surely_absent(&[b"\"", key.as_bytes(), b"\""]) => {
                Part::Missing
            }
            None => Part::Unknown,
        }
    }

    /// A member kept as raw JSON text.
    fn member<'p>(&self, value: Option<&'r Raw<'r>>, key: &str, rest: &'p str) -> Part<'r, 'p> {
        match value {
            Some(value) => {
                let text = value.as_raw_str();
                match self.offset_of(text.as_bytes()) {
                    Some(start) if !text.is_empty() && self.keyed_by(start, key) => {
                        Part::Within { text, rest }
                    }
                    _ => Part::Unknown,
                }
            }
            // Absent or null: nothing inside it.
            None if !rest.is_empty() => Part::Missing,
            None => Part::Unknown,
        }
    }

    /// Where `text` starts in the raw record, when it is a slice of it.
    fn offset_of(&self, text: &[u8]) -> Option<usize> {
        let start = (text.as_ptr() as usize).checked_sub(self.raw.as_ptr() as usize)?;
        (start + text.len() <= self.raw.len()).then_some(start)
    }

    /// Whether the value starting at `start` is the value of the member named exactly `key`
    /// rather than of an alias: the text before it reads `key"`, a colon, and nothing but
    /// whitespace between. (The typed parse read it under `key` or a lower-cased alias, so these
    /// bytes end a key, and no alias ends as its key does.)
    fn keyed_by(&self, start: usize, key: &str) -> bool {
        let before = self.raw[..start].trim_ascii_end();
        let Some(before) = before.strip_suffix(b":") else {
            return false;
        };
        let Some(before) = before.trim_ascii_end().strip_suffix(b"\"") else {
            return false;
        };
        before.ends_with(key.as_bytes())
    }

    /// True only when the concatenated `pieces` appear nowhere in the raw record and no `\u`
    /// escape could spell them.
    fn surely_absent(&self, pieces: &[&[u8]]) -> bool {
        let escapes = *self.escapes.get_or_init(|| ESCAPE.find(self.raw).is_some());
        !escapes && !contains(self.raw, pieces)
    }
}

/// A `\u` escape.
static ESCAPE: LazyLock<memmem::Finder<'static>> = LazyLock::new(|| memmem::Finder::new(b"\\u"));

/// Needles kept per thread before the table starts over; a rule set names a few dozen.
const FINDERS_KEPT: usize = 1024;

/// Whether `haystack` holds the concatenated `pieces`. The searcher for each needle is built once
/// per thread: building it, and the needle, cost more than the search (a record is read for a
/// few needles, which repeat from record to record).
fn contains(haystack: &[u8], pieces: &[&[u8]]) -> bool {
    #[derive(Default)]
    struct Finders {
        /// The needle being looked for, kept to be refilled.
        needle: Vec<u8>,
        by_needle: FxHashMap<Box<[u8]>, memmem::Finder<'static>>,
    }
    thread_local! {
        static FINDERS: RefCell<Finders> = RefCell::new(Finders::default());
    }
    FINDERS.with(|finders| {
        let mut finders = finders.borrow_mut();
        let Finders {
            needle,
            by_needle: table,
        } = &mut *finders;
        needle.clear();
        for piece in pieces {
            needle.extend_from_slice(piece);
        }
        if let Some(finder) = table.get(needle.as_slice()) {
            return finder.find(haystack).is_some();
        }
        if table.len() >= FINDERS_KEPT {
            table.clear();
        }
        let finder = memmem::Finder::new(needle.as_slice()).into_owned();
        let found = finder.find(haystack).is_some();
        table.insert(needle.as_slice().into(), finder);
        found
    })
}

#[cfg(test)]
mod tests;
