//! The single writer thread: drains queued writes, applies a batch to its open redb
//! transaction, has the syncer append the batch's effects to the write-ahead log with one
//! fdatasync ([`crate::syncer`], [`crate::wal`]), which then answers every waiter: one fsync
//! serves the whole batch. A change set that fails its checks is skipped without touching the
//! rest of the batch.
//!
//! The open transaction spans batches: it is committed (without fsync) when a reader needs what
//! it holds ([`crate::visibility`]), and made durable at a checkpoint: every second (or when
//! idle, or when the log passes 64 MiB), which then empties the log.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TryRecvError};
use std::time::{Duration, Instant};

use redb::{Database, Durability, ReadableDatabase, ReadableTable, Table, WriteTransaction};
use tagd_core::catalogue::{PresetDelete, PresetKey};
use tagd_core::change::ResourceProblem;
use tagd_core::rules::rules_for_namespace;
use tagd_core::{
    Account, AccountId, ApplyReport, Atomicity, ChangeSet, Credential, ResourceFailure,
    ResourceRef, StoreError, TagSet,
};
use tokio::sync::oneshot;

use crate::codec;
use crate::engine_error;
use crate::keys;
use crate::postings::{self, PostingCache};
use crate::read::TypeCache;
use crate::syncer::{Failure, SyncJob, failure_of};
use crate::tables;
use crate::tables::{
    ACCESS_KEYS, ACCOUNTS, CATALOGUE, IndexKeys, KEY_POSTINGS, META, PRESET_KEYS, PRESET_VALUES,
    REGISTERED, RESOURCES, TAG_POSTINGS, resource_key,
};
use crate::visibility::Visibility;
use crate::wal::{Effect, Record, Wal};

/// Most writes one commit carries.
const MAX_BATCH: usize = 1024;

/// [`CheckpointPolicy::cold_load`]'s default, measured by killing tagd under W1 at 1M
/// resources (bench/README.md).
const COLD_LOAD_MICROS: u64 = 60;

/// When the writer makes redb durable and empties the log.
#[derive(Clone, Copy, Debug)]
pub struct CheckpointPolicy {
    /// At least this often while writes arrive...
    pub every: Duration,
    /// ...after this long without writes...
    pub idle: Duration,
    /// ...whenever the log grows past this many bytes...
    pub wal_bytes: u64,
    /// ...and whenever replaying the batches the log holds after a crash would take about this
    /// long, which bounds the restart. The estimate is the time the writer took to apply them,
    /// plus `cold_load` for each tag-index chunk they read from the table: a replay starts
    /// with redb's cache cold, and at 1M resources it took ~0.5 ms per W1 call against the
    /// writer's ~0.35 ms (bench/README.md).
    pub replay: Duration,
    /// What a replay pays for each chunk the batches read from the table, beyond the
    /// writer's own (warm) time: the cold read, and the cold page its rewrite dirties.
    pub cold_load: Duration,
}

impl Default for CheckpointPolicy {
    fn default() -> Self {
        Self {
            every: Duration::from_secs(1),
            idle: Duration::from_millis(200),
            wal_bytes: 64 << 20,
            replay: Duration::from_millis(600),
            cold_load: Duration::from_micros(COLD_LOAD_MICROS),
        }
    }
}

type Reply<T> = oneshot::Sender<Result<T, StoreError>>;

/// A write and the channel its answer goes back on.
pub enum WriteOp {
    Apply(ChangeSet, Reply<ApplyReport>),
    CreateAccount(Account, Credential, Reply<()>),
    PutKey(Credential, Reply<()>),
    Register(AccountId, ResourceRef, Reply<()>),
    Deregister(AccountId, ResourceRef, Reply<bool>),
    PutPresets(AccountId, Vec<PresetKey>, Reply<()>),
    DeletePreset(AccountId, String, Option<String>, Reply<PresetDelete>),
    /// A reader waits for the open transaction to be committed ([`crate::visibility`]).
    Publish,
}

/// Sends an op's answer once the batch's fate (durable, or failed) is known.
type Answer = Box<dyn FnOnce(&Result<(), String>) + Send>;

/// An answer held back until the batch is durable.
pub struct Pending {
    send: Answer,
    /// The engine failure the op hit, if any (as opposed to a logical refusal).
    engine_failure: Option<String>,
}

impl Pending {
    fn new<T: Send + 'static>(tx: Reply<T>, result: Result<T, StoreError>) -> Pending {
        let engine_failure = match &result {
            Ok(_) | Err(StoreError::Conflict(_)) => None,
            Err(other) => Some(other.to_string()),
        };
        let send = Box::new(move |commit: &Result<(), String>| {
            let answer = match commit {
                Ok(()) => result,
                Err(e) => Err(StoreError::Engine(e.clone())),
            };
            // A waiter that went away (client disconnected) is not an error: the write stands.
            drop(tx.send(answer));
        });
        Pending {
            send,
            engine_failure,
        }
    }

    /// An op the writer will not run (it has failed); `answer` sends the failure.
    fn refused(op: WriteOp) -> Pending {
        let refused = || StoreError::Unavailable("the store writer has failed".into());
        match op {
            WriteOp::Apply(_, tx) => Pending::new(tx, Err(refused())),
            WriteOp::CreateAccount(_, _, tx)
            | WriteOp::PutKey(_, tx)
            | WriteOp::Register(_, _, tx)
            | WriteOp::PutPresets(_, _, tx) => Pending::new(tx, Err(refused())),
            WriteOp::Deregister(_, _, tx) => Pending::new(tx, Err(refused())),
            WriteOp::DeletePreset(_, _, _, tx) => Pending::new(tx, Err(refused())),
            WriteOp::Publish => Pending::nothing(),
        }
    }

    /// An op with no waiter.
    fn nothing() -> Pending {
        Pending {
            send: Box::new(|_| {}),
            engine_failure: None,
        }
    }

    fn engine_failure(&self) -> Option<String> {
        self.engine_failure.clone()
    }

    /// Sends the held answer, or the commit's failure.
    pub fn answer(self, commit: &Result<(), String>) {
        (self.send)(commit);
    }
}

