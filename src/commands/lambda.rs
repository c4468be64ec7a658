//! `iamwatch lambda`: the function of the serverless deployment (see the `iamwatch-lambda`
//! crate and `deploy/serverless`). Configured as `serve` is (a TOML file, `IAMWATCH_*`
//! variables), plus the variables only the function has.

use anyhow::Context;
use iamwatch_server::{Config, LogFormat};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct LambdaArgs {
    /// TOML config file (as for serve: [rules], [correlate], [[notify]], [respond], [s3]); IAMWATCH_*
    /// variables override it
    #[arg(long, env = "IAMWATCH_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub rules: super::rules::RuleArgs,
}

/// Whether the process was started as a Lambda custom runtime's `bootstrap` (the binary
/// packaged under that name), which Lambda runs without arguments.
pub fn started_as_bootstrap() -> bool {
    std::env::args_os()
        .next()
        .map(PathBuf::from)
        .and_then(|path| path.file_name().map(|name| name == "bootstrap"))
        .unwrap_or(false)
}

pub fn run(args: LambdaArgs) -> anyhow::Result<ExitCode> {
    let missing: Vec<&str> = iamwatch_lambda::RUNTIME_VARIABLES
        .iter()
        .copied()
        .filter(|name| std::env::var_os(name).is_none())
        .collect();
    if !missing.is_empty() {
        anyhow::bail!(
            "iamwatch lambda runs inside AWS Lambda (or an emulator of its runtime API); {} not set. To watch events on a host, use `iamwatch serve`",
            missing.join(", ")
        );
    }
    // CloudWatch Logs reads JSON lines into fields.
    super::serve::init_logging(LogFormat::Json);
    let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let secrets = super::secret_variables(&runtime)?;
    let mut config = Config::load_with(args.config.as_deref(), |name| secrets.lookup(name, env))?;
    if matches!(config.db, iamwatch_store::StoreLocation::Sqlite(_)) {
        anyhow::bail!(
            "the function needs a store that outlives it: set IAMWATCH_DB to dynamodb://TABLE (or a PostgreSQL URL)"
        );
    }
    let detector = super::serve::detector_from(&mut config, args.rules)?;
    let settings = iamwatch_lambda::Settings {
        token: config.token.clone(),
        connections_table: env("IAMWATCH_CONNECTIONS_TABLE"),
        websocket_endpoint: env("IAMWATCH_WEBSOCKET_ENDPOINT"),
        dead_letter_queue: env("IAMWATCH_DEAD_LETTER_QUEUE"),
        max_object_bytes: config.s3.max_object_bytes,
        aws_timeout: Duration::from_secs(config.s3.timeout_secs.max(1)),
        notify: config.notify.clone(),
        respond: config.respond.clone(),
        secrets,
        partial_batches: match env("IAMWATCH_SQS_PARTIAL_BATCH").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(other) => anyhow::bail!(
                "IAMWATCH_SQS_PARTIAL_BATCH is {other:?}: true (the SQS event source mapping has ReportBatchItemFailures) or false"
            ),
        },
    };
    let store = super::Store::open(&config.db, super::Opening::Live, &runtime)?.shared();
    runtime.block_on(async move {
        let function =
            iamwatch_lambda::Function::new(settings, detector, store, config.correlate).await?;
        iamwatch_lambda::run(function)
            .await
            .map_err(|error| anyhow::anyhow!("the Lambda runtime stopped: {error}"))
    })?;
    Ok(ExitCode::SUCCESS)
}
