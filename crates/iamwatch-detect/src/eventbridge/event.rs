//! An event as the leaves patterns look at: every scalar at a wanted path, with the array
//! elements it sits in.
//!
//! Only the paths some pattern names are extracted, walking the event along each path, so an
//! event costs what its rules look at rather than its size. A path segment may also match a
//! key that itself contains dots (`{"state.status": …}` is at path `state.status`), as in AWS.

use serde_json::Value;
use std::collections::HashMap;

#[derive(Debug)]
pub struct Leaf<'e> {
    pub value: &'e Value,
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
    let mut leaves: Leaves<'e, 'p> = HashMap::new();
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
                .map(|(position, dot)| (position, dot))
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
            value: scalar,
            arrays: arrays.clone(),
        }),
        _ => {}
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
                .map(|leaf| leaf.value.clone())
                .collect::<Vec<_>>(),
            vec![json!(1), json!(3)]
        );
        assert_eq!(leaves["a.b.c"][0].value, &json!(2));
        let mut dotted: Vec<String> = leaves["x.y"]
            .iter()
            .map(|leaf| leaf.value.as_str().unwrap().to_string())
            .collect();
        dotted.sort();
        assert_eq!(dotted, vec!["dotted", "nested"]);
        assert!(leaves["missing.path"].is_empty());
        assert_eq!(leaves["a.b"][1].arrays.len(), 2, "3 sits in two arrays");
    }
}