/// The last log record a durable redb commit covers: what a restart does not replay.
pub(crate) fn checkpointed_seq(db: &Database) -> Result<u64, StoreError> {
    let txn = db.begin_read().map_err(engine_error)?;
    let meta = txn.open_table(META).map_err(engine_error)?;
    let value = meta.get("wal_seq").map_err(engine_error)?;
    let Some(bytes) = value else { return Ok(0) };
    let raw: [u8; 8] = bytes
        .value()
        .try_into()
        .map_err(|_| StoreError::Corrupt("wal_seq".into()))?;
    Ok(u64::from_be_bytes(raw))
}

/// The writer's durable state: the database, the log, and how far each reaches.
pub struct Writer {
    db: Arc<Database>,
    /// The transaction batches are applied to; `None` after a commit until the next batch.
    open: Option<WriteTransaction>,
    /// The records applied to `open`, to rebuild it if an engine failure aborts it.
    unpublished: Vec<Arc<Record>>,
    visibility: Arc<Visibility>,
    /// The index chunks the open transaction changed, written to it before it commits.
    postings: IndexCaches,
    /// Where applied batches go to be made durable and answered ([`crate::syncer`]).
    jobs: Option<SyncSender<SyncJob>>,
    /// Log bytes sent to the syncer since the last checkpoint.
    wal_bytes: u64,
    /// Sequence number of the last record appended to the log.
    seq: u64,
    /// Whether the log holds records redb has not made durable yet.
    dirty: bool,
    /// What replaying the batches the log holds would take ([`CheckpointPolicy::replay`]).
    replay_estimate: Duration,
    last_checkpoint: Instant,
    policy: CheckpointPolicy,
    /// Set after a log or checkpoint failure: the writer refuses everything from then on,
    /// because redb may hold changes that were never made durable (as PostgreSQL does on an
    /// fsync failure, it stops rather than guess).
    failure: Failure,
}

impl Writer {
    /// Replays the log past the last checkpoint and checkpoints. Returns the writer and the
    /// (now empty) log, for the syncer; [`Self::attach`] then connects the two.
    pub fn recover(
        db: Arc<Database>,
        wal_path: &std::path::Path,
        policy: CheckpointPolicy,
    ) -> Result<(Writer, Wal), StoreError> {
        let (mut wal, records) = Wal::open(wal_path).map_err(engine_error)?;
        let mut writer = Writer {
            db,
            open: None,
            unpublished: Vec::new(),
            visibility: Arc::new(Visibility::new(0)),
            postings: IndexCaches::default(),
            jobs: None,
            wal_bytes: 0,
            seq: 0,
            dirty: false,
            replay_estimate: Duration::ZERO,
            last_checkpoint: Instant::now(),
            policy,
            failure: Failure::default(),
        };
        // First a durable, empty commit that records redb's allocator state (~2 ms). Without
        // it, after an open that recovered from a crash, a second crash before the first
        // checkpoint left a file the next open could not use the recorded state of: redb then
        // walked the whole file (12.8 s at 1M resources, against ~2 ms; bench/README.md).
        let sealing = Instant::now();
        {
            let mut txn = writer.db.begin_write().map_err(engine_error)?;
            txn.set_quick_repair(true);
            txn.commit().map_err(engine_error)?;
        }
        let sealed = sealing.elapsed();
        let checkpointed = checkpointed_seq(&writer.db)?;
        writer.seq = checkpointed;
        let replay: Vec<&Record> = records.iter().filter(|r| r.seq > checkpointed).collect();
        if replay.is_empty() {
            // Nothing redb lacks: whatever the log holds was checkpointed before a crash
            // between a checkpoint and the reset of the log.
            wal.reset();
            return Ok((writer, wal));
        }
        // The replay is committed without fsync, like any batch, and the log is kept: it still
        // holds these records, so a crash before the next checkpoint replays them again. The
        // first checkpoint (`policy.every`, or `policy.idle` without writes) makes them durable
        // and empties the log. A durable commit here would write every page the replay
        // dirtied before the store is ready: at 1M resources that doubled the restart.
        let started = Instant::now();
        let mut txn = writer.db.begin_write().map_err(engine_error)?;
        txn.set_durability(Durability::None)
            .map_err(|e| StoreError::Engine(e.to_string()))?;
        // Timed in parts for the log line: where a slow restart waits (bench/README.md).
        let effects: usize = replay.iter().map(|r| r.effects.len()).sum();
        let (applied, flushed) = {
            let mut tables = Tables::open(&txn, &mut writer.postings).map_err(engine_error)?;
            for record in &replay {
                for effect in &record.effects {
                    tables.replay(effect)?;
                }
            }
            let applied = started.elapsed();
            tables.flush_postings()?;
            (applied, started.elapsed())
        };
        txn.commit().map_err(engine_error)?;
        writer.seq = replay.iter().map(|r| r.seq).max().unwrap_or(checkpointed);
        writer.dirty = true;
        writer.wal_bytes = wal.len();
        writer.replay_estimate = started.elapsed();
        tracing::info!(
            records = replay.len(),
            effects,
            chunk_loads = writer.postings.take_loads(),
            seal_ms = sealed.as_millis() as u64,
            last_seq = writer.seq,
            apply_ms = applied.as_millis() as u64,
            flush_ms = (flushed - applied).as_millis() as u64,
            commit_ms = (started.elapsed() - flushed).as_millis() as u64,
            ms = started.elapsed().as_millis() as u64,
            "replayed the write-ahead log"
        );
        Ok((writer, wal))
    }

