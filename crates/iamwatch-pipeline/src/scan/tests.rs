use super::*;
use iamwatch_store::SqliteStore;
use std::io::Write;
use std::path::PathBuf;
use std::sync::atomic::Ordering;

#[derive(Default)]
struct Recorder {
    incidents: Vec<(String, bool)>,
    /// The incidents reported, counted by severity.
    severities: BTreeMap<String, u64>,
    bad: Vec<String>,
}

impl ScanSink for Recorder {
    fn incident(&mut self, stored: &Stored) {
        self.incidents
            .push((stored.incident.event_id.clone(), stored.created));
        *self
            .severities
            .entry(stored.incident.severity.as_str().to_string())
            .or_default() += 1;
    }
    fn bad_record(&mut self, bad: &BadRecord) {
        self.bad.push(bad.to_string());
    }
}

/// A record of `name` at one instant. Each record has a caller of its own: a thousand changes
/// by one caller in a second would be a burst, an incident of its own.
fn record(event_id: &str, name: &str) -> String {
    serde_json::json!({
        "eventVersion": "1.09", "eventTime": "2024-06-01T00:00:05Z", "eventSource": "iam.amazonaws.com",
        "eventName": name, "awsRegion": "us-east-1", "eventID": event_id, "readOnly": false,
        "recipientAccountId": "111122223333", "sourceIPAddress": "203.0.113.7", "userAgent": "aws-cli/2.17.0 Python/3.11 Linux/6.1",
        "userIdentity": {"type": "IAMUser", "userName": format!("admin-{event_id}"), "accountId": "111122223333"},
        "requestParameters": {"userName": format!("user-{event_id}")}
    })
    .to_string()
}

fn write_file(directory: &std::path::Path, name: &str, content: &str) -> PathBuf {
    let path = directory.join(name);
    std::fs::File::create(&path)
        .unwrap()
        .write_all(content.as_bytes())
        .unwrap();
    path
}

fn run(
    inputs: &[Input],
    jobs: usize,
    window: usize,
    store: &SqliteStore,
) -> (ScanReport, Recorder) {
    let (report, recorder) = scan_with(inputs, jobs, window, store);
    (report.unwrap(), recorder)
}

/// Scans with small store batches (3 incidents), so that any input makes several.
fn scan_with(
    inputs: &[Input],
    jobs: usize,
    window: usize,
    store: &dyn IncidentStore,
) -> (Result<ScanReport, ScanError>, Recorder) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let mut recorder = Recorder::default();
    let options = ScanOptions {
        jobs,
        window,
        batch_size: 3,
        ..ScanOptions::default()
    };
    let report = scan(inputs, &options, store, runtime.handle(), &mut recorder);
    (report, recorder)
}

/// `count` CloudTrail files; file `n` holds `records_in(n)` records of `event_name`, with event
/// ids `f{file}-r{record}`.
fn cloudtrail_files(
    directory: &std::path::Path,
    count: usize,
    records_in: impl Fn(usize) -> usize,
    event_name: &str,
) -> Vec<Input> {
    (0..count)
        .map(|file| {
            let records: Vec<String> = (0..records_in(file))
                .map(|n| record(&format!("f{file}-r{n}"), event_name))
                .collect();
            Input::File(write_file(
                directory,
                &format!("{file:02}.json"),
                &format!("{{\"Records\":[{}]}}", records.join(",")),
            ))
        })
        .collect()
}

#[test]
fn output_follows_input_order_whatever_the_number_of_workers() {
    let directory = tempfile::tempdir().unwrap();
    let inputs = cloudtrail_files(
        directory.path(),
        12,
        |file| (1 + file % 4) * 5,
        "CreateUser",
    );
    let single = run(
        &inputs,
        1,
        1,
        &SqliteStore::open(directory.path().join("one.db")).unwrap(),
    );
    let parallel = run(
        &inputs,
        4,
        2,
        &SqliteStore::open(directory.path().join("four.db")).unwrap(),
    );
    assert_eq!(single.1.incidents, parallel.1.incidents);
    assert_eq!(single.0, parallel.0);
    assert_eq!(single.0.records, 150);
    assert_eq!(single.0.incidents_created, 150);
}

