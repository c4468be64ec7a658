//! An event as a list of leaves: every scalar with its dot-joined path and the array elements
//! it sits in.

use serde_json::Value;

#[derive(Debug)]
pub struct Leaf<'e> {
    pub path: String,
    pub value: &'e Value,
    /// `(array id, element index)` for every array around the value, outermost first.
    pub arrays: Vec<(u32, u32)>,
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

pub fn flatten(event: &Value) -> Vec<Leaf<'_>> {
    let mut leaves = Vec::new();
    let mut next_array = 0;
    walk(
        event,
        String::new(),
        &mut Vec::new(),
        &mut next_array,
        &mut leaves,
    );
    leaves
}

fn walk<'e>(
    value: &'e Value,
    path: String,
    arrays: &mut Vec<(u32, u32)>,
    next_array: &mut u32,
    leaves: &mut Vec<Leaf<'e>>,
) {
    match value {
        Value::Object(members) => {
            for (key, member) in members {
                let child = if path.is_empty() {
                    key.clone()
                } else {
                    format!("{path}.{key}")
                };
                walk(member, child, arrays, next_array, leaves);
            }
        }
        Value::Array(elements) => {
            let array = *next_array;
            *next_array += 1;
            for (index, element) in elements.iter().enumerate() {
                arrays.push((array, index as u32));
                walk(element, path.clone(), arrays, next_array, leaves);
                arrays.pop();
            }
        }
        scalar => {
            // The root of a pattern is always an object, so a scalar root has no path to match.
            if !path.is_empty() {
                leaves.push(Leaf {
                    path,
                    value: scalar,
                    arrays: arrays.clone(),
                });
            }
        }
    }
}
