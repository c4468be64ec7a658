//! One compiled rule.

use super::conditions::Condition;
use super::file::{RuleFile, RuleTest, SeveritySpec};
use super::shape::{eventbridge_event, lookup};
use super::steps::{self, Step};
use crate::eventbridge::{EventPattern, FlatEvent, PatternError};
use iamwatch_core::{Localized, Runbook, Severity, Threshold};
use serde_json::Value;
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Rule {
    pub id: String,
    pub title: Localized,
    pub description: Localized,
    pub severity: Severity,
    severity_when: Vec<(When, Severity)>,
    pub pattern: EventPattern,
    /// `pattern` restricted to the head fields ([`super::shape::HEAD_PATHS`]).
    head_pattern: EventPattern,
    /// `head_pattern` restricted to the head fields whose values repeat across records: a
    /// necessary condition, decided once per combination of those values.
    repeating_head_pattern: EventPattern,
    /// Exclusion conditions that read head fields only: one matching the head rules the
    /// event out before anything is parsed.
    head_exclusions: Vec<EventPattern>,
    conditions: Vec<Condition>,
    /// Every path the conditions (the severity's included) read, gathered once: the rule's
    /// paths are asked for every event it is a candidate for.
    condition_paths: Vec<String>,
    pub tags: Vec<String>,
    pub runbook: Option<Arc<Runbook>>,
    pub dedup: Option<String>,
    /// Raise only past a count of matching events ([`Threshold`]), per dedup key.
    pub threshold: Option<Threshold>,
    /// With a threshold: the path whose different values are counted, not events.
    pub distinct: Option<String>,
    /// With a threshold: its steps, each of which must be seen within the window (instead of
    /// a count of events or values). An event of the rule matches one of them.
    pub steps: Vec<Step>,
    pub enabled: bool,
    pub tests: Vec<RuleTest>,
    /// Where the rule came from (`builtin:cloudtrail.yml`, a file path).
    pub origin: String,
}

#[derive(Clone, Debug)]
enum When {
    Pattern(EventPattern),
    Condition(Condition),
}

/// A value counted as different from others by its text; `null` is no value.
fn value_text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(text) => Some(text.clone()),
        other => Some(other.to_string()),
    }
}

/// The `{path}` placeholders of a dedup template.
fn placeholders(template: &str) -> impl Iterator<Item = &str> {
    template
        .split('{')
        .skip(1)
        .filter_map(|piece| piece.split_once('}').map(|(path, _)| path))
}

fn note(problems: &mut Vec<String>, place: &str, error: PatternError) {
    problems.push(format!("{place}: {error}"));
}

/// An inline test whose outcome differs from what it expects.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestFailure {
    pub rule_id: String,
    pub test: String,
    pub reason: String,
}

