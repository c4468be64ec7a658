//! Sigma values with the `?` wildcard (any one character), which EventBridge's `wildcard` has
//! not: a field holding one is tested by a regular expression instead, every value of the field
//! translated so that each keeps its meaning (`*` any run, `?` one character, `\*` `\?` `\\`
//! themselves).

use serde_json::Value;

/// Whether a Sigma value needs the translation: it holds `?`, a wildcard or, escaped (`\?`), a
/// question mark a pattern would read with its backslash.
pub(super) fn has_question_mark(value: &Value) -> bool {
    matches!(value, Value::String(text) if text.contains('?'))
}

/// The regular expression (for [`ValueRegex`](crate::rules::conditions::ValueRegex)) matching
/// what `value` matches under the modifier `kind` (`""`, `contains`, `startswith`,
/// `endswith`). As elsewhere in Sigma rules here, a value with wildcards compares
/// case-sensitively (EventBridge's `wildcard` does), one without ignores case unless `exact`.
pub(super) fn regex_of(kind: &str, value: &Value, exact: bool) -> Result<String, String> {
    let text = match value {
        Value::String(text) => text.clone(),
        Value::Number(number) => number.to_string(),
        Value::Bool(flag) => flag.to_string(),
        other => {
            return Err(format!(
                "the value {other} cannot be tested beside a `?` wildcard"
            ))
        }
    };
    let (body, wildcard) = translate(&text);
    let (start, end) = match kind {
        "" => ("^", "$"),
        "contains" => ("", ""),
        "startswith" => ("^", ""),
        "endswith" => ("", "$"),
        other => return Err(format!("the `?` wildcard with |{other} is not supported")),
    };
    // `s`: a value's text may hold line breaks, which `*` and `?` match as Sigma's do.
    let flags = if wildcard || exact { "s" } else { "is" };
    Ok(format!("(?{flags}:{start}{body}{end})"))
}

/// The text as a regular expression's body, and whether it held a wildcard.
fn translate(text: &str) -> (String, bool) {
    let mut body = String::new();
    let mut wildcard = false;
    let mut characters = text.chars();
    while let Some(character) = characters.next() {
        match character {
            '*' => {
                wildcard = true;
                body.push_str(".*");
            }
            '?' => {
                wildcard = true;
                body.push('.');
            }
            '\\' => match characters.next() {
                Some(escaped @ ('*' | '?' | '\\')) => {
                    body.push_str(&regex::escape(&escaped.to_string()))
                }
                // A lone backslash is itself, as Sigma reads it.
                Some(other) => {
                    body.push_str(&regex::escape("\\"));
                    body.push_str(&regex::escape(&other.to_string()));
                }
                None => body.push_str(&regex::escape("\\")),
            },
            other => body.push_str(&regex::escape(&other.to_string())),
        }
    }
    (body, wildcard)
}

#[cfg(test)]
mod tests {
    use super::{has_question_mark, regex_of};
    use crate::rules::conditions::ValueRegex;
    use serde_json::{json, Value};

    fn matches(kind: &str, value: Value, exact: bool, text: &str) -> bool {
        ValueRegex::new(&regex_of(kind, &value, exact).unwrap())
            .unwrap()
            .matches(&json!(text))
    }

    #[test]
    fn values_keep_their_meaning_as_regular_expressions() {
        assert!(has_question_mark(&json!("Create?ser")));
        assert!(has_question_mark(&json!(r"why\?")));
        assert!(!has_question_mark(&json!("Create*")));
        assert!(!has_question_mark(&json!(1)));

        assert!(matches("", json!("Create?ser"), true, "CreateUser"));
        assert!(!matches("", json!("Create?ser"), true, "CreateUsers"));
        assert!(!matches("", json!("Create?ser"), true, "createuser"));
        assert!(matches("contains", json!("a?c"), false, "xxabcxx"));
        assert!(matches(
            "startswith",
            json!("arn:aws:iam::?"),
            false,
            "arn:aws:iam::1:user/x"
        ));
        assert!(!matches(
            "startswith",
            json!("arn:aws:iam::?"),
            false,
            "x-arn:aws:iam::1"
        ));
        assert!(matches("endswith", json!("?.exe"), false, "a.exe"));
        assert!(!matches("endswith", json!("?.exe"), false, "a.exe.txt"));
        // Plain values beside it ignore case, unless the field is written in one case.
        assert!(matches("", json!("Admin"), false, "ADMIN"));
        assert!(!matches("", json!("Admin"), true, "ADMIN"));
        assert!(matches("", json!(403), false, "403"));
        // Escapes and the regex syntax in a value are literal.
        assert!(matches("", json!(r"why\?"), false, "why?"));
        assert!(matches("", json!(r"why\?"), false, "WHY?"));
        assert!(!matches("", json!(r"why\?"), false, "whyx"));
        assert!(matches("", json!("a.b(c)+?"), false, "a.b(c)+!"));
        assert!(!matches("", json!("a.b(c)+?"), false, "aXb(c)+!"));
        assert!(regex_of("", &json!(null), false).is_err());
    }
}
