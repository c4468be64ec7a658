//! EventBridge event patterns, matched as EventBridge (event-ruler) matches them.
//!
//! A pattern compiles once ([`EventPattern::parse`]) into alternatives (its `$or` branches
//! expanded): each a list of field rules, a dot-joined path with an OR-list of conditions. An
//! event is flattened into leaves, each remembering which element of which array it sits in.
//! An alternative matches when every field rule finds a leaf satisfying one of its conditions,
//! and all the leaves chosen agree on the array elements they share. That is event-ruler's
//! "array consistency": fields matched inside objects of one array must match in one element.
//!
//! Invalid patterns are rejected with the JSON path of the fault and the reason.

mod compile;
mod condition;
mod event;
pub(crate) mod wildcard;

pub use compile::PatternError;
use condition::Condition;
pub use event::Part;
use event::{extract, Leaf};
pub(crate) use event::{extract_parts, extract_raw, Leaves};
use serde_json::Value;

/// A compiled event pattern.
#[derive(Clone, Debug)]
pub struct EventPattern {
    alternatives: Vec<Vec<FieldRule>>,
}

#[derive(Clone, Debug)]
struct FieldRule {
    path: String,
    conditions: Vec<Condition>,
}

impl EventPattern {
    /// Compiles a pattern from its JSON text. Duplicate keys: the last one wins, as in AWS.
    ///
    /// # Errors
    /// [`PatternError`] naming the JSON path and what is wrong.
    pub fn parse(text: &str) -> Result<Self, PatternError> {
        let value: Value = serde_json::from_str(text)
            .map_err(|error| PatternError::new("$", format!("not valid JSON: {error}")))?;
        compile::check_number_literals(text)?;
        Self::from_value(&value)
    }

    /// Compiles a pattern already parsed as JSON.
    ///
    /// # Errors
    /// [`PatternError`] naming the JSON path and what is wrong.
    pub fn from_value(value: &Value) -> Result<Self, PatternError> {
        let mut alternatives = compile::compile(value)?;
        compile::order_for_matching(&mut alternatives);
        Ok(Self { alternatives })
    }

    /// Whether `event` (a JSON object) matches.
    pub fn matches(&self, event: &Value) -> bool {
        let leaves = extract(event, self.paths());
        self.matches_extracted(&leaves)
    }

    /// The same pattern with only the field rules on `paths` kept: a weaker pattern, so when it
    /// does not match an event, the whole pattern cannot either. Rule sets use it to reject
    /// events on a few cheap fields before parsing them whole.
    pub fn restricted_to(&self, paths: &[&str]) -> EventPattern {
        let alternatives = self
            .alternatives
            .iter()
            .map(|rules| {
                rules
                    .iter()
                    .filter(|rule| paths.contains(&rule.path.as_str()))
                    .cloned()
                    .collect()
            })
            .collect();
        EventPattern { alternatives }
    }

    /// Every path the pattern looks at.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.alternatives
            .iter()
            .flatten()
            .map(|rule| rule.path.as_str())
    }

    fn matches_extracted(&self, leaves: &Leaves<'_, '_>) -> bool {
        self.alternatives.iter().any(|rules| {
            let mut chosen: Vec<&Leaf<'_>> = Vec::with_capacity(rules.len());
            satisfy(rules, leaves, &mut chosen)
        })
    }

    /// The exact strings the pattern requires at `path`, when every alternative requires one
    /// of a fixed set there; `None` otherwise. Rule sets index on this.
    pub fn required_strings(&self, path: &str) -> Option<Vec<String>> {
        let mut required = Vec::new();
        for rules in &self.alternatives {
            let rule = rules.iter().find(|rule| rule.path == path)?;
            for condition in &rule.conditions {
                match condition {
                    Condition::Equals(condition::Literal::Text(text)) => {
                        required.push(text.clone())
                    }
                    _ => return None,
                }
            }
        }
        required.sort();
        required.dedup();
        Some(required)
    }

    /// Whether the pattern matches an event prepared once for many patterns.
    pub fn matches_flattened(&self, event: &FlatEvent<'_, '_>) -> bool {
        self.matches_extracted(&event.leaves)
    }
}

/// An event's leaves at the paths a set of patterns looks at, extracted once and matched by
/// many patterns.
pub struct FlatEvent<'e, 'p> {
    leaves: Leaves<'e, 'p>,
}

impl<'e, 'p> FlatEvent<'e, 'p> {
    pub fn new(event: &'e Value, paths: impl IntoIterator<Item = &'p str>) -> Self {
        Self {
            leaves: extract(event, paths),
        }
    }

    /// The first value at a path, if any.
    pub fn first(&self, path: &str) -> Option<&Value> {
        self.leaves
            .get(path)
            .and_then(|leaves| leaves.first())
            .map(|leaf| leaf.value.as_ref())
    }

