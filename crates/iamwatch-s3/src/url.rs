//! `s3://bucket/key-or-prefix`, as the AWS CLI writes S3 locations.

use crate::S3Error;
use std::fmt;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Url {
    pub bucket: String,
    /// A key or a prefix; empty for the whole bucket.
    pub key: String,
}

impl S3Url {
    /// Whether `text` is meant as an S3 location (its scheme, in any case).
    pub fn is_s3(text: &str) -> bool {
        text.get(..5)
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("s3://"))
    }

    /// Reads `s3://bucket[/key]`.
    ///
    /// # Errors
    /// [`S3Error::BadUrl`] for another scheme, or no bucket name, or one S3 would not accept.
    pub fn parse(text: &str) -> Result<Self, S3Error> {
        let bad = |reason| S3Error::BadUrl {
            url: text.to_string(),
            reason,
        };
        if !Self::is_s3(text) {
            return Err(bad("it does not start with s3://"));
        }
        let rest = &text[5..];
        let (bucket, key) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() {
            return Err(bad("no bucket name (s3://BUCKET/PREFIX)"));
        }
        // S3's own rule for bucket names (3 to 63 of lower-case letters, digits, dots and
        // hyphens), told here rather than as a signing error from the service.
        let valid_name = (3..=63).contains(&bucket.len())
            && bucket
                .bytes()
                .all(|byte| matches!(byte, b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-'));
        if !valid_name {
            return Err(bad(
                "a bucket name is 3 to 63 lower-case letters, digits, dots and hyphens",
            ));
        }
        Ok(Self {
            bucket: bucket.to_string(),
            key: key.to_string(),
        })
    }

    /// The location of `key` in this URL's bucket.
    pub fn object(&self, key: &str) -> String {
        format!("s3://{}/{key}", self.bucket)
    }
}

impl fmt::Display for S3Url {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "s3://{}/{}", self.bucket, self.key)
    }
}
