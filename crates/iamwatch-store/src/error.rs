/// What kind of failure, so callers can decide whether to retry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreErrorKind {
    NotFound,
    /// The change conflicts with the stored state (e.g. a lifecycle move that is not allowed).
    Conflict,
    /// The backend did not answer or failed; retrying may help.
    Unavailable,
    /// The request itself is malformed.
    Invalid,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("incident {0} not found")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("invalid request: {0}")]
    Invalid(String),
    #[error("{context}")]
    Backend {
        context: String,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

impl StoreError {
    pub fn kind(&self) -> StoreErrorKind {
        match self {
            Self::NotFound(_) => StoreErrorKind::NotFound,
            Self::Conflict(_) => StoreErrorKind::Conflict,
            Self::Invalid(_) => StoreErrorKind::Invalid,
            Self::Backend { .. } => StoreErrorKind::Unavailable,
        }
    }

    pub fn backend(
        context: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Backend {
            context: context.into(),
            source: Box::new(source),
        }
    }
}