impl Rule {
    /// Compiles a rule file. Every problem in it is reported, each with its place.
    ///
    /// # Errors
    /// The list of problems (`pattern: $.detail.eventName[0]: …`).
    pub fn compile(file: RuleFile, origin: &str) -> Result<Self, Vec<String>> {
        let mut problems = Vec::new();
        let pattern = EventPattern::from_value(&file.pattern)
            .map_err(|error| note(&mut problems, "pattern", error))
            .ok();
        let mut conditions = Vec::new();
        for (index, spec) in file.conditions.iter().enumerate() {
            match Condition::compile(spec) {
                Ok(condition) => conditions.push(condition),
                Err(error) => note(&mut problems, &format!("conditions[{index}]"), error),
            }
        }
        let (severity, mut severity_when) = match &file.severity {
            SeveritySpec::Fixed(severity) => (*severity, Vec::new()),
            SeveritySpec::Conditional { default, when } => {
                let mut compiled = Vec::new();
                for (index, entry) in when.iter().enumerate() {
                    let place = format!("severity.when[{index}]");
                    match (&entry.pattern, &entry.condition) {
                        (Some(pattern), None) => match EventPattern::from_value(pattern) {
                            Ok(pattern) => compiled.push((When::Pattern(pattern), entry.severity)),
                            Err(error) => note(&mut problems, &place, error),
                        },
                        (None, Some(spec)) => match Condition::compile(spec) {
                            Ok(condition) => {
                                compiled.push((When::Condition(condition), entry.severity))
                            }
                            Err(error) => note(&mut problems, &place, error),
                        },
                        _ => {
                            problems.push(format!("{place}: give either a pattern or a condition"))
                        }
                    }
                }
                (*default, compiled)
            }
        };
        if file.id.trim().is_empty() {
            problems.push("id: empty".to_string());
        }
        let steps = file.threshold.as_ref().map_or_else(Vec::new, |spec| {
            if !spec.steps.is_empty() && spec.distinct.is_some() {
                problems.push("threshold: either distinct or steps, not both".to_string());
            }
            steps::compile(&spec.steps, spec.events, &mut problems)
        });
        let threshold = file.threshold.as_ref().and_then(|spec| {
            let window_ms = iamwatch_core::threshold::parse_window(&spec.window)
                .map_err(|error| problems.push(format!("threshold.window: {error}")))
                .ok()?;
            // Every step, unless `events` asks for fewer different ones.
            let events = if spec.steps.is_empty() || spec.events != 0 {
                spec.events
            } else {
                u32::try_from(spec.steps.len()).unwrap_or(u32::MAX)
            };
            if events == 0 {
                problems.push("threshold.events: at least 1".to_string());
                return None;
            }
            Some(Threshold { events, window_ms })
        });
        let mut condition_paths = condition_paths(&conditions, &severity_when);
        if !steps.is_empty() {
            condition_paths.extend(steps.iter().flat_map(Step::paths));
            condition_paths.sort_unstable();
            condition_paths.dedup();
        }
        match pattern {
            Some(pattern) if problems.is_empty() => Ok(Self {
                id: file.id,
                title: file.title,
                description: file.description,
                severity,
                severity_when: std::mem::take(&mut severity_when),
                head_pattern: pattern.restricted_to(super::shape::HEAD_PATHS),
                repeating_head_pattern: pattern.restricted_to(super::shape::REPEATING_HEAD_PATHS),
                head_exclusions: conditions
                    .iter()
                    .filter_map(Condition::pattern)
                    .filter(|exclusion| {
                        exclusion
                            .paths()
                            .all(|path| super::shape::HEAD_PATHS.contains(&path))
                    })
                    .cloned()
                    .collect(),
                pattern,
                conditions,
                condition_paths,
                tags: file.tags,
                runbook: file.runbook.map(Arc::new),
                dedup: file.dedup,
                threshold,
                distinct: file.threshold.and_then(|spec| spec.distinct),
                steps,
                enabled: file.enabled,
                tests: file.tests,
                origin: origin.to_string(),
            }),
            _ => Err(problems),
        }
    }

    /// The rule's severity for an event, or `None` when it does not match. `flat` holds the
    /// event's leaves at the rule's [`paths`](Self::paths); `whole` is the EventBridge-shaped
    /// event, needed when the rule [`needs_whole_event`](Self::needs_whole_event).
    pub fn evaluate(&self, whole: Option<&Value>, flat: &FlatEvent<'_, '_>) -> Option<Severity> {
        if !self.pattern.matches_flattened(flat) {
            return None;
        }
        if !self
            .conditions
            .iter()
            .all(|condition| condition.holds_on(whole, flat))
        {
            return None;
        }
        if !self.steps.is_empty() && steps::step_of(&self.steps, whole, flat).is_none() {
            return None;
        }
        let chosen = self.severity_when.iter().find(|(when, _)| match when {
            When::Pattern(pattern) => pattern.matches_flattened(flat),
            When::Condition(condition) => condition.holds_on(whole, flat),
        });
        Some(chosen.map_or(self.severity, |(_, severity)| *severity))
    }

    /// Whether the rule reads more than leaves (a condition on whole objects).
    pub fn needs_whole_event(&self) -> bool {
        self.conditions
            .iter()
            .chain(self.steps.iter().flat_map(Step::conditions))
            .any(Condition::needs_whole_event)
            || self
                .severity_when
                .iter()
                .any(|(when, _)| matches!(when, When::Condition(condition) if condition.needs_whole_event()))
    }

