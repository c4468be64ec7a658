//! An event as the leaves patterns look at: every scalar at a wanted path, with the array
//! elements it sits in.
//!
//! Only the paths some pattern names are extracted, walking the event along each path, so an
//! event costs what its rules look at rather than its size. A path segment may also match a
//! key that itself contains dots (`{"state.status": …}` is at path `state.status`), as in AWS.

use rustc_hash::FxHashMap as HashMap;
use serde_json::Value;
use std::borrow::Cow;

#[derive(Debug)]
pub struct Leaf<'e> {
    /// Borrowed from a parsed event, or owned when read from raw JSON.
    pub value: Cow<'e, Value>,
    /// `(array identity, element index)` for every array around the value, outermost first.
    /// An array's identity is its address in the event, unique while the event lives.
    pub arrays: Vec<(usize, u32)>,
}

impl Leaf<'_> {
    /// Two leaves agree when, in every array they both sit in, they sit in the same element.
    pub fn consistent_with(&self, other: &Leaf<'_>) -> bool {
        self.arrays.iter().all(|(array, index)| {
            other
                .arrays
                .iter()
                .all(|(other_array, other_index)| array != other_array || index == other_index)
        })
    }
}

/// The leaves at each wanted path.
pub type Leaves<'e, 'p> = HashMap<&'p str, Vec<Leaf<'e>>>;

pub fn extract<'e, 'p>(
    event: &'e Value,
    paths: impl IntoIterator<Item = &'p str>,
) -> Leaves<'e, 'p> {
    let mut leaves: Leaves<'e, 'p> = HashMap::default();
    for path in paths {
        if leaves.contains_key(path) {
            continue;
        }
        let mut found = Vec::new();
        walk(event, path, &mut Vec::new(), &mut found);
        leaves.insert(path, found);
    }
    leaves
}

fn walk<'e>(
    value: &'e Value,
    rest: &str,
    arrays: &mut Vec<(usize, u32)>,
    found: &mut Vec<Leaf<'e>>,
) {
    match value {
        Value::Array(elements) => {
            let identity = elements.as_ptr() as usize;
            for (index, element) in elements.iter().enumerate() {
                arrays.push((identity, index as u32));
                walk(element, rest, arrays, found);
                arrays.pop();
            }
        }
        Value::Object(members) if !rest.is_empty() => {
            // Every split of `rest` at a dot whose head is a key of this object.
            for (position, _) in rest
                .match_indices('.')
                .chain(std::iter::once((rest.len(), "")))
            {
                let head = &rest[..position];
                if let Some(member) = members.get(head) {
                    let tail = if position == rest.len() {
                        ""
                    } else {
                        &rest[position + 1..]
                    };
                    walk(member, tail, arrays, found);
                }
            }
        }
        Value::Object(_) => {}
        scalar if rest.is_empty() => found.push(Leaf {
            value: Cow::Borrowed(scalar),
            arrays: arrays.clone(),
        }),
        _ => {}
    }
}

/// Leaves at `paths` of a JSON document read from its raw text. The text is parsed into
/// sonic-rs's own DOM, which is faster than walking it lazily (measured: a lazy iteration of a
/// record's top level alone cost more than parsing it whole); only the scalars wanted become
/// `serde_json` values. Array identities are the arrays' addresses in that DOM.
/// A text that does not parse (a record can be read while a number in it is past an `f64`,
/// which sonic-rs refuses) has no leaves: the error says why.
pub fn extract_raw<'p>(
    raw: &str,
    paths: impl IntoIterator<Item = &'p str>,
) -> Result<Leaves<'static, 'p>, sonic_rs::Error> {
    let document = sonic_rs::from_str::<sonic_rs::Value>(raw)?;
    let mut leaves: Leaves<'static, 'p> = HashMap::default();
    for path in paths {
        if leaves.contains_key(path) {
            continue;
        }
        let mut found = Vec::new();
        walk_dom(&document, path, &mut Vec::new(), &mut found);
        leaves.insert(path, found);
    }
    Ok(leaves)
}

