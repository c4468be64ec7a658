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
    /// taken as a folder (`s3://trail/AWSLogs/` and `s3://trail/AWSLogs` alike).
    ///
    /// # Errors
    /// [`S3Error::Service`] when S3 refuses or cannot be reached (no bucket, no permission,
    /// no credentials), [`S3Error::Empty`] when nothing is there.
    pub fn list(&self, url: &S3Url) -> Result<Listing, S3Error> {
        self.runtime.block_on(listing::list(self, url))
    }
}

/// How long a connection to S3 may take to open.
const CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// A client configured from the environment, as the AWS CLI is, with these time limits.
async fn client_from_env(timeouts: TimeoutConfig) -> Client {
    use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let shared = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .http_client(http)
        .load()
        .await;
    let overridden = shared.endpoint_url().is_some()
        || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some_and(|url| !url.is_empty());
    let mut config = aws_sdk_s3::config::Builder::from(&shared)
        .force_path_style(overridden)
        .timeout_config(timeouts);
    if shared.region().is_none() {
        // No region configured anywhere: the AWS CLI's default. A bucket elsewhere answers
        // with a redirect, which `explain` turns into advice.
        config = config.region(aws_config::Region::from_static("us-east-1"));
    }
    let config = config.build();
    Client::from_conf(config)
}

/// What S3 (or the way to it) answered, in a line: the service's code and message when it
/// answered (`NoSuchBucket: The specified bucket does not exist`), the whole chain of causes
/// when it could not be asked (no credentials, no connection).
fn explain<E, R>(error: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    if let SdkError::ServiceError(service) = error {
        let inner = service.err();
        if let Some(code) = inner.code() {
            let message = inner.message().unwrap_or("");
            return redirect_hint(code, message);
        }
    }
    causes(error)
}

/// An error and its causes, each said once (`dispatch failure: io error: … Connection
/// refused`), without the debug dump the SDK's own `DisplayErrorContext` ends with.
fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut line = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let said = cause.to_string();
        if !line.contains(&said) {
            line.push_str(": ");
            line.push_str(&said);
        }
        source = cause.source();
    }
    line
}

/// A bucket in another region answers `PermanentRedirect` (or `AuthorizationHeaderMalformed`):
/// said with what to do about it.
fn redirect_hint(code: &str, message: &str) -> String {
    let mut line = if message.is_empty() {
        code.to_string()
    } else {
        format!("{code}: {message}")
    };
    if matches!(code, "PermanentRedirect" | "AuthorizationHeaderMalformed") {
        line.push_str(" (the bucket is in another region: set AWS_REGION to it)");
    }
    line
}

#[cfg(test)]
mod tests;
