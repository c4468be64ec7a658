//! The common case of [`Document::parse`] without serde: a plain CloudTrail record, its keys
//! spelt as CloudTrail spells them, its text fields strings without escapes.
//!
//! serde's derived visitor spent about 500 instructions per key (key matching through its
//! layers, a lenient visitor per value, the 1.4 KB document moved through five `Result`s), and
//! the typed parse took 16,000 instructions per record, a third of a scan. Read here in place,
//! by hand, it takes about 7,100 (callgrind, the bench's generated records of 1.4 KB; 10,560
//! before whitespace was passed without a loop, 8,590 before keys were looked for in
//! CloudTrail's order, see `expected.rs`).
//!
//! It is a shortcut, not a second parser: anything unusual (an escape in a text field, a key
//! serde reads but this path does not, such as a lower-cased alias or an envelope, a number
//! where text belongs, a key given twice, an unknown member nested past [`MAX_DEPTH`]) answers
//! `None` and the caller takes the serde path, which stays the reference. So this path must
//! accept only what the serde path accepts and read it the same; the property tests in
//! `tests.rs` hold it to that on random records. Raw members are checked by the same skip as
//! members no field wants, and kept as their text.

use super::{
    Document, KeysRead, Raw, SessionAttributes, SessionContext, SessionIssuer, UserIdentity,
};
use crate::lenient::{parse_flag, Flag, Text};
use crate::string_stops::first_stop;
pub(super) use expected::{document_member_index, identity_member_index};
use expected::{Expected, Key, Members, Place};
use expected::{ATTRIBUTES, DOCUMENT, IDENTITY, ISSUER, SESSION};
use std::borrow::Cow;

/// Deeper than any member of a CloudTrail record nests; deeper values are left to serde.
const MAX_DEPTH: u32 = 64;

/// Reads `text` into `doc` (a default document) as the serde path would, or answers `None` to
/// leave it to that path, with `doc` then partly filled. In place: a document is 1.4 KB, and
/// returning it by value copied it five times on its way to the caller. Text, checked by the
/// caller: every slice of it cut at an ASCII byte is a `&str` too.
pub(super) fn parse_into<'a>(text: &'a str, doc: &mut Document<'a>) -> Option<()> {
    let mut cursor = Cursor::new(text);
    cursor.document(doc)?;
    cursor.skip_space();
    (cursor.at == text.len()).then_some(())
}

/// Reads the object that `text` starts with into `doc` (a default document), as
/// [`parse_into`] would read that object alone; what follows it is not looked at. Answers the
/// object's length and how many newlines it holds, or `None` to leave the object to the framer
/// and the serde path (also when it does not end within `text`).
pub(super) fn parse_prefix_into<'a>(text: &'a str, doc: &mut Document<'a>) -> Option<(usize, u64)> {
    let mut cursor = Cursor::new(text);
    cursor.document(doc)?;
    Some((cursor.at, cursor.newlines))
}

/// Which members of one object were read, to refuse a key given twice as serde does.
#[derive(Default)]
struct Seen(u64);

impl Seen {
    /// Marks member `index`; `None` when it was already read.
    fn first(&mut self, index: u32) -> Option<()> {
        let bit = 1u64 << index;
        if self.0 & bit != 0 {
            return None;
        }
        self.0 |= bit;
        Some(())
    }
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
    /// Newlines passed (only whitespace holds them: a string with one is left to serde), so
    /// that a caller framing records by this parse can keep its line count.
    newlines: u64,
}

