//! `iamwatch scan`: CloudTrail logs in, incidents stored and printed.

use super::StoreArgs;
use crate::output::{self, Format};
use anyhow::Context;
use iamwatch_core::Lang;
use iamwatch_correlate::CorrelateConfig;
use iamwatch_pipeline::{BadRecord, ScanOptions, ScanReport, ScanSink};
use iamwatch_s3::{S3Source, S3Url};
use iamwatch_sources::Input;
use iamwatch_store::Stored;
use std::fs::File;
use std::io::{self, BufWriter, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// Inputs above this size get a progress bar (when stderr is a terminal).
const PROGRESS_BAR_BYTES: u64 = 64 * 1024 * 1024;
/// Bad records printed on stderr; the rest are only in the dead-letter file.
const SHOWN_BAD_RECORDS: u64 = 20;

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// CloudTrail log files or directories (walked recursively), S3 locations
    /// (`s3://BUCKET/PREFIX`, listed recursively); `-` reads standard input
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// `jsonl` prints one incident JSON object per line on stdout and nothing else
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Language of labels, titles and the summary
    #[arg(long, env = "IAMWATCH_LANG", default_value = "en")]
    pub lang: Lang,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub rules: super::rules::RuleArgs,
    /// Where unreadable records are kept, one JSON object per line
    #[arg(long, default_value = "iamwatch-deadletter.jsonl")]
    pub dead_letter: PathBuf,
    /// APIs the generic IAM rule records as skipped instead of raising (comma-separated;
    /// empty for none)
    #[arg(long, default_value = "CreateAccessKey", value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Worker threads (default: one per core)
    #[arg(long, default_value_t = 0)]
    pub jobs: usize,
    /// Exit with status 3 when any record could not be read
    #[arg(long)]
    pub strict: bool,
    /// Leave out the stateful detections (repeated failed sign-ins, bursts, escalation
    /// sequences, users without MFA), which see the incidents in input order
    #[arg(long)]
    pub no_correlate: bool,
    /// A `serve` config file (iamwatch.toml) whose `[correlate]` table sets the stateful
    /// detections' thresholds and working hours for this scan
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
}

/// The stateful detections' settings: the config file's, or the defaults; the rule overrides
/// of the command line on top.
fn correlate_config(args: &ScanArgs) -> anyhow::Result<CorrelateConfig> {
    let from_file = match &args.config {
        Some(path) => iamwatch_server::Config::load(Some(path))?.correlate,
        None => CorrelateConfig::default(),
    };
    let mut config = args.rules.correlate(from_file);
    config.enabled &= !args.no_correlate;
    config.check().map_err(anyhow::Error::msg)?;
    Ok(config)
}

pub fn run(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let runtime = super::runtime()?;
    let mut discovered = discover(&args.paths, runtime.handle())?;
    leave_out_dead_letters(&mut discovered, &args.dead_letter);
    // Rules, GeoIP database and settings first: a mistake in them leaves no store behind.
    let options = ScanOptions {
        detector: args.rules.detector(&args.skip)?,
        jobs: args.jobs,
        // Not `..Default::default()`: that would build (and compile the rule pack for) a
        // detector only to drop it.
        batch_size: ScanOptions::DEFAULT_BATCH_SIZE,
        window: ScanOptions::DEFAULT_WINDOW,
        correlate: correlate_config(&args)?,
    };
    let store = args.store.open_bulk(&runtime)?;
    let total_bytes: u64 = discovered
        .inputs
        .iter()
        .filter_map(|input| input.size())
        .sum();
    let progress = (io::stderr().is_terminal() && total_bytes > PROGRESS_BAR_BYTES).then(|| {
        let bar = indicatif::ProgressBar::new(total_bytes);
        bar.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}",
            )
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
        );
        bar
    });
    let table = output::Table::new(
        args.lang,
        options
            .detector
            .rules()
            .rules()
            .iter()
            .map(|rule| rule.id.as_str()),
    );
    let mut sink = CliSink {
        format: args.format,
        lang: args.lang,
        table,
        // Room for a chunk's incidents (about a CloudTrail file's): one write each, where 8 KB
        // made twenty.
        out: BufWriter::with_capacity(OUTPUT_BUFFER, io::stdout().lock()),
        dead_letter_path: args.dead_letter.clone(),
        dead_letter: None,
        bad_shown: 0,
        progress,
        header_written: false,
        failure: None,
    };
    let started = Instant::now();
    let report = iamwatch_pipeline::scan(
        &discovered.inputs,
        &options,
        store.incidents(),
        runtime.handle(),
        &mut sink,
    )
    .context("scan stopped")?;
    // Every incident reported is on disk before the summary says so.
    store.sync()?;
    if let Some(bar) = &sink.progress {
        bar.finish_and_clear();
    }
    if let Some(failure) = sink.failure.take() {
        if failure.kind() != io::ErrorKind::BrokenPipe {
            return Err(failure).context("cannot write output");
        }
    }
    flush(&mut sink)?;
    print_summary(
        &report,
        &discovered.passed_over,
        started.elapsed().as_secs_f64(),
        &args,
    );
    Ok(if args.strict && report.bad_records > 0 {
        ExitCode::from(3)
    } else {
        ExitCode::SUCCESS
    })
}

