//! `iamwatch posture`: the account's IAM posture now, principal by principal, riskiest first.

use crate::output::Format;
use anyhow::Context;
use iamwatch_core::{Lang, Severity};
use iamwatch_posture::{PrincipalReport, Thresholds};
use std::io::Write;
use std::process::ExitCode;

#[derive(clap::Args, Debug)]
pub struct PostureArgs {
    /// `jsonl` prints one principal per line (kind, name, arn, risk, findings) and nothing else
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Language of the findings' reasons
    #[arg(long, env = "IAMWATCH_LANG", default_value = "en")]
    pub lang: Lang,
    /// A password or access key unused for this many days (or never, this long after it was made) is a finding
    #[arg(long, default_value_t = Thresholds::default().stale_days)]
    pub stale_days: i64,
    /// An active access key not rotated for this many days is a finding
    #[arg(long, default_value_t = Thresholds::default().key_age_days)]
    pub key_age_days: i64,
}

pub fn run(args: PostureArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let inventory = runtime.block_on(async {
        let client = iamwatch_posture::client_from_env().await;
        iamwatch_posture::collect(&client).await
    })?;
    let thresholds = Thresholds {
        stale_days: args.stale_days,
        key_age_days: args.key_age_days,
    };
    let reports = iamwatch_posture::assess(&inventory, iamwatch_core::time::now_ms(), thresholds);
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for report in &reports {
        match args.format {
            Format::Jsonl => writeln!(out, "{}", jsonl(report, args.lang))?,
            Format::Table => write_table(&mut out, report, args.lang)?,
        }
    }
    out.flush()?;
    let counts: Vec<String> = Severity::ALL
        .iter()
        .map(|severity| {
            let count = iamwatch_posture::count_findings(&reports, *severity);
            format!("{count} {severity}")
        })
        .collect();
    eprintln!(
        "{} users, {} roles read; {} principals with findings ({})",
        inventory.users.len(),
        inventory.roles.len(),
        reports.len(),
        counts.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

fn jsonl(report: &PrincipalReport, lang: Lang) -> serde_json::Value {
    let findings: Vec<serde_json::Value> = report
        .findings
        .iter()
        .map(|finding| {
            serde_json::json!({
                "id": finding.id,
                "severity": finding.severity,
                "reason": finding.reason.get(lang),
            })
        })
        .collect();
    serde_json::json!({
        "kind": report.kind,
        "name": report.name,
        "arn": report.arn,
        "risk": report.risk,
        "findings": findings,
    })
}

fn write_table(out: &mut impl Write, report: &PrincipalReport, lang: Lang) -> std::io::Result<()> {
    writeln!(
        out,
        "{:>3}  {} {}  {}",
        report.risk, report.kind, report.name, report.arn
    )?;
    for finding in &report.findings {
        let severity = match lang {
            Lang::En => finding.severity.as_str(),
            Lang::Ko => finding.severity.label_ko(),
        };
        writeln!(out, "       {severity:<9} {}", finding.reason.get(lang))?;
    }
    Ok(())
}
