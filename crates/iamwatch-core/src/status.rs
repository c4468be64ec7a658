//! Incident lifecycle: NEW → ACKNOWLEDGED → RESOLVED / FALSE_POSITIVE.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum IncidentStatus {
    New,
    Acknowledged,
    Resolved,
    FalsePositive,
}

/// A status change the lifecycle does not allow.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("an incident cannot go from {from} to {to}")]
pub struct TransitionError {
    pub from: IncidentStatus,
    pub to: IncidentStatus,
}

impl IncidentStatus {
    pub const ALL: [IncidentStatus; 4] = [
        Self::New,
        Self::Acknowledged,
        Self::Resolved,
        Self::FalsePositive,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "NEW",
            Self::Acknowledged => "ACKNOWLEDGED",
            Self::Resolved => "RESOLVED",
            Self::FalsePositive => "FALSE_POSITIVE",
        }
    }

    pub fn is_closed(self) -> bool {
        matches!(self, Self::Resolved | Self::FalsePositive)
    }

    /// Checks a move in the lifecycle. An open incident may be acknowledged or closed (people
    /// often resolve straight from NEW); a closed one may only be reopened as ACKNOWLEDGED, so
    /// that reopening never looks like a fresh, untouched alert.
    ///
    /// # Errors
    /// [`TransitionError`] when the move is not allowed, including a move to the same status.
    pub fn transition(self, to: IncidentStatus) -> Result<IncidentStatus, TransitionError> {
        use IncidentStatus::*;
        let allowed = matches!(
            (self, to),
            (New, Acknowledged | Resolved | FalsePositive)
                | (Acknowledged, Resolved | FalsePositive)
                | (Resolved | FalsePositive, Acknowledged)
        );
        if allowed {
            Ok(to)
        } else {
            Err(TransitionError { from: self, to })
        }
    }
}

impl fmt::Display for IncidentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("unknown status {0:?}: expected NEW, ACKNOWLEDGED, RESOLVED or FALSE_POSITIVE")]
pub struct ParseStatusError(pub String);

impl FromStr for IncidentStatus {
    type Err = ParseStatusError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let upper = text.trim().to_ascii_uppercase().replace(['-', ' '], "_");
        match upper.as_str() {
            "NEW" => Ok(Self::New),
            "ACKNOWLEDGED" | "ACK" => Ok(Self::Acknowledged),
            "RESOLVED" => Ok(Self::Resolved),
            "FALSE_POSITIVE" | "FP" => Ok(Self::FalsePositive),
            _ => Err(ParseStatusError(text.to_string())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::IncidentStatus::*;
    use super::*;

    #[test]
    fn new_incident_can_be_acknowledged_then_resolved() {
        let acked = New.transition(Acknowledged).unwrap();
        assert_eq!(acked.transition(Resolved), Ok(Resolved));
    }

    #[test]
    fn closed_incident_reopens_only_as_acknowledged() {
        assert_eq!(Resolved.transition(Acknowledged), Ok(Acknowledged));
        assert!(Resolved.transition(New).is_err());
        assert!(FalsePositive.transition(Resolved).is_err());
    }

    #[test]
    fn no_status_transitions_to_itself_or_back_to_new() {
        for status in IncidentStatus::ALL {
            assert!(status.transition(status).is_err());
            assert!(status.transition(New).is_err());
        }
    }

    #[test]
    fn status_parses_and_serialises_in_screaming_case() {
        assert_eq!(
            "false-positive".parse::<IncidentStatus>(),
            Ok(FalsePositive)
        );
        assert_eq!(
            serde_json::to_string(&FalsePositive).unwrap(),
            "\"FALSE_POSITIVE\""
        );
        assert!("done".parse::<IncidentStatus>().is_err());
    }
}
