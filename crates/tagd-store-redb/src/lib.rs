//! tagd's embedded storage engine on redb (the default engine; design note in
//! `docs/design.md`).
//!
//! Writes go through one writer thread that group-commits through a write-ahead log
//! ([`writer`], [`wal`]); reads run in redb read transactions, which never block the writer:
//! small ones on the request's thread, larger ones on tokio's blocking pool (`query`). A read
//! first waits until the writer's open transaction holds nothing it must see ([`visibility`]).

mod catalogue;
mod codec;
mod keys;
mod postings;
mod read;
mod syncer;
mod tables;
mod visibility;
mod wal;
mod writeback;
mod writer;

use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, Sender};
use std::sync::{Arc, Mutex, RwLock};
use std::thread::JoinHandle;

use redb::{Database, ReadableDatabase, ReadableTable};
use tagd_core::catalogue::{
    KeyQuery, PresetDelete, PresetKey, PresetKeyInfo, TextMatch, ValueQuery,
};
use tagd_core::{
    AccessKeyId, Account, AccountId, ApplyReport, ChangeSet, Credential, ResourceQuery,
    ResourceRef, ResourceTags, Store, StoreError, TagSet,
};
use tokio::sync::oneshot;

use crate::tables::{ACCESS_KEYS, ACCOUNTS, META, RESOURCES, SCHEMA_VERSION, resource_key};
pub use crate::writer::CheckpointPolicy;

/// How the engine is opened.
#[derive(Clone, Copy, Debug)]
pub struct StoreOptions {
    pub checkpoint: CheckpointPolicy,
    /// redb's page cache. redb's own default (1 GiB) made a 1M-resource store's RSS 1.3 GiB
    /// under load (bench/README.md); 64 MiB keeps a 1M-resource store's peak near 213 MiB (96
    /// MiB peaked at 255-267 MiB; each cached 4 KiB page costs ~5 KiB of heap), and reads and
    /// writes at 1M ran as fast with it (the OS page cache holds the rest).
    pub cache_bytes: usize,
    /// How often a background thread syncs the database file between checkpoints, so that
    /// little is left dirty for a crash's restart to write ([`writeback`]); zero: never.
    pub writeback: std::time::Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            checkpoint: CheckpointPolicy::default(),
            cache_bytes: 64 << 20,
            writeback: std::time::Duration::from_millis(200),
        }
    }
}
use crate::writer::WriteOp;

/// Why a store could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Another process (a running `tagd serve`) holds the database.
    #[error("the database {0} is in use by another process")]
    Locked(PathBuf),
    #[error("cannot open {path}: {message}")]
    Other { path: PathBuf, message: String },
}

/// The redb engine. Cheap to clone; the last clone dropped stops the writer.
#[derive(Clone)]
pub struct RedbStore {
    inner: Arc<Inner>,
}

struct Inner {
    db: Arc<Database>,
    visibility: Arc<visibility::Visibility>,
    /// The writer's queue; `None` once closing. Requests share it (a `Sender` is `Sync`), so
    /// sending never waits for another request's send, which may be waking the writer.
    queue: RwLock<Option<Sender<WriteOp>>>,
    writer: Mutex<Option<JoinHandle<()>>>,
    syncer: Mutex<Option<JoinHandle<()>>>,
    _writeback: Option<writeback::Writeback>,
}

impl Drop for Inner {
    fn drop(&mut self) {
        self.shutdown();
    }
}

impl Inner {
    fn shutdown(&self) {
        if let Ok(mut queue) = self.queue.write() {
            queue.take();
        }
        // The writer drains its queue, checkpoints and releases the syncer, which then
        // answers what it holds and stops.
        for (slot, name) in [(&self.writer, "writer"), (&self.syncer, "syncer")] {
            let handle = slot.lock().ok().and_then(|mut w| w.take());
            if let Some(handle) = handle
                && handle.join().is_err()
            {
                tracing::error!(thread = name, "store thread panicked");
            }
        }
    }
}

pub(crate) fn engine_error(err: impl std::fmt::Display) -> StoreError {
    StoreError::Engine(err.to_string())
}

#[allow(clippy::needless_pass_by_value)] // used as `map_err(table_error)`
pub(crate) fn table_error(err: redb::TableError) -> StoreError {
    StoreError::Engine(err.to_string())
}

impl RedbStore {
    /// Opens (creating if needed) `dir/tagd.redb` and its log `dir/tagd.wal`, replaying the log.
    pub fn open(dir: &Path) -> Result<Self, OpenError> {
        Self::open_with(dir, StoreOptions::default())
    }

    /// [`Self::open`] with other options.
    pub fn open_with(dir: &Path, options: StoreOptions) -> Result<Self, OpenError> {
        let policy = options.checkpoint;
        let path = dir.join("tagd.redb");
        let other = |message: String| OpenError::Other {
            path: path.clone(),
            message,
        };
        std::fs::create_dir_all(dir).map_err(|e| other(e.to_string()))?;
        let started = std::time::Instant::now();
        let warned = std::cell::Cell::new(false);
        let repairing = path.clone();
        let db = match Database::builder()
            .set_cache_size(options.cache_bytes)
            .set_repair_callback(move |_| {
                if !warned.replace(true) {
                    tracing::warn!(
                        path = %repairing.display(),
                        "the database was not closed cleanly and its last durable commit holds \
                         no allocator state: redb walks the whole file before it opens"
                    );
                }
            })
            .create(&path)
        {
            Ok(db) => db,
            Err(redb::DatabaseError::DatabaseAlreadyOpen) => return Err(OpenError::Locked(path)),
            Err(e) => return Err(other(e.to_string())),
        };
        let opened = started.elapsed();
        let mut db = db;
        if init_schema(&db).map_err(|e| other(e.to_string()))? {
            compact_after_migration(&mut db, &path);
        }
        let db = Arc::new(db);
        let schema = started.elapsed();
        let writeback = writeback::Writeback::start(&path, options.writeback)
            .map_err(|e| other(e.to_string()))?;
        let (mut recovered, wal) =
            writer::Writer::recover(Arc::clone(&db), &dir.join("tagd.wal"), policy)
                .map_err(|e| other(e.to_string()))?;
        tracing::info!(
            database_ms = opened.as_millis() as u64,
            schema_ms = (schema - opened).as_millis() as u64,
            recovery_ms = (started.elapsed() - schema).as_millis() as u64,
            "store opened"
        );
        let failure = syncer::Failure::default();
        // Bounded: a slow disk holds the writer back instead of letting applied, unsynced
        // batches pile up.
        let (job_tx, job_rx) = mpsc::sync_channel(64);
        recovered.attach(job_tx, Arc::clone(&failure));
        let syncer = syncer::Syncer { wal, failure };
        let syncer = std::thread::Builder::new()
            .name("tagd-store-syncer".into())
            .spawn(move || syncer.run(&job_rx))
            .map_err(|e| other(e.to_string()))?;
        let visibility = recovered.visibility();
        let (tx, rx) = mpsc::channel();
        let writer = std::thread::Builder::new()
            .name("tagd-store-writer".into())
            .spawn(move || recovered.run(&rx))
            .map_err(|e| other(e.to_string()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                db,
                visibility,
                queue: RwLock::new(Some(tx)),
                writer: Mutex::new(Some(writer)),
                syncer: Mutex::new(Some(syncer)),
                _writeback: writeback,
            }),
        })
    }

    #[cfg(test)]
    fn checkpointed_seq(&self) -> u64 {
        writer::checkpointed_seq(&self.inner.db).expect("wal_seq")
    }

    /// Stops taking writes, lets the writer finish what it has queued, and waits for it.
    /// Every write acknowledged before this returns is on disk.
    pub fn close(&self) {
        self.inner.shutdown();
    }

    async fn write<T>(
        &self,
        make: impl FnOnce(oneshot::Sender<Result<T, StoreError>>) -> WriteOp,
    ) -> Result<T, StoreError> {
        let (tx, rx) = oneshot::channel();
        self.send(make(tx))?;
        rx.await.map_err(|_| unavailable())?
    }

    /// Queues `op` for the writer; unavailable once the store is closing.
    fn send(&self, op: WriteOp) -> Result<(), StoreError> {
        let queue = self.inner.queue.read().map_err(|_| unavailable())?;
        let sender = queue.as_ref().ok_or_else(unavailable)?;
        sender.send(op).map_err(|_| unavailable())
    }

    /// Waits until the writer's open transaction holds nothing a read starting now must see.
    async fn visible(&self) -> Result<(), StoreError> {
        if let visibility::Wait::For { target, ask } = self.inner.visibility.check() {
            if ask {
                self.send(WriteOp::Publish)?;
            }
            self.inner.visibility.until(target).await;
        }
        Ok(())
    }

    /// A read transaction that sees every write acknowledged before this call.
    async fn snapshot(&self) -> Result<redb::ReadTransaction, StoreError> {
        self.visible().await?;
        self.inner.db.begin_read().map_err(engine_error)
    }

    /// A read of a few B-tree lookups, run on the request's own thread.
    async fn read_now<T>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        f(&self.snapshot().await?)
    }

    /// A read that may scan any number of rows: on the blocking pool, so that it never holds
    /// up the async workers.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&redb::ReadTransaction) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let txn = self.snapshot().await?;
        off_thread(move || f(&txn)).await
    }
}