    /// Connects the writer to its syncer.
    /// Readers start from what recovery left visible.
    pub fn attach(&mut self, jobs: SyncSender<SyncJob>, failure: Failure) {
        self.jobs = Some(jobs);
        self.failure = failure;
        self.visibility = Arc::new(Visibility::new(self.seq));
    }

    /// What readers can see of the open transaction, shared with them.
    pub fn visibility(&self) -> Arc<Visibility> {
        Arc::clone(&self.visibility)
    }

    /// The open transaction, or a new one (committed without fsync unless a checkpoint says
    /// otherwise).
    fn take_open(&mut self) -> Result<WriteTransaction, String> {
        if let Some(txn) = self.open.take() {
            return Ok(txn);
        }
        let mut txn = self.db.begin_write().map_err(|e| e.to_string())?;
        txn.set_durability(Durability::None)
            .map_err(|e| e.to_string())?;
        Ok(txn)
    }

    /// Commits the open transaction without fsync, so that readers see it.
    fn publish(&mut self) {
        let Some(txn) = self.open.take() else {
            self.visibility.published(self.seq);
            return;
        };
        if let Err(err) = flush_postings(&txn, &mut self.postings) {
            self.open = Some(txn);
            self.fail(format!("writing the tag index failed: {err}"));
            return;
        }
        match txn.commit() {
            Ok(()) => {
                self.unpublished.clear();
                self.visibility.published(self.seq);
            }
            Err(err) => self.fail(format!("commit failed: {err}")),
        }
    }

    /// Makes everything the writer applied durable in redb, recording that it reaches up to
    /// `self.seq`.
    ///
    /// Quick-repair saves redb's allocator state with this commit, so that opening after a
    /// crash (which falls back to the last durable commit) does not walk the whole file: without
    /// it, a 3.7 GB store took 12 s to reopen after SIGKILL (bench/README.md).
    ///
    /// The open transaction is published first: the durable commit then writes and syncs every
    /// page, which holds the writer for tens of milliseconds, but no reader waits for it.
    fn make_durable(&mut self) -> Result<(), String> {
        self.publish();
        if let Some(err) = failure_of(&self.failure) {
            return Err(err);
        }
        let mut txn = self.take_open()?;
        txn.set_durability(Durability::Immediate)
            .map_err(|e| e.to_string())?;
        txn.set_quick_repair(true);
        {
            let mut meta = txn.open_table(META).map_err(|e| e.to_string())?;
            meta.insert("wal_seq", self.seq.to_be_bytes().as_slice())
                .map_err(|e| e.to_string())?;
        }
        txn.commit().map_err(|e| e.to_string())?;
        self.unpublished.clear();
        self.visibility.published(self.seq);
        Ok(())
    }

    /// Makes redb durable up to `self.seq`, then has the syncer empty the log (after it has
    /// written the records this checkpoint covers).
    fn checkpoint(&mut self) {
        if !self.dirty || failure_of(&self.failure).is_some() {
            return;
        }
        let started = Instant::now();
        if let Err(err) = self.make_durable() {
            self.fail(format!("checkpoint failed: {err}"));
            return;
        }
        self.send(SyncJob::Reset);
        self.dirty = false;
        self.wal_bytes = 0;
        self.replay_estimate = Duration::ZERO;
        self.last_checkpoint = Instant::now();
        metrics::histogram!("tagd_store_checkpoint_seconds")
            .record(started.elapsed().as_secs_f64());
    }

    /// Stops taking writes. What the open transaction holds was acknowledged only if its log
    /// record was written, and the log failure that got us here may have stopped that; it is
    /// committed (without fsync) anyway, as the batches before were, so that reads go on seeing
    /// what they saw. Readers stop waiting for the writer.
    fn fail(&mut self, err: String) {
        tracing::error!(error = %err, "store writer stopped taking writes");
        if let Ok(mut slot) = self.failure.lock()
            && slot.is_none()
        {
            *slot = Some(err);
        }
        if let Some(txn) = self.open.take()
            && let Err(err) = flush_postings(&txn, &mut self.postings)
                .map_err(|e| e.to_string())
                .and_then(|()| txn.commit().map_err(|e| e.to_string()))
        {
            tracing::error!(error = %err, "the open transaction could not be committed");
        }
        self.unpublished.clear();
        self.visibility.stopped();
    }

    /// Hands a job to the syncer; if it is gone, answers the job's waiters with a failure.
    fn send(&self, job: SyncJob) {
        let Some(jobs) = &self.jobs else {
            return;
        };
        if let Err(returned) = jobs.send(job)
            && let SyncJob::Batch { pending, .. } = returned.0
        {
            let gone = Err("the store syncer has stopped".to_owned());
            for p in pending {
                p.answer(&gone);
            }
        }
    }

