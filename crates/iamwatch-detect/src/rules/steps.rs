//! The steps of a rule of steps (`threshold: {window, steps: […]}`, or a Sigma `temporal`
//! correlation of several rules): each a pattern and conditions. An event of the rule counts
//! for the first step it matches, and the rule raises once every step was seen within the
//! window (the stateful side counts the steps' names as different values).

use super::conditions::Condition;
use super::file::StepSpec;
use crate::eventbridge::{EventPattern, FlatEvent};
use serde_json::Value;

#[derive(Clone, Debug)]
pub struct Step {
    pub name: String,
    pattern: EventPattern,
    conditions: Vec<Condition>,
}

impl Step {
    fn matches(&self, whole: Option<&Value>, flat: &FlatEvent<'_, '_>) -> bool {
        self.pattern.matches_flattened(flat)
            && self
                .conditions
                .iter()
                .all(|condition| condition.holds_on(whole, flat))
    }

    /// Every event path the step reads.
    pub fn paths(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.pattern.paths().map(str::to_string).collect();
        for condition in &self.conditions {
            paths.extend(condition.paths().into_iter().map(str::to_string));
        }
        paths
    }

    pub fn conditions(&self) -> &[Condition] {
        &self.conditions
    }
}

/// The first of `steps` the event matches.
pub fn step_of<'s>(
    steps: &'s [Step],
    whole: Option<&Value>,
    flat: &FlatEvent<'_, '_>,
) -> Option<&'s str> {
    steps
        .iter()
        .find(|step| step.matches(whole, flat))
        .map(|step| step.name.as_str())
}

/// Compiles the steps of a threshold whose count is `events` (0: left out), each problem
/// noted with its place.
pub fn compile(specs: &[StepSpec], events: u32, problems: &mut Vec<String>) -> Vec<Step> {
    if specs.is_empty() {
        return Vec::new();
    }
    if specs.len() < 2 {
        problems.push("threshold.steps: at least two steps".to_string());
    }
    if events as usize > specs.len() {
        problems.push(format!(
            "threshold.events: {events}, but only {} steps (leave it out to need every step)",
            specs.len()
        ));
    }
    let mut steps = Vec::with_capacity(specs.len());
    for (index, spec) in specs.iter().enumerate() {
        let place = format!("threshold.steps[{index}]");
        if spec.name.trim().is_empty() {
            problems.push(format!("{place}.name: empty"));
        } else if specs[..index].iter().any(|other| other.name == spec.name) {
            problems.push(format!("{place}.name: {:?} names two steps", spec.name));
        }
        let pattern = EventPattern::from_value(&spec.pattern)
            .map_err(|error| problems.push(format!("{place}.pattern: {error}")))
            .ok();
        let mut conditions = Vec::new();
        for (at, condition) in spec.conditions.iter().enumerate() {
            match Condition::compile(condition) {
                Ok(condition) => conditions.push(condition),
                Err(error) => problems.push(format!("{place}.conditions[{at}]: {error}")),
            }
        }
        if let Some(pattern) = pattern {
            steps.push(Step {
                name: spec.name.clone(),
                pattern,
                conditions,
            });
        }
    }
    steps
}