/// Bytes of output held before a write; flushed at each chunk and idle tick anyway.
const OUTPUT_BUFFER: usize = 256 * 1024;

struct CliSink<'a> {
    format: Format,
    lang: Lang,
    table: output::Table,
    out: BufWriter<io::StdoutLock<'a>>,
    dead_letter_path: PathBuf,
    dead_letter: Option<BufWriter<File>>,
    bad_shown: u64,
    progress: Option<indicatif::ProgressBar>,
    header_written: bool,
    /// The first output error; output stops there (a closed pipe ends output, not the scan).
    failure: Option<io::Error>,
}

impl CliSink<'_> {
    fn write_incident(&mut self, stored: &Stored) -> io::Result<()> {
        match self.format {
            Format::Jsonl => output::write_jsonl(&mut self.out, &stored.incident, self.lang),
            Format::Table => {
                if !self.header_written {
                    self.header_written = true;
                    writeln!(self.out, "{}", self.table.header())?;
                }
                writeln!(
                    self.out,
                    "{}",
                    self.table.row(&stored.incident, !stored.created)
                )
            }
        }
    }

    fn write_dead_letter(&mut self, bad: &BadRecord) -> io::Result<()> {
        if self.dead_letter.is_none() {
            let file = File::options()
                .create(true)
                .append(true)
                .open(&self.dead_letter_path)?;
            self.dead_letter = Some(BufWriter::new(file));
        }
        if let Some(writer) = self.dead_letter.as_mut() {
            serde_json::to_writer(&mut *writer, bad).map_err(io::Error::other)?;
            writer.write_all(b"\n")?;
        }
        Ok(())
    }
}

impl ScanSink for CliSink<'_> {
    fn incident(&mut self, stored: &Stored) {
        if self.failure.is_none() {
            if let Err(error) = self.write_incident(stored) {
                self.failure = Some(error);
            }
        }
    }

    fn bad_record(&mut self, bad: &BadRecord) {
        if self.bad_shown < SHOWN_BAD_RECORDS {
            self.bad_shown += 1;
            let line = format!("warning: {bad}");
            match &self.progress {
                Some(bar) => bar.println(line),
                None => eprintln!("{line}"),
            }
        }
        if let Err(error) = self.write_dead_letter(bad) {
            eprintln!(
                "error: cannot write dead-letter file {}: {error}",
                self.dead_letter_path.display()
            );
        }
    }

    fn progress(&mut self, bytes_read: u64) {
        if let Some(bar) = &self.progress {
            bar.set_position(bytes_read);
        }
        if self.failure.is_none() {
            if let Err(error) = self.out.flush() {
                self.failure = Some(error);
            }
        }
    }
}

fn flush(sink: &mut CliSink<'_>) -> anyhow::Result<()> {
    if let Some(writer) = sink.dead_letter.as_mut() {
        writer
            .flush()
            .with_context(|| format!("cannot write {}", sink.dead_letter_path.display()))?;
    }
    match sink.out.flush() {
        Err(error) if error.kind() != io::ErrorKind::BrokenPipe => {
            Err(error).context("cannot write output")
        }
        _ => Ok(()),
    }
}

/// Local paths walked and S3 locations listed, in the order given. S3 is connected to only
/// when a location asks for it (credentials are looked for then).
fn discover(
    paths: &[PathBuf],
    runtime: &tokio::runtime::Handle,
) -> anyhow::Result<iamwatch_sources::Discovered> {
    let mut found = iamwatch_sources::Discovered::default();
    let mut s3 = None;
    for path in paths {
        let text = path.to_string_lossy();
        if S3Url::is_s3(&text) {
            let url = S3Url::parse(&text)?;
            let source = s3.get_or_insert_with(|| S3Source::from_env(runtime));
            let listing = source.list(&url)?;
            if let Some(region) = &listing.region {
                // Said, as the request's region was not the configured one.
                eprintln!(
                    "note: s3://{} is in {region}: listed and read there",
                    url.bucket
                );
            }
            found.inputs.extend(listing.inputs);
            found
                .passed_over
                .extend(listing.passed_over.into_iter().map(PathBuf::from));
        } else {
            let local = iamwatch_sources::discover(std::slice::from_ref(path))?;
            found.inputs.extend(local.inputs);
            found.passed_over.extend(local.passed_over);
        }
    }
    Ok(found)
}

