//! Field types that accept what real exports put there instead of failing the whole record:
//! numbers where strings belong, `"false"` where a bool belongs, `null` anywhere.

use serde::de::{self, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

/// A scalar read as text. Borrowed from the input when it has no escapes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_deref()
    }

    /// The text, or `""` when absent.
    pub fn or_empty(&self) -> &str {
        self.0.as_deref().unwrap_or("")
    }

    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string or another scalar")
    }

    fn visit_borrowed_str<E: de::Error>(self, value: &'de str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Borrowed(value))))
    }

    fn visit_str<E: de::Error>(self, value: &str) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(value.to_owned()))))
    }

    fn visit_string<E: de::Error>(self, value: String) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(value))))
    }

    fn visit_bool<E: de::Error>(self, value: bool) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(value.to_string()))))
    }

    fn visit_i64<E: de::Error>(self, value: i64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(value.to_string()))))
    }

    fn visit_u64<E: de::Error>(self, value: u64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(value.to_string()))))
    }

    fn visit_f64<E: de::Error>(self, value: f64) -> Result<Self::Value, E> {
        Ok(Text(Some(Cow::Owned(value.to_string()))))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(Text(None))
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Self::Value, D::Error> {
        deserializer.deserialize_any(TextVisitor)
    }

    // A structure where a scalar belongs: the caller's repair pass stringifies it instead, so
    // here it is an error that sends the record down that path.
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Err(de::Error::custom("expected a scalar, found an object"))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Err(de::Error::custom("expected a scalar, found an array"))
    }
}

/// A boolean that may arrive as `true`, `"true"`, `"True"`, `1` or `null`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Flag(pub Option<bool>);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = Text::deserialize(deserializer)?;
        Ok(Flag(text.as_str().and_then(parse_flag)))
    }
}

pub(crate) fn parse_flag(text: &str) -> Option<bool> {
    // Compared in place: this runs for several fields of every record.
    let text = text.trim();
    let is = |word: &str| text.eq_ignore_ascii_case(word);
    if is("true") || is("yes") || text == "1" {
        Some(true)
    } else if is("false") || is("no") || text == "0" {
        Some(false)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_borrows_plain_strings_and_stringifies_scalars() {
        let text: Text = serde_json::from_str("\"plain\"").unwrap();
        assert!(matches!(text.0, Some(Cow::Borrowed("plain"))));
        let number: Text = serde_json::from_str("123456789012").unwrap();
        assert_eq!(number.as_str(), Some("123456789012"));
        let null: Text = serde_json::from_str("null").unwrap();
        assert_eq!(null, Text(None));
        assert!(serde_json::from_str::<Text>("{\"a\":1}").is_err());
    }

    #[test]
    fn flag_reads_bools_in_several_spellings() {
        for (json, expected) in [
            ("true", Some(true)),
            ("\"False\"", Some(false)),
            ("\" YES \"", Some(true)),
            ("0", Some(false)),
            ("null", None),
            ("\"maybe\"", None),
        ] {
            let flag: Flag = serde_json::from_str(json).unwrap();
            assert_eq!(flag.0, expected, "{json}");
        }
    }
}
