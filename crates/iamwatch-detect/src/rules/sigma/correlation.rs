//! Sigma correlation rules (the v2 specification): a document `correlation: {type, rules,
//! group-by, timespan, condition}` over a Sigma rule of the same file, referenced by its `name`
//! (or `id`). `event_count` and `value_count` over one rule become that rule with a threshold
//! (per the `group-by` fields; `value_count` counting the different values of
//! `condition.field`), titled, levelled and tagged by the correlation. The rule it references
//! makes no incidents of its own unless the correlation says `generate: true`. What cannot be
//! decided as events come, or correlates different rules (`temporal`, several rules), is
//! refused with the reason.

use super::text_at;
use crate::rules::file::{RuleFile, ThresholdSpec};
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

/// The one rule `correlation` counts, and whether that rule also raises on its own.
pub(in crate::rules) fn reference(correlation: &Value) -> Result<(&str, bool), String> {
    let body = &correlation["correlation"];
    let rules: Vec<&str> = match &body["rules"] {
        Value::String(rule) => vec![rule.as_str()],
        Value::Array(rules) => rules.iter().filter_map(Value::as_str).collect(),
        _ => return Err("correlation.rules: name the rule it counts".to_string()),
    };
    let [rule] = rules[..] else {
        return Err(format!(
            "correlation.rules names {} rules: a count over one rule is supported, not over several",
            rules.len()
        ));
    };
    let generate = body["generate"].as_bool().unwrap_or(false);
    Ok((rule, generate))
}

/// The rule a correlation makes of `base`, the Sigma rule it counts (converted); `stem` names it
/// when the correlation has no `name`.
pub(in crate::rules) fn convert(
    correlation: &Value,
    mut base: RuleFile,
    stem: &str,
) -> Result<RuleFile, String> {
    let body = &correlation["correlation"];
    let kind = text_at(body, "type");
    let condition = &body["condition"];
    let distinct = match kind {
        "event_count" => None,
        "value_count" => match text_at(condition, "field") {
            "" => return Err("value_count needs condition.field, the field whose values count".to_string()),
            field => Some(format!("detail.{field}")),
        },
        "temporal" | "temporal_ordered" => {
            return Err(format!(
                "correlation type {kind}: different rules within a timespan are not supported; event_count and value_count are"
            ))
        }
        other => {
            return Err(format!(
                "correlation type {other:?} is not supported; event_count and value_count are"
            ))
        }
    };
    if base.threshold.is_some() {
        return Err("the rule a correlation counts counts itself (`| count()`)".to_string());
    }
    let window = match &body["timespan"] {
        Value::String(timespan) => {
            iamwatch_core::threshold::parse_window(timespan)
                .map_err(|error| format!("correlation.timespan: {error}"))?;
            timespan.clone()
        }
        _ => return Err("correlation.timespan: a span such as 10m is needed".to_string()),
    };
    let events = events(condition)?;
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
