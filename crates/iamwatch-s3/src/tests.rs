//! Against a real S3 API: the moto server, through the AWS SDK the scan uses.

use super::*;
use iamwatch_sources::{Fetched, Input};
use std::io::Read;

#[path = "../../../tests/shared/moto.rs"]
mod moto;
use moto::Bucket;
#[path = "../../../tests/shared/front.rs"]
mod front;
#[path = "../../../tests/shared/s3_region.rs"]
mod s3_region;
use s3_region::{Refusal, RegionFront};

fn source(bucket: &Bucket) -> S3Source {
    S3Source::with_client(bucket.client.clone(), bucket.runtime.handle())
}

fn url(bucket: &Bucket, key: &str) -> S3Url {
    S3Url::parse(&format!("s3://{}/{key}", bucket.name)).expect("url")
}

fn names(inputs: &[Input]) -> Vec<String> {
    inputs.iter().map(Input::name).collect()
}

fn read_all(fetched: Fetched) -> Vec<u8> {
    match fetched {
        Fetched::Whole(bytes) => bytes,
        Fetched::Stream(mut reader) => {
            let mut bytes = Vec::new();
            reader.read_to_end(&mut bytes).expect("read stream");
            bytes
        }
    }
}

fn remote(input: &Input) -> &iamwatch_sources::Remote {
    match input {
        Input::Remote(remote) => remote,
        other => panic!("not an S3 input: {other:?}"),
    }
}

#[test]
fn a_prefix_is_listed_page_by_page_into_log_objects_in_key_order() {
    let bucket = Bucket::new();
    let logs: Vec<String> = (0..7)
        .map(|n| format!("AWSLogs/111122223333/CloudTrail/us-east-1/2026/12/05/f{n}.json.gz"))
        .collect();
    for key in logs.iter().rev() {
        bucket.put(key, b"{\"Records\":[]}");
    }
    let digest = "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/12/05/d.json.gz";
    bucket.put(digest, b"{}");
    bucket.put("AWSLogs/README.md", b"# not a log");
    bucket.put("AWSLogs/2026/", b"");
    bucket.put("AWSLogs-old/f.json.gz", b"{}");
    let mut source = source(&bucket);
    source.page_size = Some(2);

    let listing = source.list(&url(&bucket, "AWSLogs")).expect("list");
    let expected: Vec<String> = logs
        .iter()
        .map(|key| format!("s3://trail-bucket/{key}"))
        .collect();
    assert_eq!(names(&listing.inputs), expected);
    let mut passed_over = listing.passed_over.clone();
    passed_over.sort();
    assert_eq!(
        passed_over,
        [
            "s3://trail-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/12/05/d.json.gz",
            "s3://trail-bucket/AWSLogs/2026/",
            "s3://trail-bucket/AWSLogs/README.md",
        ]
    );
    assert_eq!(listing.inputs[0].size(), Some(14));
    // The same folder written with its slash.
    let again = source.list(&url(&bucket, "AWSLogs/")).expect("list");
    assert_eq!(names(&again.inputs), expected);
}

#[test]
fn a_key_names_its_object_alone_and_a_name_for_nothing_is_an_error() {
    let bucket = Bucket::new();
    bucket.put("logs/a.json", b"{}");
    bucket.put("logs/a.json.1", b"{}");
    bucket.put("logs/notes.txt", b"named, so read");
    let source = source(&bucket);
    let listing = source.list(&url(&bucket, "logs/a.json")).expect("list");
    assert_eq!(names(&listing.inputs), ["s3://trail-bucket/logs/a.json"]);
    let named = source.list(&url(&bucket, "logs/notes.txt")).expect("list");
    assert_eq!(names(&named.inputs), ["s3://trail-bucket/logs/notes.txt"]);

    let error = source.list(&url(&bucket, "log")).unwrap_err();
    assert_eq!(
        error.to_string(),
        "s3://trail-bucket/log: no such key, and no objects under it as a prefix"
    );
    let missing = S3Url::parse("s3://no-such-bucket/AWSLogs/").expect("url");
    let error = source.list(&missing).unwrap_err().to_string();
    assert!(
        error.starts_with("s3://no-such-bucket/AWSLogs/: NoSuchBucket"),
        "{error}"
    );
}

#[test]
fn objects_are_fetched_whole_ahead_within_the_budget_and_large_ones_stream() {
    let bucket = Bucket::new();
    let small = vec![b'a'; 600];
    let large: Vec<u8> = (0..200_000u32).map(|n| (n % 251) as u8).collect();
    bucket.put("d/1.json", &small);
    bucket.put("d/2.json", &small);
    bucket.put("d/3.json", &large);
    let mut source = source(&bucket);
    source.budget = Arc::new(fetch::Budget::new(1_000));
    source.whole_limit = 1_000;
    let listing = source.list(&url(&bucket, "d")).expect("list");
    let [one, two, three] = &listing.inputs[..] else {
        panic!("three inputs: {:?}", listing.inputs);
    };

    // The first fetched ahead takes 600 of the 1,000 bytes; the second would pass the budget
    // and waits to be fetched when opened; the large one is never fetched ahead.
    for input in [one, two, three] {
        iamwatch_sources::prefetch(input);
    }
    assert_eq!(source.budget.taken(), 600);
    let first = remote(one).fetch().expect("fetch");
    assert!(matches!(first, Fetched::Whole(_)));
    assert_eq!(read_all(first), small);
    assert_eq!(source.budget.taken(), 0, "given back once taken");
    assert_eq!(read_all(remote(two).fetch().expect("fetch")), small);

    let streamed = remote(three).fetch().expect("fetch");
    assert!(matches!(streamed, Fetched::Stream(_)));
    assert_eq!(read_all(streamed), large);
}

