//! Sigma rules (the SigmaHQ format) for AWS CloudTrail, turned into rules of this engine.
//!
//! A Sigma rule's selections become EventBridge patterns on the record (`detail.<field>`), its
//! condition an `$or`/merge of them, and each negated part an exclusion (`not`) condition, so
//! that a Sigma rule is indexed, matched, listed and configured like any rule file's rule.
//! Matching follows Sigma: plain values compare without regard to case (`eventName` and
//! `eventSource` exactly, as CloudTrail writes them in one case, so that the index can use
//! them); `startswith`/`endswith` likewise; a value that reads as a number or a boolean also
//! matches the JSON number or boolean; `null` matches a null or absent field. Wildcards (`*`,
//! and `contains`) compare case-sensitively, as EventBridge's `wildcard` does. What a pattern
//! cannot say becomes a condition beside it: regular expressions (`|re`, with `|i`, `|m`,
//! `|s`), `|contains` on an object (a search in its JSON text, without regard to case, as
//! Sigma's backends search), the second and further values of `|all`, and a negated selection
//! made only of such a check, keyword lists (a search in the record's text), and a field with
//! a `?` wildcard (a regular expression its values are translated into). Checks may sit under
//! `or` (`any_of`) and `not` (`unless`, `all_of`), and a field tested twice keeps its second
//! test as a check. A count (`| count() [by field] > n`, `timeframe`; or a correlation rule,
//! [`correlation`]) becomes the rule's threshold. What has no counterpart is refused, saying why.

mod aggregation;
mod condition;
pub(super) mod correlation;
mod glob;
mod heading;
pub(super) mod temporal;

use super::conditions::ValueRegex;
use super::file::{ConditionSpec, MatchesSpec, RuleFile, TextContainsSpec};
use condition::Expr;
use iamwatch_core::Severity;
use serde_json::{json, Map, Value};

/// Whether a YAML document is a Sigma rule rather than a rule file's rule.
pub(super) fn is_sigma(document: &Value) -> bool {
    document.get("detection").is_some() && document.get("logsource").is_some()
}

/// The rule a Sigma rule makes; `stem` (the file's name) names it when the rule has no `name`.
pub(super) fn convert(document: &Value, stem: &str) -> Result<RuleFile, String> {
    let product = text_at(&document["logsource"], "product");
    let service = text_at(&document["logsource"], "service");
    if !product.eq_ignore_ascii_case("aws") || !service.eq_ignore_ascii_case("cloudtrail") {
        return Err(format!(
            "logsource is product {product:?}, service {service:?}: only aws / cloudtrail rules apply to CloudTrail"
        ));
    }
    let heading = heading::heading(document, stem, "rule")?;
    let detection = document["detection"]
        .as_object()
        .ok_or("detection is not a mapping")?;
    let mut names = Vec::new();
    let mut selections = Map::new();
    for (name, selection) in detection {
        if name != "condition" && name != "timeframe" {
            names.push(name.clone());
            selections.insert(name.clone(), selection.clone());
        }
    }
    if let Some((steps, window)) = temporal::steps(detection, &names, &selections)? {
        return Ok(temporal::rule(heading, steps, window));
    }
    let mut count = None;
    let condition = match &detection.get("condition") {
        Some(Value::String(text)) => match text.split_once('|') {
            Some((selected, aggregation)) => {
                count = Some(aggregation::parse(aggregation)?);
                condition::parse(selected, &names)?
            }
            None => condition::parse(text, &names)?,
        },
        Some(Value::Array(texts)) => Expr::Or(
            texts
                .iter()
                .map(|text| condition::parse(text.as_str().unwrap_or_default(), &names))
                .collect::<Result<_, _>>()?,
        ),
        _ => return Err("detection has no condition".to_string()),
    };
    let (threshold, dedup) = aggregation::threshold(count, detection.get("timeframe"))?;
    let (pattern, conditions) = compile(&condition, &selections)?;
    Ok(heading.rule(detail_pattern(pattern), conditions, dedup, threshold))
}

/// A compiled pattern on the record, as a pattern on the EventBridge-shaped event.
fn detail_pattern(pattern: Value) -> Value {
    if pattern.as_object().is_some_and(Map::is_empty) {
        // Only checks beside the pattern (a regular expression alone): every CloudTrail
        // record is a candidate, and an empty pattern says nothing to EventBridge.
        return json!({ "detail": { "eventName": [{ "exists": true }] } });
    }
    json!({ "detail": pattern })
}

