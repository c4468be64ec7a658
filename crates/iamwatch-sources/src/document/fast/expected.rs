//! Keys as CloudTrail writes them, in the order it writes them, struct by struct.
//!
//! A key used to be read as a string (its end found 16 bytes at a time, its bounds checked),
//! matched by name against each key of its length, and followed by a look for the colon.
//! CloudTrail writes a record's members in one order, leaving some out: so the text at the
//! cursor is first compared with the next few keys of that order, each with its quotes and the
//! colon after it, 32 bytes at once; only when none is there is the key read and matched as
//! before. A key found so is exactly the key read the other way (its closing quote is part of
//! the comparison). callgrind, the first 100 bench files: the typed read 7,590 instructions a
//! record against 8,590, the whole scan 3.4% fewer. Records whose keys were sorted by name
//! (as the attack-simulation logs of the corpus are) miss once per object and are then read
//! as before, at about 6% more instructions for the typed read alone (20,000 bench records
//! written sorted). Each struct's order, member indices and serde keys stand together in one
//! [`Members`]; `tests.rs` checks each order against the other two.

use super::super::{Document, SessionAttributes, SessionContext, SessionIssuer, UserIdentity};
use super::serde_keys::{self, Keys, SerdeKeys};
use wide::u8x32;

/// A key as the fast path met it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Key<'a> {
    /// A member the struct reads here: its bit in [`super::Seen`].
    Read(u32),
    /// A key CloudTrail writes that neither this path nor serde reads: its value is skipped.
    Unread,
    /// Any other key, as text, to be matched by name.
    Text(&'a str),
}

/// One key of a struct's order: its text with both quotes and the colon after it, as compared.
pub(super) struct Guess {
    name: &'static str,
    quoted: u8x32,
    /// Bit `i` for each byte of the quoted key and its colon.
    mask: u32,
    pub(super) key: Key<'static>,
}

/// How many keys of the order are tried at the cursor: the expected one and the two after it,
/// which CloudTrail leaves out in some records (`errorCode`, `additionalEventData`, …).
const LOOKAHEAD: usize = 3;

/// `name` in quotes and a colon, standing for `key`.
const fn guess(name: &'static str, key: Key<'static>) -> Guess {
    let text = name;
    let name = name.as_bytes();
    let length = name.len() + 3;
    assert!(length <= 32, "a key of at most 29 bytes");
    let mut quoted = [0u8; 32];
    quoted[0] = b'"';
    let mut at = 0;
    while at < name.len() {
        quoted[at + 1] = name[at];
        at += 1;
    }
    quoted[length - 2] = b'"';
    quoted[length - 1] = b':';
    let mask = if length == 32 {
        u32::MAX
    } else {
        (1 << length) - 1
    };
    Guess {
        name: text,
        quoted: u8x32::new(quoted),
        mask,
        key,
    }
}

/// Where the read of one object stands in its struct's order: the position of the next key
/// looked for, past the end once the object is found in another order.
#[derive(Default)]
pub(super) struct Place {
    next: usize,
}

/// A struct's keys in the order CloudTrail writes them.
pub(super) struct Expected(&'static [Guess]);

impl Expected {
    /// For objects read without an order (values no field wants).
    pub(super) const NONE: Self = Self(&[]);

    /// The key `text` holds at `at` (quotes and colon), if it is one of the [`LOOKAHEAD`] keys
    /// of the order from `place`, which then moves past it; `None` also when fewer than 32
    /// bytes are left. A key not found so ends the looking for this object: it is in another
    /// order (as records whose keys were sorted by name are), or its keys are not CloudTrail's.
    #[inline]
    pub(super) fn find(&self, text: &[u8], at: usize, place: &mut Place) -> Option<&Guess> {
        let guesses = self.0.get(place.next..)?;
        let found = text
            .get(at..at + 32)
            .and_then(|window| <[u8; 32]>::try_from(window).ok())
            .and_then(|window| {
                let window = u8x32::new(window);
                guesses.iter().take(LOOKAHEAD).position(|guess| {
                    window.simd_eq(guess.quoted).to_bitmask() & guess.mask == guess.mask
                })
            });
        let Some(offset) = found else {
            place.next = usize::MAX;
            return None;
        };
        place.next += offset + 1;
        Some(&guesses[offset])
    }

    /// The keys, with what each stands for (for the tests).
    #[cfg(test)]
    pub(super) fn keys(&self) -> impl Iterator<Item = (&'static str, Key<'static>)> + '_ {
        self.0.iter().map(|guess| (guess.name, guess.key))
    }
}

impl Guess {
    /// The quoted key's length in bytes, with its colon.
    pub(super) fn length(&self) -> usize {
        self.name.len() + 3
    }
}

/// The bit a record member this path reads is marked with, in
/// [`KeysRead::members`](super::super::KeysRead::members).
pub(in super::super) fn document_member_index(key: &str) -> Option<u32> {
    Some(match key {
        "eventVersion" => 0,
        "eventTime" => 1,
        "@timestamp" => 2,
        "p_event_time" => 3,
        "eventSource" => 4,
        "eventName" => 5,
        "awsRegion" => 6,
        "sourceIPAddress" => 7,
        "userAgent" => 8,
        "userIdentity" => 9,
        "requestParameters" => 10,
        "responseElements" => 11,
        "additionalEventData" => 12,
        "errorCode" => 13,
        "errorMessage" => 14,
        "eventID" => 15,
        "readOnly" => 16,
        "eventType" => 17,
        "recipientAccountId" => 18,
        "managementEvent" => 19,
        "eventCategory" => 20,
        "vpcEndpointId" => 21,
        _ => return None,
    })
}

