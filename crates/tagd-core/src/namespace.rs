//! Operations on a namespace with an explicit, account-wide tag catalogue (Baidu's): create and
//! delete catalogue tags, bind and unbind them, replace a resource's tag set, and read
//! resources across every region. Each call is one atomic change set.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use crate::account::AccountId;
use crate::change::{
    Atomicity, CatalogueChange, CatalogueTag, ChangeSet, ResourceChange, ResourceProblem, TagOp,
};
use crate::error::CoreError;
use crate::model::{Region, ResourceRef, Tag};
use crate::query::{ResourceQuery, ResourceTags, TagFilter, TypeFilter};
use crate::rules::RuleSet;
use crate::service::{TagService, check_tags};
use crate::store::Store;

/// The namespace and limits an explicit catalogue works under.
#[derive(Clone, Copy, Debug)]
pub struct CatalogueScope<'a> {
    pub rules: &'a RuleSet,
    /// Most catalogue tags an account may hold.
    pub quota: usize,
}

impl CatalogueScope<'_> {
    fn namespace(&self) -> String {
        self.rules.namespace.to_owned()
    }
}

impl<S: Store> TagService<S> {
    async fn apply_catalogue(
        &self,
        account: &AccountId,
        catalogue: CatalogueChange,
        changes: Vec<ResourceChange>,
    ) -> Result<(), CoreError> {
        let set = ChangeSet {
            account: account.clone(),
            changes,
            atomicity: Atomicity::AllOrNothing,
            require_registered: self.requires_registered_resources(),
            catalogue: Some(catalogue),
        };
        let report = self.store().apply(set).await?;
        if report.catalogue_full {
            return Err(CoreError::CatalogueFull);
        }
        if let Some(failure) = report.failures.into_iter().next() {
            return Err(match failure.problem {
                ResourceProblem::TagQuotaExceeded => CoreError::TagQuotaExceeded { failure },
                ResourceProblem::NotRegistered => CoreError::ResourceNotFound { failure },
            });
        }
        Ok(())
    }

    /// Creates catalogue tags (existing ones are skipped).
    pub async fn catalogue_create(
        &self,
        account: &AccountId,
        scope: CatalogueScope<'_>,
        tags: Vec<Tag>,
    ) -> Result<(), CoreError> {
        self.catalogue_edit(account, scope, tags, Vec::new()).await
    }

    /// Deletes catalogue tags (absent ones are skipped) and unbinds them from every resource.
    pub async fn catalogue_delete(
        &self,
        account: &AccountId,
        scope: CatalogueScope<'_>,
        tags: Vec<Tag>,
    ) -> Result<(), CoreError> {
        self.catalogue_edit(account, scope, Vec::new(), tags).await
    }

    /// Creates `create` and deletes `delete` (one of them is the request's non-empty list).
    async fn catalogue_edit(
        &self,
        account: &AccountId,
        scope: CatalogueScope<'_>,
        create: Vec<Tag>,
        delete: Vec<Tag>,
    ) -> Result<(), CoreError> {
        if create.is_empty() && delete.is_empty() {
            return Err(CoreError::NoTags);
        }
        check_tags(scope.rules, &create)?;
        check_tags(scope.rules, &delete)?;
        let change = CatalogueChange {
            namespace: scope.namespace(),
            delete,
            create,
            quota: scope.quota,
        };
        self.apply_catalogue(account, change, Vec::new()).await
    }

    /// The catalogue, narrowed to exact key / value matches, by key then value.
    pub async fn catalogue_list(
        &self,
        account: &AccountId,
        scope: CatalogueScope<'_>,
        key: Option<&str>,
        value: Option<&str>,
    ) -> Result<Vec<CatalogueTag>, CoreError> {
        Ok(self
            .store()
            .list_catalogue(account, scope.rules.namespace, key, value)
            .await?)
    }

    /// Binds one tag to resources, creating it in the catalogue when missing (under the quota).
    /// A resource carrying another value of the key gets this value.
    pub async fn catalogue_bind(
        &self,
        account: &AccountId,
        scope: CatalogueScope<'_>,
        tag: Tag,
        resources: Vec<ResourceRef>,
    ) -> Result<(), CoreError> {
        let create = vec![tag.clone()];
        self.apply_tag_to(account, scope, resources, TagOp::Set(vec![tag]), create)
            .await
    }

    /// Unbinds one tag from resources (bindings that do not exist are skipped).
    pub async fn catalogue_unbind(
        &self,
        account: &AccountId,
        scope: CatalogueScope<'_>,
        tag: Tag,
        resources: Vec<ResourceRef>,
    ) -> Result<(), CoreError> {
        self.apply_tag_to(
            account,
            scope,
            resources,
            TagOp::RemovePairs(vec![tag]),
            Vec::new(),
        )
        .await
    }