/// The text at `key` of a mapping; empty when absent or not text.
fn text_at<'v>(value: &'v Value, key: &str) -> &'v str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

fn severity(level: &str) -> Result<Severity, String> {
    Ok(match level.to_ascii_lowercase().as_str() {
        "" | "medium" => Severity::Medium,
        "informational" | "low" => Severity::Low,
        "high" => Severity::High,
        "critical" => Severity::Critical,
        other => return Err(format!("level {other:?} is not a Sigma level")),
    })
}

/// `attack.t1078.002` → `T1078.002`; tactics and other tags are left out.
fn attack_tags(tags: &Value) -> Vec<String> {
    tags.as_array()
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter_map(|tag| tag.strip_prefix("attack.t"))
        .filter(|technique| technique.starts_with(|c: char| c.is_ascii_digit()))
        .map(|technique| format!("T{technique}"))
        .collect()
}

/// The condition as one pattern (on the record) and the conditions beside it: the positive
/// parts merged, each negated part an exclusion.
fn compile(
    expr: &Expr,
    selections: &Map<String, Value>,
) -> Result<(Value, Vec<ConditionSpec>), String> {
    let terms = match expr {
        Expr::And(terms) => terms.clone(),
        other => vec![other.clone()],
    };
    let (negated, affirmed): (Vec<Expr>, Vec<Expr>) = terms
        .into_iter()
        .partition(|term| matches!(term, Expr::Not(_)));
    // Only exclusions (`not filter`): every event but those, from an empty pattern.
    let (pattern, mut conditions) = positive(&Expr::And(affirmed), selections)?;
    // `not (a or b)` is `not a and not b`: each excluded alone, so that a check no pattern
    // says (a regular expression, a search in an object) can be excluded on its own.
    let mut excluded_terms = Vec::new();
    for term in negated {
        if let Expr::Not(inner) = term {
            alternatives(*inner, &mut excluded_terms);
        }
    }
    for term in excluded_terms {
        let (excluded, extra) = positive(&term, selections)?;
        conditions.push(negation(excluded, extra));
    }
    Ok((pattern, conditions))
}

/// What holds when a pattern and the checks beside it do not.
fn negation(pattern: Value, mut checks: Vec<ConditionSpec>) -> ConditionSpec {
    if checks.is_empty() {
        return ConditionSpec {
            not: Some(json!({ "detail": pattern })),
            ..ConditionSpec::default()
        };
    }
    if pattern.as_object().is_some_and(Map::is_empty) && checks.len() == 1 {
        if let Some(fields) = checks[0].fields_equal.take() {
            // `not` a field reference alone: the fields differ.
            return ConditionSpec {
                fields_differ: Some(fields),
                ..ConditionSpec::default()
            };
        }
    }
    ConditionSpec {
        unless: Some(Box::new(one_check(pattern, checks))),
        ..ConditionSpec::default()
    }
}

/// A pattern and the checks beside it as one check, for an `or` or a `not` holding checks no
/// pattern says: the pattern is `unless: {not: …}`, and more than one check `all_of`.
fn one_check(pattern: Value, mut checks: Vec<ConditionSpec>) -> ConditionSpec {
    if !pattern.as_object().is_some_and(Map::is_empty) {
        checks.insert(
            0,
            ConditionSpec {
                unless: Some(Box::new(ConditionSpec {
                    not: Some(json!({ "detail": pattern })),
                    ..ConditionSpec::default()
                })),
                ..ConditionSpec::default()
            },
        );
    }
    match checks.len() {
        1 => checks.remove(0),
        _ => ConditionSpec {
            all_of: Some(checks),
            ..ConditionSpec::default()
        },
    }
}

/// Alternatives as a pattern (`$or`) when none holds a check no pattern says, else as one
/// check (`any_of`) beside an empty pattern.
fn alternatives_of(parts: Vec<(Value, Vec<ConditionSpec>)>) -> (Value, Vec<ConditionSpec>) {
    if parts.iter().all(|(_, checks)| checks.is_empty()) {
        let branches: Vec<Value> = parts.into_iter().map(|(pattern, _)| pattern).collect();
        return (json!({ "$or": branches }), Vec::new());
    }
    let any_of = parts
        .into_iter()
        .map(|(pattern, checks)| one_check(pattern, checks))
        .collect();
    let check = ConditionSpec {
        any_of: Some(any_of),
        ..ConditionSpec::default()
    };
    (json!({}), vec![check])
}