    /// Whether the leaves answer every condition that otherwise needs the whole event.
    pub fn decidable_on_leaves(&self, flat: &FlatEvent<'_, '_>) -> bool {
        let decidable = |condition: &Condition| {
            !condition.needs_whole_event() || condition.holds_on_leaves(flat).is_some()
        };
        self.conditions
            .iter()
            .chain(self.steps.iter().flat_map(Step::conditions))
            .all(decidable)
            && self.severity_when.iter().all(|(when, _)| match when {
                When::Pattern(_) => true,
                When::Condition(condition) => decidable(condition),
            })
    }

    /// The head paths the rule's head check reads.
    pub fn head_paths(&self) -> impl Iterator<Item = &str> {
        self.head_pattern
            .paths()
            .chain(self.head_exclusions.iter().flat_map(EventPattern::paths))
    }

    /// False when the event's head fields alone rule a match out.
    pub fn may_match_head(&self, head: &FlatEvent<'_, '_>) -> bool {
        self.head_pattern.matches_flattened(head)
            && !self
                .head_exclusions
                .iter()
                .any(|exclusion| exclusion.matches_flattened(head))
    }

    /// Whether the head check reads a field that differs from record to record (user agent,
    /// source address), so that it cannot be decided once per combination of the others.
    pub fn head_reads_per_record(&self) -> bool {
        self.head_paths()
            .any(|path| !super::shape::REPEATING_HEAD_PATHS.contains(&path))
    }

    /// False when the head fields that repeat across records already rule a match out.
    pub fn may_match_repeating_head(&self, head: &FlatEvent<'_, '_>) -> bool {
        self.repeating_head_pattern.matches_flattened(head)
    }

    /// Whether the rule's main pattern matches these leaves (its conditions aside).
    pub fn pattern_matches(&self, flat: &FlatEvent<'_, '_>) -> bool {
        self.pattern.matches_flattened(flat)
    }

    /// Every event path the rule's patterns and its dedup key look at.
    pub fn paths(&self) -> impl Iterator<Item = &str> {
        self.pattern
            .paths()
            .chain(self.condition_paths.iter().map(String::as_str))
            .chain(
                self.dedup
                    .iter()
                    .flat_map(|template| placeholders(template)),
            )
            .chain(self.distinct.as_deref())
    }

    /// For a rule counting different values: the event's value, its first leaf at the path
    /// (`None` when the event has none there, or the rule counts events); for a rule of steps,
    /// the name of the step the event matches. `flat` holds the event's leaves at the rule's
    /// paths, `whole` the event when it was parsed (as for [`Self::evaluate`]): both ways give
    /// the same value.
    pub fn distinct_value(
        &self,
        whole: Option<&Value>,
        flat: &FlatEvent<'_, '_>,
    ) -> Option<String> {
        if !self.steps.is_empty() {
            return steps::step_of(&self.steps, whole, flat).map(str::to_string);
        }
        value_text(flat.first(self.distinct.as_deref()?)?)
    }

    /// For a rule counting different values: the field as people read it
    /// (`requestParameters.secretId`), and whether its values are the rule's steps (`step`).
    /// `None` for a rule counting events.
    pub fn counted_field(&self) -> Option<(&str, bool)> {
        if !self.steps.is_empty() {
            return Some(("step", true));
        }
        let path = self.distinct.as_deref()?;
        Some((path.strip_prefix("detail.").unwrap_or(path), false))
    }

    /// Whether the rule is about a call's failure (its patterns or conditions read the error):
    /// its title then says what failed, and needs no "Failed attempt" before it.
    pub fn reads_the_error(&self) -> bool {
        self.pattern
            .paths()
            .chain(self.condition_paths.iter().map(String::as_str))
            .any(|path| {
                path.starts_with("detail.errorCode") || path.starts_with("detail.errorMessage")
            })
    }

    /// Forces a severity (a configuration override).
    pub fn override_severity(&mut self, severity: Severity) {
        self.severity = severity;
        self.severity_when.clear();
    }

