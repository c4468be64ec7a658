//! `iamwatch scan s3://…` against the moto server: the same incidents as the downloaded copy,
//! unreadable objects kept as dead letters by their S3 name, and a clear error for a bucket or
//! prefix that is not there.

use crate::helpers::{assert_success, incidents_of, repo_root, stderr, Workspace};
#[path = "../shared/front.rs"]
mod front;
#[path = "../shared/s3_region.rs"]
mod s3_region;
use crate::moto::Bucket;
use s3_region::{Refusal, RegionFront};
use std::path::PathBuf;
use std::process::{Command, Output};

/// A scan with the AWS settings pointing at the bucket's moto server.
fn scan_s3(workspace: &Workspace, bucket: &Bucket, locations: &[&str]) -> Output {
    scan_s3_at(workspace, &bucket.moto.endpoint, "us-east-1", locations)
}

/// [`scan_s3`] with S3 at `endpoint` and the region configured `region`.
fn scan_s3_at(workspace: &Workspace, endpoint: &str, region: &str, locations: &[&str]) -> Output {
    let mut command: Command = workspace.scan_command(&["--format", "jsonl"]);
    command.args(locations);
    workspace.with_aws(&mut command, endpoint, region);
    command.output().expect("run iamwatch")
}

/// Incidents as comparable text: the fields a scan sets from the clock or at random left out.
fn comparable(output: &Output) -> Vec<String> {
    let mut incidents: Vec<String> = incidents_of(output)
        .into_iter()
        .map(|mut incident| {
            let object = incident.as_object_mut().expect("an incident is an object");
            for field in ["incident_id", "created_at", "updated_at"] {
                object.remove(field);
            }
            incident.to_string()
        })
        .collect();
    incidents.sort();
    incidents
}

/// The sample trail's files put under `AWSLogs/171634263460/CloudTrail/`, with a digest
/// beside them; the files, in order.
fn put_sample_trail(bucket: &Bucket) -> Vec<PathBuf> {
    let mut files: Vec<_> = std::fs::read_dir(repo_root().join("samples/cloudtrail"))
        .expect("samples")
        .map(|entry| entry.expect("entry").path())
        .collect();
    files.sort();
    for path in &files {
        let name = path.file_name().expect("name").to_string_lossy();
        let key = format!("AWSLogs/171634263460/CloudTrail/{name}");
        bucket.put(&key, &std::fs::read(path).expect("read sample"));
    }
    bucket.put(
        "AWSLogs/171634263460/CloudTrail-Digest/d.json.gz",
        b"{\"awsAccountId\":\"171634263460\"}",
    );
    files
}

/// The sample trail scanned from its local copy.
fn sample_trail_scanned() -> Output {
    let local = Workspace::new();
    let samples = repo_root().join("samples/cloudtrail");
    let downloaded = local.scan(&["--format", "jsonl"], &[samples.as_path()]);
    assert_success(&downloaded);
    downloaded
}

#[test]
fn a_trail_in_s3_gives_the_incidents_its_downloaded_copy_gives() {
    let bucket = Bucket::new();
    let files = put_sample_trail(&bucket);
    let downloaded = sample_trail_scanned();
    let workspace = Workspace::new();
    let from_s3 = scan_s3(&workspace, &bucket, &["s3://trail-bucket/AWSLogs"]);
    assert_success(&from_s3);

    let incidents = comparable(&from_s3);
    assert!(incidents.len() > 100, "{} incidents", incidents.len());
    assert_eq!(incidents, comparable(&downloaded));
    let summary = stderr(&from_s3);
    assert!(
        summary.contains(&format!("scanned {} input(s), 5000 record(s)", files.len())),
        "{summary}"
    );
    assert!(
        summary.contains("passed over 1 file(s) that are not logs (e.g. s3://trail-bucket/AWSLogs/171634263460/CloudTrail-Digest/d.json.gz)"),
        "{summary}"
    );

    // Scanned again, by the object's own key this time: nothing new.
    let key = format!(
        "s3://trail-bucket/AWSLogs/171634263460/CloudTrail/{}",
        files[0].file_name().expect("name").to_string_lossy()
    );
    let again = scan_s3(&workspace, &bucket, &[&key]);
    assert_success(&again);
    assert!(stderr(&again).contains(" 0 new, "), "{}", stderr(&again));
}