/// The terms of an `or` (of `or`s), each one of them; any other expression is its own.
fn alternatives(expr: Expr, into: &mut Vec<Expr>) {
    match expr {
        Expr::Or(terms) => terms.into_iter().for_each(|term| alternatives(term, into)),
        other => into.push(other),
    }
}

/// A condition without `not`, as a pattern; field references (which only the top level may
/// hold) as conditions.
fn positive(
    expr: &Expr,
    selections: &Map<String, Value>,
) -> Result<(Value, Vec<ConditionSpec>), String> {
    match expr {
        Expr::Selection(name) => selection(name, &selections[name]),
        Expr::And(terms) => {
            let mut merged: Option<Value> = None;
            let mut extra = Vec::new();
            for term in terms {
                let (part, conditions) = positive(term, selections)?;
                extra.extend(conditions);
                merged = Some(match merged {
                    None => part,
                    Some(so_far) => merged_or_checked(so_far, part, &mut extra),
                });
            }
            Ok((merged.unwrap_or_else(|| json!({})), extra))
        }
        Expr::Or(terms) => {
            let parts = terms
                .iter()
                .map(|term| positive(term, selections))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(alternatives_of(parts))
        }
        Expr::Not(inner) => {
            let (pattern, checks) = positive(inner, selections)?;
            Ok((json!({}), vec![negation(pattern, checks)]))
        }
    }
}

/// One selection: a mapping (every field must match) or a list of mappings (one must).
fn selection(name: &str, value: &Value) -> Result<(Value, Vec<ConditionSpec>), String> {
    match value {
        Value::Object(fields) => {
            let mut pattern = Value::Object(Map::new());
            let mut extra = Vec::new();
            for (key, values) in fields {
                let (path, test) =
                    field(key, values).map_err(|why| format!("{name}: {key}: {why}"))?;
                if let Some(accepted) = test.values {
                    let part = nested(&path, Value::Array(accepted));
                    pattern = merged_or_checked(pattern, part, &mut extra);
                }
                extra.extend(test.checks);
            }
            Ok((pattern, extra))
        }
        Value::Array(items) if items.iter().all(Value::is_object) => {
            let parts = items
                .iter()
                .map(|item| selection(name, item))
                .collect::<Result<Vec<_>, _>>()?;
            Ok(alternatives_of(parts))
        }
        // Keywords: values searched for anywhere in the record, as Sigma's backends search the
        // event's text (any one; without regard to case).
        Value::Array(_) | Value::String(_) | Value::Number(_) => {
            let values: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                single => vec![single],
            };
            let keywords = values
                .into_iter()
                .map(as_text)
                .collect::<Result<Vec<_>, _>>()
                .map_err(|why| format!("{name}: keywords: {why}"))?;
            let check = ConditionSpec {
                text_contains: Some(TextContainsSpec {
                    path: "detail".to_string(),
                    values: keywords,
                    all: false,
                }),
                ..ConditionSpec::default()
            };
            Ok((json!({}), vec![check]))
        }
        _ => Err(format!(
            "{name}: a selection is a mapping of fields, a list of mappings, or keywords"
        )),
    }
}

/// Record fields that hold objects, not values.
const OBJECT_FIELDS: &[&str] = &[
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "userIdentity",
    "serviceEventDetails",
    "tlsDetails",
    "resources",
];

/// What one field of a selection tests: values for the pattern (any one matches), and checks
/// beside it that no pattern says.
#[derive(Default)]
struct FieldTest {
    values: Option<Vec<Value>>,
    checks: Vec<ConditionSpec>,
}

