//! `iamwatch rules …`: the rule pack and user rule directories.

use anyhow::{bail, Context};
use iamwatch_core::{Lang, Severity};
use iamwatch_correlate::{rule as correlate_rule, CorrelateConfig};
use iamwatch_detect::builtin::CodeRuleSettings;
use iamwatch_detect::rules::{Rule, RuleSet};
use iamwatch_detect::{Detector, DetectorConfig};
use iamwatch_normalise::geo::Countries;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

/// Rule selection every command that detects shares.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct RuleArgs {
    /// A directory of YAML rule files, on top of the built-in pack (repeatable); a rule with a
    /// built-in rule's id replaces it
    #[arg(long = "rules", value_name = "DIR")]
    pub rule_dirs: Vec<PathBuf>,
    /// Turn a rule off by id (repeatable)
    #[arg(long = "disable-rule", value_name = "ID")]
    pub disabled: Vec<String>,
    /// Override a rule's severity: ID=SEVERITY (repeatable)
    #[arg(long = "rule-severity", value_name = "ID=SEVERITY", value_parser = parse_override)]
    pub severities: Vec<(String, Severity)>,
    /// A GeoIP database of countries (MaxMind DB format: GeoLite2-Country or -City, DB-IP
    /// IP-to-Country Lite): incidents say the country of a public address, and the first-seen
    /// detection judges countries too
    #[arg(long, value_name = "MMDB", env = "IAMWATCH_GEOIP")]
    pub geoip: Option<PathBuf>,
}

fn parse_override(text: &str) -> Result<(String, Severity), String> {
    let (id, severity) = text
        .split_once('=')
        .ok_or_else(|| format!("{text:?} is not ID=SEVERITY"))?;
    Ok((
        id.to_string(),
        severity
            .parse()
            .map_err(|error: iamwatch_core::severity::ParseSeverityError| error.to_string())?,
    ))
}

impl RuleArgs {
    /// The built-in pack and the directories' rules, with the overrides; and the overrides of
    /// the rules written in code (an id may name either kind).
    pub fn load(&self) -> anyhow::Result<(RuleSet, CodeRuleSettings)> {
        let mut set = iamwatch_detect::builtin_rules();
        for directory in &self.rule_dirs {
            set.extend(load_directory(directory)?);
        }
        let disabled: BTreeSet<String> = self.disabled.iter().cloned().collect();
        let severities: BTreeMap<String, Severity> = self.severities.iter().cloned().collect();
        let code = CodeRuleSettings::from_overrides(&disabled, &severities);
        let unknown: Vec<String> = set
            .configure(&disabled, &severities)
            .into_iter()
            .filter(|id| !CodeRuleSettings::is_code_rule(id) && !correlate_rule::is_rule(id))
            .collect();
        if !unknown.is_empty() {
            bail!("no rule has the id {}", unknown.join(", "));
        }
        Ok((set, code))
    }

    /// `config` with these arguments' overrides of the stateful detections' rules.
    pub fn correlate(&self, mut config: CorrelateConfig) -> CorrelateConfig {
        for id in &self.disabled {
            if correlate_rule::is_rule(id) {
                config.disabled.insert(id.clone());
            }
        }
        for (id, severity) in &self.severities {
            if correlate_rule::is_rule(id) {
                config.severities.insert(id.clone(), *severity);
            }
        }
        config
    }

    /// The detector these rules make, with `skip` (API names; blanks ignored) as its skip list:
    /// what `scan` and `serve` run.
    pub fn detector(&self, skip: &[String]) -> anyhow::Result<Detector> {
        let skip_events = skip
            .iter()
            .map(|name| name.trim().to_string())
            .filter(|name| !name.is_empty())
            .collect();
        let (rules, code_rules) = self.load()?;
        let countries = match &self.geoip {
            Some(path) => Some(Arc::new(Countries::open(path)?)),
            None => None,
        };
        Ok(Detector::new(
            DetectorConfig {
                skip_events,
                code_rules,
                countries,
            },
            Arc::new(rules),
        ))
    }
}

fn load_directory(directory: &Path) -> anyhow::Result<Vec<Rule>> {
    RuleSet::load_dir(directory).map_err(|errors| {
        let listed: Vec<String> = errors.iter().map(|error| format!("  {error}")).collect();
        anyhow::anyhow!("rule files do not load:\n{}", listed.join("\n"))
    })
}

#[derive(clap::Subcommand, Debug)]
pub enum RulesCommand {
    /// List the rules in force
    List {
        #[command(flatten)]
        rules: RuleArgs,
        #[arg(long, env = "IAMWATCH_LANG", default_value = "en")]
        lang: Lang,
    },
    /// Run every rule's inline tests (the built-in pack, and DIR's rules); exit 1 on a failure
    Test {
        /// A rule directory to test (default: only the built-in pack)
        dir: Option<PathBuf>,
    },
    /// Check rule files: they load, have texts in both languages, positive and negative
    /// tests, and patterns the index can use
    Lint { dir: Option<PathBuf> },
}