    /// Runs until every sender is gone, then checkpoints and releases the syncer.
    pub fn run(mut self, queue: &Receiver<WriteOp>) {
        loop {
            let first = match queue.recv_timeout(self.policy.idle) {
                Ok(op) => op,
                Err(RecvTimeoutError::Timeout) => {
                    self.checkpoint();
                    continue;
                }
                Err(RecvTimeoutError::Disconnected) => break,
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            // A reader's request only wakes the writer: the flag it set says what to do.
            batch.retain(|op| !matches!(op, WriteOp::Publish));
            if !batch.is_empty() {
                self.commit_batch(batch);
            }
            if self.last_checkpoint.elapsed() >= self.policy.every
                || self.wal_bytes >= self.policy.wal_bytes
                || self.replay_estimate >= self.policy.replay
            {
                self.checkpoint();
            }
            // After the checkpoint, which may have answered the request already.
            if self.visibility.take_request() {
                self.publish();
            }
        }
        self.checkpoint();
        self.publish();
        self.visibility.stopped();
        // Dropping the sender lets the syncer finish its queue and stop.
        self.jobs = None;
    }

    fn commit_batch(&mut self, batch: Vec<WriteOp>) {
        let started = Instant::now();
        let size = batch.len();
        let mut pending = Vec::with_capacity(size);
        let mut effects = Vec::new();
        let outcome = match failure_of(&self.failure) {
            Some(err) => {
                // Answer every op with the failure (dropping them would look like a shutdown).
                for op in batch {
                    pending.push(Pending::refused(op));
                }
                Err(err)
            }
            None => self.apply_batch(batch, &mut pending, &mut effects),
        };
        // An apply failure aborted the open transaction, which was rebuilt without this batch:
        // the batch fails, the store goes on.
        if let Err(err) = &outcome {
            tracing::error!(error = %err, batch = size, "store commit failed");
        }
        let record = (outcome.is_ok() && !effects.is_empty()).then(|| {
            self.seq += 1;
            self.dirty = true;
            Arc::new(Record {
                seq: self.seq,
                effects,
            })
        });
        if let Some(record) = &record {
            self.wal_bytes += record.effects.len() as u64 * 128;
            let loads = u32::try_from(self.postings.take_loads()).unwrap_or(u32::MAX);
            self.replay_estimate = self
                .replay_estimate
                .saturating_add(started.elapsed())
                .saturating_add(self.policy.cold_load.saturating_mul(loads));
            self.unpublished.push(Arc::clone(record));
            // Before the syncer can acknowledge anything of this batch.
            self.visibility.applied(self.seq);
        }
        metrics::histogram!("tagd_store_commit_batch_size").record(size as f64);
        metrics::histogram!("tagd_store_commit_seconds").record(started.elapsed().as_secs_f64());
        self.send(SyncJob::Batch {
            record,
            pending,
            outcome,
        });
    }

    /// Applies the batch to the open transaction. An engine failure inside any op aborts the
    /// transaction, which is then rebuilt from the batches before this one; logical refusals
    /// only skip their op.
    fn apply_batch(
        &mut self,
        batch: Vec<WriteOp>,
        pending: &mut Vec<Pending>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), String> {
        let txn = self.take_open()?;
        let applied = Self::apply_ops(&txn, &mut self.postings, batch, pending, effects);
        match applied {
            Ok(()) => {
                self.open = Some(txn);
                Ok(())
            }
            Err(err) => {
                effects.clear();
                drop(txn);
                if let Err(rebuild) = self.rebuild() {
                    self.fail(format!("rebuilding the open transaction failed: {rebuild}"));
                }
                Err(err)
            }
        }
    }

    fn apply_ops(
        txn: &WriteTransaction,
        postings: &mut IndexCaches,
        batch: Vec<WriteOp>,
        pending: &mut Vec<Pending>,
        effects: &mut Vec<Effect>,
    ) -> Result<(), String> {
        let mut tables = Tables::open(txn, postings).map_err(|e| e.to_string())?;
        for op in batch {
            let done = tables.run(op);
            let failed = done.engine_failure();
            pending.push(done);
            if let Some(err) = failed {
                return Err(err);
            }
            // A transaction open for many batches (no reader asks for a publish) would
            // otherwise hold every key chunk it changed until its commit: under W2 at 1M,
            // where nearly every new key's chunk is another (a W2 call adds 1,000 keys),
            // 244-271 MiB of RSS at the peak against 209-230 before the key index was posting
            // lists. The (key, value) index's cache is left to the commit: its hot chunks are
            // met again, and forgetting them after every batch took W2 at 10k down 15-20%
            // (`bench/README.md`, session 13).
            if tables.postings.keys.over_budget() {
                tables
                    .postings
                    .keys
                    .flush(&mut tables.key_postings)
                    .map_err(|e| e.to_string())?;
            }
        }
        *effects = std::mem::take(&mut tables.effects);
        Ok(())
    }

    /// Applies the unpublished records again to a new transaction, after the one holding them
    /// was aborted.
    fn rebuild(&mut self) -> Result<(), String> {
        let txn = self.take_open()?;
        // The cache's changes were made against the aborted transaction.
        self.postings.clear();
        {
            let mut tables = Tables::open(&txn, &mut self.postings).map_err(|e| e.to_string())?;
            for record in &self.unpublished {
                for effect in &record.effects {
                    tables.replay(effect).map_err(|e| e.to_string())?;
                }
            }
        }
        self.open = Some(txn);
        Ok(())
    }
}

/// The writer's held chunks of the two posting-list indexes: (key, value) groups in
/// `tag_postings`, key groups in `key_postings`.
pub struct IndexCaches {
    tags: PostingCache,
    keys: PostingCache,
}

/// What the key index's cache keeps between flushes. A key group holds every resource with the
/// key (~16,000 chunks for `env` at 1M resources), so chunks held across transactions are
/// rarely met again; within one they are written once (`bench/README.md`, session 13).
/// Tests hold a few chunks, so that every store test also flushes key chunks mid-transaction.
const KEY_CACHE_BYTES: usize = if cfg!(test) { 4 << 10 } else { 2 << 20 };

impl Default for IndexCaches {
    fn default() -> Self {
        Self {
            tags: PostingCache::default(),
            keys: PostingCache::holding(KEY_CACHE_BYTES),
        }
    }
}

impl IndexCaches {
    /// Chunks read from the tables since the last call.
    fn take_loads(&mut self) -> u64 {
        self.tags.take_loads() + self.keys.take_loads()
    }

