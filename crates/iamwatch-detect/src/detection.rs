use crate::builtin::{self, CodeRuleSettings, RuleContext};
use crate::eventbridge::{FlatEvent, Part};
use crate::record_parts::RecordParts;
use crate::rules::shape::{
    eventbridge_event, has_lowercased_keys, read_parts_written_as_text, restore_cloudtrail_keys,
    Head,
};
use crate::rules::{Candidates, RuleSet};
use iamwatch_core::threshold::DistinctValue;
use iamwatch_core::{AccessKeyMeta, CountedMatch, Localized, Runbook, Severity, Target};
use iamwatch_normalise::catalog::{label, Label};
use iamwatch_normalise::geo::Countries;
use iamwatch_normalise::target::{access_key_meta, target};
use iamwatch_normalise::{Details, Event};
use std::collections::BTreeSet;
use std::sync::Arc;

/// One rule's verdict on one event.
#[derive(Clone, Debug, PartialEq)]
pub struct Detection {
    pub rule_id: String,
    pub severity: Severity,
    pub title: Localized,
    /// Why this severity, in plain words, in each language.
    pub reasons: Vec<Localized>,
    /// ATT&CK techniques (rule files carry them).
    pub tags: Vec<String>,
    pub runbook: Option<Arc<Runbook>>,
    pub dedup_key: Option<String>,
}

impl Detection {
    /// A detection of a built-in code rule (no tags, runbook or dedup key).
    pub fn new(
        rule_id: &str,
        severity: Severity,
        title: Localized,
        reasons: Vec<Localized>,
    ) -> Self {
        Self {
            rule_id: rule_id.to_string(),
            severity,
            title,
            reasons,
            tags: Vec::new(),
            runbook: None,
            dedup_key: None,
        }
    }
}

/// Everything detection learnt about an event that becomes an incident.
#[derive(Debug)]
pub struct Finding {
    /// The worst detection; its rule names the incident.
    pub primary: Detection,
    /// Every rule that matched, the primary first.
    pub rule_ids: Vec<String>,
    pub reasons: Vec<Localized>,
    /// ATT&CK techniques of every rule that matched.
    pub tags: Vec<String>,
    pub label: Label,
    pub target: Target,
    pub access_key: Option<AccessKeyMeta>,
    pub details: Details,
    /// Matches of rules with a threshold, counted on the stateful side.
    pub counted: Vec<CountedMatch>,
}

#[derive(Debug)]
pub enum Verdict {
    /// Not an incident.
    Pass,
    /// Would have been an incident of the generic IAM rule, but its API is on the skip list.
    Skipped,
    Incident(Box<Finding>),
}

/// The EventBridge envelope fields of a record (source, account, region, time, …), without
/// its body: what patterns outside `detail` look at.
fn envelope_shell(event: &Event<'_>) -> serde_json::Value {
    let doc = event.item.doc;
    eventbridge_event(serde_json::json!({
        "eventSource": event.event_source,
        "eventType": doc.event_type.or_empty(),
        "eventID": event.event_id,
        "eventTime": doc.event_time.or_empty(),
        "awsRegion": doc.aws_region.or_empty(),
        "recipientAccountId": doc.recipient_account_id.or_empty(),
        "userIdentity": {"accountId": event.identity.account_id},
    }))
}

/// The record parsed whole for the rules whose conditions needed it.
enum Whole {
    /// No rule needed it.
    NotParsed,
    /// The record shaped as EventBridge delivers it, and what repairing it for the rules
    /// noted (parts written as text, read as their JSON).
    Parsed(serde_json::Value, Vec<String>),
    /// It could not be: what to say in the incident.
    Unreadable(String),
}

/// A rule file's match, before the incident's context (target, title) is known.
struct RuleMatch<'r> {
    rule: &'r crate::rules::Rule,
    severity: Severity,
    dedup_key: Option<String>,
    /// For a rule counting different values: the event's value.
    distinct: Option<String>,
}

