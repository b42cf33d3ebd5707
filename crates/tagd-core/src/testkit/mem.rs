//! `MemStore`: a plain BTreeMap model of [`Store`]. It is the reference the engines are
//! compared against, so it favours obviousness over speed (queries scan everything).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use crate::account::{AccessKeyId, Account, AccountId, Credential};
use crate::catalogue::{KeyQuery, PresetDelete, PresetKey, PresetKeyInfo, TextMatch, ValueQuery};
use crate::change::{
    ApplyReport, Atomicity, CatalogueTag, ChangeSet, ResourceFailure, ResourceProblem,
};
use crate::error::StoreError;
use crate::model::{Region, ResourceRef};
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
    /// (account, key) -> (description, value -> description)
    presets: BTreeMap<(AccountId, String), (String, BTreeMap<String, String>)>,
    /// (account, namespace, key, value) -> tag id
    catalogue: BTreeMap<(AccountId, String, String, String), u64>,
    next_catalogue_id: u64,
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
        let mut guard = self.lock()?;
        // Work on a copy so that a refused change set leaves nothing behind.
        let mut state = State {
            accounts: BTreeMap::new(),
            keys: BTreeMap::new(),
            tags: guard.tags.clone(),
            registered: BTreeSet::new(),
            presets: BTreeMap::new(),
            catalogue: guard.catalogue.clone(),
            next_catalogue_id: guard.next_catalogue_id,
        };
        if let Some(cat) = &changes.catalogue {
            let mut created = false;
            for tag in &cat.delete {
                let id = (
                    changes.account.clone(),
                    cat.namespace.clone(),
                    tag.key.clone(),
                    tag.value.clone(),
                );
                if state.catalogue.remove(&id).is_none() {
                    continue;
                }
                for ((account, r), tags) in &mut state.tags {
                    let carries = tags.get(&tag.key) == Some(tag.value.as_str());
                    if account == &changes.account
                        && r.resource_type.namespace() == cat.namespace
                        && carries
                    {
                        tags.remove(&tag.key);
                    }
                }
                state.tags.retain(|_, tags| !tags.is_empty());
            }
            for tag in &cat.create {
                let id = (
                    changes.account.clone(),
                    cat.namespace.clone(),
                    tag.key.clone(),
                    tag.value.clone(),
                );
                if !state.catalogue.contains_key(&id) {
                    state.next_catalogue_id += 1;
                    state.catalogue.insert(id, state.next_catalogue_id);
                    created = true;
                }
            }
            let held = state
                .catalogue
                .keys()
                .filter(|(a, ns, _, _)| a == &changes.account && ns == &cat.namespace)
                .count();
            if created && held > cat.quota {
                return Ok(ApplyReport {
                    failures: Vec::new(),
                    catalogue_full: true,
                });
            }
        }
        let mut failures = Vec::new();
        let mut writes = Vec::new();
        for (index, change) in changes.changes.iter().enumerate() {
            let key = (changes.account.clone(), change.resource.clone());
            let fail = |problem| ResourceFailure {
                index,
                resource: change.resource.clone(),
                problem,
            };
            if changes.require_registered && !guard.registered.contains(&key) {
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
            return Ok(ApplyReport {
                failures,
                catalogue_full: false,
            });
        }
        for (key, next) in writes {
            if next.is_empty() {
                state.tags.remove(&key);
            } else {
                state.tags.insert(key, next);
            }
        }
        guard.tags = state.tags;
        guard.catalogue = state.catalogue;
        guard.next_catalogue_id = state.next_catalogue_id;
        Ok(ApplyReport {
            failures,
            catalogue_full: false,
        })
    }

    async fn list_catalogue(
        &self,
        account: &AccountId,
        namespace: &str,
        key: Option<&str>,
        value: Option<&str>,
    ) -> Result<Vec<CatalogueTag>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .catalogue
            .iter()
            .filter(|((a, ns, k, v), _)| {
                a == account
                    && ns == namespace
                    && key.is_none_or(|want| k == want)
                    && value.is_none_or(|want| v == want)
            })
            .map(|((_, _, k, v), id)| CatalogueTag {
                key: k.clone(),
                value: v.clone(),
                id: *id,
            })
            .collect())
    }

    async fn list_regions(&self, account: &AccountId) -> Result<Vec<Region>, StoreError> {
        let state = self.lock()?;
        let regions: BTreeSet<Region> = state
            .tags
            .keys()
            .filter(|(a, _)| a == account)
            .map(|(_, r)| r.region.clone())
            .collect();
        Ok(regions.into_iter().collect())
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

    async fn list_tag_keys(&self, q: KeyQuery) -> Result<Vec<String>, StoreError> {
        let state = self.lock()?;
        let mut keys = BTreeSet::new();
        for ((account, r), tags) in &state.tags {
            if account != &q.account || r.region != q.region || !q.types.admits(&r.resource_type) {
                continue;
            }
            for (k, _) in tags.iter() {
                let after = q.after.as_deref().is_none_or(|a| k > a);
                if after && q.matching.admits(k) {
                    keys.insert(k.to_owned());
                }
            }
        }
        Ok(keys.into_iter().take(q.limit).collect())
    }

    async fn list_tag_values(&self, q: ValueQuery) -> Result<Vec<String>, StoreError> {
        let state = self.lock()?;
        let mut values = BTreeSet::new();
        for ((account, r), tags) in &state.tags {
            if account != &q.account || r.region != q.region || !q.types.admits(&r.resource_type) {
                continue;
            }
            if let Some(v) = tags.get(&q.key) {
                let after = q.after.as_deref().is_none_or(|a| v > a);
                if after && q.matching.admits(v) {
                    values.insert(v.to_owned());
                }
            }
        }
        Ok(values.into_iter().take(q.limit).collect())
    }

    async fn put_presets(
        &self,
        account: &AccountId,
        presets: Vec<PresetKey>,
    ) -> Result<(), StoreError> {
        let mut state = self.lock()?;
        for preset in presets {
            let entry = state
                .presets
                .entry((account.clone(), preset.key))
                .or_insert_with(|| (String::new(), BTreeMap::new()));
            entry.0 = preset.description;
            for v in preset.values {
                entry.1.insert(v.value, v.description);
            }
        }
        Ok(())
    }

    async fn delete_preset(
        &self,
        account: &AccountId,
        key: &str,
        value: Option<&str>,
    ) -> Result<PresetDelete, StoreError> {
        let mut state = self.lock()?;
        let id = (account.clone(), key.to_owned());
        let Some((_, values)) = state.presets.get_mut(&id) else {
            return Ok(PresetDelete::KeyNotFound);
        };
        match value {
            Some(v) => Ok(if values.remove(v).is_some() {
                PresetDelete::Deleted
            } else {
                PresetDelete::ValueNotFound
            }),
            None if !values.is_empty() => Ok(PresetDelete::KeyHasValues),
            None => {
                state.presets.remove(&id);
                Ok(PresetDelete::Deleted)
            }
        }
    }

    async fn list_preset_keys(
        &self,
        account: &AccountId,
        matching: TextMatch,
        after: Option<String>,
        limit: usize,
    ) -> Result<Vec<PresetKeyInfo>, StoreError> {
        let state = self.lock()?;
        Ok(state
            .presets
            .iter()
            .filter(|((a, k), _)| {
                a == account
                    && matching.admits(k)
                    && after.as_deref().is_none_or(|x| k.as_str() > x)
            })
            .take(limit)
            .map(|((_, k), (d, _))| PresetKeyInfo {
                key: k.clone(),
                description: d.clone(),
            })
            .collect())
    }

    async fn list_preset_values(
        &self,
        account: &AccountId,
        key: &str,
        matching: TextMatch,
        after: Option<String>,
        limit: usize,
    ) -> Result<Option<Vec<String>>, StoreError> {
        let state = self.lock()?;
        let Some((_, values)) = state.presets.get(&(account.clone(), key.to_owned())) else {
            return Ok(None);
        };
        Ok(Some(
            values
                .keys()
                .filter(|v| matching.admits(v) && after.as_deref().is_none_or(|x| v.as_str() > x))
                .take(limit)
                .cloned()
                .collect(),
        ))
    }

    async fn token_key(&self) -> Result<[u8; 32], StoreError> {
        Ok(self.token_key)
    }
}
