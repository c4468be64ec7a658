//! S3 notifications posted to `serve` (an organisation trail's SNS topic announcing each log
//! file, an S3 event): the log files they name read from the moto server through the AWS SDK,
//! for the buckets `[s3] follow` lists; other buckets, objects S3 refuses, and S3 out of reach
//! each answered as the sender needs.

use crate::iam_account;
use crate::moto::Bucket;
use crate::s3_region::{Refusal, RegionFront};
use crate::server::{self, log_file, post, sns_notification, start_with_env, Server};
use serde_json::{json, Value};
use std::io::Write;
use std::path::Path;

/// `serve` with the AWS settings pointing at `endpoint` (a moto server), and nothing from the
/// machine's own AWS configuration.
fn serve_following(dir: &Path, endpoint: &str, config: &str) -> Server {
    serve_following_in(dir, endpoint, "us-east-1", config)
}

/// [`serve_following`] with the region configured `region`.
fn serve_following_in(dir: &Path, endpoint: &str, region: &str, config: &str) -> Server {
    start_with_env(dir, config, &[], &aws_env(dir, endpoint, region))
}

/// AWS settings pointing at `endpoint` (a moto server) in `region`, and nothing from the
/// machine's own AWS configuration.
pub(crate) fn aws_env(dir: &Path, endpoint: &str, region: &str) -> Vec<(&'static str, String)> {
    let nowhere = |name: &str| dir.join(name).display().to_string();
    vec![
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", "test".to_string()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_string()),
        ("AWS_REGION", region.to_string()),
        ("AWS_CONFIG_FILE", nowhere("no-aws-config")),
        ("AWS_SHARED_CREDENTIALS_FILE", nowhere("no-aws-credentials")),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
    ]
}

/// [`aws_env`] with the keys of a user of moto's IAM instead of any keys: for the tests that run
/// with moto checking requests against IAM.
pub(crate) fn aws_env_as(
    dir: &Path,
    endpoint: &str,
    key: &aws_sdk_iam::types::AccessKey,
) -> Vec<(&'static str, String)> {
    let mut env = aws_env(dir, endpoint, "us-east-1");
    env.retain(|(name, _)| !matches!(*name, "AWS_ACCESS_KEY_ID" | "AWS_SECRET_ACCESS_KEY"));
    env.push(("AWS_ACCESS_KEY_ID", key.access_key_id.clone()));
    env.push(("AWS_SECRET_ACCESS_KEY", key.secret_access_key.clone()));
    env
}

/// CloudTrail's notice of log files delivered, as its SNS topic sends it.
pub(crate) fn trail_notice(bucket: &str, keys: &[&str]) -> String {
    let notice = json!({"s3Bucket": bucket, "s3ObjectKey": keys});
    sns_notification("notice-1", &notice).to_string()
}

/// Posts `body` to `serve`, expecting it accepted; the summary's counts named by `fields`.
fn accepted(bucket: &Bucket, server: &Server, body: String, fields: &[&str]) -> Vec<Value> {
    let (status, summary) = bucket.runtime.block_on(post(server, body));
    assert_eq!(status, 202, "{summary}\n{}", server.log());
    fields.iter().map(|field| summary[*field].clone()).collect()
}

fn gzipped(text: &str) -> Vec<u8> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(text.as_bytes()).unwrap();
    encoder.finish().unwrap()
}

