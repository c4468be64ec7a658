//! A compiled, indexed set of rules.

use super::file::RuleFile;
use super::head_cache::{self, HeadPlan};
use super::rule::Rule;
use super::shape::{eventbridge_event, Head};
use crate::eventbridge::FlatEvent;
use iamwatch_core::Severity;
use rustc_hash::FxHashMap as HashMap;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// A rule file that could not be loaded, with every problem in it.
#[derive(Debug, thiserror::Error)]
#[error("{origin}: {}", problems.join("; "))]
pub struct RuleError {
    pub origin: String,
    pub problems: Vec<String>,
}

/// Rules an event must be checked against (indices into a [`RuleSet`]).
#[derive(Clone, Debug, Default)]
pub struct Candidates(Vec<usize>);

impl Candidates {
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[derive(Clone, Debug, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
    by_event_name: HashMap<String, Vec<usize>>,
    by_event_source: HashMap<String, Vec<usize>>,
    by_error_code: HashMap<String, Vec<usize>>,
    /// Rules whose pattern pins none of those: evaluated on every event.
    unindexed: Vec<usize>,
    /// Tells this indexing apart from any other in the per-thread head cache.
    id: u64,
}

/// Source of [`RuleSet`] ids.
static NEXT_SET_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl RuleSet {
    pub fn empty() -> Self {
        Self::default()
    }

    /// Builds a set; a rule with the id of an earlier one replaces it (so a rule directory can
    /// redefine a built-in rule).
    pub fn new(rules: Vec<Rule>) -> Self {
        let mut by_id: Vec<Rule> = Vec::with_capacity(rules.len());
        for rule in rules {
            match by_id.iter_mut().find(|existing| existing.id == rule.id) {
                Some(existing) => *existing = rule,
                None => by_id.push(rule),
            }
        }
        let mut set = Self {
            rules: by_id,
            ..Self::default()
        };
        set.reindex();
        set
    }

    fn reindex(&mut self) {
        self.by_event_name.clear();
        self.by_event_source.clear();
        self.by_error_code.clear();
        self.unindexed.clear();
        self.id = NEXT_SET_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for (index, rule) in self.rules.iter().enumerate() {
            if !rule.enabled {
                continue;
            }
            if let Some(names) = rule.pattern.required_strings("detail.eventName") {
                for name in names {
                    self.by_event_name.entry(name).or_default().push(index);
                }
            } else if let Some(sources) = rule.pattern.required_strings("detail.eventSource") {
                for source in sources {
                    self.by_event_source.entry(source).or_default().push(index);
                }
            } else if let Some(codes) = rule.pattern.required_strings("detail.errorCode") {
                for code in codes {
                    self.by_error_code.entry(code).or_default().push(index);
                }
            } else if let Some(sources) = rule.pattern.required_strings("source") {
                for source in sources {
                    let event_source = format!(
                        "{}.amazonaws.com",
                        source.strip_prefix("aws.").unwrap_or(&source)
                    );
                    self.by_event_source
                        .entry(event_source)
                        .or_default()
                        .push(index);
                }
            } else {
                self.unindexed.push(index);
            }
        }
    }

    /// The rules built into iamwatch.
    ///
    /// # Errors
    /// [`RuleError`] for a built-in file that does not load (a test keeps that from shipping).
    pub fn builtin() -> Result<Self, RuleError> {
        let mut rules = Vec::new();
        for (name, text) in super::builtin::FILES {
            // Read by the tests on every build: the check for unreadable YAML is left out.
            rules.extend(parse_readable(text, &format!("builtin:{name}"))?);
        }
        Ok(Self::new(rules))
    }

    /// Loads every `.yml`/`.yaml` file under `directory`, reporting all failing files at once.
    ///
    /// # Errors
    /// One [`RuleError`] per file that does not load.
    pub fn load_dir(directory: &Path) -> Result<Vec<Rule>, Vec<RuleError>> {
        let mut paths = Vec::new();
        collect_yaml(directory, &mut paths).map_err(|error| {
            vec![RuleError {
                origin: directory.display().to_string(),
                problems: vec![error.to_string()],
            }]
        })?;
        paths.sort();
        let mut rules = Vec::new();
        let mut errors = Vec::new();
        for path in paths {
            let origin = path.display().to_string();
            match std::fs::read_to_string(&path) {
                Ok(text) => match parse_file(&text, &origin) {
                    Ok(loaded) => rules.extend(loaded),
                    Err(error) => errors.push(error),
                },
                Err(error) => errors.push(RuleError {
                    origin,
                    problems: vec![error.to_string()],
                }),
            }
        }
        if errors.is_empty() {
            Ok(rules)
        } else {
            Err(errors)
        }
    }

    /// The rules in the text of one rule file: iamwatch's YAML (a rule per document) or a
    /// Sigma rule. `origin` names the file in the error.
    ///
    /// # Errors
    /// Every problem found in the file, as [`Self::load_dir`] reports it.
    pub fn parse_text(text: &str, origin: &str) -> Result<Vec<Rule>, RuleError> {
        parse_file(text, origin)
    }

    /// Adds rules (replacing same-id ones).
    pub fn extend(&mut self, rules: Vec<Rule>) {
        let mut all = std::mem::take(&mut self.rules);
        all.extend(rules);
        *self = Self::new(all);
    }

    /// Disables rules and overrides severities by id; returns the ids that name no rule.
    pub fn configure(
        &mut self,
        disabled: &BTreeSet<String>,
        severities: &BTreeMap<String, Severity>,
    ) -> Vec<String> {
        let mut unknown: Vec<String> = disabled
            .iter()
            .chain(severities.keys())
            .filter(|id| !self.rules.iter().any(|rule| &rule.id == *id))
            .cloned()
            .collect();
        unknown.dedup();
        for rule in &mut self.rules {
            if disabled.contains(&rule.id) {
                rule.enabled = false;
            }
            if let Some(severity) = severities.get(&rule.id) {
                rule.override_severity(*severity);
            }
        }
        self.reindex();
        unknown
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Whether any enabled rule could match an event with this name, source and error code.
    pub fn may_match(&self, event_name: &str, event_source: &str, error_code: &str) -> bool {
        !self.unindexed.is_empty()
            || self.by_event_name.contains_key(event_name)
            || self.by_event_source.contains_key(event_source)
            || (!error_code.is_empty() && self.by_error_code.contains_key(error_code))
    }

    /// The rules an event must be checked against.
    fn candidates(&self, event_name: &str, event_source: &str, error_code: &str) -> Vec<usize> {
        let mut indices: Vec<usize> = self
            .by_event_name
            .get(event_name)
            .into_iter()
            .chain(self.by_event_source.get(event_source))
            .chain(self.by_error_code.get(error_code))
            .flatten()
            .chain(&self.unindexed)
            .copied()
            .collect();
        indices.sort_unstable();
        indices.dedup();
        indices
    }

    /// The rules that could match an event with this head: the index first, then each
    /// candidate's pattern restricted to head fields. Empty means no parsing is needed.
    pub fn candidates_for_head(&self, head: &Head<'_>) -> Candidates {
        head_cache::with_plan(
            self.id,
            head,
            || self.head_plan(head),
            |plan| {
                let mut candidates = plan.decided.clone();
                if !plan.per_record.is_empty() {
                    let paths = plan.per_record_paths.iter().map(|path| &**path);
                    let leaves = leaves_at(paths, head);
                    candidates.extend(
                        plan.per_record
                            .iter()
                            .filter(|index| self.rules[**index].may_match_head(&leaves)),
                    );
                    candidates.sort_unstable();
                }
                Candidates(candidates)
            },
        )
    }

    /// The head check for the fields that repeat across records; rules that read other head
    /// fields are left for a check per record, unless the repeating fields already rule them
    /// out (an S3 rule for calls through a VPC endpoint, on a call that came through none).
    fn head_plan(&self, head: &Head<'_>) -> HeadPlan {
        let candidates = self.candidates(head.event_name, head.event_source, head.error_code);
        let leaves = leaves_at(self.head_paths(&candidates), head);
        let (per_record, repeating): (Vec<usize>, Vec<usize>) = candidates
            .into_iter()
            .partition(|index| self.rules[*index].head_reads_per_record());
        let per_record: Vec<usize> = per_record
            .into_iter()
            .filter(|index| self.rules[*index].may_match_repeating_head(&leaves))
            .collect();
        HeadPlan {
            decided: repeating
                .into_iter()
                .filter(|index| self.rules[*index].may_match_head(&leaves))
                .collect(),
            per_record_paths: self.head_paths(&per_record).map(Box::from).collect(),
            per_record,
        }
    }

    /// The head fields these rules read, sorted and deduplicated.
    fn head_paths(&self, rules: &[usize]) -> impl Iterator<Item = &str> {
        let mut paths: Vec<&str> = rules
            .iter()
            .flat_map(|index| self.rules[*index].head_paths())
            .collect();
        paths.sort_unstable();
        paths.dedup();
        paths.into_iter()
    }

    /// The candidates whose main pattern matches these leaves.
    pub fn retain_pattern_matches(
        &self,
        candidates: Candidates,
        flat: &FlatEvent<'_, '_>,
    ) -> Candidates {
        Candidates(
            candidates
                .0
                .into_iter()
                .filter(|index| self.rules[*index].pattern_matches(flat))
                .collect(),
        )
    }

    /// Whether any of these rules needs the whole event for this one: a condition on whole
    /// objects, or a comparison the leaves cannot answer.
    pub fn need_whole_event(&self, candidates: &Candidates, flat: &FlatEvent<'_, '_>) -> bool {
        candidates.0.iter().any(|index| {
            let rule = &self.rules[*index];
            rule.needs_whole_event() && !rule.decidable_on_leaves(flat)
        })
    }

    /// Every path these rules look at.
    pub fn paths_of<'s, 'c>(
        &'s self,
        candidates: &'c Candidates,
    ) -> impl Iterator<Item = &'s str> + use<'s, 'c> {
        candidates
            .0
            .iter()
            .flat_map(|index| self.rules[*index].paths())
    }

    /// The ids of the candidate rules.
    pub fn ids_of<'s, 'c>(
        &'s self,
        candidates: &'c Candidates,
    ) -> impl Iterator<Item = &'s str> + use<'s, 'c> {
        candidates
            .0
            .iter()
            .map(|index| self.rules[*index].id.as_str())
    }

    /// The candidates that match, with their severities.
    pub fn evaluate_candidates(
        &self,
        candidates: &Candidates,
        whole: Option<&Value>,
        flat: &FlatEvent<'_, '_>,
    ) -> Vec<(&Rule, Severity)> {
        candidates
            .0
            .iter()
            .filter_map(|index| {
                let rule = &self.rules[*index];
                rule.evaluate(whole, flat).map(|severity| (rule, severity))
            })
            .collect()
    }

    /// Every enabled rule that matches a CloudTrail record (or EventBridge event), with the
    /// severity it gives. `event` is EventBridge-shaped ([`eventbridge_event`]).
    pub fn evaluate(&self, event: &Value) -> Vec<(&Rule, Severity)> {
        let name = event
            .pointer("/detail/eventName")
            .and_then(Value::as_str)
            .unwrap_or("");
        let source = event
            .pointer("/detail/eventSource")
            .and_then(Value::as_str)
            .unwrap_or("");
        let error_code = event
            .pointer("/detail/errorCode")
            .and_then(Value::as_str)
            .unwrap_or("");
        let candidates = self.candidates(name, source, error_code);
        if candidates.is_empty() {
            return Vec::new();
        }
        let paths: Vec<&str> = candidates
            .iter()
            .flat_map(|index| self.rules[*index].paths())
            .collect();
        let flat = FlatEvent::new(event, paths);
        candidates
            .into_iter()
            .filter_map(|index| {
                let rule = &self.rules[index];
                rule.evaluate(Some(event), &flat)
                    .map(|severity| (rule, severity))
            })
            .collect()
    }

    /// [`RuleSet::evaluate`] for a plain CloudTrail record.
    pub fn evaluate_record(&self, record: Value) -> (Value, Vec<(String, Severity)>) {
        let event = eventbridge_event(record);
        let matched = self
            .evaluate(&event)
            .into_iter()
            .map(|(rule, severity)| (rule.id.clone(), severity))
            .collect();
        (event, matched)
    }
}

/// The head's values at `paths`; a field the record lacks stays absent.
fn leaves_at<'p>(paths: impl Iterator<Item = &'p str>, head: &Head<'_>) -> FlatEvent<'static, 'p> {
    FlatEvent::from_strings(paths.filter_map(|path| head.value_at(path).map(|value| (path, value))))
}