/// Rows a query examines on the request's thread before it moves to the blocking pool: a few
/// hundred microseconds of work. Below that the hop to the pool and back cost more than the
/// read (a 100-resource listing took 25–30% less server CPU inline, `bench/README.md`).
const INLINE_ROWS: usize = 256;

/// The most posting-list members a query collects before reading their records: a page of
/// the largest size a dialect asks for (1,000) and the one after it fit.
const CANDIDATES_MAX: usize = 2048;

/// Below this many records a listing reads them on one thread; from it, in two halves at once.
/// A hand-off to the blocking pool and back costs ~15 µs of latency and ~17 µs of CPU here, so
/// halves must be well above that: a record costs ~1 µs. Reading a 500-resource listing in
/// halves cut its latency by about a third; splitting a 100-resource one (and its rendering)
/// cost 54 µs more CPU (`bench/README.md`, session 13).
const PARALLEL_ROWS: usize = 128;

/// A query driven by a posting list, once its members are collected: their records are read
/// in two halves at once (the first on the request's thread while it stays within
/// [`INLINE_ROWS`]), then, if members were passed over and the list goes on, the rest.
async fn by_candidates(
    txn: redb::ReadTransaction,
    query: ResourceQuery,
    candidates: read::Candidates,
) -> Result<Vec<ResourceTags>, StoreError> {
    let n = candidates.len();
    let txn = Arc::new(txn);
    let query = Arc::new(query);
    let candidates = Arc::new(candidates);
    let piece = |range: std::ops::Range<usize>| {
        let (txn, query, candidates) = (txn.clone(), query.clone(), candidates.clone());
        tokio::task::spawn_blocking(move || {
            read::fetch_candidates(&txn, &query, &candidates, range)
        })
    };
    let found = if n < PARALLEL_ROWS {
        read::fetch_candidates(&txn, &query, &candidates, 0..n)?
    } else {
        let half = n / 2;
        let second = piece(half..n);
        let mut first = if half <= INLINE_ROWS {
            read::fetch_candidates(&txn, &query, &candidates, 0..half)?
        } else {
            piece(0..half).await.map_err(|e| read_task(&e))??
        };
        first.extend(second.await.map_err(|e| read_task(&e))??);
        first
    };
    match candidates.rest()? {
        Some(cursor) if found.len() < query.limit => {
            let query = Arc::unwrap_or_clone(query);
            off_thread(move || read::resume(&txn, query, found, cursor)).await
        }
        _ => Ok(found),
    }
}

fn read_task(e: &tokio::task::JoinError) -> StoreError {
    StoreError::Engine(format!("read task failed: {e}"))
}

async fn off_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, StoreError> + Send + 'static,
) -> Result<T, StoreError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| read_task(&e))?
}

fn unavailable() -> StoreError {
    StoreError::Unavailable("the store is closed".into())
}

/// Rewrites an index of one key per binding, `group ++ (type, id)` with `group` its first
/// `group_parts` components, as posting-list chunks ([`postings`]) in `new`, and drops it; in
/// the transaction that records the new schema version. Returns the bindings moved.
fn move_to_postings(
    txn: &redb::WriteTransaction,
    old: redb::TableDefinition<&[u8], &[u8]>,
    new: redb::TableDefinition<&[u8], &[u8]>,
    group_parts: usize,
) -> Result<u64, StoreError> {
    let from = txn.open_table(old).map_err(table_error)?;
    let mut to = txn.open_table(new).map_err(table_error)?;
    let mut builder = postings::Builder::new();
    let mut bindings = 0u64;
    for entry in from.iter().map_err(engine_error)? {
        let (key, _) = entry.map_err(engine_error)?;
        let key = key.value();
        let mut rest = key;
        for _ in 0..group_parts {
            keys::next_component(&mut rest)
                .ok_or_else(|| StoreError::Corrupt("old index key".into()))?;
        }
        let split = key.len() - rest.len();
        builder.push(&mut to, &key[..split], rest)?;
        bindings += 1;
    }
    builder.finish(&mut to)?;
    drop(from);
    drop(to);
    txn.delete_table(old).map_err(engine_error)?;
    Ok(bindings)
}

/// Schema 1 to 2: the (key, value) index, (account, region, key, value, type, id), becomes
/// posting lists of (account, region, key, value) groups.
fn migrate_tag_index(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    let bindings = move_to_postings(txn, tables::TAG_INDEX_V1, tables::TAG_POSTINGS, 4)?;
    tracing::info!(bindings, "moved the tag index to schema 2 (posting lists)");
    Ok(())
}

/// Schema 2 to 3: the key index, (account, region, key, type, id), becomes posting lists of
/// (account, region, key) groups: a binding of a new key was a B-tree insert of its own (46%
/// of the writer's time under W2 at 1M resources), and the store ~1.3 GB larger at 1M.
fn migrate_key_index(txn: &redb::WriteTransaction) -> Result<(), StoreError> {
    let bindings = move_to_postings(txn, tables::KEY_INDEX_V2, tables::KEY_POSTINGS, 3)?;
    tracing::info!(bindings, "moved the key index to schema 3 (posting lists)");
    Ok(())
}