#[derive(Clone, Debug)]
pub struct DetectorConfig {
    /// APIs the generic IAM-change rule records as skipped instead of raising. The seed skips
    /// `CreateAccessKey` (routine key rotation); rules aimed at a specific risk, such as root
    /// creating a key, still fire.
    pub skip_events: BTreeSet<String>,
    /// The rules written in code turned off, or held to a severity.
    pub code_rules: CodeRuleSettings,
    /// Where public addresses are (`--geoip`): incidents say their country.
    pub countries: Option<Arc<Countries>>,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        Self {
            skip_events: BTreeSet::from(["CreateAccessKey".to_string()]),
            code_rules: CodeRuleSettings::default(),
            countries: None,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Detector {
    config: DetectorConfig,
    rules: Arc<RuleSet>,
}

impl Default for Detector {
    /// The seed rules and the built-in rule pack.
    fn default() -> Self {
        Self::new(DetectorConfig::default(), Arc::new(builtin_rules()))
    }
}

/// The built-in rule pack; a test proves it loads, so failing here is a build defect.
pub fn builtin_rules() -> RuleSet {
    RuleSet::builtin()
        .unwrap_or_else(|error| panic!("the built-in rule pack does not load: {error}"))
}

impl Detector {
    pub fn new(config: DetectorConfig, rules: Arc<RuleSet>) -> Self {
        Self { config, rules }
    }

    pub fn rules(&self) -> &RuleSet {
        &self.rules
    }

    /// The GeoIP database incidents take their addresses' countries from, if one is configured.
    pub fn countries(&self) -> Option<&Countries> {
        self.config.countries.as_deref()
    }

    /// True when some rule could match. Looks only at fields already normalised; no parsing.
    pub fn is_candidate(&self, event: &Event<'_>) -> bool {
        builtin::is_candidate(event)
            || self
                .rules
                .may_match(event.event_name, event.event_source, event.error_code)
    }

    /// Rule-file detections: the record, shaped as EventBridge delivers it, through the rule set.
    /// Rule-file matches, and the record parsed whole if the rules needed it (so that the
    /// incident's details can be taken from it rather than parsed again), or why it could not be.
    fn rule_matches(&self, event: &Event<'_>) -> (Vec<RuleMatch<'_>>, Whole) {
        if !self
            .rules
            .may_match(event.event_name, event.event_source, event.error_code)
        {
            return (Vec::new(), Whole::NotParsed);
        }
        let head = Head {
            event_source: event.event_source,
            event_name: event.event_name,
            error_code: event.error_code,
            identity_type: event.identity.identity_type,
            user_agent: event.user_agent,
            source_ip: event.source_ip,
            // The record's own field: the normalised region may come from an envelope.
            region: event.item.doc.aws_region.or_empty(),
            vpc_endpoint_id: event.item.doc.vpc_endpoint_id.or_empty(),
        };
        let candidates = self.rules.candidates_for_head(&head);
        if candidates.is_empty() {
            return (Vec::new(), Whole::NotParsed);
        }
        let lowercased = has_lowercased_keys(event.item.raw);
        // Patterns read a part written as text as a string: such a record is parsed whole and
        // the part read as its JSON, as its details are.
        let text_parts = event.parts_written_as_text().next().is_some();
        let mut candidates = candidates;
        if !lowercased && !text_parts {
            // Patterns first, on leaves read from the raw record: no whole parse.
            let Ok(raw) = simdutf8::basic::from_utf8(event.item.raw) else {
                return (Vec::new(), Whole::NotParsed);
            };
            // The envelope fields are built only when a rule looks outside `detail`.
            let outside_detail = self
                .rules
                .paths_of(&candidates)
                .any(|path| !path.starts_with("detail."));
            let shell = if outside_detail {
                envelope_shell(event)
            } else {
                serde_json::Value::Null
            };
            // Paths the typed parse already answers are read from it, not from a second parse.
            let parts = RecordParts::new(event.item);
            let flat = FlatEvent::from_record_parts(
                raw,
                &shell,
                self.rules.paths_of(&candidates),
                |path| {
                    parts
                        .as_ref()
                        .map_or(Part::Unknown, |parts| parts.part(path))
                },
            );
            let flat = match flat {
                Ok(flat) => flat,
                Err(error) => return (Vec::new(), self.unreadable(&candidates, &error)),
            };
            let mut whole_needed = self.rules.need_whole_event(&candidates, &flat);
            if whole_needed {
                // Conditions need the whole event; parse it only for rules whose pattern
                // already matched (most events a broad rule is indexed under do not).
                candidates = self.rules.retain_pattern_matches(candidates, &flat);
                if candidates.is_empty() {
                    return (Vec::new(), Whole::NotParsed);
                }
                whole_needed = self.rules.need_whole_event(&candidates, &flat);
            }
            if !whole_needed {
                let matches = self
                    .rules
                    .evaluate_candidates(&candidates, None, &flat)
                    .into_iter()
                    .map(|(rule, severity)| RuleMatch {
                        rule,
                        severity,
                        dedup_key: rule.dedup_key_from(&flat),
                        distinct: rule.distinct_value(None, &flat),
                    })
                    .collect();
                return (matches, Whole::NotParsed);
            }
        }
        // The record's read checked its JSON, but not that every number fits an `f64`.
        let mut record = match sonic_rs::from_slice::<serde_json::Value>(event.item.raw) {
            Ok(record) => record,
            Err(error) => return (Vec::new(), self.unreadable(&candidates, &error)),
        };
        if lowercased {
            restore_cloudtrail_keys(&mut record);
        }
        let notes = if text_parts {
            read_parts_written_as_text(&mut record)
        } else {
            Vec::new()
        };
        let shaped = eventbridge_event(record);
        let flat = FlatEvent::new(&shaped, self.rules.paths_of(&candidates));
        let matches = self
            .rules
            .evaluate_candidates(&candidates, Some(&shaped), &flat)
            .into_iter()
            .map(|(rule, severity)| RuleMatch {
                rule,
                severity,
                dedup_key: rule.dedup_key(&shaped),
                distinct: rule.distinct_value(Some(&shaped), &flat),
            })
            .collect();
        (matches, Whole::Parsed(shaped, notes))
    }

    /// What to say of candidate rules that could not check a record sonic-rs cannot parse
    /// (the record's own read checks its JSON, not that every number fits an `f64`).
    fn unreadable(&self, candidates: &Candidates, error: &sonic_rs::Error) -> Whole {
        let rules: Vec<&str> = self.rules.ids_of(candidates).collect();
        // sonic-rs's message goes on to quote the text around the error, over lines of its own.
        let error = error.to_string();
        Whole::Unreadable(format!(
            "rules {} could not check this record, which could not be read whole: {}",
            rules.join(", "),
            error.lines().next().unwrap_or_default()
        ))
    }

    /// Runs every rule on a candidate event. Rule files run first, on the raw record, so that
    /// an event no rule wants costs no parsing of its request and response.
    pub fn evaluate(&self, event: &Event<'_>) -> Verdict {
        // Named after an API, but not a call of it: no rule that reads calls runs on it.
        if let Some(insight) = &event.item.doc.insight_details {
            return crate::insight::verdict(event, insight, &self.config.code_rules);
        }
        let seed_candidate = builtin::is_candidate(event);
        let (matches, whole) = self.rule_matches(event);
        if !seed_candidate && matches.is_empty() {
            return Verdict::Pass;
        }
        let details = match whole {
            Whole::Parsed(mut shaped, notes) => {
                let mut take = |key: &str| {
                    shaped["detail"]
                        .get_mut(key)
                        .map(serde_json::Value::take)
                        .unwrap_or_default()
                };
                Details {
                    request: take("requestParameters"),
                    response: take("responseElements"),
                    additional: take("additionalEventData"),
                    notes,
                }
            }
            Whole::NotParsed => event.details(),
            Whole::Unreadable(note) => {
                let mut details = event.details();
                details.notes.insert(0, note);
                details
            }
        };
        let target = target(event, &details);
        let label = label(event.api);
        let context = RuleContext {
            event,
            details: &details,
            target: &target,
            label: &label,
        };
        let (counted, matches) = counted_apart(matches, &context);
        // Rule files first: on equal severity the more specific rule names the incident.
        let mut detections: Vec<Detection> = matches
            .into_iter()
            .map(|matched| Detection {
                rule_id: matched.rule.id.clone(),
                severity: matched.severity,
                title: crate::title::rule_title(
                    &context,
                    &matched.rule.title,
                    matched.rule.reads_the_error(),
                ),
                reasons: vec![matched.rule.title.clone()],
                tags: matched.rule.tags.clone(),
                runbook: matched.rule.runbook.clone(),
                dedup_key: matched.dedup_key,
            })
            .collect();
        let skipped = self.config.skip_events.contains(event.api);
        // Rule files first: on equal severity the more specific rule names the incident.
        detections.extend(builtin::run(&context, skipped, &self.config.code_rules));
        if detections.is_empty() && !counted.is_empty() {
            return counted_only(
                counted,
                label,
                target,
                access_key_meta(event, &details),
                details,
            );
        }
        if detections.is_empty() {
            return if skipped && builtin::iam_change_would_raise(&context, &self.config.code_rules)
            {
                Verdict::Skipped
            } else {
                Verdict::Pass
            };
        }
        // Worst first; among equals, the rule listed first (the more specific) wins.
        detections.sort_by_key(|detection| std::cmp::Reverse(detection.severity));
        let rule_ids = detections
            .iter()
            .map(|detection| detection.rule_id.clone())
            .collect();
        // Tags and reasons are moved out: the incident keeps them only in these lists.
        let mut tags: Vec<String> = detections
            .iter_mut()
            .flat_map(|detection| std::mem::take(&mut detection.tags))
            .collect();
        tags.sort();
        tags.dedup();
        let mut reasons: Vec<Localized> = Vec::new();
        for reason in detections
            .iter_mut()
            .flat_map(|detection| std::mem::take(&mut detection.reasons))
        {
            if !reasons.iter().any(|known| known.en == reason.en) {
                reasons.push(reason);
            }
        }
        let access_key = access_key_meta(event, &details);
        let primary = detections.swap_remove(0);
        Verdict::Incident(Box::new(Finding {
            primary,
            rule_ids,
            reasons,
            tags,
            label,
            target,
            access_key,
            details,
            counted,
        }))
    }
}

/// Rules with a threshold raise only past a count, on the stateful side: their matches are
/// handed on to be counted ([`CountedMatch`]), and name no incident of the event. Returns them
/// and the other matches.
fn counted_apart<'r>(
    matches: Vec<RuleMatch<'r>>,
    context: &RuleContext<'_>,
) -> (Vec<CountedMatch>, Vec<RuleMatch<'r>>) {
    if !matches
        .iter()
        .any(|matched| matched.rule.threshold.is_some())
    {
        return (Vec::new(), matches);
    }
    let (counted, matches): (Vec<RuleMatch<'_>>, Vec<RuleMatch<'_>>) = matches
        .into_iter()
        .partition(|matched| matched.rule.threshold.is_some());
    let counted = counted
        .into_iter()
        .filter_map(|matched| {
            // A rule counting different values (or steps) counts no event without one.
            let distinct = match (matched.rule.counted_field(), matched.distinct) {
                (Some((field, step)), Some(value)) => Some(DistinctValue {
                    field: field.to_string(),
                    value,
                    step,
                }),
                (Some(_), None) => return None,
                (None, _) => None,
            };
            Some(CountedMatch {
                rule_id: matched.rule.id.clone(),
                threshold: matched.rule.threshold?,
                group: matched.dedup_key,
                severity: matched.severity,
                title: crate::title::rule_title(
                    context,
                    &matched.rule.title,
                    matched.rule.reads_the_error(),
                ),
                reason: matched.rule.title.clone(),
                tags: matched.rule.tags.clone(),
                runbook: matched.rule.runbook.clone(),
                distinct,
            })
        })
        .collect();
    (counted, matches)
}

/// The finding of an event that matched only rules with a threshold: built like any, to be
/// counted, and stored only as the incident a threshold raises. It lists no rule of its own
/// (`rule_ids` empty); its title and severity are its worst counted rule's.
fn counted_only(
    mut counted: Vec<CountedMatch>,
    label: Label,
    target: Target,
    access_key: Option<AccessKeyMeta>,
    details: Details,
) -> Verdict {
    counted.sort_by_key(|matched| std::cmp::Reverse(matched.severity));
    let Some(worst) = counted.first() else {
        return Verdict::Pass;
    };
    let primary = Detection {
        rule_id: worst.rule_id.clone(),
        severity: worst.severity,
        title: worst.title.clone(),
        reasons: Vec::new(),
        tags: Vec::new(),
        runbook: None,
        dedup_key: worst.group.clone(),
    };
    Verdict::Incident(Box::new(Finding {
        primary,
        rule_ids: Vec::new(),
        reasons: Vec::new(),
        tags: Vec::new(),
        label,
        target,
        access_key,
        details,
        counted,
    }))
}