    /// Forgets everything, changes included ([`PostingCache::clear`]).
    fn clear(&mut self) {
        self.tags.clear();
        self.keys.clear();
    }
}

/// Writes the chunks the caches changed to the transaction, before it commits.
fn flush_postings(txn: &WriteTransaction, postings: &mut IndexCaches) -> Result<(), StoreError> {
    let mut table = txn.open_table(TAG_POSTINGS).map_err(engine_error)?;
    postings.tags.flush(&mut table)?;
    let mut table = txn.open_table(KEY_POSTINGS).map_err(engine_error)?;
    postings.keys.flush(&mut table)
}

struct Tables<'txn> {
    accounts: Table<'txn, &'static str, &'static [u8]>,
    access_keys: Table<'txn, &'static str, &'static [u8]>,
    resources: Table<'txn, &'static [u8], &'static [u8]>,
    tag_postings: Table<'txn, &'static [u8], &'static [u8]>,
    key_postings: Table<'txn, &'static [u8], &'static [u8]>,
    /// Changes to both, held in memory until [`Self::flush_postings`].
    postings: &'txn mut IndexCaches,
    registered: Table<'txn, &'static [u8], &'static [u8]>,
    preset_keys: Table<'txn, &'static [u8], &'static [u8]>,
    preset_values: Table<'txn, &'static [u8], &'static [u8]>,
    catalogue: Table<'txn, &'static [u8], &'static [u8]>,
    meta: Table<'txn, &'static str, &'static [u8]>,
    /// What this transaction changed in the primary tables, for the log.
    effects: Vec<Effect>,
}

impl<'txn> Tables<'txn> {
    fn open(
        txn: &'txn WriteTransaction,
        postings: &'txn mut IndexCaches,
    ) -> Result<Self, redb::TableError> {
        Ok(Self {
            accounts: txn.open_table(ACCOUNTS)?,
            access_keys: txn.open_table(ACCESS_KEYS)?,
            resources: txn.open_table(RESOURCES)?,
            tag_postings: txn.open_table(TAG_POSTINGS)?,
            key_postings: txn.open_table(KEY_POSTINGS)?,
            postings,
            registered: txn.open_table(REGISTERED)?,
            preset_keys: txn.open_table(PRESET_KEYS)?,
            preset_values: txn.open_table(PRESET_VALUES)?,
            catalogue: txn.open_table(CATALOGUE)?,
            meta: txn.open_table(META)?,
            effects: Vec::new(),
        })
    }

    fn run(&mut self, op: WriteOp) -> Pending {
        match op {
            WriteOp::Apply(changes, tx) => Pending::new(tx, self.apply(&changes)),
            WriteOp::CreateAccount(account, key, tx) => {
                Pending::new(tx, self.create_account(&account, &key))
            }
            WriteOp::PutKey(key, tx) => Pending::new(tx, self.put_key(&key)),
            WriteOp::Register(account, resource, tx) => {
                let key = resource_key(&account, &resource);
                let result = self.registered.insert(key.as_slice(), [].as_slice());
                if result.is_ok() {
                    self.effects.push(Effect::RegisteredPut(key));
                }
                Pending::new(tx, result.map(drop).map_err(engine_error))
            }
            WriteOp::Deregister(account, resource, tx) => {
                Pending::new(tx, self.deregister(&account, &resource))
            }
            WriteOp::PutPresets(account, presets, tx) => {
                Pending::new(tx, self.put_presets(&account, &presets))
            }
            WriteOp::DeletePreset(account, key, value, tx) => {
                Pending::new(tx, self.delete_preset(&account, &key, value.as_deref()))
            }
            WriteOp::Publish => Pending::nothing(),
        }
    }

