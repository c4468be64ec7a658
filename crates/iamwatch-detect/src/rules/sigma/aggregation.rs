//! Sigma's counting aggregation: `selection | count() > 10`, `| count() by sourceIPAddress >= 5`,
//! with the detection's `timeframe`: a rule that raises once that many of its events fall
//! within the timeframe (per value of the `by` field); `count(field)` counts the field's
//! different values instead. What cannot be decided as events come is refused with the reason.

use crate::rules::file::ThresholdSpec;
use serde_json::Value;

/// `| count() [by field] > n` or `>= n`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Count {
    /// The field the events are counted per.
    pub by: Option<String>,
    /// `count(field)`: the field whose different values are counted, not events.
    pub distinct: Option<String>,
    /// How many events make the rule raise (`> 10` is 11).
    pub events: u32,
}

/// Parses what follows the `|` of a condition.
pub(super) fn parse(text: &str) -> Result<Count, String> {
    let refuse = |why: &str| Err(format!("aggregation {:?}: {why}", text.trim()));
    let Some(rest) = text.trim().strip_prefix("count(") else {
        return refuse(
            "only count() is supported (near, min, max, sum and avg are not: they correlate or measure, not count)",
        );
    };
    let Some((field, rest)) = rest.split_once(')') else {
        return refuse("count( is not closed");
    };
    let distinct = match field.trim() {
        "" => None,
        field if field.contains([',', ' ']) => return refuse("count( ) takes one field"),
        field => Some(field.to_string()),
    };
    let mut words = rest.split_whitespace().peekable();
    let by = if words.peek() == Some(&"by") {
        words.next();
        match words.next() {
            Some(field) if !field.contains(',') && !is_operator(field) => Some(field.to_string()),
            _ => return refuse("by needs one field"),
        }
    } else {
        None
    };
    let (Some(operator), Some(number), None) = (words.next(), words.next(), words.next()) else {
        return refuse("write count() [by field] > n or >= n");
    };
    let Ok(number) = number.parse::<u32>() else {
        return refuse("the count must be a whole number");
    };
    let events = match operator {
        ">" => number.checked_add(1),
        ">=" => Some(number.max(1)),
        "<" | "<=" | "=" | "==" | "!=" => {
            return refuse(
                "only > and >= can be decided as events come (a count under a number is known only when the timeframe ends)",
            )
        }
        _ => return refuse("write count() [by field] > n or >= n"),
    };
    match events {
        Some(events) => Ok(Count {
            by,
            events,
            distinct,
        }),
        None => refuse("the count is too large"),
    }
}

/// The rule's threshold and the dedup key it is counted per, from its count (if any) and its
/// `timeframe`.
pub(super) fn threshold(
    count: Option<Count>,
    timeframe: Option<&Value>,
) -> Result<(Option<ThresholdSpec>, Option<String>), String> {
    let window = match (&count, timeframe) {
        (Some(_), Some(Value::String(timeframe))) => {
            iamwatch_core::threshold::parse_window(timeframe)
                .map_err(|error| format!("timeframe: {error}"))?;
            timeframe.clone()
        }
        (Some(_), Some(_)) => return Err("timeframe: not a span such as 10m".to_string()),
        (Some(_), None) => return Err("a count needs a timeframe (10m, 1h)".to_string()),
        (None, Some(_)) => {
            return Err(
                "timeframe without a count (`| count() > n`): correlating different events is not supported; see the correlate.* rules"
                    .to_string(),
            )
        }
        (None, None) => return Ok((None, None)),
    };
    let Some(Count {
        by,
        events,
        distinct,
    }) = count
    else {
        return Ok((None, None));
    };
    let dedup = by.map(|field| format!("{{detail.{field}}}"));
    let distinct = distinct.map(|field| format!("detail.{field}"));
    Ok((
        Some(ThresholdSpec {
            events,
            window,
            distinct,
            steps: Vec::new(),
        }),
        dedup,
    ))
}

fn is_operator(word: &str) -> bool {
    word.starts_with(['<', '>', '=', '!'])
}

#[cfg(test)]
mod tests {
    use super::{parse, Count};

    #[test]
    fn counts_with_and_without_a_field_to_count_by() {
        assert_eq!(
            parse(" count() > 10"),
            Ok(Count {
                by: None,
                events: 11,
                distinct: None
            })
        );
        assert_eq!(
            parse("count() by sourceIPAddress >= 5"),
            Ok(Count {
                by: Some("sourceIPAddress".to_string()),
                events: 5,
                distinct: None
            })
        );
        assert_eq!(
            parse("count(userIdentity.userName) by sourceIPAddress > 9"),
            Ok(Count {
                by: Some("sourceIPAddress".to_string()),
                events: 10,
                distinct: Some("userIdentity.userName".to_string())
            })
        );
        assert_eq!(parse("count() >= 0").map(|count| count.events), Ok(1));
        assert_eq!(parse("count() > 0").map(|count| count.events), Ok(1));
    }

    #[test]
    fn what_cannot_be_decided_as_events_come_is_refused_with_the_reason() {
        let reason = |text: &str| parse(text).unwrap_err();
        assert!(reason("near selection2").contains("only count()"));
        assert!(reason("max(x) > 3").contains("only count()"));
        assert!(reason("count(a, b) > 3").contains("one field"));
        assert!(reason("count() < 3").contains("only > and >="));
        assert!(reason("count() = 3").contains("only > and >="));
        assert!(reason("count() by > 3").contains("one field"));
        assert!(reason("count() by a,b > 3").contains("one field"));
        assert!(reason("count() > many").contains("whole number"));
        assert!(reason("count() > 3 4").contains("write count()"));
        assert!(reason("count() 3").contains("write count()"));
        assert!(reason("count() > 4294967295").contains("too large"));
        assert!(reason("count(").contains("not closed"));
    }
}
