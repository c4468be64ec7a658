//! Small JSON helpers for messages about input.

use serde_json::Value;

/// What kind of JSON value this is, as an error message names it ("a string", "an array").
pub fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}
