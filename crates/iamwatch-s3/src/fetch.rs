//! One object's bytes: fetched ahead when a worker is about to want it, whole when small,
//! streamed when large.

use crate::object::whole_body;
use crate::{explain, S3Source};
use aws_sdk_s3::operation::get_object::builders::GetObjectFluentBuilder;
use aws_sdk_s3::operation::get_object::GetObjectOutput;
use iamwatch_sources::{Fetch, Fetched, InputError};
use std::io::{self, Read};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

/// Memory that objects fetched ahead may hold together: a fetch ahead that would pass it is
/// not started, and the worker fetches that object when it opens it.
pub(crate) struct Budget {
    limit: u64,
    taken: AtomicU64,
}

impl Budget {
    pub(crate) fn new(limit: u64) -> Self {
        Self {
            limit,
            taken: AtomicU64::new(0),
        }
    }

    fn try_take(&self, bytes: u64) -> bool {
        self.taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken + bytes <= self.limit).then_some(taken + bytes)
            })
            .is_ok()
    }

    fn give_back(&self, bytes: u64) {
        self.taken.fetch_sub(bytes, Ordering::AcqRel);
    }

    #[cfg(test)]
    pub(crate) fn taken(&self) -> u64 {
        self.taken.load(Ordering::Acquire)
    }
}

type Download = JoinHandle<Result<Vec<u8>, String>>;

pub(crate) struct S3Object {
    /// The source that listed it: its client, runtime, budget and whole-fetch limit.
    source: S3Source,
    bucket: String,
    key: String,
    name: String,
    size: Option<u64>,
    /// A download started ahead, holding `size` bytes of the budget until taken.
    ahead: Mutex<Option<Download>>,
}

impl S3Object {
    pub(crate) fn new(source: &S3Source, bucket: &str, key: &str, size: Option<u64>) -> Self {
        Self {
            source: source.clone(),
            bucket: bucket.to_string(),
            key: key.to_string(),
            name: format!("s3://{bucket}/{key}"),
            size,
            ahead: Mutex::new(None),
        }
    }

    fn is_small(&self) -> bool {
        self.size
            .is_some_and(|size| size <= self.source.whole_limit)
    }

    fn get_object(&self) -> GetObjectFluentBuilder {
        self.source
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(&self.key)
    }

    fn download(&self) -> Download {
        let request = self.get_object();
        self.source.runtime.spawn(async move {
            let output = request.send().await.map_err(|error| explain(&error))?;
            // No limit: the listing said the object is small.
            whole_body(output, u64::MAX)
                .await
                .map_err(|error| error.to_string())
        })
    }

    fn unreadable(&self, message: String) -> InputError {
        InputError::Unreadable {
            path: self.name.clone(),
            source: io::Error::other(message),
        }
    }

    fn wait(&self, download: Download) -> Result<Fetched, InputError> {
        match self.source.runtime.block_on(download) {
            Ok(Ok(bytes)) => Ok(Fetched::Whole(bytes)),
            Ok(Err(message)) => Err(self.unreadable(message)),
            Err(stopped) => Err(self.unreadable(format!("the download stopped: {stopped}"))),
        }
    }

    /// A large object as a stream: its body read by a task into a channel of a few chunks,
    /// which the worker drains. Memory is the channel's, whatever the object's size.
    fn stream(&self) -> Result<Fetched, InputError> {
        let request = self.get_object();
        let output: GetObjectOutput = self
            .source
            .runtime
            .block_on(request.send())
            .map_err(|error| self.unreadable(explain(&error)))?;
        let expected = output
            .content_length()
            .and_then(|length| u64::try_from(length).ok());
        let (sender, receiver) = mpsc::channel(4);
        let mut body = output.body;
        self.source.runtime.spawn(async move {
            loop {
                let chunk = match body.try_next().await {
                    Ok(Some(chunk)) => Ok(chunk),
                    Ok(None) => return,
                    Err(error) => Err(io::Error::other(error.to_string())),
                };
                let failed = chunk.is_err();
                // The reader gone (the scan stopped): the rest is not wanted.
                if sender.send(chunk).await.is_err() || failed {
                    return;
                }
            }
        });
        Ok(Fetched::Stream(Box::new(ChunkReader {
            chunks: receiver,
            current: bytes::Bytes::new(),
            received: 0,
            expected,
        })))
    }
}

impl Fetch for S3Object {
    fn name(&self) -> &str {
        &self.name
    }

    fn size(&self) -> Option<u64> {
        self.size
    }

    fn prefetch(&self) {
        let Some(size) = self.size.filter(|_| self.is_small()) else {
            return;
        };
        let mut ahead = self.ahead.lock().unwrap_or_else(PoisonError::into_inner);
        if ahead.is_none() && self.source.budget.try_take(size) {
            *ahead = Some(self.download());
        }
    }

    fn fetch(&self) -> Result<Fetched, InputError> {
        let started = self
            .ahead
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(download) = started {
            let fetched = self.wait(download);
            self.source.budget.give_back(self.size.unwrap_or(0));
            return fetched;
        }
        if self.is_small() {
            self.wait(self.download())
        } else {
            self.stream()
        }
    }
}

impl Drop for S3Object {
    /// A download started ahead and never taken (the scan stopped first) gives its share of
    /// the budget back.
    fn drop(&mut self) {
        let ahead = self.ahead.get_mut().unwrap_or_else(PoisonError::into_inner);
        if let Some(download) = ahead.take() {
            download.abort();
            self.source.budget.give_back(self.size.unwrap_or(0));
        }
    }
}

/// Reads the chunks a streaming download sends, in order.
struct ChunkReader {
    chunks: mpsc::Receiver<io::Result<bytes::Bytes>>,
    current: bytes::Bytes,
    received: u64,
    /// The length S3 announced: a body that ends short of it (the task stopped, the runtime
    /// shut down) is an error, not a shorter object.
    expected: Option<u64>,
}

impl Read for ChunkReader {
    fn read(&mut self, buffer: &mut [u8]) -> io::Result<usize> {
        while self.current.is_empty() {
            match self.chunks.blocking_recv() {
                Some(chunk) => {
                    self.current = chunk?;
                    self.received += self.current.len() as u64;
                }
                None => match self.expected.filter(|length| *length != self.received) {
                    Some(length) => {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!(
                                "the object ended after {} of its {length} bytes",
                                self.received
                            ),
                        ))
                    }
                    None => return Ok(0),
                },
            }
        }
        let count = self.current.len().min(buffer.len());
        buffer[..count].copy_from_slice(&self.current[..count]);
        let _ = self.current.split_to(count);
        Ok(count)
    }
}