    /// Applies a one-tag `op` to each resource, creating `create` in the catalogue first.
    async fn apply_tag_to(
        &self,
        account: &AccountId,
        scope: CatalogueScope<'_>,
        resources: Vec<ResourceRef>,
        op: TagOp,
        create: Vec<Tag>,
    ) -> Result<(), CoreError> {
        let (TagOp::Set(tags) | TagOp::RemovePairs(tags)) = &op else {
            return Err(CoreError::NoTags);
        };
        check_tags(scope.rules, tags)?;
        if resources.is_empty() {
            return Err(CoreError::NoResources);
        }
        let changes = resources
            .into_iter()
            .map(|resource| ResourceChange {
                resource,
                op: op.clone(),
            })
            .collect();
        let change = CatalogueChange {
            namespace: scope.namespace(),
            delete: Vec::new(),
            create,
            quota: scope.quota,
        };
        self.apply_catalogue(account, change, changes).await
    }

    /// Removes every binding of one resource.
    pub async fn catalogue_clear(
        &self,
        account: &AccountId,
        scope: CatalogueScope<'_>,
        resource: ResourceRef,
    ) -> Result<(), CoreError> {
        let change = CatalogueChange {
            namespace: scope.namespace(),
            delete: Vec::new(),
            create: Vec::new(),
            quota: scope.quota,
        };
        self.apply_catalogue(
            account,
            change,
            vec![ResourceChange {
                resource,
                op: TagOp::RemoveAll,
            }],
        )
        .await
    }

    /// Replaces each resource's whole tag set, creating missing catalogue tags (under the quota),
    /// and records each resource's uuid (empty: none).
    pub async fn catalogue_replace(
        &self,
        account: &AccountId,
        scope: CatalogueScope<'_>,
        resources: Vec<(ResourceRef, Vec<Tag>, String)>,
    ) -> Result<(), CoreError> {
        let mut create = Vec::new();
        let mut changes = Vec::with_capacity(resources.len());
        for (resource, tags, uuid) in resources {
            check_tags(scope.rules, &tags)?;
            check_one_value_per_key(&tags)?;
            create.extend(tags.iter().cloned());
            changes.push(ResourceChange {
                resource,
                op: TagOp::Replace { tags, uuid },
            });
        }
        let change = CatalogueChange {
            namespace: scope.namespace(),
            delete: Vec::new(),
            create,
            quota: scope.quota,
        };
        self.apply_catalogue(account, change, changes).await
    }

    /// Every tagged resource of the namespace, in one region or in all, that carries the filters.
    pub async fn catalogue_resources(
        &self,
        account: &AccountId,
        scope: CatalogueScope<'_>,
        region: Option<&Region>,
        filters: Vec<TagFilter>,
    ) -> Result<Vec<ResourceTags>, CoreError> {
        let regions = match region {
            Some(region) => vec![region.clone()],
            None => self.store().list_regions(account).await?,
        };
        let mut out = Vec::new();
        for region in regions {
            let query = ResourceQuery {
                account: account.clone(),
                region,
                types: TypeFilter::Namespace(scope.namespace()),
                ids: Vec::new(),
                tags: filters.clone(),
                start: None,
                limit: usize::MAX,
            };
            out.extend(self.store().query(query).await?);
        }
        Ok(out)
    }
}

/// A resource's replacement set must be one the resource can carry exactly: one value per key.
/// The same tag twice is one tag; two values of one key would leave one of them out silently
/// (bce.md §2.8: the resource is bound to exactly the tags sent), so they are refused.
fn check_one_value_per_key(tags: &[Tag]) -> Result<(), CoreError> {
    let mut values: BTreeMap<&str, &str> = BTreeMap::new();
    for tag in tags {
        match values.entry(tag.key.as_str()) {
            Entry::Vacant(slot) => {
                slot.insert(tag.value.as_str());
            }
            Entry::Occupied(seen) if *seen.get() != tag.value => {
                return Err(CoreError::DuplicateTagKey {
                    key: tag.key.clone(),
                });
            }
            Entry::Occupied(_) => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replacement_set_has_one_value_per_key() {
        let tags = |pairs: &[(&str, &str)]| -> Vec<Tag> {
            pairs.iter().map(|(k, v)| Tag::new(*k, *v)).collect()
        };
        assert!(check_one_value_per_key(&[]).is_ok());
        assert!(check_one_value_per_key(&tags(&[("a", "1"), ("b", "1"), ("a", "1")])).is_ok());
        let refused = check_one_value_per_key(&tags(&[("a", "1"), ("b", ""), ("b", "2")]));
        assert!(
            matches!(&refused, Err(CoreError::DuplicateTagKey { key }) if key == "b"),
            "{refused:?}"
        );
    }
}