/// The bit a `userIdentity` member this path reads is marked with.
pub(in super::super) fn identity_member_index(key: &str) -> Option<u32> {
    Some(match key {
        "type" => 0,
        "principalId" => 1,
        "arn" => 2,
        "accountId" => 3,
        "accessKeyId" => 4,
        "userName" => 5,
        "invokedBy" => 6,
        "sessionContext" => 7,
        _ => return None,
    })
}

/// The bit a `sessionContext` member this path reads is marked with.
fn session_member_index(key: &str) -> Option<u32> {
    Some(match key {
        "sessionIssuer" => 0,
        "attributes" => 1,
        _ => return None,
    })
}

/// The bit a `sessionIssuer` member this path reads is marked with.
fn issuer_member_index(key: &str) -> Option<u32> {
    Some(match key {
        "type" => 0,
        "userName" => 1,
        "arn" => 2,
        _ => return None,
    })
}

/// The bit a session `attributes` member this path reads is marked with.
fn attributes_member_index(key: &str) -> Option<u32> {
    Some(match key {
        "mfaAuthenticated" => 0,
        "creationDate" => 1,
        _ => return None,
    })
}

/// What the fast path knows of one struct's keys: the order CloudTrail writes them in, the bit
/// of each member it reads, and the keys serde reads (those this path does not read, such as
/// lower-cased aliases and envelopes, are left to serde).
pub(super) struct Members {
    pub(super) order: Expected,
    pub(super) bit: fn(&str) -> Option<u32>,
    pub(super) serde_keys: Keys,
}

impl Members {
    const fn new(
        order: &'static [Guess],
        bit: fn(&str) -> Option<u32>,
        serde_keys: fn() -> SerdeKeys,
    ) -> Self {
        Self {
            order: Expected(order),
            bit,
            serde_keys: Keys::new(serde_keys),
        }
    }
}

use Key::{Read, Unread};

/// [`Document`]'s members ([`document_member_index`]) and the record keys serde does not read,
/// in CloudTrail's order.
pub(super) static DOCUMENT: Members = Members::new(
    &[
        guess("eventVersion", Read(0)),
        guess("userIdentity", Read(9)),
        guess("eventTime", Read(1)),
        guess("eventSource", Read(4)),
        guess("eventName", Read(5)),
        guess("awsRegion", Read(6)),
        guess("sourceIPAddress", Read(7)),
        guess("userAgent", Read(8)),
        guess("errorCode", Read(13)),
        guess("errorMessage", Read(14)),
        guess("requestParameters", Read(10)),
        guess("responseElements", Read(11)),
        guess("additionalEventData", Read(12)),
        guess("requestID", Unread),
        guess("eventID", Read(15)),
        guess("readOnly", Read(16)),
        guess("resources", Unread),
        guess("eventType", Read(17)),
        guess("apiVersion", Unread),
        guess("managementEvent", Read(19)),
        guess("recipientAccountId", Read(18)),
        guess("sharedEventID", Unread),
        guess("vpcEndpointId", Read(21)),
        guess("eventCategory", Read(20)),
        guess("tlsDetails", Unread),
        guess("sessionCredentialFromConsole", Unread),
    ],
    document_member_index,
    serde_keys::of::<Document>,
);

/// [`UserIdentity`]'s members ([`identity_member_index`]).
pub(super) static IDENTITY: Members = Members::new(
    &[
        guess("type", Read(0)),
        guess("principalId", Read(1)),
        guess("arn", Read(2)),
        guess("accountId", Read(3)),
        guess("accessKeyId", Read(4)),
        guess("userName", Read(5)),
        guess("sessionContext", Read(7)),
        guess("invokedBy", Read(6)),
    ],
    identity_member_index,
    serde_keys::of::<UserIdentity>,
);

/// [`SessionContext`]'s members ([`session_member_index`]).
pub(super) static SESSION: Members = Members::new(
    &[
        guess("sessionIssuer", Read(0)),
        guess("webIdFederationData", Unread),
        guess("attributes", Read(1)),
    ],
    session_member_index,
    serde_keys::of::<SessionContext>,
);

/// [`SessionIssuer`]'s members ([`issuer_member_index`]).
pub(super) static ISSUER: Members = Members::new(
    &[
        guess("type", Read(0)),
        guess("principalId", Unread),
        guess("arn", Read(2)),
        guess("accountId", Unread),
        guess("userName", Read(1)),
    ],
    issuer_member_index,
    serde_keys::of::<SessionIssuer>,
);

/// [`SessionAttributes`]'s members ([`attributes_member_index`]).
pub(super) static ATTRIBUTES: Members = Members::new(
    &[
        guess("creationDate", Read(1)),
        guess("mfaAuthenticated", Read(0)),
    ],
    attributes_member_index,
    serde_keys::of::<SessionAttributes>,
);
