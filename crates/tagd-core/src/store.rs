//! The storage port. Engines (`RedbStore`, later `PgStore`) implement it; only
//! [`crate::TagService`] and the admin paths call it.
//!
//! Contract every engine keeps (checked by the shared conformance suite in `testkit`):
//! - `apply` is atomic per change set and durable when it returns `Ok`; for
//!   [`crate::Atomicity::AllOrNothing`] a failing resource leaves every resource unchanged;
//!   the per-resource limit is checked against the state the change set actually meets
//!   (concurrent change sets are serialised).
//! - `query` costs what its answer costs: tag conditions go through a (key, value) index,
//!   results come in (type, id) order from a cursor.

use std::future::Future;

use crate::account::{AccessKeyId, Account, AccountId, Credential};
use crate::change::{ApplyReport, ChangeSet};
use crate::error::StoreError;
use crate::model::ResourceRef;
use crate::query::{ResourceQuery, ResourceTags};
use crate::tagset::TagSet;

/// A durable home for accounts, keys, registered resources and tags.
pub trait Store: Send + Sync + 'static {
    /// Applies a change set atomically and durably (see the module docs).
    fn apply(
        &self,
        changes: ChangeSet,
    ) -> impl Future<Output = Result<ApplyReport, StoreError>> + Send;

    /// The tags of one resource (empty if it has none).
    fn get_tags(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> impl Future<Output = Result<TagSet, StoreError>> + Send;

    /// Resources matching a query, in (type, id) order, at most `query.limit`.
    fn query(
        &self,
        query: ResourceQuery,
    ) -> impl Future<Output = Result<Vec<ResourceTags>, StoreError>> + Send;

    /// Creates an account together with its first key. Fails with `Conflict` if the key id exists.
    fn create_account(
        &self,
        account: Account,
        key: Credential,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_account(
        &self,
        id: &AccountId,
    ) -> impl Future<Output = Result<Option<Account>, StoreError>> + Send;

    fn list_accounts(&self) -> impl Future<Output = Result<Vec<Account>, StoreError>> + Send;

    /// Stores a key, replacing one with the same id (used to rotate a root secret).
    fn put_key(&self, key: Credential) -> impl Future<Output = Result<(), StoreError>> + Send;

    fn get_key(
        &self,
        id: &AccessKeyId,
    ) -> impl Future<Output = Result<Option<Credential>, StoreError>> + Send;

    fn list_keys(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Vec<Credential>, StoreError>> + Send;

    /// Registers a resource (for `--resources registered`). Idempotent.
    fn register_resource(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deregisters a resource and deletes its tags. Returns whether it was registered.
    fn deregister_resource(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The key that seals page tokens; created once per store and kept.
    fn token_key(&self) -> impl Future<Output = Result<[u8; 32], StoreError>> + Send;
}
