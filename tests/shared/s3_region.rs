//! A front for the moto server that answers as S3 does a request for a bucket sent to another
//! region than the bucket's: moto serves every region alike, so a client that never follows
//! the region S3 names would pass against moto alone.
//!
//! One bucket is guarded, at home in one region; a request for it signed for any other region
//! (the region is the third part of the SigV4 `Credential=`) is refused the way S3 refuses it,
//! and every other request is passed to moto (`front.rs`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

/// How S3 refuses a request sent to the wrong region.
#[derive(Clone, Copy, Debug)]
#[allow(dead_code)] // each test crate asks for the refusals it tests
pub enum Refusal {
    /// Sent to another region's endpoint: `301 PermanentRedirect`, the bucket's region in the
    /// `x-amz-bucket-region` header.
    Redirect,
    /// Signed for another region at the bucket's endpoint: `400 AuthorizationHeaderMalformed`,
    /// the region only in the body's `<Region>`.
    Malformed,
}

pub struct RegionFront {
    pub endpoint: String,
    refused: Arc<AtomicUsize>,
}

impl RegionFront {
    pub fn start(moto: &str, bucket: &str, home: &str, refusal: Refusal) -> Self {
        let refused = Arc::new(AtomicUsize::new(0));
        let guard = Guard {
            bucket: bucket.to_string(),
            home: home.to_string(),
            refusal,
            refused: Arc::clone(&refused),
        };
        let endpoint = super::front::start(moto, move |head, _| guard.answer(head));
        Self { endpoint, refused }
    }

    /// Requests refused for being sent to another region.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

struct Guard {
    bucket: String,
    home: String,
    refusal: Refusal,
    refused: Arc<AtomicUsize>,
}

impl Guard {
    /// The refusal S3 gives `head`'s request, or `None` for moto to answer it.
    fn answer(&self, head: &str) -> Option<Vec<u8>> {
        let request_line = head.lines().next().unwrap_or_default();
        let mut parts = request_line.split(' ');
        let method = parts.next().unwrap_or_default();
        let path = parts.next().unwrap_or_default();
        let bucket = path
            .trim_start_matches('/')
            .split(['/', '?'])
            .next()
            .unwrap_or_default();
        let signed_for = head
            .split("Credential=")
            .nth(1)
            .and_then(|credential| credential.split('/').nth(2))
            .unwrap_or_default();
        if bucket != self.bucket || signed_for == self.home {
            return None;
        }
        self.refused.fetch_add(1, Ordering::SeqCst);
        Some(self.refusal(signed_for, method == "HEAD"))
    }

    fn refusal(&self, signed_for: &str, head_only: bool) -> Vec<u8> {
        let (status, header, body) = match self.refusal {
            Refusal::Redirect => (
                "301 Moved Permanently",
                format!("x-amz-bucket-region: {}\r\n", self.home),
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>PermanentRedirect</Code>\
                     <Message>The bucket you are attempting to access must be addressed using the \
                     specified endpoint. Please send all future requests to this endpoint.</Message>\
                     <Endpoint>{0}.s3.{1}.amazonaws.com</Endpoint><Bucket>{0}</Bucket>\
                     <RequestId>0A1B2C3D4E5F6071</RequestId></Error>",
                    self.bucket, self.home
                ),
            ),
            Refusal::Malformed => (
                "400 Bad Request",
                String::new(),
                format!(
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>AuthorizationHeaderMalformed</Code>\
                     <Message>The authorization header is malformed; the region '{signed_for}' is \
                     wrong; expecting '{0}'</Message><Region>{0}</Region>\
                     <RequestId>0A1B2C3D4E5F6072</RequestId></Error>",
                    self.home
                ),
            ),
        };
        let body = if head_only { String::new() } else { body };
        format!(
            "HTTP/1.1 {status}\r\n{header}Content-Type: application/xml\r\nContent-Length: {}\r\n\
             Connection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    }
}
