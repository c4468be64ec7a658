//! Pattern JSON → alternatives of field rules, with every rejection named by JSON path.

use super::condition::{Cidr, Comparison, Condition, Excluded, Literal};
use super::wildcard::Wildcard;
use super::FieldRule;
use iamwatch_core::json::kind_of;
use serde_json::{Map, Value};
use std::fmt;

/// `$or` combinations above this are refused: they would make matching slow for no real rule.
const MAX_ALTERNATIVES: usize = 4096;

/// An invalid pattern: where (`$.detail.eventName[0]`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    pub path: String,
    pub reason: String,
}

impl PatternError {
    pub fn new(path: &str, reason: impl Into<String>) -> Self {
        Self {
            path: path.to_string(),
            reason: reason.into(),
        }
    }
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for PatternError {}

const OPERATORS: &[&str] = &[
    "prefix",
    "suffix",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "numeric",
    "cidr",
    "exists",
];

pub fn compile(pattern: &Value) -> Result<Vec<Vec<FieldRule>>, PatternError> {
    match pattern {
        Value::Object(members) => compile_object(members, "", "$"),
        other => Err(PatternError::new(
            "$",
            format!("a pattern must be a JSON object, not {}", kind_of(other)),
        )),
    }
}

fn compile_object(
    members: &Map<String, Value>,
    prefix: &str,
    json_path: &str,
) -> Result<Vec<Vec<FieldRule>>, PatternError> {
    if members.is_empty() {
        return Err(PatternError::new(json_path, "empty object"));
    }
    let mut alternatives: Vec<Vec<FieldRule>> = vec![Vec::new()];
    for (key, value) in members {
        let member_path = format!("{json_path}.{key}");
        if key == "$or" {
            let branches = compile_or(value, prefix, &member_path)?;
            alternatives = product(alternatives, branches, &member_path)?;
            continue;
        }
        let field = if prefix.is_empty() {
            key.clone()
        } else {
            format!("{prefix}.{key}")
        };
        match value {
            Value::Object(inner) => {
                let inner_alternatives = compile_object(inner, &field, &member_path)?;
                alternatives = product(alternatives, inner_alternatives, &member_path)?;
            }
            Value::Array(elements) => {
                if elements.is_empty() {
                    return Err(PatternError::new(
                        &member_path,
                        "empty array: a field needs at least one condition",
                    ));
                }
                let conditions = elements
                    .iter()
                    .enumerate()
                    .map(|(index, element)| {
                        compile_condition(element, &format!("{member_path}[{index}]"))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                let rule = [FieldRule {
                    path: field.clone(),
                    conditions,
                }];
                for alternative in &mut alternatives {
                    *alternative = merge(alternative, &rule);
                }
            }
            other => {
                return Err(PatternError::new(
                    &member_path,
                    format!(
                        "must be an array of conditions or an object, not {}",
                        kind_of(other)
                    ),
                ))
            }
        }
    }
    Ok(alternatives)
}

fn compile_or(
    value: &Value,
    prefix: &str,
    json_path: &str,
) -> Result<Vec<Vec<FieldRule>>, PatternError> {
    let Value::Array(branches) = value else {
        return Err(PatternError::new(
            json_path,
            "$or must be an array of at least two objects",
        ));
    };
    if branches.len() < 2 {
        return Err(PatternError::new(
            json_path,
            "$or needs at least two branches",
        ));
    }
    let mut alternatives = Vec::new();
    for (index, branch) in branches.iter().enumerate() {
        let branch_path = format!("{json_path}[{index}]");
        let Value::Object(members) = branch else {
            return Err(PatternError::new(
                &branch_path,
                "each $or branch must be an object",
            ));
        };
        if let Some(operator) = members.keys().find(|key| OPERATORS.contains(&key.as_str())) {
            return Err(PatternError::new(
                &branch_path,
                format!("{operator:?} is an operator, not a field name"),
            ));
        }
        alternatives.extend(compile_object(members, prefix, &branch_path)?);
        if alternatives.len() > MAX_ALTERNATIVES {
            return Err(PatternError::new(json_path, "too many $or combinations"));
        }
    }
    Ok(alternatives)
}

/// Every combination of one alternative from each side (AND of two ORs).
fn product(
    left: Vec<Vec<FieldRule>>,
    right: Vec<Vec<FieldRule>>,
    json_path: &str,
) -> Result<Vec<Vec<FieldRule>>, PatternError> {
    if left.len() * right.len() > MAX_ALTERNATIVES {
        return Err(PatternError::new(json_path, "too many $or combinations"));
    }
    let mut combined = Vec::with_capacity(left.len() * right.len());
    for first in &left {
        for second in &right {
            combined.push(merge(first, second));
        }
    }
    Ok(combined)
}

/// `first` and then `second`; a field both name keeps `second`'s rule. Later keys override
/// earlier ones in AWS, and `$or` branches override the fields beside them.
fn merge(first: &[FieldRule], second: &[FieldRule]) -> Vec<FieldRule> {
    first
        .iter()
        .filter(|rule| !second.iter().any(|later| later.path == rule.path))
        .chain(second)
        .cloned()
        .collect()
}

/// Rules that can be satisfied by absence (`exists: false`) go last: absence is judged in the
/// array elements the other rules' matches chose.
pub fn order_for_matching(alternatives: &mut [Vec<FieldRule>]) {
    for rules in alternatives {
        rules.sort_by_key(|rule| rule.conditions.iter().any(Condition::is_absence));
    }
}

/// Numbers a double cannot hold (`1E309`, `1E-325`) are rejected, as EventBridge rejects them;
/// a parsed `f64` no longer shows that `1E-325` underflowed, so this reads the pattern text.
pub fn check_number_literals(text: &str) -> Result<(), PatternError> {
    let bytes = text.as_bytes();
    let mut position = 0;
    let mut in_string = false;
    while position < bytes.len() {
        let byte = bytes[position];
        if in_string {
            match byte {
                b'\\' => position += 1,
                b'"' => in_string = false,
                _ => {}
            }
            position += 1;
            continue;
        }
        if byte == b'"' {
            in_string = true;
            position += 1;
            continue;
        }
        if byte == b'-' || byte.is_ascii_digit() {
            let start = position;
            while position < bytes.len()
                && matches!(
                    bytes[position],
                    b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'
                )
            {
                position += 1;
            }
            let literal = &text[start..position];
            let mantissa = literal.split(['e', 'E']).next().unwrap_or("");
            let nonzero = mantissa.bytes().any(|digit| (b'1'..=b'9').contains(&digit));
            match literal.parse::<f64>() {
                Ok(value) if value.is_infinite() || (value == 0.0 && nonzero) => {
                    return Err(PatternError::new(
                        "$",
                        format!("{literal} cannot be represented as a double"),
                    ));
                }
                _ => {}
            }
            continue;
        }
        position += 1;
    }
    Ok(())
}

fn compile_condition(value: &Value, json_path: &str) -> Result<Condition, PatternError> {
    match value {
        Value::Object(members) => {
            let mut entries = members.iter();
            let (Some((operator, argument)), None) = (entries.next(), entries.next()) else {
                return Err(PatternError::new(
                    json_path,
                    "an operator object must have exactly one key",
                ));
            };
            compile_operator(operator, argument, &format!("{json_path}.{operator}"))
        }
        Value::Array(_) => Err(PatternError::new(
            json_path,
            "a condition cannot be an array",
        )),
        scalar => literal(scalar, json_path).map(Condition::Equals),
    }
}

fn literal(value: &Value, json_path: &str) -> Result<Literal, PatternError> {
    Ok(match value {
        Value::String(text) => Literal::Text(text.clone()),
        Value::Number(number) => Literal::Number(finite(number, json_path)?),
        Value::Bool(flag) => Literal::Bool(*flag),
        Value::Null => Literal::Null,
        other => {
            return Err(PatternError::new(
                json_path,
                format!("expected a value, not {}", kind_of(other)),
            ))
        }
    })
}

fn finite(number: &serde_json::Number, json_path: &str) -> Result<f64, PatternError> {
    number
        .as_f64()
        .filter(|value| value.is_finite())
        .ok_or_else(|| {
            PatternError::new(
                json_path,
                format!("{number} cannot be represented as a double"),
            )
        })
}

fn text<'v>(value: &'v Value, json_path: &str, operator: &str) -> Result<&'v str, PatternError> {
    value.as_str().ok_or_else(|| {
        PatternError::new(
            json_path,
            format!("{operator} takes a string, not {}", kind_of(value)),
        )
    })
}

fn compile_operator(
    operator: &str,
    argument: &Value,
    json_path: &str,
) -> Result<Condition, PatternError> {
    match operator {
        "prefix" | "suffix" => {
            let (text, ignore_case) = match argument {
                Value::Object(members)
                    if members.len() == 1 && members.contains_key("equals-ignore-case") =>
                {
                    (
                        text(
                            &members["equals-ignore-case"],
                            json_path,
                            "equals-ignore-case",
                        )?
                        .to_string(),
                        true,
                    )
                }
                other => (text(other, json_path, operator)?.to_string(), false),
            };
            Ok(if operator == "prefix" {
                Condition::Prefix { text, ignore_case }
            } else {
                Condition::Suffix { text, ignore_case }
            })
        }
        "equals-ignore-case" => Ok(Condition::EqualsIgnoreCase(
            text(argument, json_path, operator)?.to_lowercase(),
        )),
        "wildcard" => Wildcard::parse_checked(text(argument, json_path, operator)?)
            .map(Condition::Wildcard)
            .map_err(|reason| PatternError::new(json_path, reason)),
        "anything-but" => compile_anything_but(argument, json_path).map(Condition::AnythingBut),
        "numeric" => compile_numeric(argument, json_path).map(Condition::Numeric),
        "cidr" => Cidr::parse(text(argument, json_path, operator)?)
            .map(Condition::Cidr)
            .ok_or_else(|| PatternError::new(json_path, format!("{argument} is not a CIDR block"))),
        "exists" => match argument {
            Value::Bool(flag) => Ok(Condition::Exists(*flag)),
            other => Err(PatternError::new(
                json_path,
                format!("exists takes true or false, not {}", kind_of(other)),
            )),
        },
        other => Err(PatternError::new(
            json_path,
            format!("unknown operator {other:?}"),
        )),
    }
}

fn compile_anything_but(argument: &Value, json_path: &str) -> Result<Excluded, PatternError> {
    match argument {
        Value::String(_) | Value::Number(_) => {
            Ok(Excluded::Literals(vec![literal(argument, json_path)?]))
        }
        Value::Array(elements) => {
            if elements.is_empty() {
                return Err(PatternError::new(
                    json_path,
                    "anything-but needs at least one value",
                ));
            }
            let all_text = elements.iter().all(Value::is_string);
            let all_numbers = elements.iter().all(Value::is_number);
            if !all_text && !all_numbers {
                return Err(PatternError::new(
                    json_path,
                    "an anything-but list must be all strings or all numbers",
                ));
            }
            let literals = elements
                .iter()
                .map(|element| literal(element, json_path))
                .collect::<Result<_, _>>()?;
            Ok(Excluded::Literals(literals))
        }
        Value::Object(members) => {
            let mut entries = members.iter();
            let (Some((operator, inner)), None) = (entries.next(), entries.next()) else {
                return Err(PatternError::new(
                    json_path,
                    "anything-but takes one operator",
                ));
            };
            let inner_path = format!("{json_path}.{operator}");
            let texts = strings(inner, &inner_path, operator)?;
            match operator.as_str() {
                "prefix" | "suffix" => {
                    if texts.iter().any(String::is_empty) {
                        return Err(PatternError::new(
                            &inner_path,
                            format!("anything-but {operator} cannot be empty"),
                        ));
                    }
                    Ok(if operator == "prefix" {
                        Excluded::Prefixes(texts)
                    } else {
                        Excluded::Suffixes(texts)
                    })
                }
                "equals-ignore-case" => Ok(Excluded::IgnoringCase(
                    texts.iter().map(|text| text.to_lowercase()).collect(),
                )),
                "wildcard" => texts
                    .iter()
                    .map(|text| {
                        Wildcard::parse_checked(text)
                            .map_err(|reason| PatternError::new(&inner_path, reason))
                    })
                    .collect::<Result<_, _>>()
                    .map(Excluded::Wildcards),
                other => Err(PatternError::new(
                    &inner_path,
                    format!("anything-but does not take {other:?}"),
                )),
            }
        }
        other => Err(PatternError::new(
            json_path,
            format!(
                "anything-but takes a string, a number or a list, not {}",
                kind_of(other)
            ),
        )),
    }
}

/// A string or a non-empty list of strings.
fn strings(value: &Value, json_path: &str, operator: &str) -> Result<Vec<String>, PatternError> {
    match value {
        Value::String(text) => Ok(vec![text.clone()]),
        Value::Array(elements) if !elements.is_empty() => elements
            .iter()
            .map(|element| text(element, json_path, operator).map(str::to_string))
            .collect(),
        other => Err(PatternError::new(
            json_path,
            format!(
                "{operator} takes a string or a list of strings, not {}",
                kind_of(other)
            ),
        )),
    }
}

fn compile_numeric(
    argument: &Value,
    json_path: &str,
) -> Result<Vec<(Comparison, f64)>, PatternError> {
    let Value::Array(elements) = argument else {
        return Err(PatternError::new(
            json_path,
            "numeric takes a list of operator and number pairs",
        ));
    };
    if elements.is_empty() || elements.len() % 2 != 0 || elements.len() > 4 {
        return Err(PatternError::new(
            json_path,
            "numeric takes one or two operator and number pairs",
        ));
    }
    let mut bounds = Vec::new();
    for pair in elements.chunks(2) {
        let comparison = pair[0]
            .as_str()
            .and_then(Comparison::parse)
            .ok_or_else(|| {
                PatternError::new(json_path, format!("{} is not one of < <= = > >=", pair[0]))
            })?;
        let Value::Number(number) = &pair[1] else {
            return Err(PatternError::new(
                json_path,
                format!("{} is not a number", pair[1]),
            ));
        };
        bounds.push((comparison, finite(number, json_path)?));
    }
    if let [(lower, low), (upper, high)] = bounds[..] {
        let lower_ok = matches!(lower, Comparison::Greater | Comparison::GreaterOrEqual);
        let upper_ok = matches!(upper, Comparison::Less | Comparison::LessOrEqual);
        if !lower_ok || !upper_ok {
            return Err(PatternError::new(
                json_path,
                "a numeric range is a lower bound (> or >=) then an upper bound (< or <=)",
            ));
        }
        let both_inclusive =
            lower == Comparison::GreaterOrEqual && upper == Comparison::LessOrEqual;
        if low > high || (low == high && !both_inclusive) {
            return Err(PatternError::new(json_path, "the numeric range is empty"));
        }
    }
    Ok(bounds)
}