/// Where a path of a record can be read without parsing the record whole.
#[derive(Debug, PartialEq)]
pub enum Part<'r, 'p> {
    /// Nothing is at the path.
    Missing,
    /// One string, already read.
    Text(&'r str),
    /// Inside a member given as its raw JSON text; `rest` is the path within it (`""` for the
    /// member itself).
    Within { text: &'r str, rest: &'p str },
    /// Only the record parsed whole can tell.
    Unknown,
}

/// Leaves at `paths` read from parts of a record already at hand (see [`Part`]), or `None` when
/// some path needs the record parsed whole. A member is parsed once however many paths look
/// into it, and every member parsed stays alive until all paths are walked, so that array
/// identities (addresses) stay unique across them.
pub fn extract_parts<'r, 'p>(
    paths: impl IntoIterator<Item = &'p str>,
    mut part_of: impl FnMut(&'p str) -> Part<'r, 'p>,
) -> Option<Leaves<'static, 'p>> {
    let mut parts: Vec<(&'p str, Part<'r, 'p>)> = Vec::new();
    for path in paths {
        if parts.iter().any(|(seen, _)| *seen == path) {
            continue;
        }
        match part_of(path) {
            Part::Unknown => return None,
            part => parts.push((path, part)),
        }
    }
    let identity = |text: &str| (text.as_ptr() as usize, text.len());
    let mut members: Vec<((usize, usize), sonic_rs::Value)> = Vec::new();
    for (_, part) in &parts {
        if let Part::Within { text, .. } = part {
            if !members.iter().any(|(seen, _)| *seen == identity(text)) {
                members.push((identity(text), sonic_rs::from_str(text).ok()?));
            }
        }
    }
    let mut leaves: Leaves<'static, 'p> =
        HashMap::with_capacity_and_hasher(parts.len(), Default::default());
    for (path, part) in parts {
        let mut found = Vec::new();
        match part {
            Part::Missing | Part::Unknown => {}
            Part::Text(text) => found.push(Leaf {
                value: Cow::Owned(Value::String(text.to_string())),
                arrays: Vec::new(),
            }),
            Part::Within { text, rest } => {
                let (_, member) = members.iter().find(|(seen, _)| *seen == identity(text))?;
                walk_dom(member, rest, &mut Vec::new(), &mut found);
            }
        }
        leaves.insert(path, found);
    }
    Some(leaves)
}

/// [`walk`] over sonic-rs's DOM. Every member whose key matches is followed, so a key that
/// appears twice yields the leaves of both.
fn walk_dom(
    value: &sonic_rs::Value,
    rest: &str,
    arrays: &mut Vec<(usize, u32)>,
    found: &mut Vec<Leaf<'static>>,
) {
    use sonic_rs::{JsonContainerTrait, JsonValueTrait};
    if let Some(elements) = value.as_array() {
        let identity = std::ptr::from_ref(elements) as usize;
        for (index, element) in elements.iter().enumerate() {
            arrays.push((identity, index as u32));
            walk_dom(element, rest, arrays, found);
            arrays.pop();
        }
    } else if let Some(members) = value.as_object() {
        if rest.is_empty() {
            return;
        }
        for (key, member) in members.iter() {
            let tail = if key == rest {
                ""
            } else {
                match rest
                    .strip_prefix(key)
                    .and_then(|tail| tail.strip_prefix('.'))
                {
                    Some(tail) => tail,
                    None => continue,
                }
            };
            walk_dom(member, tail, arrays, found);
        }
    } else if rest.is_empty() {
        let scalar = if let Some(text) = value.as_str() {
            Value::String(text.to_string())
        } else if let Some(flag) = value.as_bool() {
            Value::Bool(flag)
        } else if let Some(number) = value.as_number() {
            serde_json::to_value(number).unwrap_or(Value::Null)
        } else {
            Value::Null
        };
        found.push(Leaf {
            value: Cow::Owned(scalar),
            arrays: arrays.clone(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_nested_dotted_and_array_values() {
        let event = json!({"a": {"b": [1, {"c": 2}, [3]]}, "x.y": "dotted", "x": {"y": "nested"}});
        let leaves = extract(&event, ["a.b", "a.b.c", "x.y", "missing.path"]);
        assert_eq!(
            leaves["a.b"]
                .iter()
                .map(|leaf| leaf.value.clone().into_owned())
                .collect::<Vec<_>>(),
            vec![json!(1), json!(3)]
        );
        assert_eq!(*leaves["a.b.c"][0].value, json!(2));
        let mut dotted: Vec<String> = leaves["x.y"]
            .iter()
            .map(|leaf| leaf.value.as_str().unwrap().to_string())
            .collect();
        dotted.sort();
        assert_eq!(dotted, vec!["dotted", "nested"]);
        assert!(leaves["missing.path"].is_empty());
        assert_eq!(leaves["a.b"][1].arrays.len(), 2, "3 sits in two arrays");
    }

    #[test]
    fn raw_extraction_finds_what_value_extraction_finds() {
        let event = json!({"a": {"b": [1, {"c": 2, "d": [true, null]}, [3, "x"]]}, "x.y": "dotted", "x": {"y": "nested", "z": {"k": 1}}, "e": "esc\"aped"});
        let paths = ["a.b", "a.b.c", "a.b.d", "x.y", "x.z", "e", "nope"];
        let text = event.to_string();
        let parsed = extract(&event, paths);
        let raw = extract_raw(&text, paths).expect("valid JSON");
        for path in paths {
            let mut from_value: Vec<Value> = parsed[path]
                .iter()
                .map(|leaf| leaf.value.clone().into_owned())
                .collect();
            let mut from_raw: Vec<Value> = raw[path]
                .iter()
                .map(|leaf| leaf.value.clone().into_owned())
                .collect();
            from_value.sort_by_key(Value::to_string);
            from_raw.sort_by_key(Value::to_string);
            assert_eq!(from_value, from_raw, "{path}");
            let depth = |leaves: &Vec<Leaf<'_>>| {
                leaves
                    .iter()
                    .map(|leaf| leaf.arrays.len())
                    .collect::<Vec<_>>()
            };
            let (mut value_depths, mut raw_depths) = (depth(&parsed[path]), depth(&raw[path]));
            value_depths.sort();
            raw_depths.sort();
            assert_eq!(value_depths, raw_depths, "{path}");
        }
    }
}