pub fn run(command: RulesCommand) -> anyhow::Result<ExitCode> {
    match command {
        RulesCommand::List { rules, lang } => {
            let (set, code) = rules.load()?;
            print_row("ID", "SEVERITY", "ENABLED", "TAGS", "TITLE");
            for rule in set.rules() {
                // A rule with a threshold says so: it raises on no single event.
                let title = match rule.threshold {
                    Some(threshold) => {
                        let (window, events) = (threshold.window_text(), threshold.events);
                        let field = rule
                            .counted_field()
                            .and_then(|(field, step)| (!step).then_some(field));
                        let title = rule.title.get(lang);
                        let steps: Vec<&str> =
                            rule.steps.iter().map(|step| step.name.as_str()).collect();
                        let (every, steps) = (events as usize == steps.len(), steps.join(", "));
                        match (lang, field) {
                            (Lang::Ko, _) if !steps.is_empty() && every => {
                                format!("{title} ({} 안에 모든 단계: {steps})", window.ko)
                            }
                            (Lang::Ko, _) if !steps.is_empty() => {
                                format!("{title} ({} 안에 단계 {steps} 중 {events}개)", window.ko)
                            }
                            (_, _) if !steps.is_empty() && every => {
                                format!("{title} (every step within {}: {steps})", window.en)
                            }
                            (_, _) if !steps.is_empty() => format!(
                                "{title} ({events} of the steps {steps} within {})",
                                window.en
                            ),
                            (Lang::Ko, Some(field)) => format!(
                                "{title} ({} 안에 서로 다른 {field} {events}개 이상)",
                                window.ko
                            ),
                            (Lang::Ko, None) => {
                                format!("{title} ({} 안에 {events}건 이상)", window.ko)
                            }
                            (_, Some(field)) => format!(
                                "{title} ({events} or more different {field} within {})",
                                window.en
                            ),
                            (_, None) => {
                                format!("{title} ({events} or more within {})", window.en)
                            }
                        }
                    }
                    None => rule.title.get(lang).to_string(),
                };
                print_row(
                    &rule.id,
                    rule.severity.as_str(),
                    if rule.enabled { "yes" } else { "no" },
                    &rule.tags.join(","),
                    &title,
                );
            }
            // The rules written in code, configured by id as rule files are.
            for rule in iamwatch_detect::builtin::CODE_RULES {
                let severity = code
                    .severity_of(rule.id)
                    .map_or(rule.severity, Severity::as_str);
                let enabled = if code.is_enabled(rule.id) {
                    "yes"
                } else {
                    "no"
                };
                print_row(rule.id, severity, enabled, "(in code)", rule.title(lang));
            }
            // The stateful detections, configured by id too.
            let correlate = rules.correlate(CorrelateConfig::default());
            for rule in correlate_rule::CATALOGUE {
                let severity = correlate
                    .severities
                    .get(rule.id)
                    .map_or(rule.severity, |severity| severity.as_str());
                let enabled = if correlate.disabled.contains(rule.id) {
                    "no"
                } else {
                    "yes"
                };
                print_row(rule.id, severity, enabled, "(stateful)", rule.title(lang));
            }
            Ok(ExitCode::SUCCESS)
        }
        RulesCommand::Test { dir } => {
            let rules = selected(dir)?;
            let mut tests = 0;
            let mut failures = Vec::new();
            for rule in &rules {
                tests += rule.tests.len();
                failures.extend(rule.run_tests());
            }
            for failure in &failures {
                println!(
                    "FAIL {} / {}: {}",
                    failure.rule_id, failure.test, failure.reason
                );
            }
            println!(
                "{} rules, {} tests: {} passed, {} failed",
                rules.len(),
                tests,
                tests - failures.len(),
                failures.len()
            );
            Ok(if failures.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
        RulesCommand::Lint { dir } => {
            let rules = selected(dir)?;
            let mut problems = Vec::new();
            let mut ids = BTreeSet::new();
            for rule in &rules {
                problems.extend(
                    rule.lint()
                        .into_iter()
                        .map(|problem| format!("{} ({}): {problem}", rule.id, rule.origin)),
                );
                if !ids.insert(rule.id.clone()) {
                    problems.push(format!(
                        "{} ({}): the id is used twice",
                        rule.id, rule.origin
                    ));
                }
            }
            for problem in &problems {
                println!("{problem}");
            }
            println!(
                "{} rules checked, {} problem(s)",
                rules.len(),
                problems.len()
            );
            Ok(if problems.is_empty() {
                ExitCode::SUCCESS
            } else {
                ExitCode::from(1)
            })
        }
    }
}

/// One line of `rules list`; the severity column holds a code rule's range ("MEDIUM-CRITICAL").
fn print_row(id: &str, severity: &str, enabled: &str, tags: &str, title: &str) {
    println!("{id:<48}  {severity:<15}  {enabled:<7}  {tags:<22}  {title}");
}

fn selected(dir: Option<PathBuf>) -> anyhow::Result<Vec<Rule>> {
    match dir {
        Some(directory) => load_directory(&directory),
        None => Ok(RuleSet::builtin()?.rules().to_vec()),
    }
    .context("cannot load rules")
}
