//! `iamwatch serve`: the live server (see the `iamwatch-server` crate).

use anyhow::Context;
use iamwatch_server::auth::Auth;
use iamwatch_server::{Config, LiveRules, LogFormat, Options, Secret};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// TOML config file (see iamwatch.example.toml); IAMWATCH_* variables override it
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// SQLite database file or PostgreSQL URL (overrides the config and IAMWATCH_DB)
    #[arg(long)]
    pub db: Option<iamwatch_store::StoreLocation>,
    /// Address to listen on, e.g. 127.0.0.1:8080 (port 0 picks a free one)
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    #[command(flatten)]
    pub rules: super::rules::RuleArgs,
    /// Replay the bundled sample events so incidents arrive on the dashboard
    #[arg(long)]
    pub demo: bool,
    /// Time between demo events, in milliseconds
    #[arg(long, default_value_t = 1500)]
    pub demo_interval_ms: u64,
    /// Log lines as JSON objects
    #[arg(long)]
    pub json_logs: bool,
}

pub fn run(args: ServeArgs) -> anyhow::Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let secrets = super::secret_variables(&runtime)?;
    let mut config = Config::load_with(args.config.as_deref(), |name| secrets.lookup(name, env))?;
    if let Some(db) = &args.db {
        config.db.clone_from(db);
    }
    if let Some(listen) = args.listen {
        config.listen = listen;
    }
    if args.json_logs {
        config.log_format = LogFormat::Json;
    }
    init_logging(config.log_format);
    config.check_exposure()?;

    let rule_args = rule_args_from(&mut config, args.rules)?;
    let skip = config.ingest.skip.clone();
    let rules = LiveRules::new(rule_args.detector(&skip)?);
    let store = super::Store::open(&config.db, super::Opening::Live, &runtime)?.shared();
    let has_token = config.token.is_some();
    let auth = Auth::new(config.token.clone());
    let options = Options {
        config,
        rules: rules.clone(),
        auth: auth.clone(),
        store,
        secrets,
        demo: args
            .demo
            .then(|| Duration::from_millis(args.demo_interval_ms.max(10))),
    };
    // The handlers are installed before serve says it listens: a SIGTERM sent on that line
    // (a script, a service manager) killed the process when they were installed only once
    // the shutdown future was first polled.
    let shutdown = {
        let _context = runtime.enter();
        reload_on_hangup(rules, rule_args, skip, auth, args.config.clone())?;
        shutdown_signal()?
    };
    runtime.block_on(iamwatch_server::serve(
        options,
        |address| {
            // Tests and scripts read this line to find the port.
            eprintln!("iamwatch serve: listening on http://{address}");
            eprintln!("  dashboard: http://{address}/");
            if has_token {
                eprintln!(
                    "  the dashboard asks for the API token once and keeps it in this browser"
                );
            }
        },
        shutdown,
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// The detector the config's `[rules]` and the command line ask for; the config's
/// `[correlate]` given the same rule overrides, and checked.
pub fn detector_from(
    config: &mut Config,
    rules: super::rules::RuleArgs,
) -> anyhow::Result<iamwatch_detect::Detector> {
    rule_args_from(config, rules)?.detector(&config.ingest.skip)
}

/// The command line's rule arguments with the config's `[rules]` added: what the detector is
/// built from, at the start and at each reload. Sets and checks the config's `[correlate]`
/// with the same overrides (the rules a reload reads again are the rule files only).
fn rule_args_from(
    config: &mut Config,
    mut rules: super::rules::RuleArgs,
) -> anyhow::Result<super::rules::RuleArgs> {
    rules
        .rule_dirs
        .splice(0..0, config.rules.dirs.iter().cloned());
    rules.disabled.extend(config.rules.disable.iter().cloned());
    if rules.geoip.is_none() {
        rules.geoip.clone_from(&config.geoip);
    }
    for (id, severity) in &config.rules.severity {
        let severity = severity
            .parse()
            .with_context(|| format!("[rules.severity] {id}"))?;
        rules.severities.insert(0, (id.clone(), severity));
    }
    config.correlate = rules.correlate(config.correlate.clone());
    config.correlate.check().map_err(anyhow::Error::msg)?;
    Ok(rules)
}

/// On SIGHUP, the rule files (and the GeoIP database) read again and put in force; a reload
/// that fails leaves the rules in force (`LiveRules::reload` logs and counts it). The token is
/// read again too, from where it came (the config file, `IAMWATCH_TOKEN_FILE`'s file, the
/// `IAMWATCH_SECRETS` secret; the process's own environment cannot change), and the tokens it
/// lists replace those in force; one that cannot be read, or none at all, leaves them. The
/// handler is installed now, before serve says it listens, as the shutdown's are: SIGHUP's
/// default ends the process.
fn reload_on_hangup(
    live: LiveRules,
    rules: super::rules::RuleArgs,
    skip: Vec<String>,
    auth: Auth,
    config_path: Option<std::path::PathBuf>,
) -> anyhow::Result<()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut hangups = signal(SignalKind::hangup()).context("cannot handle SIGHUP")?;
        tokio::spawn(async move {
            while hangups.recv().await.is_some() {
                tracing::info!("SIGHUP: reading the rule files again");
                let (live, rules, skip) = (live.clone(), rules.clone(), skip.clone());
                // Rule files are read and compiled off the async workers.
                let reloaded = tokio::task::spawn_blocking(move || {
                    live.reload(|| rules.detector(&skip).map_err(|error| one_line(&error)))
                })
                .await;
                if let Err(error) = reloaded {
                    tracing::error!(%error, "the rule reload stopped");
                }
                match token_again(config_path.as_deref()).await {
                    Ok(token) => match auth.replace(token.as_ref()) {
                        Ok(count) => {
                            tracing::info!(
                                tokens = count,
                                "SIGHUP: the token read again and in force"
                            );
                        }
                        Err(error) => tracing::error!(%error, "SIGHUP: the token not replaced"),
                    },
                    Err(error) => {
                        let error = one_line(&error);
                        tracing::error!(%error, "SIGHUP: cannot read the token again; the tokens in force stay");
                    }
                }
            }
        });
    }
    #[cfg(not(unix))]
    let _ = (live, rules, skip, auth, config_path);
    Ok(())
}

/// The token as the start read it: the config file, then the secrets and the environment.
async fn token_again(config_path: Option<&std::path::Path>) -> anyhow::Result<Option<Secret>> {
    let secrets = super::read_secret_variables().await?;
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let config = Config::load_with(config_path, |name| secrets.lookup(name, env))?;
    Ok(config.token)
}

pub fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// An error and its causes on one log line (a rule directory's errors are listed a line each).
fn one_line(error: &anyhow::Error) -> String {
    let text = format!("{error:#}");
    let lines: Vec<&str> = text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty())
        .collect();
    lines.join(" ")
}

/// SIGINT or SIGTERM, their handlers installed now (this needs the runtime's context), so
/// that neither kills the process from here on; the future resolves at the first of them.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let mut interrupt = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
        let mut terminate = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
        })
    }
    #[cfg(not(unix))]
    {
        Ok(async {
            let _ = tokio::signal::ctrl_c().await;
        })
    }
}