/// The dead-letter file is never read: a scan of the directory it is in (`iamwatch scan .`
/// with the default path) read the last run's dead letters as records, and kept each again as
/// a dead letter, doubling the file at every run. Passed over, as other files that are not logs.
fn leave_out_dead_letters(discovered: &mut iamwatch_sources::Discovered, dead_letter: &Path) {
    let Ok(kept) = std::fs::canonicalize(dead_letter) else {
        return; // not written yet: nothing to confuse it with
    };
    let is_kept = |path: &Path| {
        // Names first: resolving every input's path would cost a walk of each.
        path.file_name() == kept.file_name()
            && std::fs::canonicalize(path).is_ok_and(|resolved| resolved == kept)
    };
    let (left_out, inputs): (Vec<Input>, Vec<Input>) = std::mem::take(&mut discovered.inputs)
        .into_iter()
        .partition(|input| matches!(input, Input::File(path) if is_kept(path)));
    discovered.inputs = inputs;
    discovered
        .passed_over
        .extend(left_out.into_iter().filter_map(|input| match input {
            Input::File(path) => Some(path),
            Input::Stdin | Input::Remote(_) => None,
        }));
}

fn print_summary(report: &ScanReport, passed_over: &[PathBuf], seconds: f64, args: &ScanArgs) {
    let rate = if seconds > 0.0 {
        report.records as f64 / seconds
    } else {
        0.0
    };
    let severities: Vec<String> = iamwatch_core::Severity::ALL
        .iter()
        .filter_map(|severity| {
            report
                .by_severity
                .get(severity.as_str())
                .map(|count| format!("{} {count}", severity.as_str()))
        })
        .collect();
    let by_severity = if severities.is_empty() {
        String::new()
    } else {
        format!(" ({})", severities.join(", "))
    };
    let skipped: Vec<String> = report
        .skipped
        .iter()
        .map(|(api, count)| format!("{api} {count}"))
        .collect();
    let dead_letter = args.dead_letter.display();
    // Each line in both languages; the reader's is printed.
    let mut lines: Vec<(String, String)> = vec![
        (
            format!(
                "scanned {} input(s), {} record(s) in {seconds:.2} s ({rate:.0} records/s)",
                report.inputs, report.records
            ),
            format!(
                "입력 {}개, 레코드 {}건 검사 ({seconds:.2}초, 초당 {rate:.0}건)",
                report.inputs, report.records
            ),
        ),
        (
            format!(
                "incidents: {} new, {} already stored{by_severity}",
                report.incidents_created, report.incidents_existing
            ),
            format!(
                "인시던트: 신규 {}건, 기존 {}건{by_severity}",
                report.incidents_created, report.incidents_existing
            ),
        ),
    ];
    if !skipped.is_empty() {
        lines.push((
            format!("skipped by the skip list: {}", skipped.join(", ")),
            format!("건너뛴 이벤트: {}", skipped.join(", ")),
        ));
    }
    if report.bad_records > 0 {
        lines.push((
            format!(
                "unreadable records: {} (kept in {dead_letter})",
                report.bad_records
            ),
            format!(
                "읽을 수 없는 레코드: {}건 ({dead_letter}에 보관)",
                report.bad_records
            ),
        ));
    }
    if report.ignored > 0 {
        lines.push((
            format!("ignored (no events): {}", report.ignored),
            format!("이벤트 없는 입력: {}건", report.ignored),
        ));
    }
    if let Some(example) = passed_over.first() {
        lines.push((
            format!(
                "passed over {} file(s) that are not logs (e.g. {})",
                passed_over.len(),
                example.display()
            ),
            format!(
                "로그가 아닌 파일 {}개 제외 (예: {})",
                passed_over.len(),
                example.display()
            ),
        ));
    }
    lines.push((
        format!("store: {}", args.store.db),
        format!("저장소: {}", args.store.db),
    ));
    let mut stderr = io::stderr().lock();
    for (english, korean) in lines {
        let line = match args.lang {
            Lang::En => english,
            Lang::Ko => korean,
        };
        let _ = writeln!(stderr, "{line}");
    }
}