#[test]
fn an_object_gone_since_the_listing_is_unreadable_by_name() {
    let bucket = Bucket::new();
    bucket.put("d/1.json", b"{}");
    bucket.put("d/2.json", b"{}");
    let source = source(&bucket);
    let listing = source.list(&url(&bucket, "d/")).expect("list");
    // One fetched ahead before it went: what was fetched is read; the other is an error.
    iamwatch_sources::prefetch(&listing.inputs[0]);
    std::thread::sleep(std::time::Duration::from_millis(500));
    bucket.delete("d/1.json");
    bucket.delete("d/2.json");
    assert_eq!(
        read_all(remote(&listing.inputs[0]).fetch().expect("fetched ahead")),
        b"{}"
    );
    let error = remote(&listing.inputs[1]).fetch().err().expect("gone");
    assert_eq!(error.to_string(), "s3://trail-bucket/d/2.json: cannot read");
    assert!(error.reason().contains("NoSuchKey"), "{}", error.reason());
}

#[test]
fn a_download_never_taken_gives_its_budget_back() {
    let bucket = Bucket::new();
    bucket.put("d/1.json", b"{}");
    let source = source(&bucket);
    let listing = source.list(&url(&bucket, "d")).expect("list");
    iamwatch_sources::prefetch(&listing.inputs[0]);
    assert_eq!(source.budget.taken(), 2);
    drop(listing);
    assert_eq!(source.budget.taken(), 0);
}

#[test]
fn locations_are_read_as_the_aws_cli_writes_them() {
    let url = S3Url::parse("s3://trail-bucket").expect("url");
    assert_eq!(
        (url.bucket.as_str(), url.key.as_str()),
        ("trail-bucket", "")
    );
    let url = S3Url::parse("S3://trail.bucket-1/AWSLogs/o-1/").expect("url");
    assert_eq!(url.key, "AWSLogs/o-1/");
    assert!(S3Url::is_s3("s3://x") && !S3Url::is_s3("s3:/x") && !S3Url::is_s3("./s3://x"));
    for (text, reason) in [
        ("s3://", "no bucket name"),
        ("s3:///key", "no bucket name"),
        ("s3://Trail/key", "a bucket name is"),
        ("s3://ab/key", "a bucket name is"),
        ("gs://bucket/key", "it does not start with s3://"),
    ] {
        let error = S3Url::parse(text).unwrap_err().to_string();
        assert!(
            error.starts_with(&format!("{text}: not an S3 location: {reason}")),
            "{error}"
        );
    }
}

#[test]
fn a_bucket_in_another_region_is_listed_and_read_there() {
    for refusal in [Refusal::Redirect, Refusal::Malformed] {
        let bucket = Bucket::new();
        let small = b"{\"Records\":[]}".to_vec();
        let large: Vec<u8> = (0..5_000u32).map(|n| (n % 251) as u8).collect();
        bucket.put("AWSLogs/a.json", &small);
        bucket.put("AWSLogs/b.json", &large);
        let front = RegionFront::start(&bucket.moto.endpoint, bucket.name, "eu-west-1", refusal);
        // Configured for us-east-1, as the scan's client is without a region of its own.
        let config = bucket
            .client
            .config()
            .to_builder()
            .endpoint_url(&front.endpoint)
            .build();
        let mut source = S3Source::with_client(Client::from_conf(config), bucket.runtime.handle());
        source.whole_limit = 1_000; // the large one streams

        let listing = source.list(&url(&bucket, "AWSLogs")).expect("listed");
        assert_eq!(listing.region.as_deref(), Some("eu-west-1"), "{refusal:?}");
        assert_eq!(
            names(&listing.inputs),
            [
                "s3://trail-bucket/AWSLogs/a.json",
                "s3://trail-bucket/AWSLogs/b.json"
            ]
        );
        assert_eq!(
            front.refused(),
            1,
            "{refusal:?}: refused once, then asked there"
        );
        // Read there too: a read asked in us-east-1 would be refused.
        iamwatch_sources::prefetch(&listing.inputs[0]);
        let first = remote(&listing.inputs[0]).fetch().expect("fetched");
        assert_eq!(read_all(first), small);
        let second = remote(&listing.inputs[1]).fetch().expect("fetched");
        assert!(matches!(second, Fetched::Stream(_)));
        assert_eq!(read_all(second), large);
        assert_eq!(front.refused(), 1, "{refusal:?}");
    }
}

