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
use crate::catalogue::{KeyQuery, PresetDelete, PresetKey, PresetKeyInfo, TextMatch, ValueQuery};
use crate::change::{ApplyReport, CatalogueTag, ChangeSet};
use crate::error::StoreError;
use crate::model::{Region, ResourceRef};
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

    /// Distinct keys carried now by resources matching the query, ascending, at most `limit`.
    fn list_tag_keys(
        &self,
        query: KeyQuery,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Distinct values of one key carried now, ascending, at most `limit`.
    fn list_tag_values(
        &self,
        query: ValueQuery,
    ) -> impl Future<Output = Result<Vec<String>, StoreError>> + Send;

    /// Creates or updates preset keys (descriptions replaced, values added or updated).
    fn put_presets(
        &self,
        account: &AccountId,
        presets: Vec<PresetKey>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes a preset value, or a preset key that has no values.
    fn delete_preset(
        &self,
        account: &AccountId,
        key: &str,
        value: Option<&str>,
    ) -> impl Future<Output = Result<PresetDelete, StoreError>> + Send;

    /// Preset keys, ascending, after `after` (exclusive), at most `limit`.
    fn list_preset_keys(
        &self,
        account: &AccountId,
        matching: TextMatch,
        after: Option<String>,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<PresetKeyInfo>, StoreError>> + Send;

    /// A preset key's values, ascending; `None` if the key is not a preset key.
    fn list_preset_values(
        &self,
        account: &AccountId,
        key: &str,
        matching: TextMatch,
        after: Option<String>,
        limit: usize,
    ) -> impl Future<Output = Result<Option<Vec<String>>, StoreError>> + Send;

    /// The explicit catalogue of a namespace (Baidu's), ordered by key then value; `key` and
    /// `value` narrow it to exact matches.
    fn list_catalogue(
        &self,
        account: &AccountId,
        namespace: &str,
        key: Option<&str>,
        value: Option<&str>,
    ) -> impl Future<Output = Result<Vec<CatalogueTag>, StoreError>> + Send;

    /// The regions in which the account has tagged resources, ascending.
    fn list_regions(
        &self,
        account: &AccountId,
    ) -> impl Future<Output = Result<Vec<Region>, StoreError>> + Send;

    /// The key that seals page tokens; created once per store and kept.
    fn token_key(&self) -> impl Future<Output = Result<[u8; 32], StoreError>> + Send;
}