    /// Checks every change against the state it meets, then writes all of them (or, for
    /// all-or-nothing change sets with a failure, none).
    fn apply(&mut self, changes: &ChangeSet) -> Result<ApplyReport, StoreError> {
        // Everything is computed first (catalogue, unbinds, resource changes); only a change set
        // that passes every check is written, so a refused one leaves no trace in the batch.
        let account = &changes.account;
        // resource key -> (resource, tags before this change set, tags after it)
        let mut overlay: BTreeMap<Vec<u8>, (ResourceRef, TagSet, TagSet)> = BTreeMap::new();
        let mut catalogue_deletes = Vec::new();
        let mut catalogue_creates = Vec::new();
        if let Some(cat) = &changes.catalogue {
            for tag in &cat.delete {
                let key = tables::catalogue_key(account, &cat.namespace, &tag.key, &tag.value);
                if self
                    .catalogue
                    .get(key.as_slice())
                    .map_err(engine_error)?
                    .is_none()
                    || catalogue_deletes.contains(&key)
                {
                    continue;
                }
                catalogue_deletes.push(key);
                for (rkey, resource) in
                    self.carriers(account, &cat.namespace, &tag.key, &tag.value)?
                {
                    let (_, _, next) = match overlay.entry(rkey) {
                        std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                        std::collections::btree_map::Entry::Vacant(e) => {
                            let current = self.tags_at(e.key())?;
                            e.insert((resource, current.clone(), current))
                        }
                    };
                    if next.get(&tag.key) == Some(tag.value.as_str()) {
                        next.remove(&tag.key);
                    }
                }
            }
            for tag in &cat.create {
                let key = tables::catalogue_key(account, &cat.namespace, &tag.key, &tag.value);
                let exists = self
                    .catalogue
                    .get(key.as_slice())
                    .map_err(engine_error)?
                    .is_some()
                    && !catalogue_deletes.contains(&key);
                if !exists && !catalogue_creates.contains(&key) {
                    catalogue_creates.push(key);
                }
            }
            if !catalogue_creates.is_empty() {
                let held = self.catalogue_count(account, &cat.namespace)?;
                let after = held + catalogue_creates.len() - catalogue_deletes.len().min(held);
                if after > cat.quota {
                    return Ok(ApplyReport {
                        failures: Vec::new(),
                        catalogue_full: true,
                    });
                }
            }
        }
        let mut failures = Vec::new();
        for (index, change) in changes.changes.iter().enumerate() {
            let key = resource_key(account, &change.resource);
            if changes.require_registered
                && self
                    .registered
                    .get(key.as_slice())
                    .map_err(engine_error)?
                    .is_none()
            {
                failures.push(ResourceFailure {
                    index,
                    resource: change.resource.clone(),
                    problem: ResourceProblem::NotRegistered,
                });
                continue;
            }
            let rules = rules_for_namespace(change.resource.resource_type.namespace());
            // The tags this change meets: an earlier change of this set (catalogue unbinds, or
            // the same resource named twice) or the stored ones; `original` is what is on disk.
            let (original, applied) = match overlay.get(&key) {
                Some((_, original, next)) => (original.clone(), next.apply(&change.op, rules)),
                None => {
                    let stored = self.tags_at(&key)?;
                    let applied = stored.apply(&change.op, rules);
                    (stored, applied)
                }
            };
            match applied {
                Ok(next) => {
                    overlay.insert(key, (change.resource.clone(), original, next));
                }
                Err(problem) => failures.push(ResourceFailure {
                    index,
                    resource: change.resource.clone(),
                    problem,
                }),
            }
        }
        if changes.atomicity == Atomicity::AllOrNothing && !failures.is_empty() {
            failures.truncate(1);
            return Ok(ApplyReport {
                failures,
                catalogue_full: false,
            });
        }
        for key in catalogue_deletes {
            self.catalogue
                .remove(key.as_slice())
                .map_err(engine_error)?;
            self.effects.push(Effect::CatalogueDelete(key));
        }
        for key in catalogue_creates {
            let id = self.next_catalogue_id()?;
            let bytes = id.to_be_bytes().to_vec();
            self.catalogue
                .insert(key.as_slice(), bytes.as_slice())
                .map_err(engine_error)?;
            self.effects.push(Effect::CataloguePut(key, bytes));
        }
        for (key, (resource, original, next)) in overlay {
            self.write_tags(account, &resource, &key, &original, &next)?;
        }
        Ok(ApplyReport {
            failures,
            catalogue_full: false,
        })
    }

    /// Writes the index changes held in memory to the transaction.
    fn flush_postings(&mut self) -> Result<(), StoreError> {
        self.postings.tags.flush(&mut self.tag_postings)?;
        self.postings.keys.flush(&mut self.key_postings)
    }

    /// The resources of `namespace`, in every region, that carry `key=value`.
    fn carriers(
        &mut self,
        account: &AccountId,
        namespace: &str,
        key: &str,
        value: &str,
    ) -> Result<Vec<(Vec<u8>, ResourceRef)>, StoreError> {
        // The scan reads the table: it must hold what the cache changed.
        self.flush_postings()?;
        let mut out = Vec::new();
        let base = keys::tuple(&[account.as_str()]);
        let end = keys::prefix_end(&base);
        let mut lo = base.clone();
        let mut lo_member = Vec::new();
        keys::push_open(&mut lo_member, &format!("{namespace}::"));
        let hi_member = keys::prefix_end(&lo_member);
        // One seek per region the account has index entries in.
        while lo < end {
            let first = {
                let mut range = self
                    .tag_postings
                    .range(lo.as_slice()..end.as_slice())
                    .map_err(engine_error)?;
                match range.next() {
                    Some(entry) => entry.map_err(engine_error)?.0.value().to_vec(),
                    None => break,
                }
            };
            let mut rest = &first[base.len()..];
            let region_name = keys::next_component(&mut rest)
                .ok_or_else(|| StoreError::Corrupt("index key".into()))?;
            let region = tagd_core::Region::parse(&region_name)
                .ok_or_else(|| StoreError::Corrupt("region".into()))?;
            let mut region_prefix = base.clone();
            keys::push(&mut region_prefix, &region_name);
            let mut group = region_prefix.clone();
            keys::push(&mut group, key);
            keys::push(&mut group, value);
            let mut types = TypeCache::default();
            postings::scan(
                &self.tag_postings,
                &group,
                &lo_member,
                Some(&hi_member),
                |member| {
                    let (resource_type, id) = types.type_and_id(member)?;
                    let resource = ResourceRef {
                        region: region.clone(),
                        resource_type,
                        id,
                    };
                    out.push((resource_key(account, &resource), resource));
                    Ok::<_, StoreError>(true)
                },
            )?;
            lo = keys::prefix_end(&region_prefix);
        }
        Ok(out)
    }