pub(crate) fn dead_letters(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("deadletter.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

const KEY_GZ: &str = "AWSLogs/o-abc/111122223333/CloudTrail/us-east-1/2026/12/06/a.json.gz";
const KEY_PLAIN: &str = "AWSLogs/o-abc/111122223333/CloudTrail/eu-west-1/2026/12/06/b c.json";

#[test]
fn the_log_files_a_notification_names_are_read_from_a_followed_bucket() {
    let bucket = Bucket::new();
    bucket.put(KEY_GZ, &gzipped(&log_file("gz", 3)));
    bucket.put(KEY_PLAIN, log_file("plain", 2).as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let server = serve_following(
        dir.path(),
        &bucket.moto.endpoint,
        "[s3]\nfollow = [\"trail-bucket\"]\n",
    );
    let mut live = bucket.runtime.block_on(server::connect(&server));

    let notice = trail_notice(bucket.name, &[KEY_GZ, KEY_PLAIN]);
    let counts = accepted(
        &bucket,
        &server,
        notice.clone(),
        &["accepted", "incidents", "rejected"],
    );
    assert_eq!(counts, [5, 5, 0]);
    // Stored, named by their object, and broadcast like posted events.
    let (status, listed) = bucket
        .runtime
        .block_on(server::get(&server, "/v1/incidents?limit=10"));
    assert_eq!(status, 200);
    let mut ids: Vec<&str> = listed["incidents"]
        .as_array()
        .unwrap()
        .iter()
        .map(|incident| incident["event_id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    assert_eq!(ids, ["gz-0", "gz-1", "gz-2", "plain-0", "plain-1"]);
    let message = bucket
        .runtime
        .block_on(server::next_json(&mut live))
        .expect("an incident message");
    assert_eq!(message["type"], "incident.created");
    let metrics = bucket.runtime.block_on(async {
        server::client()
            .get(server.url("/metrics"))
            .bearer_auth(server::TOKEN)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    });
    assert!(
        metrics.contains("iamwatch_s3_objects_read_total 2"),
        "{metrics}"
    );

    // The same notice again (SNS delivers at least once): the same incidents, none new.
    let counts = accepted(&bucket, &server, notice, &["incidents", "duplicates"]);
    assert_eq!(counts, [0, 5]);

    // An S3 event names its object form-encoded (a space as `+`).
    bucket.put("AWSLogs/extra file.json", log_file("event", 1).as_bytes());
    let event = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1",
        "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "trail-bucket"}, "object": {"key": "AWSLogs/extra+file.json", "size": 10}}
    }]});
    let counts = accepted(&bucket, &server, event.to_string(), &["incidents"]);
    assert_eq!(counts, [1]);
    assert!(dead_letters(dir.path()).is_empty());
}

#[test]
fn notifications_serve_cannot_read_are_kept_saying_why() {
    let bucket = Bucket::new();
    bucket.put(KEY_GZ, &gzipped(&log_file("gz", 1)));
    bucket.put(KEY_PLAIN, log_file("big", 20).as_bytes());
    let dir = tempfile::tempdir().unwrap();
    let server = serve_following(
        dir.path(),
        &bucket.moto.endpoint,
        "[s3]\nfollow = [\"trail-bucket\"]\nmax_object_bytes = 4096\n",
    );

    // A bucket the config does not list is never read, whatever it holds.
    let notice = trail_notice("other-bucket", &["x.json.gz"]);
    let counts = accepted(&bucket, &server, notice, &["accepted", "rejected"]);
    assert_eq!(counts, [0, 1]);
    // An object that is not there (S3 refuses; asking again would not help): kept, and the
    // rest of the notice is read.
    let notice = trail_notice(bucket.name, &["AWSLogs/gone.json.gz", KEY_GZ]);
    let counts = accepted(&bucket, &server, notice, &["incidents", "rejected"]);
    assert_eq!(counts, [1, 1]);

    // An object over the limit is not read at all.
    let notice = trail_notice(bucket.name, &[KEY_PLAIN]);
    let counts = accepted(&bucket, &server, notice, &["accepted", "rejected"]);
    assert_eq!(counts, [0, 1]);
    // A record of a followed object that cannot be read: kept under the object's name.
    let damaged = format!(
        "{{\"Records\":[{},\n{{\"eventName\": }}]}}",
        server::record("ok-1", "DeleteUser", "bob")
    );
    bucket.put("AWSLogs/damaged.json", damaged.as_bytes());
    let notice = trail_notice(bucket.name, &["AWSLogs/damaged.json"]);
    let counts = accepted(&bucket, &server, notice, &["incidents", "rejected"]);
    assert_eq!(counts, [1, 1]);

    let kept = dead_letters(dir.path());
    assert_eq!(kept.len(), 4, "{kept:?}");
    assert_eq!(kept[3]["source"], "s3://trail-bucket/AWSLogs/damaged.json");
    assert_eq!(kept[3]["line"], 2, "{:?}", kept[3]);
    let reason = kept[2]["reason"].as_str().unwrap();
    assert!(reason.contains("over the limit of 4096 bytes"), "{reason}");
    let reason = kept[0]["reason"].as_str().unwrap();
    assert!(
        reason.contains("iamwatch scan s3://other-bucket/x.json.gz")
            && reason.contains("[s3] follow"),
        "{reason}"
    );
    assert!(kept[0]["raw"].as_str().unwrap().contains("other-bucket"));
    let reason = kept[1]["reason"].as_str().unwrap();
    assert!(
        reason.contains("s3://trail-bucket/AWSLogs/gone.json.gz") && reason.contains("NoSuchKey"),
        "{reason}"
    );
}

#[test]
fn without_follow_a_notification_is_kept_and_s3_is_never_asked() {
    let bucket = Bucket::new();
    bucket.put(KEY_GZ, &gzipped(&log_file("gz", 1)));
    let dir = tempfile::tempdir().unwrap();
    let server = serve_following(dir.path(), &bucket.moto.endpoint, "");
    let notice = trail_notice(bucket.name, &[KEY_GZ]);
    let counts = accepted(&bucket, &server, notice, &["incidents", "rejected"]);
    assert_eq!(counts, [0, 1]);
    let kept = dead_letters(dir.path());
    assert!(
        kept[0]["reason"]
            .as_str()
            .unwrap()
            .contains(&format!("iamwatch scan s3://trail-bucket/{KEY_GZ}")),
        "{kept:?}"
    );
}

#[test]
fn s3_out_of_reach_asks_the_sender_to_deliver_again_and_stores_nothing() {
    let bucket = Bucket::new();
    bucket.put(KEY_GZ, &gzipped(&log_file("gz", 2)));
    let dir = tempfile::tempdir().unwrap();
    let server = serve_following(
        dir.path(),
        &bucket.moto.endpoint,
        "[s3]\nfollow = [\"trail-bucket\"]\n",
    );
    let Bucket { moto, runtime, .. } = bucket;
    drop(moto);

    let response = runtime.block_on(server::post_response(
        server.url("/v1/events"),
        trail_notice("trail-bucket", &[KEY_GZ]),
    ));
    assert_eq!(response.status().as_u16(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let (status, listed) = runtime.block_on(server::get(&server, "/v1/incidents"));
    assert_eq!(status, 200);
    assert_eq!(listed["incidents"].as_array().unwrap().len(), 0);
    assert!(dead_letters(dir.path()).is_empty());
}

/// The repository's sample trail: five log files of an account's regions, 5,000 records.
fn sample_files() -> Vec<std::path::PathBuf> {
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("samples/cloudtrail");
    let mut files: Vec<_> = std::fs::read_dir(samples)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
}

#[test]
fn a_notice_of_the_sample_trail_gives_the_incidents_a_scan_of_its_files_gives() {
    let bucket = Bucket::new();
    let mut keys = Vec::new();
    for path in sample_files() {
        let name = path.file_name().unwrap().to_string_lossy();
        let key = format!("AWSLogs/171634263460/CloudTrail/{name}");
        bucket.put(&key, &std::fs::read(&path).unwrap());
        keys.push(key);
    }
    let dir = tempfile::tempdir().unwrap();
    let server = serve_following(
        dir.path(),
        &bucket.moto.endpoint,
        "[s3]\nfollow = [\"trail-bucket\"]\n",
    );
    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (status, summary) = bucket
        .runtime
        .block_on(post(&server, trail_notice(bucket.name, &keys)));
    assert_eq!(status, 202, "{summary}");
    assert_eq!(summary["accepted"], 5000, "{summary}");

    let scanned = std::process::Command::new(env!("CARGO_BIN_EXE_iamwatch"))
        .args(["scan", "--format", "jsonl", "--db"])
        .arg(dir.path().join("scan.db"))
        .arg("--dead-letter")
        .arg(dir.path().join("scan-dead.jsonl"))
        .args(sample_files())
        .output()
        .unwrap();
    assert!(scanned.status.success());
    let mut from_scan: Vec<String> = String::from_utf8(scanned.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap()["incident_id"].to_string())
        .collect();
    let mut from_notice: Vec<String> = summary["incident_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(ToString::to_string)
        .collect();
    from_scan.sort();
    from_notice.sort();
    assert!(from_scan.len() > 100, "{} incidents", from_scan.len());
    assert_eq!(from_notice, from_scan);
    assert_eq!(summary["incidents"], from_scan.len());
}

#[test]
fn s3_that_never_answers_gets_a_503_within_the_timeout_holding_its_permit_meanwhile() {
    // Takes connections and never answers, as a stalled endpoint does.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let endpoint = format!("http://{}", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming() {
            held.push(stream);
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let server = serve_following(
        dir.path(),
        &endpoint,
        "[ingest]\nmax_parsing = 1\n[s3]\nfollow = [\"trail-bucket\"]\ntimeout_secs = 3\n",
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let started = std::time::Instant::now();
    let waiting = runtime.spawn(server::post_response(
        server.url("/v1/events"),
        trail_notice("trail-bucket", &[KEY_GZ]),
    ));
    // While the notice's object is being read it holds the one parsing permit: a body posted
    // meanwhile is turned away rather than read beside it.
    std::thread::sleep(std::time::Duration::from_millis(1000));
    let (status, answer) = runtime.block_on(post(
        &server,
        server::eventbridge_event("meanwhile", "DeleteUser", "bob").to_string(),
    ));
    assert_eq!(status, 429, "{answer}");

    let response = runtime.block_on(waiting).unwrap();
    let waited = started.elapsed();
    assert_eq!(response.status().as_u16(), 503);
    // The read's whole budget, not the SDK's 30 s a read and three attempts.
    assert!(waited < std::time::Duration::from_secs(10), "{waited:?}");
    let answer: Value = runtime.block_on(response.json()).unwrap();
    assert!(
        answer["error"]
            .as_str()
            .unwrap()
            .contains("s3://trail-bucket/"),
        "{answer}"
    );
    // The permit is given back with the answer.
    let (status, answer) = runtime.block_on(post(
        &server,
        server::eventbridge_event("after", "DeleteUser", "bob").to_string(),
    ));
    assert_eq!(status, 202, "{answer}");
}

#[test]
fn a_followed_bucket_in_another_region_is_read_there() {
    let bucket = Bucket::new();
    bucket.put(KEY_GZ, &gzipped(&log_file("gz", 3)));
    bucket.put(KEY_PLAIN, log_file("plain", 2).as_bytes());
    // Signed for us-east-1, the bucket in eu-west-1: S3 names the region only in its body.
    let front = RegionFront::start(
        &bucket.moto.endpoint,
        bucket.name,
        "eu-west-1",
        Refusal::Malformed,
    );
    let dir = tempfile::tempdir().unwrap();
    let server = serve_following_in(
        dir.path(),
        &front.endpoint,
        "us-east-1",
        "[s3]\nfollow = [\"trail-bucket\"]\n",
    );

    let notice = trail_notice(bucket.name, &[KEY_GZ, KEY_PLAIN]);
    let counts = accepted(&bucket, &server, notice, &["incidents", "rejected"]);
    assert_eq!(counts, [5, 0]);
    assert!(dead_letters(dir.path()).is_empty());
    // Refused once: the second file, and the next notice's, asked in eu-west-1 at once.
    assert_eq!(front.refused(), 1);
    let later = "AWSLogs/o-abc/111122223333/CloudTrail/eu-west-1/2026/12/06/c.json";
    bucket.put(later, log_file("later", 1).as_bytes());
    let counts = accepted(
        &bucket,
        &server,
        trail_notice(bucket.name, &[later]),
        &["incidents"],
    );
    assert_eq!(counts, [1]);
    assert_eq!(front.refused(), 1);
}

#[test]
fn following_a_bucket_needs_only_get_object_on_it() {
    let bucket = Bucket::new();
    bucket.put(KEY_GZ, &gzipped(&log_file("gz", 3)));
    // What the README tells to grant the instance or task role, and nothing more.
    let iam = aws_sdk_iam::Client::new(&bucket.moto.sdk_config());
    let granted = json!({
        "Effect": "Allow", "Action": "s3:GetObject",
        "Resource": format!("arn:aws:s3:::{}/*", bucket.name)
    });
    let key = bucket
        .runtime
        .block_on(iam_account::user_holding(&iam, "follower", vec![granted]));
    let dir = tempfile::tempdir().unwrap();
    let env = aws_env_as(dir.path(), &bucket.moto.endpoint, &key);
    bucket.moto.check_iam(true);
    let refused = bucket
        .runtime
        .block_on(bucket.client.list_objects_v2().bucket(bucket.name).send());
    assert!(refused.is_err(), "moto checks requests: {refused:?}");
    let server = start_with_env(dir.path(), "[s3]\nfollow = [\"trail-bucket\"]\n", &[], &env);

    let notice = trail_notice(bucket.name, &[KEY_GZ]);
    let counts = accepted(
        &bucket,
        &server,
        notice,
        &["accepted", "incidents", "rejected"],
    );
    bucket.moto.check_iam(false);
    assert_eq!(counts, [3, 3, 0], "{}", server.log());
    assert!(dead_letters(dir.path()).is_empty());
}
