//! `iamwatch notify test`: a sample incident sent now to every `[[notify]]` destination of the
//! config, each destination's answer printed.

use anyhow::{bail, Context};
use iamwatch_core::{Incident, Localized};
use iamwatch_server::Config;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Subcommand, Debug)]
pub enum NotifyCommand {
    /// Send a sample incident to every [[notify]] destination of the config, now and once
    /// (whatever their min_severity), and say what each answered; exit 1 if any did not take it
    Test {
        /// TOML config file (see iamwatch.example.toml), as `serve` reads it
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

/// The event a sample notification is made from: an MFA device deactivated (HIGH).
const SAMPLE_EVENT: &str = "DeactivateMFADevice";

pub fn run(command: NotifyCommand) -> anyhow::Result<ExitCode> {
    let NotifyCommand::Test { config } = command;
    let loaded = Config::load(config.as_deref())?;
    if loaded.notify.is_empty() {
        bail!(
            "{} has no [[notify]] tables (iamwatch.example.toml shows each kind)",
            config.map_or("the configuration".to_string(), |path| path
                .display()
                .to_string())
        );
    }
    let incident = sample_incident()?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    // The destinations' secrets as `serve` reads them.
    let secrets = super::secret_variables(&runtime)?;
    let outcomes = runtime.block_on(iamwatch_notify::send_once(
        &loaded.notify,
        &|name| secrets.lookup(name, |name| std::env::var(name).ok()),
        &incident,
    ))?;
    let mut failed = false;
    for outcome in &outcomes {
        match &outcome.result {
            Ok(()) => println!("{} ({}): sent", outcome.name, outcome.kind),
            Err(reason) => {
                failed = true;
                println!("{} ({}): not sent: {reason}", outcome.name, outcome.kind);
            }
        }
    }
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// A bundled sample event as it would be detected now, its title marked as a test.
fn sample_incident() -> anyhow::Result<Incident> {
    let now = iamwatch_core::time::now_ms();
    let record = iamwatch_server::demo::samples()
        .into_iter()
        .find(|record| record["eventName"] == SAMPLE_EVENT)
        .context("the bundled samples hold no DeactivateMFADevice")?;
    let record = iamwatch_server::demo::refresh(&record, 0, now);
    let detector = iamwatch_detect::Detector::new(
        iamwatch_detect::DetectorConfig::default(),
        std::sync::Arc::new(iamwatch_detect::builtin_rules()),
    );
    let body = serde_json::to_vec(&record)?;
    let mut incident = iamwatch_pipeline::read_body(body, "notify test", &detector)
        .incidents
        .pop()
        .context("the sample event made no incident")?;
    incident.event_id = format!("notify-test-{now}");
    incident.title = Localized::new(
        format!("[test] {}", incident.title.en),
        format!("[테스트] {}", incident.title.ko),
    );
    Ok(incident)
}