fn collect_yaml(directory: &Path, paths: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(directory)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_yaml(&path, paths)?;
        } else if path
            .extension()
            .is_some_and(|extension| extension == "yml" || extension == "yaml")
        {
            paths.push(path);
        }
    }
    Ok(())
}

/// One file may hold several rules as YAML documents separated by `---`.
pub(super) fn parse_file(text: &str, origin: &str) -> Result<Vec<Rule>, RuleError> {
    if let Some(problem) = unreadable_document(text) {
        return Err(RuleError {
            origin: origin.to_string(),
            problems: vec![problem],
        });
    }
    parse_readable(text, origin)
}

/// [`parse_file`] for text whose every document reads as YAML.
fn parse_readable(text: &str, origin: &str) -> Result<Vec<Rule>, RuleError> {
    if let Some(sigma) = parse_sigma(text, origin) {
        return sigma;
    }
    let mut rules = Vec::new();
    let mut problems = Vec::new();
    // After a syntax error the YAML document iterator keeps yielding that same error forever
    // (found by the fuzz test below): stop at the first error that repeats the previous one.
    let mut previous_error = String::new();
    for (index, document) in serde_yaml_ng::Deserializer::from_str(text).enumerate() {
        let file = match <RuleFile as serde::Deserialize>::deserialize(document) {
            Ok(file) => file,
            Err(error) => {
                let error = error.to_string();
                if error == previous_error {
                    break;
                }
                problems.push(format!("document {}: {error}", index + 1));
                previous_error = error;
                continue;
            }
        };
        let id = file.id.clone();
        match Rule::compile(file, origin) {
            Ok(rule) => rules.push(rule),
            Err(rule_problems) => problems.extend(
                rule_problems
                    .into_iter()
                    .map(|problem| format!("rule {id}: {problem}")),
            ),
        }
    }
    if problems.is_empty() {
        Ok(rules)
    } else {
        Err(RuleError {
            origin: origin.to_string(),
            problems,
        })
    }
}

