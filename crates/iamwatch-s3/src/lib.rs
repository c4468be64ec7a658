//! `iamwatch scan s3://bucket/prefix`: CloudTrail log files read where CloudTrail writes them;
//! and for `serve`, the objects S3 notifications name ([`ObjectReader`]).
//!
//! A trail delivers to S3, an organisation trail a file per account, region and five minutes
//! (`AWSLogs/o-…/111122223333/CloudTrail/us-east-1/2026/12/05/…json.gz`). A prefix is listed
//! (every page) into inputs that the scan reads as it reads local files: each object is
//! fetched whole when a worker is about to want it and streamed when it is large, so a day of
//! an organisation trail is scanned without a copy on disk and in bounded memory.
//!
//! Credentials, region and endpoint come from the usual AWS places (environment, profile, SSO,
//! instance or container role), as the AWS CLI takes them. With an endpoint override
//! (`AWS_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`: MinIO, LocalStack, moto) requests are addressed
//! path-style, as those servers expect.

mod fetch;
mod listing;
mod object;
mod pattern;
mod url;

pub use listing::Listing;
pub use object::{ObjectError, ObjectReader};
pub use url::S3Url;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::Client;
use fetch::Budget;
use std::sync::Arc;
use tokio::runtime::Handle;

#[derive(Debug, thiserror::Error)]
pub enum S3Error {
    #[error("{url}: not an S3 location: {reason}")]
    BadUrl { url: String, reason: &'static str },
    #[error("{url}: {message}")]
    Service { url: String, message: String },
    #[error("{url}: no such key, and no objects under it as a prefix")]
    Empty { url: String },
    /// S3 answered that the bucket is in `region`, not the one the request was sent to.
    #[error("{url}: {message}")]
    OtherRegion {
        url: String,
        region: String,
        message: String,
    },
}

/// A connection to S3 that lists prefixes into scan inputs.
#[derive(Clone)]
pub struct S3Source {
    client: Client,
    runtime: Handle,
    /// Bytes fetched ahead and not yet read, across all objects of this source.
    budget: Arc<Budget>,
    /// Objects up to this size are fetched whole; larger ones stream.
    whole_limit: u64,
    /// Keys asked for per listing request (S3's own maximum, 1,000, unless tests ask for less).
    page_size: Option<i32>,
}

/// Objects fetched ahead of the workers may hold at most this much memory together, so that
/// large objects (up to 4 MB each are fetched whole) cannot pile up ahead of the scan.
const PREFETCH_BUDGET: u64 = 12 * 1024 * 1024;

impl S3Source {
    /// Connects with the environment's AWS configuration. Requests run on `runtime`; the
    /// methods block, so call them from threads that are not the runtime's.
    pub fn from_env(runtime: &Handle) -> Self {
        // Without a limit a server that takes the connection and never answers would hold
        // the scan for ever; a body that stalls half-way is ended by the SDK's stalled-stream
        // protection (on by default).
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .read_timeout(std::time::Duration::from_secs(30))
            .build();
        let client = runtime.block_on(client_from_env(timeouts));
        Self::with_client(client, runtime)
    }

    pub fn with_client(client: Client, runtime: &Handle) -> Self {
        Self {
            client,
            runtime: runtime.clone(),
            budget: Arc::new(Budget::new(PREFETCH_BUDGET)),
            whole_limit: iamwatch_sources::input::WHOLE_FILE_INFLATE_LIMIT as u64,
            page_size: None,
        }
    }

    /// Lists `url` into inputs in key order: the object it names, or every log object under it
    /// taken as a folder (`s3://trail/AWSLogs/` and `s3://trail/AWSLogs` alike). A bucket in
    /// another region than the configured one is listed and read there, as the AWS CLI does
    /// ([`Listing::region`] says so).
    ///
    /// # Errors
    /// [`S3Error::Service`] when S3 refuses or cannot be reached (no bucket, no permission,
    /// no credentials), [`S3Error::OtherRegion`] when the region S3 named refuses too,
    /// [`S3Error::Empty`] when nothing is there.
    pub fn list(&self, url: &S3Url) -> Result<Listing, S3Error> {
        self.runtime.block_on(async {
            match listing::list(self, url).await {
                Err(S3Error::OtherRegion { region, .. }) if !is_in(&self.client, &region) => {
                    let mut listing = listing::list(&self.in_region(&region), url).await?;
                    listing.region = Some(region);
                    Ok(listing)
                }
                listed => listed,
            }
        })
    }

