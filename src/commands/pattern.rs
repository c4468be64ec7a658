//! `iamwatch pattern test`: EventBridge's `test-event-pattern`, offline.

use anyhow::{bail, Context};
use iamwatch_detect::eventbridge::EventPattern;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use std::borrow::Cow;
use std::io::{self, BufRead, Write};
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum PatternCommand {
    /// Test an event against an EventBridge event pattern: prints true or false; exit 0 on a
    /// match, 1 on no match, 2 on an invalid pattern
    Test(TestArgs),
}

#[derive(clap::Args, Debug)]
pub struct TestArgs {
    /// The pattern: a file, or JSON text
    #[arg(long, required_unless_present = "batch")]
    pattern: Option<String>,
    /// The event: a file, or JSON text
    #[arg(long, required_unless_present = "batch")]
    event: Option<String>,
    /// Read JSON Lines from stdin, each {"pattern": object or raw text, "event": object}, and
    /// print one result per line: true, false or `error: <reason>`
    #[arg(long, conflicts_with_all = ["pattern", "event"])]
    batch: bool,
}

pub fn run(command: PatternCommand) -> anyhow::Result<ExitCode> {
    match command {
        PatternCommand::Test(args) if args.batch => batch(),
        PatternCommand::Test(args) => single(&args),
    }
}

/// JSON text given inline, or the content of the file it names.
fn json_argument(argument: &str, what: &str) -> anyhow::Result<String> {
    let trimmed = argument.trim_start();
    if trimmed.starts_with('{') || trimmed.starts_with('[') || trimmed.starts_with('"') {
        return Ok(argument.to_string());
    }
    std::fs::read_to_string(argument)
        .with_context(|| format!("cannot read the {what} file {argument}"))
}

fn single(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let (Some(pattern), Some(event)) = (&args.pattern, &args.event) else {
        bail!("--pattern and --event are both needed without --batch");
    };
    let pattern_text = json_argument(pattern, "pattern")?;
    let event_text = json_argument(event, "event")?;
    let compiled = match EventPattern::parse(&pattern_text) {
        Ok(compiled) => compiled,
        Err(error) => {
            eprintln!("error: invalid pattern: {error}");
            return Ok(ExitCode::from(2));
        }
    };
    let event: Value = serde_json::from_str(&event_text).context("the event is not valid JSON")?;
    let matched = compiled.matches(&event);
    println!("{matched}");
    Ok(if matched {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

#[derive(Deserialize)]
struct BatchLine<'a> {
    #[serde(borrow)]
    pattern: Option<&'a RawValue>,
    #[serde(borrow, default)]
    event: Option<&'a RawValue>,
}

fn batch() -> anyhow::Result<ExitCode> {
    let stdin = io::stdin().lock();
    let mut out = io::BufWriter::new(io::stdout().lock());
    for line in stdin.lines() {
        let line = line.context("cannot read standard input")?;
        if line.trim().is_empty() {
            continue;
        }
        writeln!(out, "{}", one_line(&batch_result(&line)))?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `result` on one line, its control characters escaped: a reason names the pattern's keys,
/// a key may hold a newline (`"a\\nb"` in JSON), and the batch protocol is one answer per line.
fn one_line(result: &str) -> Cow<'_, str> {
    if !result.contains(char::is_control) {
        return Cow::Borrowed(result);
    }
    let mut line = String::with_capacity(result.len() + 8);
    for c in result.chars() {
        if c.is_control() {
            line.extend(c.escape_default());
        } else {
            line.push(c);
        }
    }
    Cow::Owned(line)
}

/// `true`, `false` or `error: <reason>` for one batch line. Patterns are compiled from their
/// raw text, so number literals are read exactly as written.
fn batch_result(line: &str) -> String {
    let parsed: BatchLine = match serde_json::from_str(line) {
        Ok(parsed) => parsed,
        Err(error) => return format!("error: the line is not a JSON object: {error}"),
    };
    let Some(pattern) = parsed.pattern else {
        return "error: the line has no pattern".to_string();
    };
    let pattern_text = match serde_json::from_str::<String>(pattern.get()) {
        Ok(raw_text) => raw_text,
        Err(_) => pattern.get().to_string(),
    };
    let compiled = match EventPattern::parse(&pattern_text) {
        Ok(compiled) => compiled,
        Err(error) => return format!("error: {error}"),
    };
    let event = match parsed.event {
        Some(raw) => match serde_json::from_str::<Value>(raw.get()) {
            Ok(event) => event,
            Err(error) => return format!("error: the event is not valid JSON: {error}"),
        },
        None => Value::Object(Default::default()),
    };
    compiled.matches(&event).to_string()
}
