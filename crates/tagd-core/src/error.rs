//! Typed errors: the core's, the stores', and the neutral classification dialects map from.

use crate::change::ResourceFailure;
use crate::rules::TagRuleError;

/// A protocol-neutral classification (after Quickwit's `ServiceErrorCode`). Each dialect maps
/// [`CoreError`] variants to its own codes; this is the fallback for what it does not map.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    InvalidParameter,
    NotFound,
    LimitExceeded,
    Forbidden,
    Unavailable,
    Internal,
}

/// Failures of the storage engine.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The engine is shutting down or its writer is gone.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// The stored data could not be decoded.
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// A uniqueness rule was broken (an access key id that exists).
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("engine error: {0}")]
    Engine(String),
}

/// Everything the tag service can refuse, in the core's terms.
#[derive(Debug, thiserror::Error)]
pub enum CoreError {
    #[error("no resource given")]
    NoResources,
    #[error("more than {max} resources in one call")]
    TooManyResources { max: usize },
    #[error("no tag given")]
    NoTags,
    #[error("more than {max} tags in one call")]
    TooManyTags { max: usize },
    #[error("the same tag key twice in one request")]
    DuplicateTagKey { key: String },
    #[error("tag {index} breaks a rule: {problem:?}")]
    InvalidTag { index: usize, problem: TagRuleError },
    #[error("a resource would carry more tags than allowed")]
    TagQuotaExceeded { failure: ResourceFailure },
    #[error("resource not registered")]
    ResourceNotFound { failure: ResourceFailure },
    #[error("invalid page token")]
    InvalidPageToken,
    #[error("the account's tag catalogue is full")]
    CatalogueFull,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl CoreError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            CoreError::NoResources
            | CoreError::NoTags
            | CoreError::DuplicateTagKey { .. }
            | CoreError::InvalidTag { .. }
            | CoreError::InvalidPageToken => ErrorKind::InvalidParameter,
            CoreError::TooManyResources { .. }
            | CoreError::TooManyTags { .. }
            | CoreError::TagQuotaExceeded { .. }
            | CoreError::CatalogueFull => ErrorKind::LimitExceeded,
            CoreError::ResourceNotFound { .. } => ErrorKind::NotFound,
            CoreError::Store(StoreError::Unavailable(_)) => ErrorKind::Unavailable,
            CoreError::Store(_) => ErrorKind::Internal,
        }
    }
}
