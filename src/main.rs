//! `iamwatch`: the command line. Glue only; the work is in the crates under `crates/`.

mod commands;
mod output;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

// A scan allocates and frees small objects (parsed values, incident fields) on several threads
// at once, and frees most incidents on another thread than the worker that built them: glibc's
// allocator spent a tenth of a scan's instructions on that. mimalloc cut the instructions, but
// its delayed cross-thread frees took a sixth of the scan's CPU time (perf); jemalloc's scan
// was 9% faster than mimalloc's (2.79 s against 3.06 s, four interleaved pairs), at the same
// peak RSS.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "iamwatch",
    version,
    about = "Watches AWS IAM activity in CloudTrail and turns it into incidents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Scan CloudTrail logs (files, directories, s3:// locations, `-` for stdin) and store the
    /// incidents found
    Scan(commands::scan::ScanArgs),
    /// List, show and work on stored incidents
    Incidents(commands::incidents::IncidentsArgs),
    /// EventBridge event patterns
    #[command(subcommand)]
    Pattern(commands::pattern::PatternCommand),
    /// Detection rules: list, test, lint
    #[command(subcommand)]
    Rules(commands::rules::RulesCommand),
    /// Run the live server: authenticated ingest, incident API, WebSocket stream, dashboard
    Serve(commands::serve::ServeArgs),
    /// The account's IAM posture now: administrators and how, users without MFA, unused or old
    /// credentials, root keys, roles others may assume; a risk score per principal
    Posture(commands::posture::PostureArgs),
    /// Run a response playbook on an incident: deactivate a key, detach a policy, quarantine a
    /// user (a dry run unless --execute; what was done is recorded in the incident's history)
    Respond(commands::respond::RespondArgs),
    /// Notification destinations ([[notify]] in the config): send a test
    #[command(subcommand)]
    Notify(commands::notify::NotifyCommand),
    /// Run as an AWS Lambda function (the serverless deployment; deploy/serverless): events
    /// from EventBridge, SQS, SNS or S3 in, incidents to DynamoDB and API Gateway WebSocket
    /// clients. The binary named `bootstrap` runs this
    Lambda(commands::lambda::LambdaArgs),
}

fn main() -> ExitCode {
    let cli = if commands::lambda::started_as_bootstrap() {
        Cli::parse_from(["iamwatch", "lambda"])
    } else {
        Cli::parse()
    };
    let result = match cli.command {
        Command::Scan(args) => commands::scan::run(args),
        Command::Incidents(args) => commands::incidents::run(args),
        Command::Pattern(command) => commands::pattern::run(command),
        Command::Rules(command) => commands::rules::run(command),
        Command::Serve(args) => commands::serve::run(args),
        Command::Notify(command) => commands::notify::run(command),
        Command::Posture(args) => commands::posture::run(args),
        Command::Respond(args) => commands::respond::run(args),
        Command::Lambda(args) => commands::lambda::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
