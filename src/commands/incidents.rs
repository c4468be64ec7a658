//! `iamwatch incidents …`: read and work on the stored incidents.

use super::StoreArgs;
use crate::output::{self, Format};
use anyhow::{bail, Context};
use iamwatch_core::{time::now_ms, IncidentStatus, Lang, Severity};
use iamwatch_store::{IncidentChange, IncidentQuery, IncidentStore};
use std::io::{self, Write};
use std::process::ExitCode;

/// `incidents`: the store and language go before or after the subcommand, as people write
/// them (`iamwatch incidents --db trail.db list`).
#[derive(clap::Args, Debug)]
pub struct IncidentsArgs {
    #[command(flatten)]
    store: StoreArgs,
    /// Language of labels, titles and times (ko shows times in KST)
    #[arg(long, env = "IAMWATCH_LANG", default_value = "en", global = true)]
    lang: Lang,
    #[command(subcommand)]
    command: IncidentsCommand,
}

#[derive(clap::Subcommand, Debug)]
pub enum IncidentsCommand {
    /// List incidents, newest event first
    List(ListArgs),
    /// Show one incident with its raw event and history
    Show(ShowArgs),
    /// Acknowledge: someone is looking at it
    Ack(ChangeArgs),
    /// Resolve: handled
    Resolve(ChangeArgs),
    /// Mark as a false positive
    FalsePositive(ChangeArgs),
}

#[derive(clap::Args, Debug)]
pub struct ListArgs {
    /// Only these severities (repeatable or comma-separated)
    #[arg(long, value_delimiter = ',')]
    severity: Vec<Severity>,
    /// Only these statuses (repeatable or comma-separated)
    #[arg(long, value_delimiter = ',')]
    status: Vec<IncidentStatus>,
    /// Only this account's (its id)
    #[arg(long)]
    account: Option<String>,
    /// Only this rule's (its id, as `iamwatch rules list` shows it)
    #[arg(long)]
    rule: Option<String>,
    /// Only incidents created or updated since then: a span back from now (30m, 24h, 7d), a day
    /// (2024-06-01, UTC), an RFC 3339 time or epoch milliseconds
    #[arg(long, value_parser = parse_since)]
    since: Option<i64>,
    /// Text to look for (any case) in titles, resources, event names and the meta's values
    /// (a user, an IP, a key id, a user agent), not its keys
    #[arg(long)]
    text: Option<String>,
    /// How many incidents to list; more than a page are read page by page
    #[arg(long, default_value_t = 50, conflicts_with = "all")]
    limit: usize,
    /// Every matching incident (`--format jsonl --all` exports the store)
    #[arg(long)]
    all: bool,
    /// Go on from where an earlier list stopped (it prints the cursor on stderr)
    #[arg(long)]
    cursor: Option<String>,
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
}

fn parse_since(text: &str) -> Result<i64, String> {
    iamwatch_core::time::parse_since(text, iamwatch_core::time::now_ms()).ok_or_else(|| {
        "neither a span back from now (30m, 24h, 7d), a day (2024-06-01), an RFC 3339 time nor epoch milliseconds".to_string()
    })
}

#[derive(clap::Args, Debug)]
pub struct ShowArgs {
    id: String,
}

#[derive(clap::Args, Debug)]
pub struct ChangeArgs {
    id: String,
    /// Why, for the history
    #[arg(long)]
    note: Option<String>,
    /// Who is making the change (default: $USER)
    #[arg(long, env = "USER", default_value = "cli")]
    actor: String,
}

pub fn run(args: IncidentsArgs) -> anyhow::Result<ExitCode> {
    let runtime = super::runtime()?;
    let IncidentsArgs {
        store,
        lang,
        command,
    } = args;
    let opened = store.open_existing(&runtime)?;
    let store = opened.incidents();
    match command {
        IncidentsCommand::List(args) => runtime.block_on(list(store, args, lang)),
        IncidentsCommand::Show(args) => runtime.block_on(show(store, args, lang)),
        IncidentsCommand::Ack(args) => {
            runtime.block_on(change(store, args, lang, IncidentStatus::Acknowledged))
        }
        IncidentsCommand::Resolve(args) => {
            runtime.block_on(change(store, args, lang, IncidentStatus::Resolved))
        }
        IncidentsCommand::FalsePositive(args) => {
            runtime.block_on(change(store, args, lang, IncidentStatus::FalsePositive))
        }
    }
}

async fn list(store: &dyn IncidentStore, args: ListArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let wanted = if args.all { usize::MAX } else { args.limit };
    let mut query = IncidentQuery {
        severities: args.severity,
        statuses: args.status,
        account: args.account,
        rule_id: args.rule,
        text: args.text,
        since_ms: args.since,
        cursor: args.cursor,
        ..IncidentQuery::default()
    };
    let mut out = io::BufWriter::new(io::stdout().lock());
    let mut table = None;
    let mut listed = 0;
    // Page by page, so that memory stays a page whatever the store holds.
    while listed < wanted {
        query.limit = (wanted - listed).min(IncidentQuery::MAX_LIMIT);
        let page = store.list(&query).await.context("cannot list incidents")?;
        listed += page.incidents.len();
        let table = match &mut table {
            Some(table) => table,
            // Column widths from the first page.
            None => {
                let first = output::Table::new(
                    lang,
                    page.incidents
                        .iter()
                        .map(|incident| incident.rule_id.as_str()),
                );
                if args.format == Format::Table {
                    writeln!(out, "{}", first.header())?;
                }
                table.insert(first)
            }
        };
        for incident in &page.incidents {
            match args.format {
                Format::Jsonl => output::write_jsonl(&mut out, incident, lang)?,
                Format::Table => writeln!(out, "{}", table.row(incident, false))?,
            }
        }
        query.cursor = page.next_cursor;
        if query.cursor.is_none() {
            break;
        }
    }
    out.flush()?;
    if let Some(cursor) = &query.cursor {
        eprintln!("more incidents: list them with --cursor {cursor}");
    }
    Ok(ExitCode::SUCCESS)
}

async fn show(store: &dyn IncidentStore, args: ShowArgs, lang: Lang) -> anyhow::Result<ExitCode> {
    let Some(incident) = store.get(&args.id).await.context("cannot read incident")? else {
        bail!("no incident {}", args.id);
    };
    let history = store
        .history(&args.id)
        .await
        .context("cannot read incident history")?;
    let mut document = serde_json::to_value(incident.view(lang))?;
    document["event_time"] = output::localized_time(incident.event_time_ms, lang).into();
    document["history"] = serde_json::to_value(&history)?;
    document["raw"] = incident
        .raw
        .as_deref()
        .and_then(|raw| serde_json::from_str(raw).ok())
        .unwrap_or(serde_json::Value::Null);
    println!("{}", serde_json::to_string_pretty(&document)?);
    Ok(ExitCode::SUCCESS)
}

async fn change(
    store: &dyn IncidentStore,
    args: ChangeArgs,
    lang: Lang,
    status: IncidentStatus,
) -> anyhow::Result<ExitCode> {
    let change = IncidentChange {
        status: Some(status),
        note: args.note,
        actor: args.actor,
        at_ms: now_ms(),
        ..Default::default()
    };
    let incident = store
        .update(&args.id, change)
        .await
        .with_context(|| format!("cannot change incident {}", args.id))?;
    let message = match lang {
        Lang::En => format!("{} is now {}", incident.incident_id, incident.status),
        Lang::Ko => format!("{} 상태: {}", incident.incident_id, incident.status),
    };
    println!("{message}");
    Ok(ExitCode::SUCCESS)
}