    fn catalogue_count(&self, account: &AccountId, namespace: &str) -> Result<usize, StoreError> {
        let base = keys::tuple(&[account.as_str(), namespace]);
        let end = keys::prefix_end(&base);
        let range = self
            .catalogue
            .range(base.as_slice()..end.as_slice())
            .map_err(engine_error)?;
        Ok(range.count())
    }

    fn next_catalogue_id(&mut self) -> Result<u64, StoreError> {
        let current = match self.meta.get("catalogue_next_id").map_err(engine_error)? {
            Some(v) => {
                let raw: [u8; 8] = v
                    .value()
                    .try_into()
                    .map_err(|_| StoreError::Corrupt("catalogue id".into()))?;
                u64::from_be_bytes(raw)
            }
            None => 1,
        };
        let next = (current + 1).to_be_bytes().to_vec();
        self.meta
            .insert("catalogue_next_id", next.as_slice())
            .map_err(engine_error)?;
        self.effects
            .push(Effect::MetaPut("catalogue_next_id".into(), next));
        Ok(current)
    }

    fn tags_at(&self, key: &[u8]) -> Result<TagSet, StoreError> {
        match self.resources.get(key).map_err(engine_error)? {
            Some(bytes) => codec::decode_tags(bytes.value()),
            None => Ok(TagSet::new()),
        }
    }

    /// Writes `next` over `current`, keeping both indexes exact.
    fn write_tags(
        &mut self,
        account: &AccountId,
        resource: &ResourceRef,
        key: &[u8],
        current: &TagSet,
        next: &TagSet,
    ) -> Result<(), StoreError> {
        if current == next {
            return Ok(());
        }
        let mut index = IndexKeys::new(account, resource);
        // Both sets iterate in key order: one merge pass finds what each index loses and gains.
        let mut before = current.iter().peekable();
        let mut after = next.iter().peekable();
        loop {
            match (before.peek().copied(), after.peek().copied()) {
                (None, None) => break,
                (Some((k, v)), Some((n, w))) if k == n => {
                    before.next();
                    after.next();
                    // The key stays: only a changed value moves in the (key, value) index.
                    if v != w {
                        let (group, member) = index.tag(k, v);
                        self.postings
                            .tags
                            .remove(&mut self.tag_postings, group, member)?;
                        let (group, member) = index.tag(k, w);
                        self.postings
                            .tags
                            .insert(&self.tag_postings, group, member)?;
                    }
                }
                (Some((k, _)), Some((n, w))) if n < k => {
                    after.next();
                    self.index_tag(&mut index, n, w)?;
                }
                (None, Some((n, w))) => {
                    after.next();
                    self.index_tag(&mut index, n, w)?;
                }
                (Some((k, v)), _) => {
                    before.next();
                    self.unindex_tag(&mut index, k, v)?;
                }
            }
        }
        if next.is_empty() {
            self.resources.remove(key).map_err(engine_error)?;
            self.effects.push(Effect::ResourceDelete(key.to_vec()));
        } else {
            let bytes = codec::encode_tags(next);
            self.resources
                .insert(key, bytes.as_slice())
                .map_err(engine_error)?;
            self.effects.push(Effect::ResourcePut(key.to_vec(), bytes));
        }
        Ok(())
    }

    /// Adds a key the resource did not carry to both indexes.
    fn index_tag(
        &mut self,
        index: &mut IndexKeys,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let (group, member) = index.tag(key, value);
        self.postings
            .tags
            .insert(&self.tag_postings, group, member)?;
        let (group, member) = index.key(key);
        self.postings.keys.insert(&self.key_postings, group, member)
    }

    /// Removes a key the resource no longer carries from both indexes.
    fn unindex_tag(
        &mut self,
        index: &mut IndexKeys,
        key: &str,
        value: &str,
    ) -> Result<(), StoreError> {
        let (group, member) = index.tag(key, value);
        self.postings
            .tags
            .remove(&mut self.tag_postings, group, member)?;
        let (group, member) = index.key(key);
        self.postings
            .keys
            .remove(&mut self.key_postings, group, member)
    }

    fn create_account(&mut self, account: &Account, key: &Credential) -> Result<(), StoreError> {
        if self
            .access_keys
            .get(key.access_key_id.as_str())
            .map_err(engine_error)?
            .is_some()
        {
            return Err(StoreError::Conflict(format!(
                "access key {} exists",
                key.access_key_id
            )));
        }
        if self
            .accounts
            .get(account.id.as_str())
            .map_err(engine_error)?
            .is_some()
        {
            return Err(StoreError::Conflict(format!(
                "account {} exists",
                account.id
            )));
        }
        let record = codec::encode_account(account);
        self.accounts
            .insert(account.id.as_str(), record.as_slice())
            .map_err(engine_error)?;
        self.effects
            .push(Effect::AccountPut(account.id.as_str().to_owned(), record));
        self.put_key(key)
    }

