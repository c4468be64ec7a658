//! A front for the moto server that answers as S3 does a request for a bucket sent to another
//! region than the bucket's: moto serves every region alike, so a client that never follows
//! the region S3 names would pass against moto alone.
//!
//! One bucket is guarded, at home in one region; a request for it signed for any other region
//! (the region is the third part of the SigV4 `Credential=`) is refused the way S3 refuses it,
//! and every other request is passed to moto. One request per connection, closed after the
//! answer, so that no request on a kept-alive connection slips past the check.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
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
        let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
        let endpoint = format!("http://{}", listener.local_addr().expect("address"));
        let refused = Arc::new(AtomicUsize::new(0));
        let guard = Guard {
            moto: moto.trim_start_matches("http://").to_string(),
            bucket: bucket.to_string(),
            home: home.to_string(),
            refusal,
            refused: Arc::clone(&refused),
        };
        std::thread::spawn(move || {
            for connection in listener.incoming().flatten() {
                let guard = guard.clone();
                std::thread::spawn(move || guard.answer(connection));
            }
        });
        Self { endpoint, refused }
    }

    /// Requests refused for being sent to another region.
    pub fn refused(&self) -> usize {
        self.refused.load(Ordering::SeqCst)
    }
}

#[derive(Clone)]
struct Guard {
    moto: String,
    bucket: String,
    home: String,
    refusal: Refusal,
    refused: Arc<AtomicUsize>,
}

impl Guard {
    fn answer(&self, mut connection: TcpStream) {
        let Some((head, body)) = read_request(&connection) else {
            return;
        };
        let mut lines = head.lines();
        let request_line = lines.next().unwrap_or_default().to_string();
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
        let answer = if bucket == self.bucket && signed_for != self.home {
            self.refused.fetch_add(1, Ordering::SeqCst);
            self.refusal(signed_for, method == "HEAD")
        } else {
            self.forward(&request_line, lines, &body)
        };
        let _ = connection.write_all(&answer);
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

    /// The request as it came, but for its `Connection` header, and moto's whole answer.
    fn forward<'a>(
        &self,
        request_line: &str,
        headers: impl Iterator<Item = &'a str>,
        body: &[u8],
    ) -> Vec<u8> {
        let mut request = format!("{request_line}\r\n");
        for header in headers.filter(|line| !line.is_empty()) {
            if !header.to_ascii_lowercase().starts_with("connection:") {
                request.push_str(header);
                request.push_str("\r\n");
            }
        }
        request.push_str("Connection: close\r\n\r\n");
        let mut answer = Vec::new();
        if let Ok(mut moto) = TcpStream::connect(&self.moto) {
            let _ = moto.write_all(request.as_bytes());
            let _ = moto.write_all(body);
            let _ = moto.read_to_end(&mut answer);
        }
        answer
    }
}

/// A request's head (request line and headers, `\r\n` taken off each) and its body.
fn read_request(connection: &TcpStream) -> Option<(String, Vec<u8>)> {
    let mut reader = BufReader::new(connection);
    let mut head = String::new();
    let mut length = 0;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end_matches(['\r', '\n']);
        if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().ok()?;
            }
        }
        head.push_str(line);
        head.push('\n');
        if line.is_empty() {
            break;
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}