    /// The dedup key with its `{path}` placeholders filled in from the event's leaves.
    pub fn dedup_key_from(&self, flat: &FlatEvent<'_, '_>) -> Option<String> {
        let template = self.dedup.as_ref()?;
        let mut key = template.clone();
        for path in placeholders(template) {
            let value = match flat.first(path) {
                Some(Value::String(text)) => text.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            key = key.replace(&format!("{{{path}}}"), &value);
        }
        Some(key)
    }

    /// The dedup key with its `{path}` placeholders filled in from the event.
    pub fn dedup_key(&self, event: &Value) -> Option<String> {
        let template = self.dedup.as_ref()?;
        let mut key = String::new();
        let mut rest = template.as_str();
        while let Some(open) = rest.find('{') {
            key.push_str(&rest[..open]);
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            let path = &rest[open + 1..open + close];
            match lookup(event, path) {
                Some(Value::String(text)) => key.push_str(text),
                Some(other) => key.push_str(&other.to_string()),
                None => {}
            }
            rest = &rest[open + close + 1..];
        }
        key.push_str(rest);
        Some(key)
    }

    /// What a good rule has beyond loading: texts in both languages, a test that should match
    /// and one that should not, a pattern the index can use, and ATT&CK ids as tags.
    pub fn lint(&self) -> Vec<String> {
        let mut problems = Vec::new();
        let has_hangul = |text: &str| {
            text.chars()
                .any(|character| ('가'..='힣').contains(&character))
        };
        if self.title.en.trim().is_empty() || self.description.en.trim().is_empty() {
            problems.push("title and description need English text".to_string());
        }
        if !has_hangul(&self.title.ko) || !has_hangul(&self.description.ko) {
            problems.push("title and description need Korean text".to_string());
        }
        if !self.tests.iter().any(|test| test.expect_match) {
            problems.push("no test that should match".to_string());
        }
        if !self.tests.iter().any(|test| !test.expect_match) {
            problems.push("no test that should not match".to_string());
        }
        let indexed = [
            "detail.eventName",
            "detail.eventSource",
            "detail.errorCode",
            "source",
        ]
        .iter()
        .any(|path| self.pattern.required_strings(path).is_some());
        if !indexed {
            problems.push("the pattern pins neither detail.eventName, an event source nor an error code: it runs on every event".to_string());
        }
        for tag in &self.tags {
            let valid = tag.len() >= 5
                && tag.starts_with('T')
                && tag[1..5].bytes().all(|byte| byte.is_ascii_digit());
            if !valid {
                problems.push(format!(
                    "tag {tag:?} is not an ATT&CK technique id (T1234 or T1234.001)"
                ));
            }
        }
        problems
    }

    /// Runs the rule's inline tests.
    pub fn run_tests(&self) -> Vec<TestFailure> {
        let mut failures = Vec::new();
        for test in &self.tests {
            let event = eventbridge_event(test.event.clone());
            let flat = FlatEvent::new(&event, self.paths());
            let outcome = self.evaluate(Some(&event), &flat);
            let failure = |reason: String| TestFailure {
                rule_id: self.id.clone(),
                test: test.name.clone(),
                reason,
            };
            match (outcome, test.expect_match) {
                (Some(_), false) => failures.push(failure("matched, but should not".to_string())),
                (None, true) => failures.push(failure("did not match".to_string())),
                (Some(severity), true) => {
                    if let Some(expected) = test.severity.filter(|expected| *expected != severity) {
                        failures.push(failure(format!("severity {severity}, expected {expected}")));
                    }
                }
                (None, false) => {}
            }
        }
        failures
    }
}

/// The paths the conditions read: their patterns' and their leaves', and the severity's
/// patterns and conditions'.
fn condition_paths(conditions: &[Condition], severity_when: &[(When, Severity)]) -> Vec<String> {
    let when_conditions = severity_when.iter().filter_map(|(when, _)| match when {
        When::Condition(condition) => Some(condition),
        When::Pattern(_) => None,
    });
    let when_patterns = severity_when.iter().filter_map(|(when, _)| match when {
        When::Pattern(pattern) => Some(pattern),
        When::Condition(_) => None,
    });
    let mut paths: Vec<String> = Vec::new();
    for condition in conditions.iter().chain(when_conditions) {
        paths.extend(condition.paths().into_iter().map(str::to_string));
    }
    for pattern in when_patterns {
        paths.extend(pattern.paths().map(str::to_string));
    }
    paths.sort_unstable();
    paths.dedup();
    paths
}