/// A field with its modifiers (`userIdentity.arn|startswith`) and its value or values.
fn field(key: &str, values: &Value) -> Result<(String, FieldTest), String> {
    let mut parts = key.split('|');
    let path = parts.next().unwrap_or_default().to_string();
    let modifiers: Vec<&str> = parts.collect();
    let list: Vec<&Value> = match values {
        Value::Array(items) => items.iter().collect(),
        single => vec![single],
    };
    let mut kind = "";
    let mut all = false;
    let mut regex_flags = String::new();
    for modifier in &modifiers {
        match *modifier {
            "all" => all = true,
            "contains" | "startswith" | "endswith" | "cidr" | "exists" | "fieldref" | "re" => {
                kind = modifier
            }
            // Sigma's sub-modifiers of `re`: case-insensitive, multi-line, dot matches all.
            flag @ ("i" | "m" | "s") if kind == "re" => regex_flags.push_str(flag),
            other => return Err(format!("the modifier |{other} is not supported")),
        }
    }
    let detail_path = format!("detail.{path}");
    // CloudTrail writes these in one case: exact values keep them indexable.
    let exact = matches!(path.as_str(), "eventName" | "eventSource");
    let checks = match kind {
        "fieldref" => {
            let [Value::String(other)] = list.as_slice() else {
                return Err("|fieldref takes one field name".to_string());
            };
            vec![ConditionSpec {
                fields_equal: Some([detail_path, format!("detail.{other}")]),
                ..ConditionSpec::default()
            }]
        }
        "re" => {
            let sources = list
                .iter()
                .map(|value| as_text(value))
                .collect::<Result<Vec<_>, _>>()?;
            regex_checks(&detail_path, &sources, &regex_flags, all)?
        }
        // Sigma's backends search the JSON text of such a field; a pattern matches values.
        "contains" if OBJECT_FIELDS.contains(&path.as_str()) => vec![ConditionSpec {
            text_contains: Some(TextContainsSpec {
                path: detail_path,
                values: list
                    .iter()
                    .map(|value| as_text(value))
                    .collect::<Result<_, _>>()?,
                all,
            }),
            ..ConditionSpec::default()
        }],
        // No pattern says `?`: the field's values, each translated, in one regular expression.
        _ if list.iter().any(|value| glob::has_question_mark(value)) => {
            let sources = list
                .iter()
                .map(|value| glob::regex_of(kind, value, exact))
                .collect::<Result<Vec<_>, _>>()?;
            regex_checks(&detail_path, &sources, "", all)?
        }
        _ => Vec::new(),
    };
    if !checks.is_empty() {
        let values = None;
        return Ok((path, FieldTest { values, checks }));
    }
    let mut test = FieldTest::default();
    let mut accepted = Vec::new();
    for (index, value) in list.into_iter().enumerate() {
        let one = accepting(kind, value, exact)?;
        if all && index > 0 {
            // The pattern holds the first value; the field must also match each other one.
            test.checks.push(ConditionSpec {
                unless: Some(Box::new(ConditionSpec {
                    not: Some(json!({ "detail": nested(&path, Value::Array(one)) })),
                    ..ConditionSpec::default()
                })),
                ..ConditionSpec::default()
            });
        } else {
            accepted.extend(one);
        }
    }
    test.values = Some(accepted);
    Ok((path, test))
}

/// Regular expressions over a field (`|re`'s, or its values' translated from `?`): one check
/// matching any of them, or one per expression with `|all`.
fn regex_checks(
    path: &str,
    sources: &[String],
    flags: &str,
    all: bool,
) -> Result<Vec<ConditionSpec>, String> {
    let prefix = if flags.is_empty() {
        String::new()
    } else {
        format!("(?{flags})")
    };
    let regexes = if all || sources.len() == 1 {
        sources
            .iter()
            .map(|source| format!("{prefix}{source}"))
            .collect()
    } else {
        let alternatives: Vec<String> = sources
            .iter()
            .map(|source| format!("(?:{source})"))
            .collect();
        vec![format!("{prefix}{}", alternatives.join("|"))]
    };
    regexes
        .into_iter()
        .map(|regex| {
            // Checked here, to name the field in the error rather than a condition's place.
            ValueRegex::new(&regex)
                .map_err(|why| format!("regular expression {regex:?}: {why}"))?;
            Ok(ConditionSpec {
                matches: Some(MatchesSpec {
                    path: path.to_string(),
                    regex,
                }),
                ..ConditionSpec::default()
            })
        })
        .collect()
}

/// A Sigma value as the text a search or regular expression takes.
fn as_text(value: &Value) -> Result<String, String> {
    match value {
        Value::String(text) => Ok(text.clone()),
        Value::Number(number) => Ok(number.to_string()),
        Value::Bool(flag) => Ok(flag.to_string()),
        other => Err(format!(
            "the value {other} is not a string, number or boolean"
        )),
    }
}

