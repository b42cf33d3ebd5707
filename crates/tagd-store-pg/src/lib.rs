//! tagd's PostgreSQL engine: any number of stateless tagd nodes on one database (and so on
//! Postgres-compatible distributed SQL engines).
//!
//! The schema is `migrations/` (run at connect, under sqlx's advisory lock, so nodes may start
//! together). Every change set is one transaction that first takes transaction-scoped advisory
//! locks: its account's shared and each of its resources' exclusively, or, when it changes the
//! account's catalogue (whose quota and deletions reach across the account), its account's
//! exclusively. So, on every node, each change set meets the state the one before it left on
//! the same resources (the per-resource limit) or catalogue (the quota), while writes to other
//! resources run side by side. A change set is durable when its commit returns (PostgreSQL's
//! `synchronous_commit`).
//!
//! The same [`Store`] contract as the embedded engine, checked by the same conformance suite
//! (`tests/conformance.rs`, against a real server).

mod accounts;
mod apply;
mod presets;
mod read;
mod sql;

/// The advisory lock keys writers take (for operators watching `pg_locks`, and for tests that
/// hold a lock to see who waits for it).
#[doc(hidden)]
pub use sql::{account_lock_key, resource_lock_key};

use std::str::FromStr as _;

use sqlx::PgPool;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use tagd_core::catalogue::{
    KeyQuery, PresetDelete, PresetKey, PresetKeyInfo, TextMatch, ValueQuery,
};
use tagd_core::change::CatalogueTag;
use tagd_core::{
    AccessKeyId, Account, AccountId, ApplyReport, ChangeSet, Credential, Region, ResourceQuery,
    ResourceRef, ResourceTags, Store, StoreError, TagSet,
};

/// A [`Store`] on a PostgreSQL database. Clones share the connection pool.
#[derive(Clone, Debug)]
pub struct PgStore {
    pool: PgPool,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/db`) with at most `max_connections`, and
    /// brings the schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Self, StoreError> {
        let mut options = PgConnectOptions::from_str(url)
            .map_err(|e| StoreError::Unavailable(format!("database url: {e}")))?;
        // So that an operator tells tagd's sessions apart in `pg_stat_activity`, unless the
        // URL names them itself (`?application_name=…`).
        if options.get_application_name().is_none() {
            options = options.application_name("tagd");
        }
        Self::connect_with(options, max_connections).await
    }

    /// [`PgStore::connect`] with options built by the caller (a `search_path`, say).
    pub async fn connect_with(
        options: PgConnectOptions,
        max_connections: u32,
    ) -> Result<Self, StoreError> {
        // PostgreSQL's default plan caching stays: a custom plan per execution sees the
        // tables' current size. Generic plans (`plan_cache_mode = force_generic_plan`) made
        // W3 60% faster, but froze a sequential scan into the write statement when its plan
        // was made on a small table (writes at 50k fell below 400 calls/s).
        let pool = PgPoolOptions::new()
            .max_connections(max_connections.max(1))
            .connect_with(options)
            .await
            .map_err(|e| sql::unavailable(&e))?;
        sqlx::migrate!("./migrations")
            .run(&pool)
            .await
            .map_err(|e| StoreError::Engine(format!("schema migration: {e}")))?;
        Ok(Self { pool })
    }

    /// The bytes the store's tables take on disk, with their indexes (in the connection's
    /// current schema).
    pub async fn size_bytes(&self) -> Result<u64, StoreError> {
        let bytes: i64 = sqlx::query_scalar(
            "SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind = 'r'",
        )
        .fetch_one(&self.pool)
        .await
        .map_err(|e| sql::db_error(&e))?;
        Ok(u64::try_from(bytes).unwrap_or(0))
    }

    /// Closes the pool's connections (waits for those in use).
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl Store for PgStore {
    async fn apply(&self, changes: ChangeSet) -> Result<ApplyReport, StoreError> {
        apply::apply(&self.pool, &changes).await
    }

    async fn get_tags(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> Result<TagSet, StoreError> {
        read::get_tags(&self.pool, account, resource).await
    }

    async fn query(&self, query: ResourceQuery) -> Result<Vec<ResourceTags>, StoreError> {
        read::query(&self.pool, &query).await
    }

    async fn create_account(&self, account: Account, key: Credential) -> Result<(), StoreError> {
        accounts::create_account(&self.pool, &account, &key).await
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        accounts::get_account(&self.pool, id).await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        accounts::list_accounts(&self.pool).await
    }

    async fn put_key(&self, key: Credential) -> Result<(), StoreError> {
        accounts::put_key(&self.pool, &key).await
    }

    async fn get_key(&self, id: &AccessKeyId) -> Result<Option<Credential>, StoreError> {
        accounts::get_key(&self.pool, id).await
    }

    async fn list_keys(&self, account: &AccountId) -> Result<Vec<Credential>, StoreError> {
        accounts::list_keys(&self.pool, account).await
    }

    async fn register_resource(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> Result<(), StoreError> {
        accounts::register_resource(&self.pool, account, resource).await
    }

    async fn deregister_resource(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> Result<bool, StoreError> {
        apply::deregister_resource(&self.pool, account, resource).await
    }

    async fn list_tag_keys(&self, query: KeyQuery) -> Result<Vec<String>, StoreError> {
        read::list_tag_keys(&self.pool, &query).await
    }

    async fn list_tag_values(&self, query: ValueQuery) -> Result<Vec<String>, StoreError> {
        read::list_tag_values(&self.pool, &query).await
    }

    async fn put_presets(
        &self,
        account: &AccountId,
        presets: Vec<PresetKey>,
    ) -> Result<(), StoreError> {
        presets::put_presets(&self.pool, account, &presets).await
    }

    async fn delete_preset(
        &self,
        account: &AccountId,
        key: &str,
        value: Option<&str>,
    ) -> Result<PresetDelete, StoreError> {
        presets::delete_preset(&self.pool, account, key, value).await
    }

    async fn list_preset_keys(
        &self,
        account: &AccountId,
        matching: TextMatch,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<PresetKeyInfo>, StoreError> {
        presets::list_preset_keys(&self.pool, account, &matching, after.as_deref(), limit).await
    }

    async fn list_preset_values(
        &self,
        account: &AccountId,
        key: &str,
        matching: TextMatch,
        after: Option<String>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, StoreError> {
        presets::list_preset_values(&self.pool, account, key, &matching, after.as_deref(), limit)
            .await
    }

    async fn list_catalogue(
        &self,
        account: &AccountId,
        namespace: &str,
        key: Option<&str>,
        value: Option<&str>,
    ) -> Result<Vec<CatalogueTag>, StoreError> {
        presets::list_catalogue(&self.pool, account, namespace, key, value).await
    }

    async fn list_regions(&self, account: &AccountId) -> Result<Vec<Region>, StoreError> {
        read::list_regions(&self.pool, account).await
    }

    async fn token_key(&self) -> Result<[u8; 32], StoreError> {
        accounts::token_key(&self.pool).await
    }
}
