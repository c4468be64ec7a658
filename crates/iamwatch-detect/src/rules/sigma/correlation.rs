//! Sigma correlation rules (the v2 specification): a document `correlation: {type, rules,
//! group-by, timespan, condition}` over Sigma rules of the same file, referenced by their `name`
//! (or `id`). `event_count` and `value_count` over one rule become that rule with a threshold
//! (per the `group-by` fields; `value_count` counting the different values of
//! `condition.field`); `temporal` over several rules becomes a rule of steps, one a rule, that
//! raises once an event of every rule fell within the timespan, in any order. Each is titled,
//! levelled and tagged by the correlation. The rules it references make no incidents of their
//! own unless the correlation says `generate: true`. What cannot be decided as events come
//! (`lt`, …), `temporal_ordered` and `value_sum` and the like are refused with the reason.

use super::text_at;
use crate::rules::file::{RuleFile, StepSpec, ThresholdSpec};
use serde_json::Value;

pub(in crate::rules) fn is_correlation(document: &Value) -> bool {
    document.get("correlation").is_some()
}

/// Whether `document` (a Sigma rule) goes by `reference`: its `name`, or its `id`.
pub(in crate::rules) fn is_named(document: &Value, reference: &str) -> bool {
    ["name", "id"]
        .iter()
        .any(|key| text_at(document, key) == reference)
}

/// The rules `correlation` counts, and whether they also raise on their own.
pub(in crate::rules) fn reference(correlation: &Value) -> Result<(Vec<&str>, bool), String> {
    let body = &correlation["correlation"];
    let rules: Vec<&str> = match &body["rules"] {
        Value::String(rule) => vec![rule.as_str()],
        Value::Array(rules) => rules.iter().filter_map(Value::as_str).collect(),
        _ => return Err("correlation.rules: name the rules it correlates".to_string()),
    };
    let several = text_at(body, "type").starts_with("temporal");
    match rules.len() {
        0 => return Err("correlation.rules: name the rules it correlates".to_string()),
        1 if several => {
            return Err("correlation.rules: a temporal correlation names two rules or more".to_string())
        }
        1 => {}
        count if !several => {
            return Err(format!(
                "correlation.rules names {count} rules: a count is over one rule (temporal correlates several)"
            ))
        }
        _ => {}
    }
    let generate = body["generate"].as_bool().unwrap_or(false);
    Ok((rules, generate))
}

/// The rule a correlation makes of `bases`, the Sigma rules it names (converted), each with
/// the name it was referenced by; `stem` names it when the correlation has no `name`.
pub(in crate::rules) fn convert(
    correlation: &Value,
    mut bases: Vec<(String, RuleFile)>,
    stem: &str,
) -> Result<RuleFile, String> {
    let body = &correlation["correlation"];
    let kind = text_at(body, "type");
    let condition = &body["condition"];
    if bases.iter().any(|(_, base)| base.threshold.is_some()) {
        return Err("a rule a correlation names counts itself (`| count()`)".to_string());
    }
    let (distinct, steps) = match kind {
        "event_count" => (None, Vec::new()),
        "value_count" => match text_at(condition, "field") {
            "" => return Err("value_count needs condition.field, the field whose values count".to_string()),
            field => (Some(format!("detail.{field}")), Vec::new()),
        },
        "temporal" => (None, steps(&bases)),
        "temporal_ordered" => {
            return Err(
                "correlation type temporal_ordered: rules in a given order are not supported; temporal (any order), event_count and value_count are"
                    .to_string(),
            )
        }
        other => {
            return Err(format!(
                "correlation type {other:?} is not supported; event_count, value_count and temporal are"
            ))
        }
    };
    let mut base = if steps.is_empty() {
        bases.swap_remove(0).1
    } else {
        of_steps(bases.swap_remove(0).1, &steps)
    };
    let window = match &body["timespan"] {
        Value::String(timespan) => {
            iamwatch_core::threshold::parse_window(timespan)
                .map_err(|error| format!("correlation.timespan: {error}"))?;
            timespan.clone()
        }
        _ => return Err("correlation.timespan: a span such as 10m is needed".to_string()),
    };
    // A temporal correlation needs every rule, unless its condition asks for fewer.
    let events = if steps.is_empty() || !condition.is_null() {
        events(condition)?
    } else {
        0
    };
    let fields: Vec<&str> = match &body["group-by"] {
        Value::Null => Vec::new(),
        Value::String(field) => vec![field.as_str()],
        Value::Array(fields) => fields.iter().filter_map(Value::as_str).collect(),
        _ => return Err("correlation.group-by: a list of fields".to_string()),
    };
    base.dedup = (!fields.is_empty()).then(|| {
        fields
            .iter()
            .map(|field| format!("{{detail.{field}}}"))
            .collect::<Vec<_>>()
            .join(" ")
    });
    base.threshold = Some(ThresholdSpec {
        events,
        window,
        distinct,
        steps,
    });
    let heading = super::heading::heading(correlation, stem, "correlation")?;
    base.id = heading.id;
    base.title = heading.title;
    base.description = heading.description;
    base.severity = crate::rules::file::SeveritySpec::Fixed(heading.severity);
    if !heading.tags.is_empty() {
        base.tags = heading.tags;
    }
    base.enabled = heading.enabled;
    Ok(base)
}

/// The steps of a temporal correlation: each rule it names, under that name.
fn steps(bases: &[(String, RuleFile)]) -> Vec<StepSpec> {
    bases
        .iter()
        .map(|(name, base)| StepSpec {
            name: name.clone(),
            pattern: base.pattern.clone(),
            conditions: base.conditions.clone(),
        })
        .collect()
}

/// A rule an event of any of `steps` matches; the rest from `first`, the first rule named.
fn of_steps(mut first: RuleFile, steps: &[StepSpec]) -> RuleFile {
    first.pattern = super::temporal::any_step(steps);
    first.conditions = Vec::new();
    first
}

/// How many events (or values) the condition asks for: `gt: n` is n + 1, `gte: n` is n.
fn events(condition: &Value) -> Result<u32, String> {
    let Some(condition) = condition.as_object() else {
        return Err("correlation.condition: a mapping such as {gte: 10}".to_string());
    };
    if condition
        .keys()
        .any(|key| matches!(key.as_str(), "lt" | "lte" | "eq" | "neq"))
    {
        return Err(
            "correlation.condition: only gt and gte can be decided as events come (a count under a number is known only when the timespan ends)"
                .to_string(),
        );
    }
    let number = |key: &str| {
        condition
            .get(key)
            .map(|value| value.as_u64().and_then(|value| u32::try_from(value).ok()))
    };
    match (number("gt"), number("gte")) {
        (Some(Some(gt)), None) => gt
            .checked_add(1)
            .ok_or_else(|| "correlation.condition: the count is too large".to_string()),
        (None, Some(Some(gte))) => Ok(gte.max(1)),
        (Some(None), _) | (_, Some(None)) => {
            Err("correlation.condition: the count must be a whole number".to_string())
        }
        _ => Err("correlation.condition: give one of gt and gte".to_string()),
    }
}
