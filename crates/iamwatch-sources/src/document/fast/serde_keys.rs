//! The keys serde's derive reads for a struct, aliases included, taken from the derive itself:
//! a key the fast path does not read but serde does is left to serde, and the two lists cannot
//! drift apart as hand-written ones would.

use rustc_hash::FxHashSet;
use serde::de::{self, Deserialize, Visitor};
use std::sync::LazyLock;

/// A struct's keys, hashed: most keys looked up here are ones serde does not read either
/// (`requestID`, `tlsDetails`, …), and a hash probe tells so without comparing bytes. (A binary
/// search by length then bytes made eight `memcmp` calls a record; a plain sort, one per step.)
pub(super) struct SerdeKeys(FxHashSet<&'static str>);

impl SerdeKeys {
    pub(super) fn contains(&self, key: &str) -> bool {
        self.0.contains(key)
    }

    #[cfg(test)]
    pub(super) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The keys of `T`, read once.
pub(super) type Keys = LazyLock<SerdeKeys>;

pub(super) fn of<'de, T: Deserialize<'de>>() -> SerdeKeys {
    SerdeKeys(recorded::<T>().into_iter().collect())
}

/// What the derive tells `deserialize_struct`: its keys, aliases included.
pub(crate) fn recorded<'de, T: Deserialize<'de>>() -> Vec<&'static str> {
    let mut keys = Vec::new();
    // The recorder refuses every struct after noting its keys; the error is expected.
    let _ = T::deserialize(Recorder(&mut keys));
    keys
}

struct Recorder<'k>(&'k mut Vec<&'static str>);

impl<'de> de::Deserializer<'de> for Recorder<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("only structs"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _: &'static str,
        fields: &'static [&'static str],
        _: V,
    ) -> Result<V::Value, Self::Error> {
        self.0.extend(fields);
        Err(de::Error::custom("recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
        byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
        identifier ignored_any
    }
}
