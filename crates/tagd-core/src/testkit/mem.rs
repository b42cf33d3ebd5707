//! `MemStore`: a plain BTreeMap model of [`Store`]. It is the reference the engines are
//! compared against, so it favours obviousness over speed (queries scan everything).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use crate::account::{AccessKeyId, Account, AccountId, Credential};
use crate::change::{ApplyReport, Atomicity, ChangeSet, ResourceFailure, ResourceProblem};
use crate::error::StoreError;
use crate::model::ResourceRef;
use crate::query::{ResourceQuery, ResourceTags};
use crate::rules::rules_for_namespace;
use crate::store::Store;
use crate::tagset::TagSet;

#[derive(Default)]
struct State {
    accounts: BTreeMap<AccountId, Account>,
    keys: BTreeMap<AccessKeyId, Credential>,
    tags: BTreeMap<(AccountId, ResourceRef), TagSet>,
    registered: BTreeSet<(AccountId, ResourceRef)>,
}

/// An in-memory store. Clones share state.
#[derive(Clone, Default)]
pub struct MemStore {
    state: Arc<Mutex<State>>,
    token_key: [u8; 32],
}

impl MemStore {
    pub fn new() -> Self {
        Self {
            state: Arc::default(),
            token_key: crate::account::random_bytes(),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, State>, StoreError> {
        self.state
            .lock()
            .map_err(|_| StoreError::Unavailable("poisoned".into()))
    }
}

impl Store for MemStore {
    async fn apply(&self, changes: ChangeSet) -> Result<ApplyReport, StoreError> {
        let mut state = self.lock()?;
        let mut failures = Vec::new();
        let mut writes = Vec::new();
        for (index, change) in changes.changes.iter().enumerate() {
            let key = (changes.account.clone(), change.resource.clone());
            let fail = |problem| ResourceFailure {
                index,
                resource: change.resource.clone(),
                problem,
            };
            if changes.require_registered && !state.registered.contains(&key) {
                failures.push(fail(ResourceProblem::NotRegistered));
                continue;
            }
            let current = state.tags.get(&key).cloned().unwrap_or_default();
            let rules = rules_for_namespace(change.resource.resource_type.namespace());
            match current.apply(&change.op, rules) {
                Ok(next) => writes.push((key, next)),
                Err(problem) => failures.push(fail(problem)),
            }
        }
        if changes.atomicity == Atomicity::AllOrNothing && !failures.is_empty() {
            failures.truncate(1);
            return Ok(ApplyReport { failures });
        }
        for (key, next) in writes {
            if next.is_empty() {
                state.tags.remove(&key);
            } else {
                state.tags.insert(key, next);
            }
        }
        Ok(ApplyReport { failures })
    }

    async fn get_tags(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> Result<TagSet, StoreError> {
        let state = self.lock()?;
        Ok(state
            .tags
            .get(&(account.clone(), resource.clone()))
            .cloned()
            .unwrap_or_default())
    }

    async fn query(&self, q: ResourceQuery) -> Result<Vec<ResourceTags>, StoreError> {
        let state = self.lock()?;
        let mut out = Vec::new();
        let mut candidates: Vec<(&ResourceRef, &TagSet)> = state
            .tags
            .iter()
            .filter(|((account, r), _)| account == &q.account && r.region == q.region)
            .map(|((_, r), tags)| (r, tags))
            .collect();
        candidates
            .sort_by(|a, b| (&a.0.resource_type, &a.0.id).cmp(&(&b.0.resource_type, &b.0.id)));
        for (resource, tags) in candidates {
            let t = &resource.resource_type;
            if !q.types.admits(t) || q.start.as_ref().is_some_and(|c| !c.admits(t, &resource.id)) {
                continue;
            }
            if !q.ids.is_empty() && !q.ids.iter().any(|(it, id)| it == t && id == &resource.id) {
                continue;
            }
            if !q.tags_match(tags) {
                continue;
            }
            out.push(ResourceTags {
                resource: resource.clone(),
                tags: tags.clone(),
            });
            if out.len() == q.limit {
                break;
            }
        }
        Ok(out)
    }

    async fn create_account(&self, account: Account, key: Credential) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        if state.keys.contains_key(&key.access_key_id) || state.accounts.contains_key(&account.id) {
            return Err(StoreError::Conflict("exists".into()));
        }
        state.accounts.insert(account.id.clone(), account);
        state.keys.insert(key.access_key_id.clone(), key);
        Ok(())
    }

    async fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        Ok(self.lock()?.accounts.get(id).cloned())
    }

    async fn list_accounts(&self) -> Result<Vec<Account>, StoreError> {
        Ok(self.lock()?.accounts.values().cloned().collect())
    }

    async fn put_key(&self, key: Credential) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        if !state.accounts.contains_key(&key.account_id) {
            return Err(StoreError::Conflict("no such account".into()));
        }
        state.keys.insert(key.access_key_id.clone(), key);
        Ok(())
    }

    async fn get_key(&self, id: &AccessKeyId) -> Result<Option<Credential>, StoreError> {
        Ok(self.lock()?.keys.get(id).cloned())
    }

    async fn list_keys(&self, account: &AccountId) -> Result<Vec<Credential>, StoreError> {
        Ok(self
            .lock()?
            .keys
            .values()
            .filter(|k| &k.account_id == account)
            .cloned()
            .collect())
    }

    async fn register_resource(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> Result<(), StoreError> {
        self.lock()?
            .registered
            .insert((account.clone(), resource.clone()));
        Ok(())
    }

    async fn deregister_resource(
        &self,
        account: &AccountId,
        resource: &ResourceRef,
    ) -> Result<bool, StoreError> {
        let mut state = self.lock()?;
        let key = (account.clone(), resource.clone());
        state.tags.remove(&key);
        Ok(state.registered.remove(&key))
    }

    async fn token_key(&self) -> Result<[u8; 32], StoreError> {
        Ok(self.token_key)
    }
}