/// The first document of `text` that is not YAML, as "document N: reason at line L column C".
///
/// serde_yaml_ng stops reading a document at an alias to no anchor (`a: *x`) and keeps the
/// reason for whoever reads it; read into a typed rule, what it holds of that document made it
/// panic ("unexpected end of mapping", found by the `rules` fuzz target), while read as a plain
/// value it fails with the reason and the place. So every document is read plainly first.
fn unreadable_document(text: &str) -> Option<String> {
    serde_yaml_ng::Deserializer::from_str(text)
        .enumerate()
        .find_map(|(index, document)| {
            <serde_yaml_ng::Value as serde::Deserialize>::deserialize(document)
                .err()
                .map(|error| format!("document {}: {error}", index + 1))
        })
}

/// A file of Sigma rules (and correlations over them), converted; `None` when the file's first
/// document is neither.
fn parse_sigma(text: &str, origin: &str) -> Option<Result<Vec<Rule>, RuleError>> {
    use super::sigma::correlation::{self, is_correlation};
    // A Sigma rule names both keys; a rule file (every built-in one) names neither, and is not
    // parsed an extra time at every start to find that out.
    if !(text.contains("detection") && text.contains("logsource")) {
        return None;
    }
    let mut documents = serde_yaml_ng::Deserializer::from_str(text);
    let first = <serde_json::Value as serde::Deserialize>::deserialize(documents.next()?).ok()?;
    if !(super::sigma::is_sigma(&first) || is_correlation(&first)) {
        return None;
    }
    let stem = std::path::Path::new(origin)
        .file_stem()
        .map(|stem| stem.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem_of = |index: usize| {
        if index == 0 {
            stem.clone()
        } else {
            format!("{stem}-{}", index + 1)
        }
    };
    let mut problems = Vec::new();
    let mut read = vec![first];
    for (index, document) in documents.enumerate() {
        match <serde_json::Value as serde::Deserialize>::deserialize(document) {
            Ok(document) => read.push(document),
            Err(error) => {
                problems.push(format!("document {}: {error}", index + 2));
                break;
            }
        }
    }
    // A rule a correlation counts raises nothing of its own, unless it says `generate: true`.
    let mut only_counted = vec![false; read.len()];
    let mut files = Vec::with_capacity(read.len());
    for (index, document) in read.iter().enumerate() {
        if !is_correlation(document) {
            files.push(None);
            continue;
        }
        let file = correlation::reference(document).and_then(|(names, generate)| {
            let mut bases = Vec::with_capacity(names.len());
            for name in names {
                let base = read
                    .iter()
                    .position(|other| !is_correlation(other) && correlation::is_named(other, name))
                    .ok_or_else(|| {
                        format!("correlation.rules: {name:?} is no Sigma rule of this file")
                    })?;
                only_counted[base] |= !generate;
                bases.push((
                    name.to_string(),
                    super::sigma::convert(&read[base], &stem_of(base))?,
                ));
            }
            correlation::convert(document, bases, &stem_of(index))
        });
        files.push(Some(file));
    }
    let mut rules = Vec::new();
    for (index, (document, file)) in read.iter().zip(files).enumerate() {
        if only_counted[index] {
            continue;
        }
        let title = document["title"].as_str().unwrap_or("untitled");
        let file = file.unwrap_or_else(|| super::sigma::convert(document, &stem_of(index)));
        let compiled = file
            .map_err(|problem| vec![problem])
            .and_then(|file| Rule::compile(file, origin));
        match compiled {
            Ok(rule) => rules.push(rule),
            Err(rule_problems) => problems.extend(
                rule_problems
                    .into_iter()
                    .map(|problem| format!("Sigma rule {title:?}: {problem}")),
            ),
        }
    }
    Some(if problems.is_empty() {
        Ok(rules)
    } else {
        Err(RuleError {
            origin: origin.to_string(),
            problems,
        })
    })
}