#[test]
fn a_region_is_taken_from_a_refusal_for_the_wrong_region_only() {
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::primitives::SdkBody;
    let answer = |status: u16, code: Option<&str>, header: Option<&str>, body: &str| {
        let mut raw = HttpResponse::new(status.try_into().unwrap(), SdkBody::from(body));
        if let Some(region) = header {
            raw.headers_mut()
                .insert("x-amz-bucket-region", region.to_string());
        }
        let mut metadata = ErrorMetadata::builder();
        if let Some(code) = code {
            metadata = metadata.code(code);
        }
        let error = aws_sdk_s3::operation::get_object::GetObjectError::generic(metadata.build());
        bucket_region(&SdkError::service_error(error, raw))
    };
    let region = |text: &str| Some(text.to_string());
    assert_eq!(
        answer(301, None, Some("eu-west-1"), ""),
        region("eu-west-1")
    );
    assert_eq!(
        answer(
            301,
            Some("PermanentRedirect"),
            Some("ap-northeast-2"),
            "<Error/>"
        ),
        region("ap-northeast-2")
    );
    let malformed =
        "<Error><Code>AuthorizationHeaderMalformed</Code><Region>us-gov-west-1</Region></Error>";
    assert_eq!(
        answer(400, Some("AuthorizationHeaderMalformed"), None, malformed),
        region("us-gov-west-1")
    );
    // Another refusal carrying the header (S3 sends it on more answers) is not a redirect.
    assert_eq!(
        answer(403, Some("AccessDenied"), Some("eu-west-1"), ""),
        None
    );
    assert_eq!(answer(400, Some("InvalidRequest"), None, malformed), None);
    // What would not be a region is not made part of an endpoint's host name.
    assert_eq!(answer(301, None, Some("evil.example/x"), ""), None);
    assert_eq!(answer(301, None, None, "<Region></Region>"), None);
    assert_eq!(answer(301, None, None, ""), None);
}

#[test]
fn what_s3_answered_is_said_in_a_line_with_advice_for_another_region() {
    use aws_sdk_s3::error::ErrorMetadata;
    use aws_sdk_s3::primitives::SdkBody;
    let said = |code: &str, message: &str| {
        let metadata = ErrorMetadata::builder().code(code).message(message).build();
        let error = aws_sdk_s3::operation::get_object::GetObjectError::generic(metadata);
        let raw = HttpResponse::new(400.try_into().unwrap(), SdkBody::empty());
        explain(&SdkError::service_error(error, raw))
    };
    assert_eq!(
        said("NoSuchBucket", "The specified bucket does not exist"),
        "NoSuchBucket: The specified bucket does not exist"
    );
    assert_eq!(
        said("PermanentRedirect", ""),
        "PermanentRedirect (the bucket is in another region: set AWS_REGION to it)"
    );
}

#[test]
fn a_star_expands_over_accounts_regions_and_days_as_a_shell_would() {
    let bucket = Bucket::new();
    let key = |account: &str, region: &str, day: &str, name: &str| {
        format!("AWSLogs/o-1/{account}/CloudTrail/{region}/2026/12/{day}/{name}.json.gz")
    };
    let a = key("111", "us-east-1", "05", "a");
    let b = key("111", "us-east-1", "06", "b");
    let c = key("111", "eu-west-1", "05", "c");
    let d = key("222", "us-east-1", "05", "d");
    let e = key("333", "us-west-2", "04", "e");
    for object in [&a, &b, &c, &d, &e] {
        bucket.put(object, b"{\"Records\":[]}");
    }
    bucket.put(
        "AWSLogs/o-1/222/CloudTrail-Digest/us-east-1/2026/12/05/x.json.gz",
        b"{}",
    );
    let mut source = source(&bucket);
    source.page_size = Some(1); // folders, too, come a page at a time
    let listed = |location: &str| {
        let listing = source.list(&url(&bucket, location)).expect("list");
        names(&listing.inputs)
    };
    let s3 = |keys: &[&String]| -> Vec<String> {
        keys.iter()
            .map(|key| format!("s3://trail-bucket/{key}"))
            .collect()
    };

    assert_eq!(
        listed("AWSLogs/o-1/*/CloudTrail/*/2026/12/05/"),
        s3(&[&c, &a, &d])
    );
    assert_eq!(
        listed("AWSLogs/o-1/*/CloudTrail/us-*/2026/12/0*"),
        s3(&[&a, &b, &d, &e])
    );
    let objects = source
        .list(&url(
            &bucket,
            "AWSLogs/o-1/111/CloudTrail/us-east-1/2026/12/*/*.json.gz",
        ))
        .expect("list");
    assert_eq!(names(&objects.inputs), s3(&[&a, &b]));
    // Objects the last part matched come with the sizes their folder's listing gave.
    assert_eq!(objects.inputs[0].size(), Some(14));
    let error = source
        .list(&url(&bucket, "AWSLogs/o-1/*/CloudTrail/*/2027/"))
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "s3://trail-bucket/AWSLogs/o-1/*/CloudTrail/*/2027/: no such key, and no objects under it as a prefix"
    );
}