/// Gives back the pages a migration freed (redb keeps a file's size otherwise: the 1M
/// dataset's store stayed at 4.3 GB after its key index moved, against 2.3 GB loaded fresh).
/// A failure leaves the store as it was, only larger, so it is logged, not fatal.
fn compact_after_migration(db: &mut Database, path: &Path) {
    let size = |p: &Path| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
    let before = size(path);
    let started = std::time::Instant::now();
    match db.compact() {
        Ok(_) => tracing::info!(
            bytes_before = before,
            bytes_after = size(path),
            ms = started.elapsed().as_millis() as u64,
            "compacted the store after its migration"
        ),
        Err(err) => tracing::warn!(error = %err, "could not compact the store after its migration"),
    }
}

/// Creates the tables, the schema version and the page-token key on first open; moves a
/// schema-1 or -2 store to schema 3 (then returns `true`); refuses a database written by a
/// newer schema.
fn init_schema(db: &Database) -> Result<bool, StoreError> {
    let txn = db.begin_write().map_err(engine_error)?;
    let mut migrated = false;
    {
        let mut meta = txn.open_table(META).map_err(table_error)?;
        let version = meta
            .get("schema_version")
            .map_err(engine_error)?
            .map(|v| v.value().to_vec());
        match version.as_deref() {
            None => {
                meta.insert("schema_version", [SCHEMA_VERSION].as_slice())
                    .map_err(engine_error)?;
            }
            Some([v]) if *v == SCHEMA_VERSION => {}
            Some([old @ (1 | 2)]) => {
                if *old == 1 {
                    migrate_tag_index(&txn)?;
                }
                migrate_key_index(&txn)?;
                migrated = true;
                meta.insert("schema_version", [SCHEMA_VERSION].as_slice())
                    .map_err(engine_error)?;
            }
            Some(other) => {
                return Err(StoreError::Corrupt(format!(
                    "unsupported schema version {other:?}"
                )));
            }
        }
        if meta.get("token_key").map_err(engine_error)?.is_none() {
            let key: [u8; 32] = tagd_core::account::random_bytes();
            meta.insert("token_key", key.as_slice())
                .map_err(engine_error)?;
        }
        txn.open_table(ACCOUNTS).map_err(table_error)?;
        txn.open_table(ACCESS_KEYS).map_err(table_error)?;
        txn.open_table(RESOURCES).map_err(table_error)?;
        txn.open_table(tables::TAG_POSTINGS).map_err(table_error)?;
        txn.open_table(tables::KEY_POSTINGS).map_err(table_error)?;
        txn.open_table(tables::REGISTERED).map_err(table_error)?;
        txn.open_table(tables::PRESET_KEYS).map_err(table_error)?;
        txn.open_table(tables::PRESET_VALUES).map_err(table_error)?;
        txn.open_table(tables::CATALOGUE).map_err(table_error)?;
    }
    txn.commit().map_err(engine_error)?;
    Ok(migrated)
}

impl Store for RedbStore {
    async fn apply(&self, changes: ChangeSet) -> Result<ApplyReport, StoreError> {
        self.write(|tx| WriteOp::Apply(changes, tx)).await
    }