    fn put_key(&mut self, key: &Credential) -> Result<(), StoreError> {
        if self
            .accounts
            .get(key.account_id.as_str())
            .map_err(engine_error)?
            .is_none()
        {
            return Err(StoreError::Conflict(format!(
                "no account {}",
                key.account_id
            )));
        }
        let record = codec::encode_key(key);
        self.access_keys
            .insert(key.access_key_id.as_str(), record.as_slice())
            .map_err(engine_error)?;
        self.effects.push(Effect::KeyPut(
            key.access_key_id.as_str().to_owned(),
            record,
        ));
        Ok(())
    }

    fn deregister(
        &mut self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> Result<bool, StoreError> {
        let key = resource_key(account, resource);
        let was = self
            .registered
            .remove(key.as_slice())
            .map_err(engine_error)?
            .is_some();
        self.effects.push(Effect::RegisteredDelete(key.clone()));
        let current = self.tags_at(&key)?;
        self.write_tags(account, resource, &key, &current, &TagSet::new())?;
        Ok(was)
    }
}

impl Tables<'_> {
    fn put_presets(
        &mut self,
        account: &AccountId,
        presets: &[PresetKey],
    ) -> Result<(), StoreError> {
        for preset in presets {
            let key = keys::tuple(&[account.as_str(), &preset.key]);
            let description = preset.description.as_bytes().to_vec();
            self.preset_keys
                .insert(key.as_slice(), description.as_slice())
                .map_err(engine_error)?;
            self.effects.push(Effect::PresetKeyPut(key, description));
            for value in &preset.values {
                let vkey = keys::tuple(&[account.as_str(), &preset.key, &value.value]);
                let description = value.description.as_bytes().to_vec();
                self.preset_values
                    .insert(vkey.as_slice(), description.as_slice())
                    .map_err(engine_error)?;
                self.effects.push(Effect::PresetValuePut(vkey, description));
            }
        }
        Ok(())
    }

    fn delete_preset(
        &mut self,
        account: &AccountId,
        key: &str,
        value: Option<&str>,
    ) -> Result<PresetDelete, StoreError> {
        let kkey = keys::tuple(&[account.as_str(), key]);
        if self
            .preset_keys
            .get(kkey.as_slice())
            .map_err(engine_error)?
            .is_none()
        {
            return Ok(PresetDelete::KeyNotFound);
        }
        if let Some(value) = value {
            let vkey = keys::tuple(&[account.as_str(), key, value]);
            if self
                .preset_values
                .remove(vkey.as_slice())
                .map_err(engine_error)?
                .is_none()
            {
                return Ok(PresetDelete::ValueNotFound);
            }
            self.effects.push(Effect::PresetValueDelete(vkey));
            return Ok(PresetDelete::Deleted);
        }
        let end = keys::prefix_end(&kkey);
        let has_values = self
            .preset_values
            .range(kkey.as_slice()..end.as_slice())
            .map_err(engine_error)?
            .next()
            .is_some();
        if has_values {
            return Ok(PresetDelete::KeyHasValues);
        }
        self.preset_keys
            .remove(kkey.as_slice())
            .map_err(engine_error)?;
        self.effects.push(Effect::PresetKeyDelete(kkey));
        Ok(PresetDelete::Deleted)
    }

    /// Re-applies one logged effect (idempotent: effects hold final values).
    fn replay(&mut self, effect: &Effect) -> Result<(), StoreError> {
        match effect {
            Effect::ResourcePut(key, value) => {
                let next = codec::decode_tags(value)?;
                self.replay_resource(key, &next)
            }
            Effect::ResourceDelete(key) => self.replay_resource(key, &TagSet::new()),
            Effect::AccountPut(id, record) => {
                self.accounts
                    .insert(id.as_str(), record.as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
            Effect::KeyPut(id, record) => {
                self.access_keys
                    .insert(id.as_str(), record.as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
            Effect::RegisteredPut(key) => {
                self.registered
                    .insert(key.as_slice(), [].as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
            Effect::RegisteredDelete(key) => {
                self.registered
                    .remove(key.as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
            Effect::PresetKeyPut(key, value) => {
                self.preset_keys
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
            Effect::PresetKeyDelete(key) => {
                self.preset_keys
                    .remove(key.as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
            Effect::PresetValuePut(key, value) => {
                self.preset_values
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
            Effect::PresetValueDelete(key) => {
                self.preset_values
                    .remove(key.as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
            Effect::CataloguePut(key, value) => {
                self.catalogue
                    .insert(key.as_slice(), value.as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
            Effect::CatalogueDelete(key) => {
                self.catalogue
                    .remove(key.as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
            Effect::MetaPut(name, value) => {
                self.meta
                    .insert(name.as_str(), value.as_slice())
                    .map_err(engine_error)?;
                Ok(())
            }
        }
    }

    fn replay_resource(&mut self, key: &[u8], next: &TagSet) -> Result<(), StoreError> {
        let corrupt = || StoreError::Corrupt("resource key in the log".into());
        let parts = keys::decode(key).ok_or_else(corrupt)?;
        let [account, region, rtype, id] = parts.as_slice() else {
            return Err(corrupt());
        };
        let account = AccountId::parse(account).ok_or_else(corrupt)?;
        let resource = ResourceRef {
            region: tagd_core::Region::parse(region).ok_or_else(corrupt)?,
            resource_type: tagd_core::ResourceType::parse_canonical(rtype).ok_or_else(corrupt)?,
            id: tagd_core::ResourceId::parse(id).ok_or_else(corrupt)?,
        };
        let current = self.tags_at(key)?;
        self.write_tags(&account, &resource, key, &current, next)
    }
}