#[test]
fn rescanning_creates_nothing_twice_and_bad_input_is_reported_with_its_place() {
    let directory = tempfile::tempdir().unwrap();
    let good = write_file(
        directory.path(),
        "good.jsonl",
        &format!(
            "{}\n{}\n",
            record("a", "DeleteUser"),
            // The caller rotating its own key: the skip list's case (a key for someone else is
            // a backdoor and raises its own rule).
            record("b", "CreateAccessKey").replace("user-b", "admin-b")
        ),
    );
    let bad = write_file(
        directory.path(),
        "bad.jsonl",
        &format!(
            "{}\n{{\"eventName\": oops}}\n42\n",
            record("c", "DeleteUser")
        ),
    );
    let inputs = vec![Input::File(good), Input::File(bad.clone())];
    let store = SqliteStore::open(directory.path().join("db.sqlite")).unwrap();

    let (first, recorder) = run(&inputs, 2, 2, &store);
    assert_eq!(
        (first.records, first.incidents_created, first.bad_records),
        (3, 2, 2)
    );
    assert_eq!(first.skipped.get("CreateAccessKey"), Some(&1));
    let bad_name = bad.display().to_string();
    assert_eq!(
        recorder.bad[0],
        format!("{bad_name}:2: record 1: invalid JSON at column 15: expected value")
    );
    assert_eq!(
        recorder.bad[1],
        format!("{bad_name}:3: record 2: expected a JSON object, found a number")
    );

    let (second, recorder) = run(&inputs, 2, 2, &store);
    assert_eq!(
        (second.incidents_created, second.incidents_existing),
        (0, 2)
    );
    assert!(recorder.incidents.iter().all(|(_, created)| !created));
}

/// The real SQLite store, failing every batch after the first `good_batches`.
struct FailingAfter {
    inner: SqliteStore,
    good_batches: usize,
    batches: std::sync::atomic::AtomicUsize,
}

#[async_trait::async_trait]
impl IncidentStore for FailingAfter {
    async fn insert_batch(&self, incidents: Vec<Incident>) -> Result<Vec<Stored>, StoreError> {
        if self.batches.fetch_add(1, Ordering::SeqCst) >= self.good_batches {
            return Err(StoreError::backend(
                "disk full",
                std::io::Error::other("no space left on device"),
            ));
        }
        self.inner.insert_batch(incidents).await
    }
    async fn get(&self, incident_id: &str) -> Result<Option<Incident>, StoreError> {
        self.inner.get(incident_id).await
    }
    async fn list(
        &self,
        query: &iamwatch_store::IncidentQuery,
    ) -> Result<iamwatch_store::IncidentPage, StoreError> {
        self.inner.list(query).await
    }
    async fn recall(
        &self,
        since_ms: i64,
        after: Option<(i64, String)>,
        limit: usize,
    ) -> Result<Vec<Incident>, StoreError> {
        self.inner.recall(since_ms, after, limit).await
    }
    async fn keep_counts(
        &self,
        counts: Vec<iamwatch_core::KeptCount>,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        self.inner.keep_counts(counts, now_ms).await
    }
    async fn recall_counts(
        &self,
        since_ms: i64,
        after: Option<iamwatch_core::KeptCount>,
        limit: usize,
    ) -> Result<Vec<iamwatch_core::KeptCount>, StoreError> {
        self.inner.recall_counts(since_ms, after, limit).await
    }
    async fn update(
        &self,
        incident_id: &str,
        change: iamwatch_store::IncidentChange,
    ) -> Result<Incident, StoreError> {
        self.inner.update(incident_id, change).await
    }
    async fn history(
        &self,
        incident_id: &str,
    ) -> Result<Vec<iamwatch_store::HistoryEntry>, StoreError> {
        self.inner.history(incident_id).await
    }
    async fn check(&self) -> Result<(), StoreError> {
        self.inner.check().await
    }
}

