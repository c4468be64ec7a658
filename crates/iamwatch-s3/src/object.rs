//! One object read whole on request, for a reader that follows S3 notifications (`serve`: an
//! organisation trail's SNS topic announces each log file as it is delivered).
//!
//! Failures are told apart by what a sender should do: S3 refusing the request (no such key
//! or bucket, access denied) will refuse it again until someone changes something, so the
//! notification is kept as a dead letter; S3 unreachable or failing may pass, so the sender is
//! asked to deliver the notification again. A bucket in another region is read there.

use crate::{bucket_region, client_from_env, client_in_region, explain, is_in, CONNECT_TIMEOUT};
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::config::timeout::TimeoutConfig;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use aws_sdk_s3::Client;
use iamwatch_sources::S3ObjectRef;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ObjectError {
    /// S3 answered that this request cannot succeed as it is.
    #[error("{object}: {message}")]
    Refused { object: String, message: String },
    /// S3 could not be reached, or failed: worth asking again later.
    #[error("{object}: {message}")]
    Unavailable { object: String, message: String },
    #[error("{object}: {size} bytes, over the limit of {limit} bytes an object may have")]
    TooLarge {
        object: String,
        size: u64,
        limit: u64,
    },
}

impl ObjectError {
    /// Whether asking again later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Unavailable { .. })
    }
}

/// Reads objects whole, with the environment's AWS configuration (as [`crate::S3Source`]).
#[derive(Clone, Debug)]
pub struct ObjectReader {
    client: Client,
    /// Clients for buckets S3 answered are in another region, by bucket, so that a trail's
    /// bucket (announcing a file every few minutes) is asked in the right region from its
    /// second file on. As many as the buckets followed.
    elsewhere: Arc<Mutex<HashMap<String, Client>>>,
}

impl ObjectReader {
    /// Connects with the environment's AWS configuration; one read, every attempt included,
    /// ends after `timeout` (a sender waiting for the answer gives up at some point, and a
    /// read it no longer waits for only holds the request's memory).
    pub async fn from_env(timeout: Duration) -> Self {
        let timeouts = TimeoutConfig::builder()
            .connect_timeout(timeout.min(CONNECT_TIMEOUT))
            .read_timeout(timeout)
            .operation_timeout(timeout)
            .build();
        Self {
            client: client_from_env(timeouts).await,
            elsewhere: Arc::default(),
        }
    }

    /// The object's bytes, as stored (a gzipped log file stays gzipped).
    ///
    /// # Errors
    /// [`ObjectError::Refused`] when S3 answers with a client error (4xx but a timeout or a
    /// throttle) or a redirect it does not name a region for, [`ObjectError::TooLarge`] for
    /// an object over `limit` bytes, and [`ObjectError::Unavailable`] for everything else (no
    /// connection, 5xx, a body cut short).
    pub async fn read(&self, object: &S3ObjectRef, limit: u64) -> Result<Vec<u8>, ObjectError> {
        let name = object.to_string();
        let client = self.client_for(&object.bucket);
        let get = |client: &Client| {
            client
                .get_object()
                .bucket(&object.bucket)
                .key(&object.key)
                .send()
        };
        let output = match get(&client).await {
            Err(error) => match bucket_region(&error) {
                Some(region) if !is_in(&client, &region) => {
                    let regional = client_in_region(&self.client, &region);
                    self.elsewhere
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .insert(object.bucket.clone(), regional.clone());
                    get(&regional).await
                }
                _ => Err(error),
            },
            fetched => fetched,
        };
        let output = output.map_err(|error| {
            let message = explain(&error);
            if is_refusal(&error) {
                ObjectError::Refused {
                    object: name.clone(),
                    message,
                }
            } else {
                ObjectError::Unavailable {
                    object: name.clone(),
                    message,
                }
            }
        })?;
        whole_body(output, limit)
            .await
            .map_err(|error| match error {
                BodyError::TooLarge { size } => ObjectError::TooLarge {
                    object: name,
                    size,
                    limit,
                },
                BodyError::Failed(message) => ObjectError::Unavailable {
                    object: name,
                    message,
                },
            })
    }

    fn client_for(&self, bucket: &str) -> Client {
        let elsewhere = self
            .elsewhere
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        elsewhere.get(bucket).unwrap_or(&self.client).clone()
    }
}

#[derive(Debug, thiserror::Error)]
pub(crate) enum BodyError {
    /// Announced, or found, over the limit.
    #[error("{size} bytes, over the limit")]
    TooLarge { size: u64 },
    /// The body could not be read to its announced end.
    #[error("{0}")]
    Failed(String),
}

/// An object's body in one buffer of its announced length, filled as the chunks come rather
/// than gathered and then copied: the object is held once, not twice. Shared by the scan's
/// fetch ahead and the notifications' reads.
pub(crate) async fn whole_body(output: GetObjectOutput, limit: u64) -> Result<Vec<u8>, BodyError> {
    let size = output
        .content_length()
        .and_then(|length| u64::try_from(length).ok())
        .unwrap_or(0);
    if size > limit {
        return Err(BodyError::TooLarge { size });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    let mut body = output.body;
    while let Some(chunk) = body
        .try_next()
        .await
        .map_err(|error| BodyError::Failed(error.to_string()))?
    {
        bytes.extend_from_slice(&chunk);
        // A body longer than announced is held to the limit too.
        if bytes.len() as u64 > limit {
            return Err(BodyError::TooLarge {
                size: bytes.len() as u64,
            });
        }
    }
    if (bytes.len() as u64) < size {
        return Err(BodyError::Failed(format!(
            "the body ended after {} of its {size} bytes",
            bytes.len()
        )));
    }
    Ok(bytes)
}

/// An answer S3 will give again the same way: a client error (4xx, except a request timeout
/// or a throttle), or a redirect (the bucket is in another region than the client's).
fn is_refusal<E>(error: &SdkError<E, HttpResponse>) -> bool {
    let SdkError::ServiceError(service) = error else {
        return false;
    };
    let status = service.raw().status().as_u16();
    (300..500).contains(&status) && !matches!(status, 408 | 429)
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_s3::primitives::SdkBody;

    fn answered(status: u16) -> SdkError<std::io::Error, HttpResponse> {
        let status = status.try_into().expect("a status code");
        let raw = HttpResponse::new(status, SdkBody::empty());
        SdkError::service_error(std::io::Error::other("S3's answer"), raw)
    }

    // moto answers neither a redirect nor a throttle: the statuses S3 gives for them, here.
    #[test]
    fn refusals_are_told_from_what_may_pass() {
        for refused in [301, 307, 400, 403, 404] {
            assert!(is_refusal(&answered(refused)), "{refused}");
        }
        for passing in [408, 429, 500, 503] {
            assert!(!is_refusal(&answered(passing)), "{passing}");
        }
        let timeout: SdkError<std::io::Error, HttpResponse> =
            SdkError::timeout_error(std::io::Error::other("no answer"));
        assert!(!is_refusal(&timeout));
    }
}
