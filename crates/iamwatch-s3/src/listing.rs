//! A key or prefix listed into scan inputs, page by page.

use crate::fetch::S3Object;
use crate::pattern::{self, Found};
use crate::{bucket_region, explain, S3Error, S3Source, S3Url};
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use iamwatch_sources::{judge_name, Input, NameSays, Remote};

/// What a listing found: objects to read, in key order, and objects passed over.
#[derive(Debug, Default)]
pub struct Listing {
    pub inputs: Vec<Input>,
    /// Objects that are not log files (digests, folder markers, other extensions), as
    /// `s3://bucket/key`.
    pub passed_over: Vec<String>,
    /// The bucket's region, when S3 answered that it is not the configured one: the listing
    /// was made there, and its objects are read from there.
    pub region: Option<String>,
}

pub(crate) async fn list(source: &S3Source, url: &S3Url) -> Result<Listing, S3Error> {
    let mut listing = Listing::default();
    let found = if pattern::has_wildcard(&url.key) {
        pattern::expand(source, url).await?
    } else {
        vec![Found::Prefix(url.key.clone())]
    };
    for item in found {
        match item {
            Found::Prefix(key) => list_key(source, url, &key, &mut listing).await?,
            // Matched by the pattern's last part, as a shell names each file it matched: read.
            Found::Object { key, size } => listing.inputs.push(input(source, url, &key, size)),
        }
    }
    if listing.inputs.is_empty() && listing.passed_over.is_empty() {
        return Err(S3Error::Empty {
            url: url.to_string(),
        });
    }
    Ok(listing)
}

/// Lists one key or prefix (no `*` in it) of `url`'s bucket into `listing`.
async fn list_key(
    source: &S3Source,
    url: &S3Url,
    key: &str,
    listing: &mut Listing,
) -> Result<(), S3Error> {
    // Like a path: `AWSLogs` names the object `AWSLogs` if there is one, else the folder
    // `AWSLogs/` (never `AWSLogs-old/`, which the same prefix also lists).
    let folder = if key.is_empty() || key.ends_with('/') {
        key.to_string()
    } else {
        format!("{key}/")
    };
    each_page(source, url, key, None, |page| {
        for object in page.contents() {
            let Some(found) = object.key() else { continue };
            let size = object.size().and_then(|size| u64::try_from(size).ok());
            if found == key && !found.ends_with('/') {
                // Named on the command line: always read, as a named file is.
                listing.inputs.push(input(source, url, found, size));
            } else if let Some(inside) = found.strip_prefix(folder.as_str()) {
                if is_log_object(inside, size) {
                    listing.inputs.push(input(source, url, found, size));
                } else {
                    listing.passed_over.push(url.object(found));
                }
            }
        }
    })
    .await
}

/// Lists `prefix` in `url`'s bucket page by page (with `delimiter`, what lies below it comes as
/// folders, `common_prefixes`), handing each page to `on_page`.
pub(crate) async fn each_page(
    source: &S3Source,
    url: &S3Url,
    prefix: &str,
    delimiter: Option<&str>,
    mut on_page: impl FnMut(ListObjectsV2Output),
) -> Result<(), S3Error> {
    let mut pages = source
        .client
        .list_objects_v2()
        .bucket(&url.bucket)
        .prefix(prefix)
        .set_delimiter(delimiter.map(str::to_string))
        .set_max_keys(source.page_size)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        on_page(page.map_err(|error| {
            let url = url.to_string();
            let message = explain(&error);
            match bucket_region(&error) {
                Some(region) => S3Error::OtherRegion {
                    url,
                    region,
                    message,
                },
                None => S3Error::Service { url, message },
            }
        })?);
    }
    Ok(())
}

fn input(source: &S3Source, url: &S3Url, key: &str, size: Option<u64>) -> Input {
    Input::Remote(Remote::new(S3Object::new(source, &url.bucket, key, size)))
}

/// Whether an object found under a folder is read, as a file found in a walked directory is:
/// by its name, digests left out (`CloudTrail-Digest/` folders and digest names). Objects with
/// no extension (Kinesis Data Firehose's) are read unless empty; their content decides, and
/// content that is not JSON is reported, not passed over in silence.
fn is_log_object(inside: &str, size: Option<u64>) -> bool {
    if inside.is_empty() || inside.ends_with('/') {
        return false; // the folder's own marker, or a sub-folder's
    }
    let mut parts = inside.split('/');
    let name = parts.next_back().unwrap_or(inside);
    if parts.any(|folder| folder == "CloudTrail-Digest") {
        return false;
    }
    match judge_name(name) {
        NameSays::Log => true,
        NameSays::NotLog => false,
        NameSays::NoExtension => size != Some(0),
    }
}

#[cfg(test)]
mod tests {
    use super::is_log_object;

    #[test]
    fn objects_are_read_as_files_in_a_walked_directory_are() {
        let read = |key: &str| is_log_object(key, Some(100));
        assert!(read(
            "111122223333/CloudTrail/us-east-1/2026/12/05/a_CloudTrail_b.json.gz"
        ));
        assert!(read("events.JSONL"));
        assert!(read("2026/12/05/11/stream-1-2026-12-05-11-00-00-abcd"));
        assert!(!read(
            "111122223333/CloudTrail-Digest/us-east-1/2026/12/05/x.json.gz"
        ));
        assert!(!read(
            "x_CloudTrail-Digest_us-east-1_20261205T000000Z.json.gz"
        ));
        assert!(!read("README.md"));
        assert!(!read("2026/12/05/"));
        assert!(!is_log_object("_SUCCESS", Some(0)));
        assert!(is_log_object("records", None));
    }
}