impl<'a> Cursor<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            at: 0,
            newlines: 0,
        }
    }

    fn bytes(&self) -> &'a [u8] {
        self.text.as_bytes()
    }

    fn peek(&self) -> Option<u8> {
        self.bytes().get(self.at).copied()
    }

    /// Whitespace, counting its newlines. Most gaps between tokens are empty (compact JSON, as
    /// CloudTrail writes it) or one space (`", "`, `": "`): both are passed without the loop.
    #[inline]
    fn skip_space(&mut self) {
        let bytes = self.bytes();
        match bytes.get(self.at) {
            Some(&byte) if byte > b' ' => return,
            Some(b' ') if bytes.get(self.at + 1).is_some_and(|next| *next > b' ') => {
                self.at += 1;
                return;
            }
            _ => {}
        }
        while let Some(byte @ (b' ' | b'\n' | b'\r' | b'\t')) = self.peek() {
            self.newlines += u64::from(byte == b'\n');
            self.at += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> Option<()> {
        self.skip_space();
        (self.peek()? == byte).then(|| self.at += 1)
    }

    fn literal(&mut self, word: &str) -> Option<()> {
        let end = self.at + word.len();
        (self.bytes().get(self.at..end)? == word.as_bytes()).then(|| self.at = end)
    }

    /// An object, each member's value read by `member` (called with the cursor on the value),
    /// its keys looked for in the `expected` order first.
    fn object(
        &mut self,
        expected: &Expected,
        mut member: impl FnMut(&mut Self, Key<'a>) -> Option<()>,
    ) -> Option<()> {
        let mut place = Place::default();
        self.eat(b'{')?;
        self.skip_space();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(());
        }
        loop {
            self.skip_space();
            let key = self.key_and_colon(expected, &mut place)?;
            self.skip_space();
            member(self, key)?;
            self.skip_space();
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// An object of a struct's `members`: `read` is called once with each member's bit, the
    /// cursor on its value; the value of a key no field wants is skipped, and a key serde reads
    /// but this path does not (or one given twice) leaves the object to serde. Answers the
    /// members read and whether a skipped key holds a dot.
    #[inline(always)]
    fn members(
        &mut self,
        members: &Members,
        mut read: impl FnMut(&mut Self, u32) -> Option<()>,
    ) -> Option<(Seen, bool)> {
        let mut seen = Seen::default();
        let mut dotted = false;
        self.object(&members.order, |cursor, key| {
            let bit = match key {
                Key::Read(bit) => bit,
                Key::Unread => return cursor.skip_value(1),
                Key::Text(text) => match (members.bit)(text) {
                    Some(bit) => bit,
                    None if members.serde_keys.contains(text) => return None,
                    None => {
                        dotted |= text.contains('.');
                        return cursor.skip_value(1);
                    }
                },
            };
            seen.first(bit)?;
            read(cursor, bit)
        })?;
        Some((seen, dotted))
    }

    /// The key at the cursor and the colon after it: one of the next keys of the `expected`
    /// order when the text holds it there, colon included, else read as a plain string.
    #[inline(always)]
    fn key_and_colon(&mut self, expected: &Expected, place: &mut Place) -> Option<Key<'a>> {
        if let Some(guess) = expected.find(self.bytes(), self.at, place) {
            self.at += guess.length();
            return Some(guess.key);
        }
        let key = self.plain_string()?;
        self.eat(b':')?;
        Some(Key::Text(key))
    }

    /// A record (or what may be one), with an account of its keys for [`Document::keys_read`].
    fn document(&mut self, doc: &mut Document<'a>) -> Option<()> {
        let (seen, dotted) =
            self.members(&DOCUMENT, |cursor, bit| cursor.document_member(doc, bit))?;
        doc.keys_read = Some(KeysRead {
            members: seen.0,
            dotted,
        });
        Some(())
    }

    /// `userIdentity` into `slot`, as [`Self::nested`] reads it, with an account of its keys.
    fn identity(&mut self, slot: &mut Option<UserIdentity<'a>>) -> Option<()> {
        self.nested_keeping(slot, &IDENTITY, Self::identity_member, |user, seen| {
            user.keys_read = Some(seen.0);
        })
    }

    /// A string without escapes or control characters, borrowed.
    #[inline]
    fn plain_string(&mut self) -> Option<&'a str> {
        if self.peek()? != b'"' {
            return None;
        }
        let start = self.at + 1;
        let length = first_stop::<true>(&self.bytes()[start..])?;
        if self.bytes()[start + length] != b'"' {
            return None;
        }
        self.at = start + length + 1;
        self.text.get(start..start + length)
    }

    /// A scalar read as [`Text`]: a plain string or `null`; anything else is left to serde.
    fn text(&mut self) -> Option<Text<'a>> {
        if self.peek()? == b'n' {
            self.literal("null")?;
            return Some(Text(None));
        }
        Some(Text(Some(Cow::Borrowed(self.plain_string()?))))
    }

    /// A [`Flag`]: a bool, `null`, or a plain string read as the serde path reads it.
    fn flag(&mut self) -> Option<Flag> {
        match self.peek()? {
            b't' => self.literal("true").map(|()| Flag(Some(true))),
            b'f' => self.literal("false").map(|()| Flag(Some(false))),
            b'n' => self.literal("null").map(|()| Flag(None)),
            b'"' => Some(Flag(parse_flag(self.plain_string()?))),
            _ => None,
        }
    }

    /// A member kept raw, checked as strictly as the serde path checks it. `null` is absent.
    fn raw(&mut self) -> Option<Option<Raw<'a>>> {
        if self.peek()? == b'n' {
            self.literal("null")?;
            return Some(None);
        }
        self.lazy().map(Some)
    }

    /// A value no field wants, or a raw member, checked at least as strictly as the serde path
    /// checks it: a `\u` escape without four hex digits, numbers with exponents or more than 19
    /// digits, and nesting past [`MAX_DEPTH`] are left to serde. (sonic-rs itself costs a few
    /// hundred instructions a call, and a record has about a dozen such members.)
    fn skip_value(&mut self, depth: u32) -> Option<()> {
        if depth > MAX_DEPTH {
            return None;
        }
        match self.peek()? {
            b'"' => self.escaped_string(),
            b'{' => self.object(&Expected::NONE, |cursor, _| cursor.skip_value(depth + 1)),
            b'[' => {
                self.at += 1;
                self.skip_space();
                if self.peek()? == b']' {
                    self.at += 1;
                    return Some(());
                }
                loop {
                    self.skip_space();
                    self.skip_value(depth + 1)?;
                    self.skip_space();
                    match self.peek()? {
                        b',' => self.at += 1,
                        b']' => {
                            self.at += 1;
                            return Some(());
                        }
                        _ => return None,
                    }
                }
            }
            b't' => self.literal("true"),
            b'f' => self.literal("false"),
            b'n' => self.literal("null"),
            b'-' | b'0'..=b'9' => self.number(),
            _ => None,
        }
    }

    /// A string that may hold escapes: the one-character ones (`\"`, `\\`, `\n`, …) and `\u`
    /// with four hex digits (sonic-rs, on the serde path, takes any four characters there).
    fn escaped_string(&mut self) -> Option<()> {
        self.at += 1;
        loop {
            let length = first_stop::<true>(&self.bytes()[self.at..])?;
            let special = self.bytes()[self.at + length];
            self.at += length + 1;
            match special {
                b'"' => return Some(()),
                b'\\' => match self.peek()? {
                    b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't' => self.at += 1,
                    b'u' => {
                        let digits = self.bytes().get(self.at + 1..self.at + 5)?;
                        if !digits.iter().all(u8::is_ascii_hexdigit) {
                            return None;
                        }
                        self.at += 5;
                    }
                    _ => return None,
                },
                _ => return None,
            }
        }
    }

    /// An integer or decimal of up to 19 digits each side.
    fn number(&mut self) -> Option<()> {
        let bytes = self.bytes();
        let mut at = self.at + usize::from(bytes[self.at] == b'-');
        let digits = |at: &mut usize| {
            let from = *at;
            while bytes.get(*at).is_some_and(u8::is_ascii_digit) {
                *at += 1;
            }
            *at - from
        };
        let whole = digits(&mut at);
        if !(1..=19).contains(&whole) || (whole > 1 && bytes[at - whole] == b'0') {
            return None;
        }
        if bytes.get(at) == Some(&b'.') {
            at += 1;
            if !(1..=19).contains(&digits(&mut at)) {
                return None;
            }
        }
        if matches!(bytes.get(at), Some(b'e' | b'E')) {
            return None;
        }
        self.at = at;
        Some(())
    }

    /// One value, checked by [`Self::skip_value`], kept as its text.
    fn lazy(&mut self) -> Option<Raw<'a>> {
        let start = self.at;
        self.skip_value(1)?;
        Some(Raw::checked(self.text.get(start..self.at)?))
    }

    /// An object member read with `object_only` into `slot`: `null` is absent, an object of
    /// `members` is read by `read` (see [`Self::members`]), anything else is left to serde. In
    /// place: returning the struct by value copied it twice on its way to its field.
    fn nested<T: Default>(
        &mut self,
        slot: &mut Option<T>,
        members: &Members,
        read: impl FnMut(&mut Self, &mut T, u32) -> Option<()>,
    ) -> Option<()> {
        self.nested_keeping(slot, members, read, |_, _| ())
    }

    /// [`Self::nested`], handing `keep` the value read and the members `read` marked as read.
    fn nested_keeping<T: Default>(
        &mut self,
        slot: &mut Option<T>,
        members: &Members,
        mut read: impl FnMut(&mut Self, &mut T, u32) -> Option<()>,
        keep: impl FnOnce(&mut T, Seen),
    ) -> Option<()> {
        if self.peek()? == b'n' {
            self.literal("null")?;
            *slot = None;
            return Some(());
        }
        let value = slot.insert(T::default());
        let (seen, _) = self.members(members, |cursor, bit| read(cursor, value, bit))?;
        keep(value, seen);
        Some(())
    }

    fn document_member(&mut self, doc: &mut Document<'a>, bit: u32) -> Option<()> {
        match bit {
            0 => doc.event_version = self.text()?,
            1 => doc.event_time = self.text()?,
            2 => doc.at_timestamp = self.text()?,
            3 => doc.p_event_time = self.text()?,
            4 => doc.event_source = self.text()?,
            5 => doc.event_name = self.text()?,
            6 => doc.aws_region = self.text()?,
            7 => doc.source_ip_address = self.text()?,
            8 => doc.user_agent = self.text()?,
            9 => self.identity(&mut doc.user_identity)?,
            10 => doc.request_parameters = self.raw()?,
            11 => doc.response_elements = self.raw()?,
            12 => doc.additional_event_data = self.raw()?,
            13 => doc.error_code = self.text()?,
            14 => doc.error_message = self.text()?,
            15 => doc.event_id = self.text()?,
            16 => doc.read_only = self.flag()?,
            17 => doc.event_type = self.text()?,
            18 => doc.recipient_account_id = self.text()?,
            19 => doc.management_event = self.flag()?,
            20 => doc.event_category = self.text()?,
            _ => doc.vpc_endpoint_id = self.text()?,
        }
        Some(())
    }

    fn identity_member(&mut self, user: &mut UserIdentity<'a>, bit: u32) -> Option<()> {
        match bit {
            0 => user.identity_type = self.text()?,
            1 => user.principal_id = self.text()?,
            2 => user.arn = self.text()?,
            3 => user.account_id = self.text()?,
            4 => user.access_key_id = self.text()?,
            5 => user.user_name = self.text()?,
            6 => user.invoked_by = self.text()?,
            _ => self.nested(&mut user.session_context, &SESSION, Self::session_member)?,
        }
        Some(())
    }

    fn session_member(&mut self, session: &mut SessionContext<'a>, bit: u32) -> Option<()> {
        match bit {
            0 => self.nested(&mut session.session_issuer, &ISSUER, Self::issuer_member)?,
            _ => self.nested(
                &mut session.attributes,
                &ATTRIBUTES,
                Self::attributes_member,
            )?,
        }
        Some(())
    }

    fn issuer_member(&mut self, issuer: &mut SessionIssuer<'a>, bit: u32) -> Option<()> {
        match bit {
            0 => issuer.issuer_type = self.text()?,
            1 => issuer.user_name = self.text()?,
            _ => issuer.arn = self.text()?,
        }
        Some(())
    }

    fn attributes_member(
        &mut self,
        attributes: &mut SessionAttributes<'a>,
        bit: u32,
    ) -> Option<()> {
        match bit {
            0 => attributes.mfa_authenticated = self.flag()?,
            _ => attributes.creation_date = self.text()?,
        }
        Some(())
    }
}

#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod differential;
mod expected;
pub(super) mod serde_keys;

#[cfg(test)]
mod tests;