    async fn get_tags(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> Result<TagSet, StoreError> {
        let key = resource_key(account, resource);
        self.read_now(move |txn| {
            let table = txn.open_table(RESOURCES).map_err(table_error)?;
            match table.get(key.as_slice()).map_err(engine_error)? {
                Some(bytes) => codec::decode_tags(bytes.value()),
                None => Ok(TagSet::new()),
            }
        })
        .await
    }

    /// Starts on the request's thread; a query that examines more than [`INLINE_ROWS`] rows
    /// finishes on the blocking pool, from where it stopped, in the same snapshot. A query
    /// with a tag condition first collects its posting list's members ((key, value) or
    /// key-only), then reads their records in two halves at once ([`by_candidates`]).
    async fn query(&self, query: ResourceQuery) -> Result<Vec<ResourceTags>, StoreError> {
        let txn = self.snapshot().await?;
        let max = query.limit.min(CANDIDATES_MAX);
        if let Some(candidates) = read::candidates(&txn, &query, max)? {
            return by_candidates(txn, query, candidates).await;
        }
        let (found, resume) =
            match read::query_within(&txn, &query, read::Budget::rows(INLINE_ROWS)) {
                Ok(found) => return Ok(found),
                Err(read::Stopped::Failed(err)) => return Err(err),
                Err(read::Stopped::Exhausted(found, resume)) => (found, resume),
            };
        off_thread(move || read::resume(&txn, query, found, resume)).await
    }

    async fn create_account(&self, account: Account, key: Credential) -> Result<(), StoreError> {
        self.write(|tx| WriteOp::CreateAccount(account, key, tx))
            .await
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        let id = id.as_str().to_owned();
        self.read_now(move |txn| {
            let table = txn.open_table(ACCOUNTS).map_err(table_error)?;
            let found = table.get(id.as_str()).map_err(engine_error)?;
            found
                .map(|bytes| codec::decode_account(bytes.value()))
                .transpose()
        })
        .await
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        self.read(|txn| {
            let table = txn.open_table(ACCOUNTS).map_err(table_error)?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(engine_error)? {
                let (_, value) = entry.map_err(engine_error)?;
                out.push(codec::decode_account(value.value())?);
            }
            Ok(out)
        })
        .await
    }

    async fn put_key(&self, key: Credential) -> Result<(), StoreError> {
        self.write(|tx| WriteOp::PutKey(key, tx)).await
    }

    async fn get_key(&self, id: &AccessKeyId) -> Result<Option<Credential>, StoreError> {
        let id = id.as_str().to_owned();
        self.read_now(move |txn| {
            let table = txn.open_table(ACCESS_KEYS).map_err(table_error)?;
            let found = table.get(id.as_str()).map_err(engine_error)?;
            found
                .map(|bytes| codec::decode_key(bytes.value()))
                .transpose()
        })
        .await
    }

    async fn list_keys(&self, account: &AccountId) -> Result<Vec<Credential>, StoreError> {
        let account = account.clone();
        self.read(move |txn| {
            let table = txn.open_table(ACCESS_KEYS).map_err(table_error)?;
            let mut out = Vec::new();
            for entry in table.iter().map_err(engine_error)? {
                let (_, value) = entry.map_err(engine_error)?;
                let key = codec::decode_key(value.value())?;
                if key.account_id == account {
                    out.push(key);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn register_resource(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> Result<(), StoreError> {
        let (account, resource) = (account.clone(), resource.clone());
        self.write(|tx| WriteOp::Register(account, resource, tx))
            .await
    }

    async fn deregister_resource(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> Result<bool, StoreError> {
        let (account, resource) = (account.clone(), resource.clone());
        self.write(|tx| WriteOp::Deregister(account, resource, tx))
            .await
    }

    async fn list_tag_keys(&self, query: KeyQuery) -> Result<Vec<String>, StoreError> {
        self.read(move |txn| catalogue::tag_keys(txn, &query)).await
    }

    async fn list_tag_values(&self, query: ValueQuery) -> Result<Vec<String>, StoreError> {
        self.read(move |txn| catalogue::tag_values(txn, &query))
            .await
    }

    async fn put_presets(
        &self,
        account: &AccountId,
        presets: Vec<PresetKey>,
    ) -> Result<(), StoreError> {
        let account = account.clone();
        self.write(|tx| WriteOp::PutPresets(account, presets, tx))
            .await
    }

    async fn delete_preset(
        &self,
        account: &AccountId,
        key: &str,
        value: Option<&str>,
    ) -> Result<PresetDelete, StoreError> {
        let (account, key, value) = (account.clone(), key.to_owned(), value.map(str::to_owned));
        self.write(|tx| WriteOp::DeletePreset(account, key, value, tx))
            .await
    }

    async fn list_preset_keys(
        &self,
        account: &AccountId,
        matching: TextMatch,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<PresetKeyInfo>, StoreError> {
        let account = account.clone();
        self.read(move |txn| {
            catalogue::preset_keys(txn, &account, &matching, after.as_deref(), limit)
        })
        .await
    }

    async fn list_preset_values(
        &self,
        account: &AccountId,
        key: &str,
        matching: TextMatch,
        after: Option<String>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let (account, key) = (account.clone(), key.to_owned());
        self.read(move |txn| {
            catalogue::preset_values(txn, &account, &key, &matching, after.as_deref(), limit)
        })
        .await
    }

    async fn list_catalogue(
        &self,
        account: &AccountId,
        namespace: &str,
        key: Option<&str>,
        value: Option<&str>,
    ) -> Result<Vec<tagd_core::change::CatalogueTag>, StoreError> {
        let (account, namespace) = (account.clone(), namespace.to_owned());
        let (key, value) = (key.map(str::to_owned), value.map(str::to_owned));
        self.read(move |txn| {
            catalogue::explicit(txn, &account, &namespace, key.as_deref(), value.as_deref())
        })
        .await
    }

    async fn list_regions(
        &self,
        account: &AccountId,
    ) -> Result<Vec<tagd_core::Region>, StoreError> {
        let account = account.clone();
        self.read(move |txn| catalogue::regions(txn, &account))
            .await
    }

    async fn token_key(&self) -> Result<[u8; 32], StoreError> {
        self.read_now(|txn| {
            let meta = txn.open_table(META).map_err(table_error)?;
            let value = meta.get("token_key").map_err(engine_error)?;
            let bytes = value.ok_or_else(|| StoreError::Corrupt("no token key".into()))?;
            bytes
                .value()
                .try_into()
                .map_err(|_| StoreError::Corrupt("token key length".into()))
        })
        .await
    }
}

#[cfg(test)]
mod conformance {
    async fn make() -> (super::RedbStore, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let store = super::RedbStore::open(dir.path()).expect("open store");
        (store, dir)
    }
    tagd_core::store_conformance!(make);
}

#[cfg(test)]
mod recovery {
    use tagd_core::{
        AccountId, Region, ResourceId, ResourceQuery, ResourceRef, ResourceType, Store, Tag,
        TagFilter, TagSet, TypeFilter,
    };

    use crate::wal::{Effect, Record, Wal};
    use crate::{RedbStore, codec, tables};

    fn resource(id: &str) -> ResourceRef {
        ResourceRef {
            region: Region::parse("cn-hangzhou").expect("region"),
            resource_type: ResourceType::new("ALIYUN", "RDS", "INSTANCE").expect("type"),
            id: ResourceId::parse(id).expect("id"),
        }
    }

    /// A crash after the log append but before any checkpoint: redb has nothing, the log has the
    /// batches. Opening replays them, indexes included, and empties the log.
    #[tokio::test]
    async fn the_log_is_replayed_on_open() {
        let dir = tempfile::tempdir().expect("dir");
        let account = AccountId::parse("1000000000000001").expect("account");
        let tags = TagSet::from_tags([Tag::new("env", "prod"), Tag::new("team", "a")]);
        let later = TagSet::from_tags([Tag::new("env", "dev")]);
        {
            let (mut wal, _) = Wal::open(&dir.path().join("tagd.wal")).expect("wal");
            let key = |id: &str| tables::resource_key(&account, &resource(id));
            wal.append(&Record {
                seq: 1,
                effects: vec![
                    Effect::ResourcePut(key("rm-1"), codec::encode_tags(&tags)),
                    Effect::ResourcePut(key("rm-2"), codec::encode_tags(&tags)),
                ],
            })
            .expect("append");
            wal.append(&Record {
                seq: 2,
                effects: vec![
                    Effect::ResourcePut(key("rm-1"), codec::encode_tags(&later)),
                    Effect::ResourceDelete(key("rm-2")),
                ],
            })
            .expect("append");
        }
        let store = RedbStore::open(dir.path()).expect("open");
        assert_eq!(
            store
                .get_tags(&account, &resource("rm-1"))
                .await
                .expect("read"),
            later
        );
        assert!(
            store
                .get_tags(&account, &resource("rm-2"))
                .await
                .expect("read")
                .is_empty()
        );
        let query = |key: &str, value: &str| ResourceQuery {
            account: account.clone(),
            region: Region::parse("cn-hangzhou").expect("region"),
            types: TypeFilter::Namespace("ALIYUN".into()),
            ids: Vec::new(),
            tags: vec![TagFilter::pair(key, value)],
            start: None,
            limit: 10,
        };
        let found = store.query(query("env", "dev")).await.expect("query");
        assert_eq!(found.len(), 1, "the index was rebuilt from the log");
        assert!(
            store
                .query(query("env", "prod"))
                .await
                .expect("query")
                .is_empty()
        );
        assert!(
            store
                .query(query("team", "a"))
                .await
                .expect("query")
                .is_empty()
        );
        assert!(
            store.checkpointed_seq() < 2,
            "the replay is committed without fsync: only the log holds it durably"
        );
        store.close();
        drop(store);
        let reopened = RedbStore::open(dir.path()).expect("reopen");
        assert_eq!(
            reopened.checkpointed_seq(),
            2,
            "the clean stop checkpointed the replay"
        );
        assert_eq!(
            reopened
                .get_tags(&account, &resource("rm-1"))
                .await
                .expect("read"),
            later
        );
    }
}

#[cfg(test)]
mod logging_before_acknowledging {
    use tagd_core::{
        Account, AccountId, Atomicity, ChangeSet, Credential, ResourceChange, ResourceId,
        ResourceRef, ResourceType, Store, Tag, TagOp,
    };

    use crate::RedbStore;
    use crate::wal::{Effect, Wal};

    /// A store whose only checkpoint trigger is the replay budget `replay` (the others are an
    /// hour away), holding one account with a key.
    pub(crate) async fn store_with_account(
        dir: &std::path::Path,
        replay: std::time::Duration,
    ) -> (RedbStore, AccountId) {
        let store = RedbStore::open_with(dir, checkpoint_only_after(replay)).expect("open");
        let account = AccountId::parse("1000000000000001").expect("account");
        let made = Account {
            id: account.clone(),
            name: "a".into(),
            root: false,
            created_at: 0,
        };
        let key = Credential {
            access_key_id: tagd_core::AccessKeyId::parse("LTAIlog").expect("key"),
            secret: tagd_core::SecretKey::new("s".into()).expect("secret"),
            account_id: account.clone(),
            enabled: true,
            created_at: 0,
        };
        store.create_account(made, key).await.expect("account");
        (store, account)
    }

    /// Options whose only checkpoint trigger is the replay budget `replay`.
    pub(crate) fn checkpoint_only_after(replay: std::time::Duration) -> crate::StoreOptions {
        let hour = std::time::Duration::from_secs(3600);
        crate::StoreOptions {
            checkpoint: crate::CheckpointPolicy {
                every: hour,
                idle: hour,
                wal_bytes: u64::MAX,
                replay,
                cold_load: std::time::Duration::ZERO,
            },
            ..Default::default()
        }
    }

    pub(crate) fn rds_instance(id: &str) -> ResourceRef {
        ResourceRef {
            region: tagd_core::Region::parse("cn-hangzhou").expect("region"),
            resource_type: ResourceType::new("ALIYUN", "RDS", "INSTANCE").expect("type"),
            id: ResourceId::parse(id).expect("id"),
        }
    }

    /// An all-or-nothing change set of one change.
    pub(crate) fn one_change(account: &AccountId, resource: &ResourceRef, op: TagOp) -> ChangeSet {
        all_or_nothing(
            account,
            vec![ResourceChange {
                resource: resource.clone(),
                op,
            }],
        )
    }

    /// An all-or-nothing change set of `changes`, with no catalogue.
    pub(crate) fn all_or_nothing(account: &AccountId, changes: Vec<ResourceChange>) -> ChangeSet {
        ChangeSet {
            account: account.clone(),
            changes,
            atomicity: Atomicity::AllOrNothing,
            require_registered: false,
            catalogue: None,
        }
    }

    /// Every change a write made is in the log by the time the write is answered, so a crash
    /// right after the answer loses nothing (the kill -9 end-to-end test checks the same from
    /// outside). Reading the log through a second handle while the store runs is safe: the
    /// writer only adds records after the last one.
    #[tokio::test]
    async fn acknowledged_writes_are_in_the_log() {
        let dir = tempfile::tempdir().expect("dir");
        // No time-based checkpoint may empty the log while the test reads it.
        let hour = std::time::Duration::from_secs(3600);
        let (store, account) = store_with_account(dir.path(), hour).await;
        let resource = rds_instance("rm-logged");
        let set = |op| one_change(&account, &resource, op);
        store
            .apply(set(TagOp::Set(vec![Tag::new("env", "prod")])))
            .await
            .expect("tag");
        store.apply(set(TagOp::RemoveAll)).await.expect("untag");
        store
            .register_resource(&account, &resource)
            .await
            .expect("register");
        store
            .deregister_resource(&account, &resource)
            .await
            .expect("deregister");
        let (_, records) = Wal::open(&dir.path().join("tagd.wal")).expect("read the log");
        let kinds: Vec<u8> = records
            .iter()
            .flat_map(|r| r.effects.iter())
            .map(|e| match e {
                Effect::ResourcePut(..) => 1,
                Effect::ResourceDelete(_) => 2,
                Effect::AccountPut(..) => 3,
                Effect::KeyPut(..) => 4,
                Effect::RegisteredPut(_) => 5,
                Effect::RegisteredDelete(_) => 6,
                _ => 0,
            })
            .collect();
        // account + key, tag, untag (the resource is then empty), register, deregister.
        assert_eq!(kinds, vec![3, 4, 1, 2, 5, 6]);
        let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
        assert!(
            seqs.windows(2).all(|w| w[0] < w[1]),
            "increasing sequence numbers"
        );
    }
}

#[cfg(test)]
mod replay_budget {
    use std::time::{Duration, Instant};

    use tagd_core::{Store, Tag, TagOp};

    use crate::logging_before_acknowledging::{
        checkpoint_only_after, one_change, rds_instance, store_with_account,
    };
    use crate::wal::Wal;

    /// With every other trigger off, the log is emptied as soon as the batches it holds cost
    /// the writer more than the replay budget (here: any write at all).
    #[tokio::test]
    async fn the_writer_checkpoints_once_the_log_would_take_too_long_to_replay() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, account) = store_with_account(dir.path(), Duration::ZERO).await;
        let resource = rds_instance("rm-budget");
        store
            .apply(one_change(
                &account,
                &resource,
                TagOp::Set(vec![Tag::new("env", "prod")]),
            ))
            .await
            .expect("tag");
        // The checkpoint runs right after the batch (answered by the syncer meanwhile), so
        // give it a moment to cover the batch's record.
        let (_, records) = Wal::open(&dir.path().join("tagd.wal")).expect("read the log");
        let last = records.last().expect("the batch's record").seq;
        let deadline = Instant::now() + Duration::from_secs(10);
        while store.checkpointed_seq() < last {
            assert!(Instant::now() < deadline, "no checkpoint covered the batch");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        store.close();
    }

    /// A replay after a crash reads every tag-index chunk the logged batches read, with a cold
    /// cache: the estimate that triggers checkpoints charges `cold_load` for each. Here a write
    /// that reads one stored chunk (another resource's `env=prod`, after a restart emptied the
    /// writer's cache) checkpoints when a load costs more than the budget, and not otherwise.
    #[tokio::test]
    async fn the_replay_estimate_charges_each_chunk_read_from_the_table() {
        let hour = Duration::from_secs(3600);
        for (cold_load, checkpoints) in [(2 * hour, true), (Duration::ZERO, false)] {
            let dir = tempfile::tempdir().expect("dir");
            let (store, account) = store_with_account(dir.path(), hour).await;
            let prod = || TagOp::Set(vec![Tag::new("env", "prod")]);
            store
                .apply(one_change(&account, &rds_instance("rm-first"), prod()))
                .await
                .expect("tag");
            store.close();
            drop(store);
            let mut options = checkpoint_only_after(hour);
            options.checkpoint.cold_load = cold_load;
            let store = crate::RedbStore::open_with(dir.path(), options).expect("reopen");
            let before = store.checkpointed_seq();
            store
                .apply(one_change(&account, &rds_instance("rm-second"), prod()))
                .await
                .expect("tag");
            let deadline = Instant::now() + Duration::from_secs(if checkpoints { 10 } else { 1 });
            while store.checkpointed_seq() == before && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            assert_eq!(
                store.checkpointed_seq() > before,
                checkpoints,
                "cold_load {cold_load:?}: checkpointed after the write that read a stored chunk"
            );
            store.close();
        }
    }
}

#[cfg(test)]
mod recycled_log {
    use std::time::Duration;

    use tagd_core::{Store, Tag, TagOp, TagSet};

    use crate::RedbStore;
    use crate::logging_before_acknowledging::{
        checkpoint_only_after, one_change, rds_instance, store_with_account,
    };
    use crate::wal::Wal;

    pub(crate) fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
        for name in ["tagd.redb", "tagd.wal"] {
            std::fs::copy(from.join(name), to.join(name)).expect("copy");
        }
    }

    /// The log file is written again from its start after each checkpoint, over the records
    /// that checkpoint covered. A process crash (the files as they are, page cache included)
    /// after new writes must replay exactly those, and never the older records that still
    /// follow them in the file, even when the new ones end exactly where an old one begins.
    #[tokio::test]
    async fn a_crash_replays_the_new_records_and_not_the_old_ones_behind_them() {
        let dir = tempfile::tempdir().expect("dir");
        let hour = Duration::from_secs(3600);
        let (a, b) = (rds_instance("rm-recycled-a"), rds_instance("rm-recycled-b"));
        let env = |value: &str| TagOp::Set(vec![Tag::new("env", value)]);
        let (store, account) = store_with_account(dir.path(), hour).await;
        store.close();
        drop(store);
        // Four records from the start of the file, then the clean stop's checkpoint covers
        // them and resets the log.
        let store = RedbStore::open_with(dir.path(), checkpoint_only_after(hour)).expect("open");
        for (resource, op) in [
            (&a, env("prod")),
            (&b, env("prod")),
            (&a, TagOp::RemoveAll),
            (&b, TagOp::RemoveAll),
        ] {
            store
                .apply(one_change(&account, resource, op))
                .await
                .expect("write");
        }
        store.close();
        drop(store);
        let (_, old) = Wal::open(&dir.path().join("tagd.wal")).expect("read the log");
        assert_eq!(old.len(), 4, "the covered records are still in the file");
        // Two writes of exactly the size of the first two old records, and no checkpoint:
        // they live in the log only, and the old `RemoveAll`s follow them frame for frame.
        let store = RedbStore::open_with(dir.path(), checkpoint_only_after(hour)).expect("open");
        for resource in [&a, &b] {
            store
                .apply(one_change(&account, resource, env("test")))
                .await
                .expect("tag");
        }
        let (_, records) = Wal::open(&dir.path().join("tagd.wal")).expect("read the log");
        assert_eq!(
            records.len(),
            2,
            "only the records since the last checkpoint"
        );
        let crashed = tempfile::tempdir().expect("dir");
        copy_dir(dir.path(), crashed.path());
        store.close();
        let reopened = RedbStore::open(crashed.path()).expect("open the crash image");
        for resource in [&a, &b] {
            assert_eq!(
                reopened.get_tags(&account, resource).await.expect("read"),
                TagSet::from_tags([Tag::new("env", "test")]),
                "the new tag was replayed, and no old untag behind it"
            );
        }
        reopened.close();
    }
}

#[cfg(test)]
mod crash_after_replay {
    use std::cell::Cell;
    use std::rc::Rc;
    use std::time::Duration;

    use tagd_core::{Store, Tag, TagOp};

    use crate::RedbStore;
    use crate::logging_before_acknowledging::{
        checkpoint_only_after, one_change, rds_instance, store_with_account,
    };
    use crate::recycled_log::copy_dir;

    /// A store that replayed its log after a crash and crashes again before its first
    /// checkpoint must still open without redb's full repair (at 1M resources a 12.8 s walk
    /// of the file, against ~2 ms): recovery seals the state it opened with before replaying.
    #[tokio::test]
    async fn a_second_crash_before_the_first_checkpoint_needs_no_repair() {
        let hour = Duration::from_secs(3600);
        let first = tempfile::tempdir().expect("dir");
        let (store, account) = store_with_account(first.path(), hour).await;
        store
            .apply(one_change(
                &account,
                &rds_instance("rm-twice"),
                TagOp::Set(vec![Tag::new("env", "prod")]),
            ))
            .await
            .expect("tag");
        // The write is in the log and in redb's non-durable commits only: a crash image.
        let crashed = tempfile::tempdir().expect("dir");
        copy_dir(first.path(), crashed.path());
        store.close();
        let replayed = RedbStore::open_with(crashed.path(), checkpoint_only_after(hour))
            .expect("open the crash image");
        assert!(replayed.checkpointed_seq() < replayed.inner.visibility.seen().0);
        let again = tempfile::tempdir().expect("dir");
        copy_dir(crashed.path(), again.path());
        replayed.close();
        let repaired = Rc::new(Cell::new(false));
        let seen = Rc::clone(&repaired);
        let db = redb::Database::builder()
            .set_repair_callback(move |_| seen.set(true))
            .open(again.path().join("tagd.redb"))
            .expect("open the second crash image");
        drop(db);
        assert!(!repaired.get(), "redb had to repair the whole file");
        let reopened = RedbStore::open(again.path()).expect("open");
        assert_eq!(
            reopened
                .get_tags(&account, &rds_instance("rm-twice"))
                .await
                .expect("read")
                .len(),
            1,
            "the write survived both crashes"
        );
        reopened.close();
    }
}

#[cfg(test)]
mod open_transaction {
    use std::time::Duration;

    use tagd_core::{Store, Tag, TagOp, TagSet};

    use crate::logging_before_acknowledging::{
        checkpoint_only_after, one_change, rds_instance, store_with_account,
    };

    /// Acknowledged writes wait in the writer's open transaction until a read needs them; the
    /// read has the writer commit first, so it sees every one of them.
    #[tokio::test]
    async fn a_read_sees_the_writes_the_open_transaction_holds() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, account) = store_with_account(dir.path(), Duration::from_secs(3600)).await;
        let (one, two) = (rds_instance("rm-open-1"), rds_instance("rm-open-2"));
        for resource in [&one, &two] {
            store
                .apply(one_change(
                    &account,
                    resource,
                    TagOp::Set(vec![Tag::new("env", "prod")]),
                ))
                .await
                .expect("tag");
        }
        let (applied, published) = store.inner.visibility.seen();
        assert!(
            published < applied,
            "the writes are not committed before a read asks (applied {applied}, published {published})"
        );
        let expected = TagSet::from_tags([Tag::new("env", "prod")]);
        for resource in [&one, &two] {
            assert_eq!(
                store.get_tags(&account, resource).await.expect("read"),
                expected
            );
        }
        let (applied, published) = store.inner.visibility.seen();
        assert_eq!(published, applied, "the read had the writer commit");
        // A later write is again visible to the next read.
        store
            .apply(one_change(&account, &one, TagOp::RemoveAll))
            .await
            .expect("untag");
        assert!(
            store
                .get_tags(&account, &one)
                .await
                .expect("read")
                .is_empty()
        );
        store.close();
    }

    /// An engine failure in one batch aborts the open transaction; the acknowledged batches it
    /// held are applied again, so they stay visible, and survive a restart.
    #[tokio::test]
    async fn an_engine_failure_keeps_the_acknowledged_batches_before_it() {
        let dir = tempfile::tempdir().expect("dir");
        let hour = Duration::from_secs(3600);
        let (store, account) = store_with_account(dir.path(), hour).await;
        store.close();
        drop(store);
        // A record that does not decode: writing to it fails inside the writer.
        let broken = rds_instance("rm-broken");
        {
            let db = redb::Database::create(dir.path().join("tagd.redb")).expect("db");
            let txn = db.begin_write().expect("txn");
            {
                let mut resources = txn.open_table(crate::tables::RESOURCES).expect("table");
                let key = crate::tables::resource_key(&account, &broken);
                resources
                    .insert(key.as_slice(), [0xFF_u8, 0xFF, 0xFF].as_slice())
                    .expect("insert");
            }
            txn.commit().expect("commit");
        }
        let store =
            crate::RedbStore::open_with(dir.path(), checkpoint_only_after(hour)).expect("reopen");
        let kept = rds_instance("rm-kept");
        let prod = || TagOp::Set(vec![Tag::new("env", "prod")]);
        store
            .apply(one_change(&account, &kept, prod()))
            .await
            .expect("tag");
        let (applied, published) = store.inner.visibility.seen();
        assert!(
            published < applied,
            "the write waits in the open transaction"
        );
        let failed = store.apply(one_change(&account, &broken, prod())).await;
        assert!(
            failed.is_err(),
            "the broken record fails its batch: {failed:?}"
        );
        let expected = TagSet::from_tags([Tag::new("env", "prod")]);
        assert_eq!(
            store.get_tags(&account, &kept).await.expect("read"),
            expected
        );
        // The store goes on taking writes.
        let later = rds_instance("rm-later");
        store
            .apply(one_change(&account, &later, prod()))
            .await
            .expect("tag after the failure");
        store.close();
        drop(store);
        let reopened = crate::RedbStore::open(dir.path()).expect("reopen");
        for resource in [&kept, &later] {
            assert_eq!(
                reopened.get_tags(&account, resource).await.expect("read"),
                expected
            );
        }
    }
}

#[cfg(test)]
mod read_budget {
    use std::time::Duration;

    use tagd_core::{
        Cursor, ResourceChange, ResourceQuery, ResourceType, Store, Tag, TagFilter, TagOp,
        TypeFilter,
    };

    use redb::ReadableDatabase;

    use crate::logging_before_acknowledging::{all_or_nothing, rds_instance, store_with_account};
    use crate::read;

    /// A query stopped by its row budget and resumed where it stopped answers exactly what the
    /// same query answers in one go, whatever the budget, filter, cursor or limit.
    #[tokio::test]
    async fn a_resumed_query_answers_what_one_pass_answers() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, account) = store_with_account(dir.path(), Duration::from_secs(3600)).await;
        let changes = (0..40)
            .map(|i| ResourceChange {
                resource: rds_instance(&format!("rm-{i:03}")),
                op: TagOp::Set(vec![
                    Tag::new("env", if i % 3 == 0 { "prod" } else { "dev" }),
                    Tag::new(format!("k{}", i % 4), "v"),
                ]),
            })
            .collect();
        store
            .apply(all_or_nothing(&account, changes))
            .await
            .expect("tag");
        store.visible().await.expect("visible");
        let rds = ResourceType::new("ALIYUN", "RDS", "INSTANCE").expect("type");
        let base = ResourceQuery {
            account: account.clone(),
            region: tagd_core::Region::parse("cn-hangzhou").expect("region"),
            types: TypeFilter::Namespace("ALIYUN".into()),
            ids: Vec::new(),
            tags: Vec::new(),
            start: None,
            limit: 1000,
        };
        let filter = |key: &str, value: Option<&str>| TagFilter::new(key, value);
        let queries = [
            base.clone(),
            ResourceQuery {
                tags: vec![filter("env", Some("prod"))],
                ..base.clone()
            },
            ResourceQuery {
                tags: vec![filter("k1", None)],
                limit: 4,
                ..base.clone()
            },
            ResourceQuery {
                tags: vec![filter("env", Some("dev")), filter("k2", None)],
                start: Some(Cursor {
                    resource_type: rds.clone(),
                    id: tagd_core::ResourceId::parse("rm-010").expect("id"),
                    inclusive: false,
                }),
                ..base.clone()
            },
            ResourceQuery {
                ids: (0..45)
                    .rev()
                    .map(|i| {
                        let id = format!("rm-{i:03}");
                        (rds.clone(), tagd_core::ResourceId::parse(&id).expect("id"))
                    })
                    .collect(),
                tags: vec![filter("env", Some("prod"))],
                limit: 9,
                ..base.clone()
            },
        ];
        let txn = store.inner.db.begin_read().expect("txn");
        for q in &queries {
            let whole = read::query(&txn, q).expect("query");
            assert!(!whole.is_empty(), "the query finds something: {q:?}");
            for budget in 0..45 {
                let answer = match read::query_within(&txn, q, read::Budget::rows(budget)) {
                    Ok(found) => found,
                    Err(read::Stopped::Exhausted(found, at)) => {
                        read::resume(&txn, q.clone(), found, at).expect("resume")
                    }
                    Err(read::Stopped::Failed(err)) => panic!("{err}"),
                };
                assert_eq!(answer, whole, "budget {budget}, query {q:?}");
            }
        }
        store.close();
    }
}

#[cfg(test)]
mod tag_postings {
    use std::collections::BTreeMap;
    use std::time::Duration;

    use redb::{ReadableDatabase, ReadableTable};
    use tagd_core::catalogue::{KeyQuery, TextMatch, ValueQuery};
    use tagd_core::{
        AccountId, Cursor, ResourceChange, ResourceId, ResourceQuery, ResourceRef, ResourceType,
        Store, Tag, TagFilter, TagOp, TypeFilter,
    };

    use crate::logging_before_acknowledging::{all_or_nothing, store_with_account};
    use crate::{RedbStore, keys, tables};

    /// Resource `i`: an RDS instance, every fifth an ECS instance.
    fn resource(i: usize) -> ResourceRef {
        let (product, prefix) = if i.is_multiple_of(5) {
            ("ECS", "i")
        } else {
            ("RDS", "rm")
        };
        ResourceRef {
            region: tagd_core::Region::parse("cn-hangzhou").expect("region"),
            resource_type: ResourceType::new("ALIYUN", product, "INSTANCE").expect("type"),
            id: ResourceId::parse(&format!("{prefix}-{i:04}")).expect("id"),
        }
    }

    async fn apply(store: &RedbStore, account: &AccountId, ops: Vec<(usize, TagOp)>) {
        let changes = ops
            .into_iter()
            .map(|(i, op)| ResourceChange {
                resource: resource(i),
                op,
            })
            .collect();
        let report = store
            .apply(all_or_nothing(account, changes))
            .await
            .expect("apply");
        assert!(report.failures.is_empty());
    }

    /// Every resource with `env=value` (with the key `env`, for `None`) and of `types`, paged 7
    /// at a time through cursors.
    async fn paged(
        store: &RedbStore,
        account: &AccountId,
        value: Option<&str>,
        types: TypeFilter,
    ) -> Vec<String> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let page = store
                .query(ResourceQuery {
                    account: account.clone(),
                    region: tagd_core::Region::parse("cn-hangzhou").expect("region"),
                    types: types.clone(),
                    ids: Vec::new(),
                    tags: vec![TagFilter::new("env", value)],
                    start: start.take(),
                    limit: 7,
                })
                .await
                .expect("query");
            let Some(last) = page.last() else {
                return out;
            };
            start = Some(Cursor {
                resource_type: last.resource.resource_type.clone(),
                id: last.resource.id.clone(),
                inclusive: false,
            });
            out.extend(page.iter().map(|r| {
                format!(
                    "{}/{}",
                    r.resource.resource_type.as_str(),
                    r.resource.id.as_str()
                )
            }));
        }
    }

    async fn check(store: &RedbStore, account: &AccountId, model: &BTreeMap<usize, String>) {
        let ecs = ResourceType::new("ALIYUN", "ECS", "INSTANCE").expect("type");
        for value in ["prod", "dev", "test"] {
            let mut want: Vec<(String, bool)> = model
                .iter()
                .filter(|(_, v)| *v == value)
                .map(|(&i, _)| {
                    let r = resource(i);
                    let name = format!("{}/{}", r.resource_type.as_str(), r.id.as_str());
                    (name, r.resource_type == ecs)
                })
                .collect();
            want.sort();
            let all: Vec<String> = want.iter().map(|(n, _)| n.clone()).collect();
            let only_ecs: Vec<String> = want
                .iter()
                .filter(|w| w.1)
                .map(|(n, _)| n.clone())
                .collect();
            let namespace = TypeFilter::Namespace("ALIYUN".into());
            assert_eq!(
                paged(store, account, Some(value), namespace).await,
                all,
                "env={value}"
            );
            let exact = TypeFilter::Exact(ecs.clone());
            assert_eq!(
                paged(store, account, Some(value), exact).await,
                only_ecs,
                "ECS env={value}"
            );
        }
        // The key index: every resource of the model carries `env`.
        let mut carriers: Vec<(String, bool)> = model
            .keys()
            .map(|&i| {
                let r = resource(i);
                let name = format!("{}/{}", r.resource_type.as_str(), r.id.as_str());
                (name, r.resource_type == ecs)
            })
            .collect();
        carriers.sort();
        let namespace = TypeFilter::Namespace("ALIYUN".into());
        let all: Vec<String> = carriers.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(paged(store, account, None, namespace.clone()).await, all);
        let only_ecs: Vec<String> = carriers
            .iter()
            .filter(|c| c.1)
            .map(|(n, _)| n.clone())
            .collect();
        let exact = TypeFilter::Exact(ecs.clone());
        assert_eq!(paged(store, account, None, exact.clone()).await, only_ecs);
        for (types, any) in [(namespace, !all.is_empty()), (exact, !only_ecs.is_empty())] {
            let keys = store
                .list_tag_keys(KeyQuery {
                    account: account.clone(),
                    region: tagd_core::Region::parse("cn-hangzhou").expect("region"),
                    types,
                    matching: TextMatch::Any,
                    after: None,
                    limit: 100,
                })
                .await
                .expect("keys");
            assert_eq!(keys.iter().any(|k| k == "env"), any, "{keys:?}");
        }
        let mut values: Vec<String> = model.values().cloned().collect();
        values.sort();
        values.dedup();
        let listed = store
            .list_tag_values(ValueQuery {
                account: account.clone(),
                region: tagd_core::Region::parse("cn-hangzhou").expect("region"),
                types: TypeFilter::Namespace("ALIYUN".into()),
                key: "env".into(),
                matching: TextMatch::Any,
                after: None,
                limit: 100,
            })
            .await
            .expect("values");
        assert_eq!(listed, values);
    }

    /// Groups of hundreds of members (several chunks each) stay exact while values move between
    /// them and leave them, across restarts; paged listings cross chunk boundaries.
    #[tokio::test]
    async fn paged_listings_stay_exact_as_values_move_between_large_groups() {
        let dir = tempfile::tempdir().expect("dir");
        let (store, account) = store_with_account(dir.path(), Duration::from_secs(3600)).await;
        let mut model = BTreeMap::new();
        let set = |i: usize, v: &str| (i, TagOp::Set(vec![Tag::new("env", v), Tag::new("k", "v")]));
        let ops: Vec<_> = (0..600)
            .map(|i| set(i, if i % 2 == 0 { "prod" } else { "dev" }))
            .collect();
        for (i, op) in &ops {
            if let TagOp::Set(tags) = op {
                model.insert(*i, tags[0].value.clone());
            }
        }
        apply(&store, &account, ops).await;
        check(&store, &account, &model).await;
        // Every third moves to "test"; the first 250 lose env (whole chunks empty out).
        let moves: Vec<_> = (0..600).step_by(3).map(|i| set(i, "test")).collect();
        for (i, _) in &moves {
            model.insert(*i, "test".into());
        }
        apply(&store, &account, moves).await;
        check(&store, &account, &model).await;
        let removes = (0..250)
            .map(|i| (i, TagOp::Remove(vec!["env".into()])))
            .collect();
        apply(&store, &account, removes).await;
        model.retain(|&i, _| i >= 250);
        check(&store, &account, &model).await;
        store.close();
        drop(store);
        let store = RedbStore::open(dir.path()).expect("reopen");
        check(&store, &account, &model).await;
        // All of a group's members leave: the value is no longer listed.
        let removes = (250..600)
            .filter(|i| model.get(i).map(String::as_str) == Some("dev"))
            .map(|i| (i, TagOp::Remove(vec!["env".into()])))
            .collect();
        apply(&store, &account, removes).await;
        model.retain(|_, v| v != "dev");
        check(&store, &account, &model).await;
        store.close();
    }

    /// Rewrites the posting lists of `postings` as an index of one key per binding, `old`, as
    /// schemas before 3 laid the indexes out, and drops them.
    fn unchunk(
        txn: &redb::WriteTransaction,
        postings: redb::TableDefinition<&[u8], &[u8]>,
        old: redb::TableDefinition<&[u8], &[u8]>,
        group_parts: usize,
    ) {
        {
            let chunks = txn.open_table(postings).expect("postings");
            let mut old = txn.open_table(old).expect("old");
            for entry in chunks.iter().expect("iter") {
                let (key, chunk) = entry.expect("entry");
                let key = key.value();
                let mut rest = key;
                for _ in 0..group_parts {
                    keys::next_component(&mut rest).expect("component");
                }
                let group = &key[..key.len() - rest.len()];
                for member in crate::postings::members(chunk.value()) {
                    let mut binding = group.to_vec();
                    binding.extend_from_slice(member.expect("member"));
                    old.insert(binding.as_slice(), [].as_slice())
                        .expect("insert");
                }
            }
        }
        txn.delete_table(postings).expect("delete");
    }

    /// A store written with schema 1 (one `tag_index` and one `key_index` key per binding), or
    /// with schema 2 (the (key, value) index as posting lists, the key index not), answers the
    /// same once opening has moved it to schema 3.
    #[tokio::test]
    async fn older_schemas_are_moved_to_posting_lists_on_open() {
        for schema in [1u8, 2] {
            let dir = tempfile::tempdir().expect("dir");
            let (store, account) = store_with_account(dir.path(), Duration::from_secs(3600)).await;
            let mut model = BTreeMap::new();
            let ops: Vec<_> = (0..300)
                .map(|i| {
                    let v = ["prod", "dev", "test"][i % 3];
                    model.insert(i, v.to_owned());
                    (i, TagOp::Set(vec![Tag::new("env", v)]))
                })
                .collect();
            apply(&store, &account, ops).await;
            store.close();
            drop(store);
            {
                let db = redb::Database::open(dir.path().join("tagd.redb")).expect("db");
                let txn = db.begin_write().expect("txn");
                unchunk(&txn, tables::KEY_POSTINGS, tables::KEY_INDEX_V2, 3);
                if schema == 1 {
                    unchunk(&txn, tables::TAG_POSTINGS, tables::TAG_INDEX_V1, 4);
                }
                {
                    let mut meta = txn.open_table(tables::META).expect("meta");
                    meta.insert("schema_version", [schema].as_slice())
                        .expect("version");
                }
                txn.commit().expect("commit");
            }
            let store = RedbStore::open(dir.path()).expect("reopen");
            check(&store, &account, &model).await;
            {
                let txn = store.inner.db.begin_read().expect("read");
                let meta = txn.open_table(tables::META).expect("meta");
                let version = meta.get("schema_version").expect("get").expect("version");
                assert_eq!(version.value(), [tables::SCHEMA_VERSION].as_slice());
                for old in [tables::TAG_INDEX_V1, tables::KEY_INDEX_V2] {
                    assert!(txn.open_table(old).is_err(), "the old tables are gone");
                }
            }
            store.close();
        }
    }
}