    /// The value at a path when the event holds exactly one scalar there, outside any array.
    pub fn single_scalar(&self, path: &str) -> Option<&Value> {
        match self.leaves.get(path).map(Vec::as_slice) {
            Some([leaf]) if leaf.arrays.is_empty() => Some(leaf.value.as_ref()),
            _ => None,
        }
    }

    /// What the event holds at a path, as far as its leaves tell, for a path they were read
    /// at: `Some(Some(value))` for one scalar outside any array; `Some(None)` when no scalar is
    /// there at all (the path is missing, or holds an object or array without any), which no
    /// scalar equals; `None` when only the whole event can tell (several values, or arrays).
    pub fn scalar_at(&self, path: &str) -> Option<Option<&Value>> {
        match self.leaves.get(path).map(Vec::as_slice) {
            None | Some([]) => Some(None),
            Some([leaf]) if leaf.arrays.is_empty() => Some(Some(leaf.value.as_ref())),
            Some(_) => None,
        }
    }

    /// Leaves given directly: one string value per path (fields already normalised).
    pub fn from_strings(values: impl IntoIterator<Item = (&'p str, String)>) -> Self {
        let leaves = values
            .into_iter()
            .map(|(path, text)| {
                (
                    path,
                    vec![Leaf {
                        value: std::borrow::Cow::Owned(Value::String(text)),
                        arrays: Vec::new(),
                    }],
                )
            })
            .collect();
        Self { leaves }
    }

    /// Reads the paths from a CloudTrail record's raw JSON (paths under `detail.`) and from a
    /// small parsed shell holding the EventBridge envelope fields (the other paths).
    /// A record that does not parse has no leaves under `detail.`.
    pub fn from_raw_record(
        record: &str,
        shell: &'e Value,
        paths: impl IntoIterator<Item = &'p str>,
    ) -> Self {
        let paths: Vec<&'p str> = paths.into_iter().collect();
        Self::from_record_parts(record, shell, paths.iter().copied(), |_| Part::Unknown)
            .unwrap_or_else(|_| {
                let envelope = paths
                    .into_iter()
                    .filter(|path| !path.starts_with("detail."));
                Self {
                    leaves: extract(shell, envelope),
                }
            })
    }

    /// [`Self::from_raw_record`], reading first what `part_of` can tell of a path under
    /// `detail.` (given without that prefix) from parts of the record already parsed; the
    /// record is parsed whole only when some path is [`Part::Unknown`]. The error is sonic-rs's
    /// when that parse fails: the leaves would not be there to say what the record holds.
    pub fn from_record_parts<'r>(
        record: &str,
        shell: &'e Value,
        paths: impl IntoIterator<Item = &'p str>,
        mut part_of: impl FnMut(&'p str) -> Part<'r, 'p>,
    ) -> Result<Self, sonic_rs::Error> {
        let (detail_paths, envelope_paths): (Vec<&'p str>, Vec<&'p str>) = paths
            .into_iter()
            .partition(|path| path.starts_with("detail."));
        let inner = |path: &'p str| &path["detail.".len()..];
        // Keyed by the whole path from the start: the parts are read under `detail.`'s paths
        // directly, and only a record parsed whole is walked under the inner paths.
        let mut leaves = match extract_parts(detail_paths.iter().copied(), |path| {
            part_of(inner(path))
        }) {
            Some(leaves) => leaves,
            None => {
                let mut whole = extract_raw(record, detail_paths.iter().map(|path| inner(path)))?;
                detail_paths
                    .iter()
                    .filter_map(|path| Some((*path, whole.remove(inner(path))?)))
                    .collect()
            }
        };
        if !envelope_paths.is_empty() {
            leaves.extend(extract(shell, envelope_paths));
        }
        Ok(Self { leaves })
    }
}

/// Backtracking over field rules: picks, for each, a leaf consistent with those already picked.
fn satisfy<'l>(
    rules: &[FieldRule],
    leaves: &'l Leaves<'l, '_>,
    chosen: &mut Vec<&'l Leaf<'l>>,
) -> bool {
    let Some((rule, rest)) = rules.split_first() else {
        return true;
    };
    let mut present = false;
    for leaf in leaves
        .get(rule.path.as_str())
        .map_or(&[][..], Vec::as_slice)
    {
        if !chosen.iter().all(|other| leaf.consistent_with(other)) {
            continue;
        }
        present = true;
        if !rule
            .conditions
            .iter()
            .any(|condition| condition.matches(&leaf.value))
        {
            continue;
        }
        chosen.push(leaf);
        if satisfy(rest, leaves, chosen) {
            return true;
        }
        chosen.pop();
    }
    // exists:false holds when nothing is at the path in the array elements chosen so far.
    !present && rule.conditions.iter().any(Condition::is_absence) && satisfy(rest, leaves, chosen)
}

#[cfg(test)]
mod tests;
