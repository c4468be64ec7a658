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
mod wildcard;

pub use compile::PatternError;
use condition::Condition;
use event::{flatten, Leaf};
use serde_json::Value;
use std::collections::HashMap;

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
        let leaves = flatten(event);
        self.matches_leaves(&leaves)
    }

    fn matches_leaves(&self, leaves: &[Leaf<'_>]) -> bool {
        let mut by_path: HashMap<&str, Vec<&Leaf<'_>>> = HashMap::new();
        for leaf in leaves {
            by_path.entry(leaf.path.as_str()).or_default().push(leaf);
        }
        self.alternatives.iter().any(|rules| {
            let mut chosen: Vec<&Leaf<'_>> = Vec::with_capacity(rules.len());
            satisfy(rules, &by_path, &mut chosen)
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

    /// Whether the pattern matches a pre-flattened event (for running many patterns on one).
    pub fn matches_flattened(&self, event: &FlatEvent<'_>) -> bool {
        self.matches_leaves(&event.leaves)
    }
}

/// An event flattened once, to be matched by many patterns.
pub struct FlatEvent<'e> {
    leaves: Vec<Leaf<'e>>,
}

impl<'e> FlatEvent<'e> {
    pub fn new(event: &'e Value) -> Self {
        Self {
            leaves: flatten(event),
        }
    }
}

/// Backtracking over field rules: picks, for each, a leaf consistent with those already picked.
fn satisfy<'l>(
    rules: &[FieldRule],
    by_path: &HashMap<&str, Vec<&'l Leaf<'l>>>,
    chosen: &mut Vec<&'l Leaf<'l>>,
) -> bool {
    let Some((rule, rest)) = rules.split_first() else {
        return true;
    };
    let mut present = false;
    for &leaf in by_path
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
            .any(|condition| condition.matches(leaf.value))
        {
            continue;
        }
        chosen.push(leaf);
        if satisfy(rest, by_path, chosen) {
            return true;
        }
        chosen.pop();
    }
    // exists:false holds when nothing is at the path in the array elements chosen so far.
    !present && rule.conditions.iter().any(Condition::is_absence) && satisfy(rest, by_path, chosen)
}

#[cfg(test)]
mod tests;