#[test]
fn a_trail_bucket_in_another_region_is_listed_and_read_there() {
    let bucket = Bucket::new();
    put_sample_trail(&bucket);
    let front = RegionFront::start(
        &bucket.moto.endpoint,
        bucket.name,
        "us-east-1",
        Refusal::Redirect,
    );
    let workspace = Workspace::new();
    // A Seoul default, an organisation trail's bucket in us-east-1.
    let output = scan_s3_at(
        &workspace,
        &front.endpoint,
        "ap-northeast-2",
        &["s3://trail-bucket/AWSLogs"],
    );
    assert_success(&output);
    assert_eq!(comparable(&output), comparable(&sample_trail_scanned()));
    assert!(
        stderr(&output).contains("note: s3://trail-bucket is in us-east-1: listed and read there"),
        "{}",
        stderr(&output)
    );
    assert_eq!(front.refused(), 1, "asked in ap-northeast-2 once");
}

#[test]
fn an_object_that_is_not_json_is_a_dead_letter_named_by_its_location() {
    let bucket = Bucket::new();
    // Kinesis Data Firehose names its objects without an extension; their content decides.
    bucket.put(
        "firehose/2026/12/05/stream-1",
        b"{\"Records\":[]}\nnot json at all\n",
    );
    let workspace = Workspace::new();
    let output = scan_s3(&workspace, &bucket, &["s3://trail-bucket/firehose/"]);
    assert_success(&output);
    let dead_letters = workspace.dead_letters();
    let dead = dead_letters.first().expect("one line");
    assert_eq!(
        dead["source"],
        "s3://trail-bucket/firehose/2026/12/05/stream-1"
    );
    assert_eq!(dead["line"], 2);
    assert!(
        stderr(&output).contains("unreadable records: 1 "),
        "{}",
        stderr(&output)
    );
}

#[test]
fn a_bucket_or_prefix_that_is_not_there_is_an_error_naming_it() {
    let bucket = Bucket::new();
    let workspace = Workspace::new();
    for (location, said) in [
        (
            "s3://no-such-bucket/AWSLogs/",
            "s3://no-such-bucket/AWSLogs/: NoSuchBucket: The specified bucket does not exist",
        ),
        (
            "s3://trail-bucket/AWSLogs/",
            "s3://trail-bucket/AWSLogs/: no such key, and no objects under it as a prefix",
        ),
        (
            "s3://Trail/AWSLogs/",
            "s3://Trail/AWSLogs/: not an S3 location: a bucket name is",
        ),
    ] {
        let output = scan_s3(&workspace, &bucket, &[location]);
        assert_eq!(output.status.code(), Some(1), "{location}");
        assert!(stderr(&output).contains(said), "{}", stderr(&output));
        assert!(output.stdout.is_empty());
    }
}

#[test]
fn an_object_too_large_to_fetch_whole_is_streamed_and_read_to_its_end() {
    let bucket = Bucket::new();
    // Over the 4 MB that are fetched whole: JSON Lines of 12,000 records, one incident each.
    let records: Vec<String> = (0..12_000)
        .map(|n| crate::helpers::delete_user_record("large", n))
        .collect();
    let mut body = records.join("\n").into_bytes();
    body.resize(17 * 1024 * 1024, b'\n');
    bucket.put("firehose/large", &body);
    let workspace = Workspace::new();
    let output = scan_s3(&workspace, &bucket, &["s3://trail-bucket/firehose/large"]);
    assert_success(&output);
    assert_eq!(incidents_of(&output).len(), 12_000);
    assert!(
        stderr(&output).contains("12000 record(s)"),
        "{}",
        stderr(&output)
    );
}