#[test]
fn a_store_failure_stops_the_scan_after_reporting_every_batch_stored_before_it() {
    let directory = tempfile::tempdir().unwrap();
    let inputs = cloudtrail_files(directory.path(), 8, |_| 6, "DeleteUser");
    let store = FailingAfter {
        inner: SqliteStore::open(directory.path().join("db.sqlite")).unwrap(),
        good_batches: 2,
        batches: Default::default(),
    };
    let (result, recorder) = scan_with(&inputs, 2, 2, &store);
    let error = result.unwrap_err();
    assert!(matches!(error, ScanError::Store(_)), "{error:?}");
    // The two batches stored were reported, in input order, and nothing else was.
    let stored = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(store.inner.list(&iamwatch_store::IncidentQuery {
            limit: 1000,
            ..Default::default()
        }))
        .unwrap();
    assert!(recorder.incidents.len() >= 6, "{:?}", recorder.incidents);
    assert_eq!(stored.incidents.len(), recorder.incidents.len());
    let expected: Vec<String> = (0..recorder.incidents.len())
        .map(|n| format!("f{}-r{}", n / 6, n % 6))
        .collect();
    let reported: Vec<String> = recorder
        .incidents
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert_eq!(reported, expected);
}

#[test]
fn one_input_spread_over_workers_reads_as_one_worker_reads_it() {
    // More frames than one batch holds, with bad lines in several batches.
    let directory = tempfile::tempdir().unwrap();
    let mut lines = Vec::new();
    for n in 0..1500 {
        lines.push(match n % 250 {
            7 => "{\"eventName\": oops}".to_string(),
            8 => "42".to_string(),
            _ => record(&format!("r{n}"), "DeleteUser"),
        });
    }
    let path = write_file(directory.path(), "day.jsonl", &(lines.join("\n") + "\n"));
    let inputs = vec![Input::File(path)];
    let runs: Vec<(ScanReport, Recorder)> = [1, 2, 3]
        .into_iter()
        .map(|jobs| {
            let store =
                SqliteStore::open(directory.path().join(format!("jobs{jobs}.sqlite"))).unwrap();
            run(&inputs, jobs, 4, &store)
        })
        .collect();
    let (single, single_seen) = &runs[0];
    assert_eq!(single.records, 1488);
    assert_eq!(single.bad_records, 12);
    assert_eq!(single.incidents_created, 1488);
    assert!(
        single_seen.bad[0]
            .ends_with("day.jsonl:8: record 7: invalid JSON at column 15: expected value"),
        "{}",
        single_seen.bad[0]
    );
    for (report, seen) in &runs[1..] {
        assert_eq!(report, single);
        assert_eq!(
            seen.incidents, single_seen.incidents,
            "incidents in input order"
        );
        assert_eq!(
            seen.bad, single_seen.bad,
            "bad records, in order, with their places"
        );
    }
}

#[test]
fn an_input_read_in_memory_leaves_its_buffer_for_the_next_one() {
    let content = format!("{{\"Records\":[{}]}}", record("e-spare", "CreateUser"));
    let bytes = content.into_bytes();
    let address = bytes.as_ptr();
    let mut chunk = Chunk::default();
    let finished = read::read_input(
        iamwatch_sources::InputData::Memory(bytes),
        "memory",
        &Detector::default(),
        &mut chunk,
        &mut |_| true,
    );
    assert!(finished);
    assert_eq!(chunk.records, 1);
    assert_eq!(chunk.incidents.len(), 1);
    // The next file inflated on this thread lands in the same memory.
    let spare = iamwatch_sources::spare::take(16);
    assert_eq!(spare.as_ptr(), address);
}

