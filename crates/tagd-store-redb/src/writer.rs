//! The single writer thread: drains queued writes, applies a batch in one redb transaction and
//! commits once (`Durability::Immediate`, so one fsync serves the whole batch), then answers
//! every waiter. A change set that fails its checks is skipped without touching the batch.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::time::Instant;

use redb::{Database, ReadableTable, Table, WriteTransaction};
use tagd_core::change::ResourceProblem;
use tagd_core::rules::rules_for_namespace;
use tagd_core::{
    Account, AccountId, ApplyReport, Atomicity, ChangeSet, Credential, ResourceFailure,
    ResourceRef, StoreError, TagSet,
};
use tokio::sync::oneshot;

use crate::codec;
use crate::engine_error;
use crate::tables::{
    ACCESS_KEYS, ACCOUNTS, KEY_INDEX, REGISTERED, RESOURCES, TAG_INDEX, key_index_key,
    resource_key, tag_index_key,
};

/// Most writes one commit carries.
const MAX_BATCH: usize = 1024;

/// A write and the channel its answer goes back on.
pub enum WriteOp {
    Apply(ChangeSet, oneshot::Sender<Result<ApplyReport, StoreError>>),
    CreateAccount(Account, Credential, oneshot::Sender<Result<(), StoreError>>),
    PutKey(Credential, oneshot::Sender<Result<(), StoreError>>),
    Register(
        AccountId,
        ResourceRef,
        oneshot::Sender<Result<(), StoreError>>,
    ),
    Deregister(
        AccountId,
        ResourceRef,
        oneshot::Sender<Result<bool, StoreError>>,
    ),
}

/// An answer held back until the batch commits.
enum Pending {
    Apply(
        oneshot::Sender<Result<ApplyReport, StoreError>>,
        Result<ApplyReport, StoreError>,
    ),
    Unit(
        oneshot::Sender<Result<(), StoreError>>,
        Result<(), StoreError>,
    ),
    Bool(
        oneshot::Sender<Result<bool, StoreError>>,
        Result<bool, StoreError>,
    ),
}

impl Pending {
    /// The engine failure this op hit, if any (as opposed to a logical refusal).
    fn engine_failure(&self) -> Option<String> {
        let (Pending::Apply(_, Err(err)) | Pending::Unit(_, Err(err)) | Pending::Bool(_, Err(err))) =
            self
        else {
            return None;
        };
        match err {
            StoreError::Conflict(_) => None,
            other => Some(other.to_string()),
        }
    }

    /// Sends the held answer, or `failure` if the commit failed.
    fn answer(self, commit: &Result<(), String>) {
        // A waiter that went away (client disconnected) is not an error: the write stands.
        match (self, commit) {
            (Pending::Apply(tx, r), Ok(())) => drop(tx.send(r)),
            (Pending::Unit(tx, r), Ok(())) => drop(tx.send(r)),
            (Pending::Bool(tx, r), Ok(())) => drop(tx.send(r)),
            (Pending::Apply(tx, _), Err(e)) => drop(tx.send(Err(StoreError::Engine(e.clone())))),
            (Pending::Unit(tx, _), Err(e)) => drop(tx.send(Err(StoreError::Engine(e.clone())))),
            (Pending::Bool(tx, _), Err(e)) => drop(tx.send(Err(StoreError::Engine(e.clone())))),
        }
    }
}

/// Runs until every sender is gone.
pub fn run(db: &Database, queue: &Receiver<WriteOp>) {
    while let Ok(first) = queue.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match queue.try_recv() {
                Ok(op) => batch.push(op),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        commit_batch(db, batch);
    }
}

fn commit_batch(db: &Database, batch: Vec<WriteOp>) {
    let started = Instant::now();
    let size = batch.len();
    let mut pending = Vec::with_capacity(size);
    // An engine failure inside any op aborts the whole transaction (nothing of the batch is
    // committed, every waiter is told); logical refusals (a conflict, a quota) only skip the op.
    let outcome = (|| -> Result<(), String> {
        let txn = db.begin_write().map_err(|e| e.to_string())?;
        {
            let mut tables = Tables::open(&txn).map_err(|e| e.to_string())?;
            for op in batch {
                let done = tables.run(op);
                let failed = done.engine_failure();
                pending.push(done);
                if let Some(err) = failed {
                    return Err(err);
                }
            }
        }
        txn.commit().map_err(|e| e.to_string())
    })();
    if let Err(err) = &outcome {
        tracing::error!(error = %err, batch = size, "store commit failed");
    }
    metrics::histogram!("tagd_store_commit_batch_size").record(size as f64);
    metrics::histogram!("tagd_store_commit_seconds").record(started.elapsed().as_secs_f64());
    for p in pending {
        p.answer(&outcome);
    }
}