    /// The same source with its requests sent to, and signed for, `region`.
    fn in_region(&self, region: &str) -> Self {
        Self {
            client: client_in_region(&self.client, region),
            ..self.clone()
        }
    }
}

/// Whether `client`'s requests go to `region` already.
fn is_in(client: &Client, region: &str) -> bool {
    client
        .config()
        .region()
        .is_some_and(|configured| configured.as_ref() == region)
}

/// `client` with its requests sent to, and signed for, `region`: its endpoint (unless one is
/// set, as for moto or MinIO) is that region's.
fn client_in_region(client: &Client, region: &str) -> Client {
    let config = client
        .config()
        .to_builder()
        .region(aws_config::Region::new(region.to_string()))
        .build();
    Client::from_conf(config)
}

/// The region S3 names when it refuses a request sent to another region than the bucket's:
/// `PermanentRedirect` (301, another region's endpoint; a HEAD's has no body, so no code) and
/// `AuthorizationHeaderMalformed` (400, signed for another region) carry it in the
/// `x-amz-bucket-region` header, the latter also in its body as `<Region>`. The Rust SDK does
/// not follow them, unlike the AWS CLI.
pub(crate) fn bucket_region<E: ProvideErrorMetadata>(
    error: &SdkError<E, HttpResponse>,
) -> Option<String> {
    let SdkError::ServiceError(service) = error else {
        return None;
    };
    let raw = service.raw();
    let elsewhere = raw.status().as_u16() == 301
        || matches!(
            service.err().code(),
            Some("PermanentRedirect" | "AuthorizationHeaderMalformed")
        );
    if !elsewhere {
        return None;
    }
    let in_body = || {
        let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
        let (_, after) = body.split_once("<Region>")?;
        Some(after.split_once("</Region>")?.0.to_string())
    };
    raw.headers()
        .get("x-amz-bucket-region")
        .map(str::to_string)
        .or_else(in_body)
        .filter(|region| is_region_name(region))
}

/// `eu-west-1`, `us-gov-west-1`, `cn-north-1`: what may be taken from an answer as a region (it
/// becomes part of an endpoint's host name).
fn is_region_name(text: &str) -> bool {
    (1..=32).contains(&text.len())
        && text
            .bytes()
            .all(|byte| byte.is_ascii_lowercase() || byte.is_ascii_digit() || byte == b'-')
}

/// How long a connection to S3 may take to open.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A client configured from the environment, as the AWS CLI is, with these time limits.
async fn client_from_env(timeouts: TimeoutConfig) -> Client {
    let shared = iamwatch_aws::sdk_config_from_env().await;
    let overridden = shared.endpoint_url().is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some_and(|url| !url.is_empty());
    let mut config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(overridden)
        .timeout_config(timeouts);
    if shared.region().is_none() {
        // No region configured anywhere: the AWS CLI's default. A bucket elsewhere answers
        // with a redirect naming its region, which is followed (`bucket_region`).
        config = config.region(aws_config::Region::from_static("us-east-1"));
    }
    let config = config.build();
    Client::from_conf(config)
}

/// What S3 (or the way to it) answered, in a line ([`iamwatch_aws::explain`]), with what to do
/// about a bucket in another region: it answers `PermanentRedirect` (or
/// `AuthorizationHeaderMalformed`), said so for when the region it names could not be followed.
pub fn explain<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let mut line = iamwatch_aws::explain(error);
    if let Some(("PermanentRedirect" | "AuthorizationHeaderMalformed", _)) =
        iamwatch_aws::code_and_message(error)
    {
        line.push_str(" (the bucket is in another region: set AWS_REGION to it)");
    }
    line
}

#[cfg(test)]
mod tests;
