//! tagd's domain core: the tag model, the per-namespace rule sets, the `Store` port and the
//! tag service that every wire dialect calls.
//!
//! Nothing here knows HTTP, redb or SQL (the TiKV `engine_traits` rule): dialects translate wire
//! requests into the types below, engines implement [`store::Store`].

pub mod account;
pub mod admin;
pub mod catalogue;
pub mod change;
pub mod error;
pub mod model;
pub mod namespace;
pub mod page;
pub mod query;
pub mod rules;
pub mod service;
pub mod store;
pub mod tagset;
pub mod timestamp;

#[cfg(feature = "testkit")]
pub mod testkit;

pub use account::{AccessKeyId, Account, AccountId, Credential, SecretKey};
pub use change::{ApplyReport, Atomicity, ChangeSet, ResourceChange, ResourceFailure, TagOp};
pub use error::{CoreError, ErrorKind, StoreError};
pub use model::{Region, ResourceId, ResourceRef, ResourceType, Tag};
pub use query::{Cursor, ResourceQuery, ResourceTags, TagFilter, TypeFilter};
pub use rules::{CallLimits, RuleSet, TagRuleError};
pub use service::TagService;
pub use store::Store;
pub use tagset::TagSet;
