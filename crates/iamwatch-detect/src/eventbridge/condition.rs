//! One leaf condition and how it matches a value.

use super::wildcard::Wildcard;
use serde_json::Value;
use std::net::IpAddr;

#[derive(Clone, Debug, PartialEq)]
pub enum Literal {
    Text(String),
    Number(f64),
    Bool(bool),
    Null,
}

impl Literal {
    /// Same type and equal (numbers numerically: `300` equals `300.0`).
    pub fn equals(&self, value: &Value) -> bool {
        match (self, value) {
            (Self::Text(text), Value::String(other)) => text == other,
            (Self::Number(number), Value::Number(other)) => other.as_f64() == Some(*number),
            (Self::Bool(flag), Value::Bool(other)) => flag == other,
            (Self::Null, Value::Null) => true,
            _ => false,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    Less,
    LessOrEqual,
    Equal,
    Greater,
    GreaterOrEqual,
}

impl Comparison {
    pub fn parse(text: &str) -> Option<Self> {
        Some(match text {
            "<" => Self::Less,
            "<=" => Self::LessOrEqual,
            "=" => Self::Equal,
            ">" => Self::Greater,
            ">=" => Self::GreaterOrEqual,
            _ => return None,
        })
    }

    fn holds(self, value: f64, bound: f64) -> bool {
        match self {
            Self::Less => value < bound,
            Self::LessOrEqual => value <= bound,
            Self::Equal => value == bound,
            Self::Greater => value > bound,
            Self::GreaterOrEqual => value >= bound,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Option<Self> {
        let (address, prefix) = text.split_once('/')?;
        let network: IpAddr = address.parse().ok()?;
        let prefix: u8 = prefix.parse().ok()?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        (prefix <= max).then_some(Self { network, prefix })
    }

    fn contains(&self, text: &str) -> bool {
        let Ok(address) = text.parse::<IpAddr>() else {
            return false;
        };
        match (self.network, address) {
            (IpAddr::V4(network), IpAddr::V4(address)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(network) & mask == u32::from(address) & mask
            }
            (IpAddr::V6(network), IpAddr::V6(address)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(network) & mask == u128::from(address) & mask
            }
            _ => false,
        }
    }
}

/// What anything-but excludes.
#[derive(Clone, Debug, PartialEq)]
pub enum Excluded {
    Literals(Vec<Literal>),
    Prefixes(Vec<String>),
    Suffixes(Vec<String>),
    /// Lower-cased.
    IgnoringCase(Vec<String>),
    Wildcards(Vec<Wildcard>),
}

#[derive(Clone, Debug, PartialEq)]
pub enum Condition {
    Equals(Literal),
    Prefix {
        text: String,
        ignore_case: bool,
    },
    Suffix {
        text: String,
        ignore_case: bool,
    },
    /// Lower-cased.
    EqualsIgnoreCase(String),
    Wildcard(Wildcard),
    AnythingBut(Excluded),
    Numeric(Vec<(Comparison, f64)>),
    Cidr(Cidr),
    Exists(bool),
}

impl Condition {
    /// `exists: false`, which is satisfied by the absence of a value.
    pub fn is_absence(&self) -> bool {
        matches!(self, Self::Exists(false))
    }

    /// Whether a value present at the path satisfies the condition.
    pub fn matches(&self, value: &Value) -> bool {
        match self {
            Self::Equals(literal) => literal.equals(value),
            Self::Prefix { text, ignore_case } => value.as_str().is_some_and(|candidate| {
                if *ignore_case {
                    lower(candidate).starts_with(&lower(text))
                } else {
                    candidate.starts_with(text.as_str())
                }
            }),
            Self::Suffix { text, ignore_case } => value.as_str().is_some_and(|candidate| {
                if *ignore_case {
                    lower(candidate).ends_with(&lower(text))
                } else {
                    candidate.ends_with(text.as_str())
                }
            }),
            Self::EqualsIgnoreCase(text) => value
                .as_str()
                .is_some_and(|candidate| lower(candidate) == *text),
            Self::Wildcard(wildcard) => value
                .as_str()
                .is_some_and(|candidate| wildcard.matches(candidate)),
            Self::AnythingBut(excluded) => !is_excluded(excluded, value),
            Self::Numeric(bounds) => {
                value
                    .as_f64()
                    .filter(|_| value.is_number())
                    .is_some_and(|number| {
                        bounds
                            .iter()
                            .all(|(comparison, bound)| comparison.holds(number, *bound))
                    })
            }
            Self::Cidr(cidr) => value
                .as_str()
                .is_some_and(|candidate| cidr.contains(candidate)),
            // A value is present, so exists:true holds and exists:false does not.
            Self::Exists(wanted) => *wanted,
        }
    }
}

/// anything-but excludes only values of its own kind: a `null`, or a number against a string
/// form, is never excluded.
fn is_excluded(excluded: &Excluded, value: &Value) -> bool {
    match excluded {
        Excluded::Literals(literals) => literals.iter().any(|literal| literal.equals(value)),
        Excluded::Prefixes(prefixes) => value.as_str().is_some_and(|text| {
            prefixes
                .iter()
                .any(|prefix| text.starts_with(prefix.as_str()))
        }),
        Excluded::Suffixes(suffixes) => value.as_str().is_some_and(|text| {
            suffixes
                .iter()
                .any(|suffix| text.ends_with(suffix.as_str()))
        }),
        Excluded::IgnoringCase(texts) => value
            .as_str()
            .is_some_and(|text| texts.contains(&lower(text))),
        Excluded::Wildcards(wildcards) => value
            .as_str()
            .is_some_and(|text| wildcards.iter().any(|wildcard| wildcard.matches(text))),
    }
}

fn lower(text: &str) -> String {
    text.to_lowercase()
}