#[test]
fn an_input_gone_before_it_is_read_is_reported_once_by_its_path() {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(directory.path().join("gone.db")).unwrap();
    let kept = write_file(
        directory.path(),
        "kept.json",
        &format!("{{\"Records\":[{}]}}", record("e-kept", "CreateUser")),
    );
    let gone = directory.path().join("gone.json");
    let expected = format!("{}: no such file or directory", gone.display());
    // One worker, and one input alone (spread over the workers by another path).
    let inputs = [Input::File(kept), Input::File(gone.clone())];
    for inputs in [&inputs[..], &inputs[1..]] {
        let (report, recorder) = run(inputs, 2, 4, &store);
        assert_eq!(report.bad_records, 1);
        assert_eq!(recorder.bad, std::slice::from_ref(&expected));
    }
}

#[test]
fn the_report_counts_the_incidents_found_by_severity_new_or_stored() {
    let directory = tempfile::tempdir().unwrap();
    let records: Vec<String> = [
        "DeleteUser",
        "DeactivateMFADevice",
        "CreateUser",
        "DeleteUser",
    ]
    .iter()
    .enumerate()
    .map(|(n, name)| record(&format!("s{n}"), name))
    .collect();
    let inputs = vec![Input::File(write_file(
        directory.path(),
        "mixed.jsonl",
        &records.join("\n"),
    ))];
    let store = SqliteStore::open(directory.path().join("db.sqlite")).unwrap();
    let (first, recorder) = run(&inputs, 1, 1, &store);
    assert_eq!(first.incidents_created, 4);
    assert!(recorder.severities.len() > 1, "{:?}", recorder.severities);
    assert_eq!(first.by_severity, recorder.severities);
    // A re-scan finds them stored and counts them the same.
    let (again, recorder) = run(&inputs, 1, 1, &store);
    assert_eq!(again.incidents_existing, 4);
    assert_eq!(again.by_severity, first.by_severity);
    assert_eq!(again.by_severity, recorder.severities);
}

/// An object fetched through [`iamwatch_sources::Fetch`], counting fetches started ahead and
/// not yet taken.
struct CountedObject {
    name: String,
    prefetched: std::sync::atomic::AtomicBool,
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
    most_in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

impl iamwatch_sources::Fetch for CountedObject {
    fn name(&self) -> &str {
        &self.name
    }
    fn size(&self) -> Option<u64> {
        Some(14)
    }
    fn prefetch(&self) {
        if !self.prefetched.swap(true, Ordering::SeqCst) {
            let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
            self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        }
    }
    fn fetch(&self) -> Result<iamwatch_sources::Fetched, iamwatch_sources::InputError> {
        if self.prefetched.load(Ordering::SeqCst) {
            self.in_flight.fetch_sub(1, Ordering::SeqCst);
        }
        Ok(iamwatch_sources::Fetched::Whole(
            b"{\"Records\":[]}".to_vec(),
        ))
    }
}

#[test]
fn objects_in_s3_are_fetched_further_ahead_than_files_are_read_ahead() {
    let directory = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(directory.path().join("remote.db")).unwrap();
    let in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most_in_flight = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let inputs: Vec<Input> = (0..200)
        .map(|n| {
            Input::Remote(iamwatch_sources::Remote::new(CountedObject {
                name: format!("s3://trail/{n:03}.json"),
                prefetched: Default::default(),
                in_flight: Arc::clone(&in_flight),
                most_in_flight: Arc::clone(&most_in_flight),
            }))
        })
        .collect();
    let (report, recorder) = run(&inputs, 1, 4, &store);
    assert_eq!((report.inputs, report.bad_records), (200, 0));
    assert!(recorder.bad.is_empty());
    // S3's first byte comes tens of milliseconds after the request: dozens of objects are on
    // their way while one is read (local files: eight).
    assert!(
        most_in_flight.load(Ordering::SeqCst) >= 32,
        "at most {} fetched ahead",
        most_in_flight.load(Ordering::SeqCst)
    );
    assert_eq!(
        in_flight.load(Ordering::SeqCst),
        0,
        "every one fetched ahead was taken"
    );
}
