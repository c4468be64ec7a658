//! Incident severity, ordered so that `max()` picks the worst.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How urgently a person should look. Ordered: `Low < Medium < High < Critical`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Severity {
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub const ALL: [Severity; 4] = [Self::Critical, Self::High, Self::Medium, Self::Low];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Low => "LOW",
            Self::Medium => "MEDIUM",
            Self::High => "HIGH",
            Self::Critical => "CRITICAL",
        }
    }

    /// Numeric rank (1..=4) used to sort and filter in stores.
    pub fn rank(self) -> i64 {
        self as i64 + 1
    }

    /// One step worse, saturating at `Critical`.
    pub fn raised(self) -> Self {
        match self {
            Self::Low => Self::Medium,
            Self::Medium => Self::High,
            Self::High | Self::Critical => Self::Critical,
        }
    }

    /// Korean name as shown to Korean readers.
    pub fn label_ko(self) -> &'static str {
        match self {
            Self::Low => "낮음",
            Self::Medium => "보통",
            Self::High => "높음",
            Self::Critical => "심각",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The text was not one of CRITICAL, HIGH, MEDIUM, LOW (any case).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown severity {0:?}: expected CRITICAL, HIGH, MEDIUM or LOW")]
pub struct ParseSeverityError(pub String);

impl FromStr for Severity {
    type Err = ParseSeverityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        match text.trim().to_ascii_uppercase().as_str() {
            "LOW" | "INFO" => Ok(Self::Low),
            "MEDIUM" => Ok(Self::Medium),
            "HIGH" => Ok(Self::High),
            "CRITICAL" => Ok(Self::Critical),
            _ => Err(ParseSeverityError(text.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severities_order_from_low_to_critical() {
        assert!(Severity::Low < Severity::Medium);
        assert!(Severity::High < Severity::Critical);
        assert_eq!(
            [Severity::Medium, Severity::Critical, Severity::Low]
                .iter()
                .max(),
            Some(&Severity::Critical)
        );
    }

    #[test]
    fn severity_round_trips_through_text_and_json() {
        for severity in Severity::ALL {
            assert_eq!(severity.as_str().parse::<Severity>(), Ok(severity));
            let json = serde_json::to_string(&severity).unwrap();
            assert_eq!(json, format!("\"{}\"", severity.as_str()));
        }
        assert!("urgent".parse::<Severity>().is_err());
    }

    #[test]
    fn raising_saturates_at_critical() {
        assert_eq!(Severity::Low.raised(), Severity::Medium);
        assert_eq!(Severity::Critical.raised(), Severity::Critical);
    }
}
