//! Conditions on text: a regular expression over a value, a search in what a field holds as
//! JSON text. Sigma rules say both (`|re`, and `|contains` on an object such as
//! `requestParameters`), and no EventBridge pattern can.

use regex::{Regex, RegexBuilder};
use serde_json::Value;

/// Compiled programs past this size are refused: a rule file is not trusted to be small.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// A regular expression a value's text matches somewhere (unanchored, as Sigma's backends
/// search; `^…$` anchors it). The `regex` crate runs in time linear in the text, so a rule
/// cannot stall the pipeline on a hostile record.
#[derive(Clone, Debug)]
pub struct ValueRegex(Regex);

impl ValueRegex {
    /// # Errors
    /// The regex crate's reason (unsupported syntax such as look-around or back-references,
    /// or a program past the size limit).
    pub fn new(source: &str) -> Result<Self, String> {
        RegexBuilder::new(source)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map(Self)
            .map_err(|error| match error {
                regex::Error::Syntax(text) => text.lines().last().unwrap_or_default().to_string(),
                other => other.to_string(),
            })
    }

    /// Whether `value` matches: a text, a number or boolean as JSON writes it, or any such
    /// element of an array. Objects and `null` hold no text.
    pub fn matches(&self, value: &Value) -> bool {
        match value {
            Value::String(text) => self.0.is_match(text),
            Value::Number(number) => self.0.is_match(&number.to_string()),
            Value::Bool(flag) => self.0.is_match(if *flag { "true" } else { "false" }),
            Value::Array(items) => items.iter().any(|item| self.matches(item)),
            Value::Object(_) | Value::Null => false,
        }
    }
}

/// Texts searched for, without regard to ASCII case, in a value's JSON text and in every text
/// inside it: a policy document given as a JSON string is searched as its own JSON too, so that
/// `"s3:GetObject"` (quotes included) is found in `{"policyDocument": "{\"Action\": …}"}`.
#[derive(Clone, Debug)]
pub struct TextSearch {
    /// Lower-cased.
    needles: Vec<String>,
    /// Every needle must be found, not one.
    all: bool,
}

impl TextSearch {
    /// # Errors
    /// No values, or an empty one (found in everything: say `exists` instead).
    pub fn new(values: &[String], all: bool) -> Result<Self, String> {
        if values.is_empty() {
            return Err("values: none given".to_string());
        }
        if values.iter().any(String::is_empty) {
            return Err("values: an empty text is found in every field".to_string());
        }
        Ok(Self {
            needles: values
                .iter()
                .map(|value| value.to_ascii_lowercase())
                .collect(),
            all,
        })
    }

    /// Whether the search finds its texts in `value` (`false` for `null`: nothing is there).
    pub fn found_in(&self, value: &Value) -> bool {
        if value.is_null() {
            return false;
        }
        let mut haystacks = vec![value.to_string().to_ascii_lowercase()];
        collect_texts(value, &mut haystacks);
        let found = |needle: &String| haystacks.iter().any(|text| text.contains(needle.as_str()));
        if self.all {
            self.needles.iter().all(found)
        } else {
            self.needles.iter().any(found)
        }
    }
}

/// Every text inside `value`, lower-cased.
fn collect_texts(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::String(text) => into.push(text.to_ascii_lowercase()),
        Value::Array(items) => items.iter().for_each(|item| collect_texts(item, into)),
        Value::Object(members) => members.values().for_each(|item| collect_texts(item, into)),
        Value::Number(_) | Value::Bool(_) | Value::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::{TextSearch, ValueRegex};
    use serde_json::json;

    #[test]
    fn a_regex_searches_text_numbers_and_arrays_and_refuses_what_the_crate_cannot_run() {
        let assumed = ValueRegex::new(".+:assumed-role/aws:.+").unwrap();
        assert!(assumed.matches(&json!("arn:aws:sts::1:assumed-role/aws:ec2-instance/i-1")));
        assert!(!assumed.matches(&json!("arn:aws:sts::1:assumed-role/admin/alice")));
        assert!(assumed.matches(&json!(["x", "arn:aws:sts::1:assumed-role/aws:ssm/i-2"])));
        assert!(!assumed.matches(&json!({"arn": "arn:aws:sts::1:assumed-role/aws:ssm/i-2"})));
        assert!(!assumed.matches(&json!(null)));
        // Unanchored unless anchored.
        assert!(ValueRegex::new("ole/aws")
            .unwrap()
            .matches(&json!("role/aws")));
        assert!(!ValueRegex::new("^ole").unwrap().matches(&json!("role")));
        assert!(ValueRegex::new("^4\\d\\d$").unwrap().matches(&json!(403)));
        assert!(ValueRegex::new("^true$").unwrap().matches(&json!(true)));
        // Case-sensitive unless asked.
        assert!(!ValueRegex::new("admin").unwrap().matches(&json!("Admin")));
        assert!(ValueRegex::new("(?i)admin")
            .unwrap()
            .matches(&json!("Admin")));

        let refused = ValueRegex::new("(?<=a)b").unwrap_err();
        assert!(refused.contains("look-around"), "{refused}");
        assert!(ValueRegex::new("a{100000}{100000}").is_err());
    }

    #[test]
    fn a_search_finds_texts_in_an_objects_json_and_in_the_texts_inside_it() {
        let request = json!({
            "userName": "bob",
            "policyDocument": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":[\"s3:GetObject\"],\"Resource\":\"arn:aws:s3:::<YOUR-BUCKET-NAME>/*\"}]}",
            "VersioningConfiguration": {"Status": "Suspended"}
        });
        let search = |values: &[&str], all| {
            let values: Vec<String> = values.iter().map(|value| value.to_string()).collect();
            TextSearch::new(&values, all).unwrap().found_in(&request)
        };
        assert!(search(&["suspended"], false));
        assert!(search(&["\"Status\":\"Suspended\""], false));
        assert!(search(
            &[
                "\"arn:aws:s3:::<YOUR-BUCKET-NAME>/*\"",
                "\"s3:GetObject\"",
                "\"Allow\""
            ],
            true
        ));
        assert!(!search(&["\"s3:GetObject\"", "\"Deny\""], true));
        assert!(search(&["\"s3:GetObject\"", "\"Deny\""], false));
        assert!(!search(&["Enabled"], false));
        let nothing = TextSearch::new(&["x".to_string()], false).unwrap();
        assert!(!nothing.found_in(&json!(null)));
        assert!(TextSearch::new(&[], false).is_err());
        assert!(TextSearch::new(&[String::new()], false).is_err());
    }
}
