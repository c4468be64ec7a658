//! What names and describes a rule made of a Sigma document, a rule or a correlation alike.

use super::{attack_tags, severity, text_at};
use crate::rules::file::{ConditionSpec, RuleFile, SeveritySpec, ThresholdSpec};
use iamwatch_core::{Localized, Severity};
use serde_json::Value;

pub(super) struct Heading {
    /// `sigma.<name>`, the file's stem standing for a missing `name`.
    pub id: String,
    pub title: Localized,
    /// The document's description, with what it is (`kind`) and its `id` after it.
    pub description: Localized,
    pub severity: Severity,
    pub tags: Vec<String>,
    pub enabled: bool,
}

impl Heading {
    /// The rule so headed: `pattern` (on the EventBridge-shaped event) and the checks beside it.
    pub fn rule(
        self,
        pattern: Value,
        conditions: Vec<ConditionSpec>,
        dedup: Option<String>,
        threshold: Option<ThresholdSpec>,
    ) -> RuleFile {
        RuleFile {
            id: self.id,
            title: self.title,
            description: self.description,
            severity: SeveritySpec::Fixed(self.severity),
            pattern,
            conditions,
            tags: self.tags,
            runbook: None,
            dedup,
            threshold,
            enabled: self.enabled,
            tests: Vec::new(),
        }
    }
}

/// The heading of `document`, a Sigma `kind` ("rule", "correlation") in a file named `stem`.
pub(super) fn heading(document: &Value, stem: &str, kind: &str) -> Result<Heading, String> {
    let text = |key: &str| text_at(document, key);
    let title = text("title");
    if title.is_empty() {
        return Err(format!("the {kind} has no title"));
    }
    let name = match text("name") {
        "" => stem,
        name => name,
    };
    let uuid = text("id");
    let description = format!(
        "{} (Sigma {kind}{}{})",
        text("description").trim(),
        if uuid.is_empty() { "" } else { " " },
        uuid
    );
    Ok(Heading {
        id: format!("sigma.{name}"),
        title: Localized::new(title, title),
        description: Localized::new(description.clone(), description),
        severity: severity(text("level"))?,
        tags: attack_tags(&document["tags"]),
        enabled: text("status") != "deprecated",
    })
}
