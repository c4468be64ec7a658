//! Sigma v1's ways of correlating different events, read as v2's `temporal` correlation (a rule
//! of steps, [`crate::rules::file::StepSpec`]): `selection1 | near selection2 [and …]` with a
//! `timeframe`, and a `timeframe` over an `and` of selections without a count (SigmaHQ's SES
//! rule: "we don't combine them in one selection because we want to correlate both events").
//! Each selection is a step, named after it; the rule raises once an event of each fell within
//! the timeframe, in any order. v1 has no grouping: the steps may be anyone's.

use super::condition::{self, Expr};
use super::heading::Heading;
use crate::rules::file::{RuleFile, StepSpec, ThresholdSpec};
use serde_json::{json, Map, Value};

/// The steps and the window of a detection correlating its selections; `None` when it does
/// not (a plain condition, a count).
pub(super) fn steps(
    detection: &Map<String, Value>,
    names: &[String],
    selections: &Map<String, Value>,
) -> Result<Option<(Vec<StepSpec>, String)>, String> {
    let Some(Value::String(text)) = detection.get("condition") else {
        return Ok(None);
    };
    let terms = match text.split_once('|') {
        Some((first, aggregation)) => {
            let Some(rest) = aggregation.trim().strip_prefix("near ") else {
                return Ok(None);
            };
            let mut terms = vec![condition::parse(first, names)?];
            match condition::parse(rest, names)? {
                Expr::And(more) => terms.extend(more),
                other => terms.push(other),
            }
            terms
        }
        // Only an `and` of whole selections: `selection and not filter` with a stray timeframe
        // is no correlation.
        None if detection.contains_key("timeframe") => match condition::parse(text, names)? {
            Expr::And(terms) if terms.iter().all(|term| matches!(term, Expr::Selection(_))) => {
                terms
            }
            _ => return Ok(None),
        },
        None => return Ok(None),
    };
    let window = match detection.get("timeframe") {
        Some(Value::String(timeframe)) => {
            iamwatch_core::threshold::parse_window(timeframe)
                .map_err(|error| format!("timeframe: {error}"))?;
            timeframe.clone()
        }
        Some(_) => return Err("timeframe: not a span such as 10m".to_string()),
        None => {
            return Err(
                "near needs a timeframe (10m, 1h): the span its selections must fall within"
                    .to_string(),
            )
        }
    };
    let mut steps: Vec<StepSpec> = Vec::with_capacity(terms.len());
    for term in terms {
        let name = match &term {
            Expr::Selection(name) => name.clone(),
            _ => format!("step {}", steps.len() + 1),
        };
        let (pattern, conditions) = super::compile(&term, selections)?;
        steps.push(StepSpec {
            name,
            pattern: super::detail_pattern(pattern),
            conditions,
        });
    }
    Ok(Some((steps, window)))
}

/// A pattern an event of any of `steps` matches (each step's conditions are checked as the
/// event is counted).
pub(super) fn any_step(steps: &[StepSpec]) -> Value {
    let alternatives: Vec<Value> = steps
        .iter()
        .map(|step| step.pattern["detail"].clone())
        .collect();
    json!({ "detail": { "$or": alternatives } })
}

/// The rule of `steps`.
pub(super) fn rule(heading: Heading, steps: Vec<StepSpec>, window: String) -> RuleFile {
    let pattern = any_step(&steps);
    let threshold = ThresholdSpec {
        events: 0,
        window,
        distinct: None,
        steps,
    };
    heading.rule(pattern, Vec::new(), None, Some(threshold))
}
