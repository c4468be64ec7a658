//! Inputs held by a service rather than a file system (objects in S3). The crate that speaks
//! to the service lists them and fetches their bytes; they are read here as a file of the same
//! bytes is, so that a day of CloudTrail read from S3 gives what its downloaded copy gives.

use super::{open_bytes, open_reader, InputData, InputError};
use std::fmt;
use std::io::Read;
use std::sync::Arc;

/// What a service's object answers to: its name, its size, and its bytes when asked.
pub trait Fetch: Send + Sync {
    /// How the input is named in messages and dead letters (`s3://bucket/key`).
    fn name(&self) -> &str;
    /// Size in bytes as the listing gave it (for progress reporting).
    fn size(&self) -> Option<u64>;
    /// Starts fetching without waiting, for a later [`Fetch::fetch`]. A hint: it may do nothing.
    fn prefetch(&self) {}
    /// The object's bytes, whole (small objects) or as a stream (large ones, so that memory
    /// stays bounded).
    ///
    /// # Errors
    /// [`InputError::Unreadable`] (or [`InputError::NotFound`]) naming the object and what the
    /// service answered.
    fn fetch(&self) -> Result<Fetched, InputError>;
}

/// An object's bytes as fetched.
pub enum Fetched {
    Whole(Vec<u8>),
    Stream(Box<dyn Read + Send>),
}

/// An input fetched through [`Fetch`]; inputs compare by name, as files compare by path.
#[derive(Clone)]
pub struct Remote(Arc<dyn Fetch>);

impl Remote {
    pub fn new(object: impl Fetch + 'static) -> Self {
        Self(Arc::new(object))
    }

    pub fn name(&self) -> &str {
        self.0.name()
    }

    pub fn size(&self) -> Option<u64> {
        self.0.size()
    }

    pub fn prefetch(&self) {
        self.0.prefetch();
    }

    /// The bytes, not yet opened (gzip not yet detected): for a caller counting them.
    ///
    /// # Errors
    /// As [`Fetch::fetch`].
    pub fn fetch(&self) -> Result<Fetched, InputError> {
        self.0.fetch()
    }

    /// Fetches and opens the object as [`super::open_input`] opens a file.
    ///
    /// # Errors
    /// As [`Fetch::fetch`], and as opening a file of the same bytes.
    pub fn open(&self) -> Result<InputData, InputError> {
        open_fetched(self.fetch()?, self.name())
    }
}

/// Opens fetched bytes: whole ones as [`open_bytes`], a stream as [`open_reader`].
///
/// # Errors
/// As opening a file of the same bytes.
pub fn open_fetched(fetched: Fetched, name: &str) -> Result<InputData, InputError> {
    match fetched {
        Fetched::Whole(bytes) => open_bytes(bytes, name),
        Fetched::Stream(reader) => open_reader(reader, name).map(InputData::Stream),
    }
}

impl PartialEq for Remote {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Remote {}

impl fmt::Debug for Remote {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.debug_tuple("Remote").field(&self.name()).finish()
    }
}