/// What one Sigma value accepts, as EventBridge values.
fn accepting(kind: &str, value: &Value, exact: bool) -> Result<Vec<Value>, String> {
    let text = match value {
        Value::Null => return Ok(vec![Value::Null, json!({"exists": false})]),
        Value::Bool(flag) if kind == "exists" => return Ok(vec![json!({ "exists": flag })]),
        Value::Bool(flag) => return Ok(vec![json!(flag), json!(flag.to_string())]),
        Value::Number(number) => return Ok(vec![json!(number), json!(number.to_string())]),
        Value::String(text) => text.as_str(),
        other => {
            return Err(format!(
                "the value {other} is not a string, number or boolean"
            ))
        }
    };
    let wildcard = text.contains('*');
    let one = match kind {
        "contains" => json!({ "wildcard": format!("*{text}*") }),
        "startswith" if wildcard => json!({ "wildcard": format!("{text}*") }),
        "startswith" => json!({ "prefix": { "equals-ignore-case": text } }),
        "endswith" if wildcard => json!({ "wildcard": format!("*{text}") }),
        "endswith" => json!({ "suffix": { "equals-ignore-case": text } }),
        "cidr" => json!({ "cidr": text }),
        "exists" => return Err(format!("|exists takes true or false, not {text:?}")),
        _ if wildcard => json!({ "wildcard": text }),
        _ if exact => json!(text),
        _ => json!({ "equals-ignore-case": text }),
    };
    let mut accepted = vec![collapse_stars(one)];
    // Sigma compares values as text: 'false' matches a JSON false, '1' a JSON 1.
    if kind.is_empty() && !wildcard {
        if let Ok(flag) = text.parse::<bool>() {
            accepted.push(json!(flag));
        } else if let Ok(number) = text.parse::<f64>() {
            if number.is_finite() {
                accepted.push(json!(number));
            }
        }
    }
    Ok(accepted)
}

/// `contains: '*'` (any value) would be `***`, which EventBridge refuses: runs of `*` are one.
fn collapse_stars(mut matcher: Value) -> Value {
    if let Some(Value::String(wildcard)) = matcher.get_mut("wildcard") {
        while wildcard.contains("**") {
            *wildcard = wildcard.replace("**", "*");
        }
    }
    matcher
}

/// Both patterns merged; where they test one field twice, which one pattern cannot say, the
/// second becomes a check beside the first.
fn merged_or_checked(first: Value, second: Value, checks: &mut Vec<ConditionSpec>) -> Value {
    match merge(first.clone(), second.clone()) {
        Ok(merged) => merged,
        Err(_) => {
            checks.push(one_check(second, Vec::new()));
            first
        }
    }
}

/// `a.b.c` with `leaf` at the end: `{"a": {"b": {"c": leaf}}}`.
fn nested(path: &str, leaf: Value) -> Value {
    path.rsplit('.')
        .fold(leaf, |inner, key| json!({ key: inner }))
}

/// Both patterns must match: their fields merged; two `$or`s distributed (each branch of the
/// first gets the second); the same field in both cannot be said in one pattern.
fn merge(first: Value, second: Value) -> Result<Value, String> {
    let (Value::Object(mut first), Value::Object(second)) = (first, second) else {
        return Err("a field is matched twice in one rule; not supported".to_string());
    };
    for (key, value) in second {
        match first.remove(&key) {
            None => {
                first.insert(key, value);
            }
            Some(Value::Array(branches)) if key == "$or" => {
                let with_second = json!({ "$or": value });
                let distributed = branches
                    .into_iter()
                    .map(|branch| merge(branch, with_second.clone()))
                    .collect::<Result<Vec<_>, _>>()?;
                first.insert(key, Value::Array(distributed));
            }
            Some(existing) if existing.is_object() && value.is_object() => {
                first.insert(key, merge(existing, value)?);
            }
            Some(_) => {
                return Err(format!(
                    "the field {key:?} is matched twice in one rule; not supported"
                ))
            }
        }
    }
    Ok(Value::Object(first))
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_boolean;
#[cfg(test)]
mod tests_correlation;
#[cfg(test)]
mod tests_count;