struct Tables<'txn> {
    accounts: Table<'txn, &'static str, &'static [u8]>,
    access_keys: Table<'txn, &'static str, &'static [u8]>,
    resources: Table<'txn, &'static [u8], &'static [u8]>,
    tag_index: Table<'txn, &'static [u8], &'static [u8]>,
    key_index: Table<'txn, &'static [u8], &'static [u8]>,
    registered: Table<'txn, &'static [u8], &'static [u8]>,
}

impl<'txn> Tables<'txn> {
    fn open(txn: &'txn WriteTransaction) -> Result<Self, redb::TableError> {
        Ok(Self {
            accounts: txn.open_table(ACCOUNTS)?,
            access_keys: txn.open_table(ACCESS_KEYS)?,
            resources: txn.open_table(RESOURCES)?,
            tag_index: txn.open_table(TAG_INDEX)?,
            key_index: txn.open_table(KEY_INDEX)?,
            registered: txn.open_table(REGISTERED)?,
        })
    }

    fn run(&mut self, op: WriteOp) -> Pending {
        match op {
            WriteOp::Apply(changes, tx) => Pending::Apply(tx, self.apply(&changes)),
            WriteOp::CreateAccount(account, key, tx) => {
                Pending::Unit(tx, self.create_account(&account, &key))
            }
            WriteOp::PutKey(key, tx) => Pending::Unit(tx, self.put_key(&key)),
            WriteOp::Register(account, resource, tx) => {
                let key = resource_key(&account, &resource);
                let result = self.registered.insert(key.as_slice(), [].as_slice());
                Pending::Unit(tx, result.map(drop).map_err(engine_error))
            }
            WriteOp::Deregister(account, resource, tx) => {
                Pending::Bool(tx, self.deregister(&account, &resource))
            }
        }
    }

    /// Checks every change against the state it meets, then writes all of them (or, for
    /// all-or-nothing change sets with a failure, none).
    fn apply(&mut self, changes: &ChangeSet) -> Result<ApplyReport, StoreError> {
        let mut failures = Vec::new();
        let mut writes = Vec::with_capacity(changes.changes.len());
        for (index, change) in changes.changes.iter().enumerate() {
            let key = resource_key(&changes.account, &change.resource);
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
            let current = self.tags_at(&key)?;
            let rules = rules_for_namespace(change.resource.resource_type.namespace());
            match current.apply(&change.op, rules) {
                Ok(next) => writes.push((key, &change.resource, current, next)),
                Err(problem) => failures.push(ResourceFailure {
                    index,
                    resource: change.resource.clone(),
                    problem,
                }),
            }
        }
        if changes.atomicity == Atomicity::AllOrNothing && !failures.is_empty() {
            failures.truncate(1);
            return Ok(ApplyReport { failures });
        }
        for (key, resource, current, next) in writes {
            self.write_tags(&changes.account, resource, &key, &current, &next)?;
        }
        Ok(ApplyReport { failures })
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
        for (k, v) in current.iter() {
            if next.get(k) != Some(v) {
                let kv = tag_index_key(account, resource, k, v);
                self.tag_index.remove(kv.as_slice()).map_err(engine_error)?;
            }
            if next.get(k).is_none() {
                let ko = key_index_key(account, resource, k);
                self.key_index.remove(ko.as_slice()).map_err(engine_error)?;
            }
        }
        for (k, v) in next.iter() {
            if current.get(k) != Some(v) {
                let kv = tag_index_key(account, resource, k, v);
                self.tag_index
                    .insert(kv.as_slice(), [].as_slice())
                    .map_err(engine_error)?;
            }
            if current.get(k).is_none() {
                let ko = key_index_key(account, resource, k);
                self.key_index
                    .insert(ko.as_slice(), [].as_slice())
                    .map_err(engine_error)?;
            }
        }
        if next.is_empty() {
            self.resources.remove(key).map_err(engine_error)?;
        } else {
            let bytes = codec::encode_tags(next);
            self.resources
                .insert(key, bytes.as_slice())
                .map_err(engine_error)?;
        }
        Ok(())
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
        let current = self.tags_at(&key)?;
        self.write_tags(account, resource, &key, &current, &TagSet::new())?;
        Ok(was)
    }
}
