//! The tag service: validates whole requests, builds change sets, pages queries. Every dialect
//! calls this; it is the only caller of [`Store`] on the request path.

use std::collections::{BTreeSet, HashMap};
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::account::{AccessKeyId, AccountId, Credential};
use crate::catalogue::{KeyQuery, PresetDelete, PresetKey, PresetKeyInfo, TextMatch, ValueQuery};
use crate::change::{ApplyReport, Atomicity, ChangeSet, ResourceChange, ResourceProblem, TagOp};
use crate::error::CoreError;
use crate::model::{ResourceId, ResourceRef, ResourceType, Tag};
use crate::page::{TokenCodec, fingerprint};
use crate::query::{Cursor, ResourceQuery, ResourceTags, TypeFilter};
use crate::rules::{CallLimits, RuleSet, rules_for_namespace};
use crate::store::Store;

/// Which keys an untag request removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum UntagKeys {
    Keys(Vec<String>),
    /// Every user tag (system tags stay).
    All,
}

/// One (resource, tag) row of a row-paged listing (RDS `ListTagResources`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TagRow {
    pub resource_type: ResourceType,
    pub id: ResourceId,
    pub key: String,
    pub value: String,
}

/// A page of results and the token for the next one (`None` on the last page).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_token: Option<String>,
}

/// The tag service over one store.
pub struct TagService<S> {
    store: S,
    tokens: TokenCodec,
    require_registered: bool,
    /// Keys seen recently, with when they were read; the admin paths that change a key call
    /// [`Self::forget_credential`].
    credentials: RwLock<HashMap<AccessKeyId, (Credential, Instant)>>,
    /// How long a key read from the store is trusted; `None`: until this process changes it.
    credential_ttl: Option<Duration>,
}

impl<S: Store> TagService<S> {
    /// Opens the service; reads the store's page-token key.
    pub async fn new(store: S, require_registered: bool) -> Result<Self, CoreError> {
        let key = store.token_key().await?;
        Ok(Self {
            store,
            tokens: TokenCodec::new(key),
            require_registered,
            credentials: RwLock::default(),
            credential_ttl: None,
        })
    }

    /// Trusts a key read from the store for `ttl` only. For a store that other processes
    /// change too (several nodes on one database): a key disabled or rotated through another
    /// node stops working here within `ttl`. Without it, a key is trusted until this process
    /// changes it, which is enough when no other process can.
    #[must_use]
    pub fn with_credential_ttl(mut self, ttl: Duration) -> Self {
        self.credential_ttl = Some(ttl);
        self
    }

    /// The key with this id (enabled or not), from memory when it was read recently enough.
    pub async fn credential(&self, id: &AccessKeyId) -> Result<Option<Credential>, CoreError> {
        if let Ok(cache) = self.credentials.read()
            && let Some((found, read_at)) = cache.get(id)
            && self
                .credential_ttl
                .is_none_or(|ttl| read_at.elapsed() < ttl)
        {
            return Ok(Some(found.clone()));
        }
        let found = self.store.get_key(id).await?;
        if let Ok(mut cache) = self.credentials.write() {
            match &found {
                Some(credential) => {
                    cache.insert(id.clone(), (credential.clone(), Instant::now()));
                }
                None => {
                    cache.remove(id);
                }
            }
        }
        Ok(found)
    }

    /// Drops a cached key after it changed (disabled, rotated).
    pub fn forget_credential(&self, id: &AccessKeyId) {
        if let Ok(mut cache) = self.credentials.write() {
            cache.remove(id);
        }
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    pub fn requires_registered_resources(&self) -> bool {
        self.require_registered
    }

    /// Adds or overwrites `tags` on every resource. The request is validated whole first.
    pub async fn tag_resources(
        &self,
        account: &AccountId,
        resources: Vec<ResourceRef>,
        tags: Vec<Tag>,
        limits: &CallLimits,
        atomicity: Atomicity,
    ) -> Result<ApplyReport, CoreError> {
        let resources = check_resources(resources, limits)?;
        if tags.is_empty() {
            return Err(CoreError::NoTags);
        }
        if tags.len() > limits.max_tags {
            return Err(CoreError::TooManyTags {
                max: limits.max_tags,
            });
        }
        for rules in namespaces(&resources) {
            check_tags(rules, &tags)?;
        }
        let mut seen = BTreeSet::new();
        for tag in &tags {
            if !seen.insert(tag.key.as_str()) {
                return Err(CoreError::DuplicateTagKey {
                    key: tag.key.clone(),
                });
            }
        }
        let op = TagOp::Set(tags);
        self.apply(account, resources, &op, atomicity).await
    }

    /// Removes keys (or every user tag) from every resource. Absent keys are ignored.
    pub async fn untag_resources(
        &self,
        account: &AccountId,
        resources: Vec<ResourceRef>,
        keys: UntagKeys,
        limits: &CallLimits,
        atomicity: Atomicity,
    ) -> Result<ApplyReport, CoreError> {
        let resources = check_resources(resources, limits)?;
        let op = match keys {
            UntagKeys::All => TagOp::RemoveAll,
            UntagKeys::Keys(keys) => {
                if keys.is_empty() {
                    return Err(CoreError::NoTags);
                }
                if keys.len() > limits.max_untag_keys {
                    return Err(CoreError::TooManyTags {
                        max: limits.max_untag_keys,
                    });
                }
                for rules in namespaces(&resources) {
                    for (index, key) in keys.iter().enumerate() {
                        check_removable_key(rules, key)
                            .map_err(|problem| CoreError::InvalidTag { index, problem })?;
                    }
                }
                TagOp::Remove(keys)
            }
        };
        self.apply(account, resources, &op, atomicity).await
    }

    async fn apply(
        &self,
        account: &AccountId,
        resources: Vec<ResourceRef>,
        op: &TagOp,
        atomicity: Atomicity,
    ) -> Result<ApplyReport, CoreError> {
        let changes = resources
            .into_iter()
            .map(|resource| ResourceChange {
                resource,
                op: op.clone(),
            })
            .collect();
        let change_set = ChangeSet {
            account: account.clone(),
            changes,
            atomicity,
            require_registered: self.require_registered,
            catalogue: None,
        };
        let report = self.store.apply(change_set).await?;
        if atomicity == Atomicity::AllOrNothing
            && let Some(failure) = report.failures.first()
        {
            let failure = failure.clone();
            return Err(match failure.problem {
                ResourceProblem::TagQuotaExceeded => CoreError::TagQuotaExceeded { failure },
                ResourceProblem::NotRegistered => CoreError::ResourceNotFound { failure },
            });
        }
        Ok(report)
    }

    /// Lists one row per (resource, tag) pair, in (type, id, key) order, `max_rows` a page.
    /// `token` is the previous page's `next_token`.
    pub async fn list_tag_rows(
        &self,
        mut query: ResourceQuery,
        token: Option<&str>,
        max_rows: usize,
    ) -> Result<Page<TagRow>, CoreError> {
        let scope = query_scope("rows", &query);
        // The first row of this page: the token's (type, id, key).
        let mut first_row: Option<(ResourceType, ResourceId, String)> = None;
        query.start = None;
        if let Some(token) = token {
            let fields = self
                .tokens
                .open(&scope, token)
                .ok_or(CoreError::InvalidPageToken)?;
            let [rtype, id, key] = fields.as_slice() else {
                return Err(CoreError::InvalidPageToken);
            };
            let resource_type =
                ResourceType::parse_canonical(rtype).ok_or(CoreError::InvalidPageToken)?;
            let id = ResourceId::parse(id).ok_or(CoreError::InvalidPageToken)?;
            query.start = Some(Cursor {
                resource_type: resource_type.clone(),
                id: id.clone(),
                inclusive: true,
            });
            first_row = Some((resource_type, id, key.clone()));
        }
        // Resources are read in growing chunks: a page of 50 rows over resources with 5 tags
        // needs ~11 of them, not the 51 that would cover the worst case of one tag each.
        let mut chunk = max_rows.clamp(1, 8);
        let mut rows = Vec::new();
        loop {
            query.limit = chunk;
            let resources = self.store.query(query.clone()).await?;
            for found in &resources {
                // Rows of the token's resource before its key were on the previous page.
                let skip_below = first_row.as_ref().and_then(|(t, id, key)| {
                    (t == &found.resource.resource_type && id == &found.resource.id).then_some(key)
                });
                for (key, value) in found.tags.iter() {
                    if skip_below.is_some_and(|first| key < first.as_str()) {
                        continue;
                    }
                    let row = TagRow {
                        resource_type: found.resource.resource_type.clone(),
                        id: found.resource.id.clone(),
                        key: key.to_owned(),
                        value: value.to_owned(),
                    };
                    if rows.len() == max_rows {
                        let next = self.tokens.seal(
                            &scope,
                            &[row.resource_type.as_str(), row.id.as_str(), &row.key],
                        );
                        return Ok(Page {
                            items: rows,
                            next_token: Some(next),
                        });
                    }
                    rows.push(row);
                }
            }
            let Some(last) = resources.last() else { break };
            if resources.len() < chunk {
                break;
            }
            query.start = Some(Cursor {
                resource_type: last.resource.resource_type.clone(),
                id: last.resource.id.clone(),
                inclusive: false,
            });
            chunk = (chunk * 2).min(max_rows + 1);
        }
        Ok(Page {
            items: rows,
            next_token: None,
        })
    }

    /// Lists whole resources with all their tags, `page_size` resources a page.
    pub async fn list_resources(
        &self,
        mut query: ResourceQuery,
        token: Option<&str>,
        page_size: usize,
    ) -> Result<Page<ResourceTags>, CoreError> {
        let scope = query_scope("resources", &query);
        query.start = None;
        if let Some(token) = token {
            let fields = self
                .tokens
                .open(&scope, token)
                .ok_or(CoreError::InvalidPageToken)?;
            let [rtype, id] = fields.as_slice() else {
                return Err(CoreError::InvalidPageToken);
            };
            let resource_type =
                ResourceType::parse_canonical(rtype).ok_or(CoreError::InvalidPageToken)?;
            let id = ResourceId::parse(id).ok_or(CoreError::InvalidPageToken)?;
            query.start = Some(Cursor {
                resource_type,
                id,
                inclusive: true,
            });
        }
        query.limit = page_size + 1;
        let mut items = self.store.query(query).await?;
        let mut next_token = None;
        if items.len() > page_size {
            let next = items.swap_remove(page_size);
            items.truncate(page_size);
            next_token = Some(self.tokens.seal(
                &scope,
                &[
                    next.resource.resource_type.as_str(),
                    next.resource.id.as_str(),
                ],
            ));
        }
        Ok(Page { items, next_token })
    }
}

impl<S: Store> TagService<S> {
    /// One page of the keys resources carry now (`query.after`/`limit` are set from the token).
    pub async fn list_tag_keys(
        &self,
        mut query: KeyQuery,
        token: Option<&str>,
        page_size: usize,
    ) -> Result<Page<String>, CoreError> {
        let scope = catalogue_scope(
            "keys",
            &query.account,
            Some(&query.region),
            &query.types,
            None,
            &query.matching,
        );
        query.after = self.open_after(&scope, token)?;
        query.limit = page_size + 1;
        let items = self.store.list_tag_keys(query).await?;
        Ok(self.page_of(&scope, items, page_size, Clone::clone))
    }

    /// One page of the values of one key resources carry now.
    pub async fn list_tag_values(
        &self,
        mut query: ValueQuery,
        token: Option<&str>,
        page_size: usize,
    ) -> Result<Page<String>, CoreError> {
        let scope = catalogue_scope(
            "values",
            &query.account,
            Some(&query.region),
            &query.types,
            Some(&query.key),
            &query.matching,
        );
        query.after = self.open_after(&scope, token)?;
        query.limit = page_size + 1;
        let items = self.store.list_tag_values(query).await?;
        Ok(self.page_of(&scope, items, page_size, Clone::clone))
    }

    /// One page of the account's preset keys.
    pub async fn list_preset_keys(
        &self,
        account: &AccountId,
        matching: TextMatch,
        token: Option<&str>,
        page_size: usize,
    ) -> Result<Page<PresetKeyInfo>, CoreError> {
        let any = TypeFilter::Namespace(String::new());
        let scope = catalogue_scope("preset-keys", account, None, &any, None, &matching);
        let after = self.open_after(&scope, token)?;
        let items = self
            .store
            .list_preset_keys(account, matching, after, page_size + 1)
            .await?;
        Ok(self.page_of(&scope, items, page_size, |k: &PresetKeyInfo| k.key.clone()))
    }

    /// One page of a preset key's values; `None` if the key is not a preset key.
    pub async fn list_preset_values(
        &self,
        account: &AccountId,
        key: &str,
        matching: TextMatch,
        token: Option<&str>,
        page_size: usize,
    ) -> Result<Option<Page<String>>, CoreError> {
        let any = TypeFilter::Namespace(String::new());
        let scope = catalogue_scope("preset-values", account, None, &any, Some(key), &matching);
        let after = self.open_after(&scope, token)?;
        let found = self
            .store
            .list_preset_values(account, key, matching, after, page_size + 1)
            .await?;
        Ok(found.map(|items| self.page_of(&scope, items, page_size, Clone::clone)))
    }

    /// Creates or updates preset keys and values after checking them against `rules` (the
    /// first bad key or value is reported by its position: keys count from 0 in order, and
    /// `InvalidTag.index` is the key's position).
    pub async fn create_presets(
        &self,
        account: &AccountId,
        presets: Vec<PresetKey>,
        rules: &RuleSet,
    ) -> Result<(), CoreError> {
        if presets.is_empty() {
            return Err(CoreError::NoTags);
        }
        for (index, preset) in presets.iter().enumerate() {
            rules
                .check_key(&preset.key)
                .map_err(|problem| CoreError::InvalidTag { index, problem })?;
            for value in &preset.values {
                rules
                    .check_value(&value.value)
                    .map_err(|problem| CoreError::InvalidTag { index, problem })?;
            }
        }
        self.store.put_presets(account, presets).await?;
        Ok(())
    }

    /// Deletes a preset value, or a preset key without values.
    pub async fn delete_preset(
        &self,
        account: &AccountId,
        key: &str,
        value: Option<&str>,
    ) -> Result<PresetDelete, CoreError> {
        Ok(self.store.delete_preset(account, key, value).await?)
    }

    /// The exclusive start a catalogue token carries.
    fn open_after(
        &self,
        scope: &[u8; 32],
        token: Option<&str>,
    ) -> Result<Option<String>, CoreError> {
        let Some(token) = token else {
            return Ok(None);
        };
        let fields = self
            .tokens
            .open(scope, token)
            .ok_or(CoreError::InvalidPageToken)?;
        let [after] = fields.as_slice() else {
            return Err(CoreError::InvalidPageToken);
        };
        Ok(Some(after.clone()))
    }

    /// Cuts a `page_size + 1` read to a page; the token names the page's last item.
    fn page_of<T>(
        &self,
        scope: &[u8; 32],
        mut items: Vec<T>,
        page_size: usize,
        name: impl Fn(&T) -> String,
    ) -> Page<T> {
        let mut next_token = None;
        if items.len() > page_size {
            items.truncate(page_size);
            if let Some(last) = items.last() {
                next_token = Some(self.tokens.seal(scope, &[&name(last)]));
            }
        }
        Page { items, next_token }
    }
}

/// What makes two catalogue listings "the same" for their page tokens.
fn catalogue_scope(
    kind: &str,
    account: &AccountId,
    region: Option<&crate::model::Region>,
    types: &TypeFilter,
    key: Option<&str>,
    matching: &TextMatch,
) -> [u8; 32] {
    let mut type_parts = Vec::new();
    push_types(&mut type_parts, types);
    let matching = match matching {
        TextMatch::Any => "any".to_owned(),
        TextMatch::Exact(s) => format!("={s}"),
        TextMatch::Prefix(p) => format!("^{p}"),
    };
    let mut parts = vec![
        kind,
        account.as_str(),
        region.map_or("", crate::model::Region::as_str),
    ];
    parts.extend(type_parts.iter().map(String::as_str));
    parts.extend([key.unwrap_or("\u{0}"), matching.as_str()]);
    fingerprint(&parts)
}

/// Checks every tag in order: for each, the key then the value (the first fault wins).
pub(crate) fn check_tags(rules: &RuleSet, tags: &[Tag]) -> Result<(), CoreError> {
    for (index, tag) in tags.iter().enumerate() {
        rules
            .check_key(&tag.key)
            .map_err(|problem| CoreError::InvalidTag { index, problem })?;
        rules
            .check_value(&tag.value)
            .map_err(|problem| CoreError::InvalidTag { index, problem })?;
    }
    Ok(())
}

/// Untag keys must be non-blank and may not name system tags; other rules (length, URLs) do not
/// matter for a key that is only removed.
fn check_removable_key(rules: &RuleSet, key: &str) -> Result<(), crate::rules::TagRuleError> {
    use crate::rules::TagRuleError;
    if key.trim().is_empty() {
        return Err(TagRuleError::KeyBlank);
    }
    if rules.is_system_key(key) {
        return Err(TagRuleError::KeySystem);
    }
    if rules
        .reserved_key_prefixes
        .iter()
        .any(|p| key.starts_with(p))
    {
        return Err(TagRuleError::KeyReserved);
    }
    Ok(())
}

/// Checks the resource count and drops repeated resources (keeping first positions).
fn check_resources(
    resources: Vec<ResourceRef>,
    limits: &CallLimits,
) -> Result<Vec<ResourceRef>, CoreError> {
    if resources.is_empty() {
        return Err(CoreError::NoResources);
    }
    if resources.len() > limits.max_resources {
        return Err(CoreError::TooManyResources {
            max: limits.max_resources,
        });
    }
    let mut seen = BTreeSet::new();
    let mut unique = Vec::with_capacity(resources.len());
    for resource in resources {
        if seen.insert(resource.clone()) {
            unique.push(resource);
        }
    }
    Ok(unique)
}

/// The rule sets of the namespaces the resources belong to, each once.
fn namespaces(resources: &[ResourceRef]) -> Vec<&'static RuleSet> {
    let mut out: Vec<&'static RuleSet> = Vec::new();
    for resource in resources {
        let rules = rules_for_namespace(resource.resource_type.namespace());
        if !out.iter().any(|r| std::ptr::eq(*r, rules)) {
            out.push(rules);
        }
    }
    out
}

/// What makes two queries "the same" for their page tokens: everything but the position.
fn query_scope(kind: &str, query: &ResourceQuery) -> [u8; 32] {
    let mut parts: Vec<String> = vec![
        kind.to_owned(),
        query.account.as_str().to_owned(),
        query.region.as_str().to_owned(),
    ];
    push_types(&mut parts, &query.types);
    let mut ids: Vec<&(ResourceType, ResourceId)> = query.ids.iter().collect();
    ids.sort_unstable();
    ids.dedup();
    parts.push(format!("ids={}", ids.len()));
    for (t, id) in ids {
        parts.push(t.as_str().to_owned());
        parts.push(id.as_str().to_owned());
    }
    // Each filter's values as a set, the filters sorted: the same conditions in another order
    // are the same query.
    let mut tags: Vec<(&str, Vec<&str>)> = query
        .tags
        .iter()
        .map(|f| {
            let mut values: Vec<&str> = f.values.iter().map(String::as_str).collect();
            values.sort_unstable();
            values.dedup();
            (f.key.as_str(), values)
        })
        .collect();
    tags.sort();
    parts.push(format!("tags={}", tags.len()));
    for (key, values) in tags {
        parts.push(key.to_owned());
        match values.as_slice() {
            [] => parts.push("\u{0}".to_owned()),
            [value] => parts.push(format!("={value}")),
            many => {
                parts.push(format!("values={}", many.len()));
                parts.extend(many.iter().map(|v| format!("={v}")));
            }
        }
    }
    let refs: Vec<&str> = parts.iter().map(String::as_str).collect();
    fingerprint(&refs)
}

/// The type filter's part of [`query_scope`]; an `AnyOf`'s members in a fixed order.
fn push_types(parts: &mut Vec<String>, types: &TypeFilter) {
    match types {
        TypeFilter::Exact(t) => parts.push(format!("type={t}")),
        TypeFilter::Namespace(ns) => parts.push(format!("ns={ns}")),
        TypeFilter::Product { namespace, product } => {
            parts.push(format!("product={namespace}::{product}"));
        }
        TypeFilter::AnyOf(any) => {
            let mut members: Vec<Vec<String>> = any
                .iter()
                .map(|f| {
                    let mut member = Vec::new();
                    push_types(&mut member, f);
                    member
                })
                .collect();
            members.sort();
            members.dedup();
            parts.push(format!("any={}", members.len()));
            for member in members {
                parts.push(format!("member={}", member.len()));
                parts.extend(member);
            }
        }
    }
}

#[cfg(all(test, feature = "testkit"))]
mod tests {
    use super::*;
    use crate::change::{ChangeSet, ResourceChange};
    use crate::model::Region;
    use crate::testkit::MemStore;

    /// A key read from the store is trusted for the TTL only: a change made by another process
    /// (another node on the same database) is seen once it runs out, not before.
    #[tokio::test]
    async fn credential_cache_honours_its_ttl() {
        use crate::account::{Account, SecretKey};
        let store = MemStore::new();
        let account = Account {
            id: AccountId::parse("1000000000000007").expect("account"),
            name: "team".into(),
            root: false,
            created_at: 1,
        };
        let key = |enabled: bool| Credential {
            access_key_id: AccessKeyId::parse("LTAIcached").expect("id"),
            secret: SecretKey::new("secret-cached".to_owned()).expect("secret"),
            account_id: account.id.clone(),
            enabled,
            created_at: 2,
        };
        store
            .create_account(account.clone(), key(true))
            .await
            .expect("create");
        let id = key(true).access_key_id;
        let enabled = |found: Option<Credential>| found.expect("key").enabled;
        let long = TagService::new(store.clone(), false)
            .await
            .expect("service")
            .with_credential_ttl(Duration::from_secs(3600));
        let zero = TagService::new(store.clone(), false)
            .await
            .expect("service")
            .with_credential_ttl(Duration::ZERO);
        assert!(enabled(long.credential(&id).await.expect("read")));
        assert!(enabled(zero.credential(&id).await.expect("read")));
        // Another process disables the key behind both services' backs.
        store.put_key(key(false)).await.expect("disable");
        assert!(
            enabled(long.credential(&id).await.expect("read")),
            "within the TTL the cached key is used"
        );
        assert!(
            !enabled(zero.credential(&id).await.expect("read")),
            "past the TTL the store is read again"
        );
        long.forget_credential(&id);
        assert!(!enabled(long.credential(&id).await.expect("read")));
    }

    /// A page token is bound to its query's conditions: the same values of a filter in another
    /// order, or the same types, are the same query; other values or types are not.
    #[test]
    fn query_scope_sees_values_and_types_as_sets() {
        use crate::query::TagFilter;
        let rds = ResourceType::new("ALIYUN", "RDS", "INSTANCE").expect("type");
        let product = |p: &str| TypeFilter::Product {
            namespace: "ALIYUN".into(),
            product: p.into(),
        };
        let q = |values: &[&str], types: TypeFilter| ResourceQuery {
            account: AccountId::parse("1000000000000001").expect("account"),
            region: Region::parse("cn-hangzhou").expect("region"),
            types,
            ids: Vec::new(),
            tags: vec![
                TagFilter {
                    key: "env".into(),
                    values: values.iter().map(|v| (*v).to_owned()).collect(),
                },
                TagFilter::key("team"),
            ],
            start: None,
            limit: 0,
        };
        let ns = || TypeFilter::Namespace("ALIYUN".into());
        let scope = |query: &ResourceQuery| query_scope("rows", query);
        let ab = scope(&q(&["a", "b"], ns()));
        assert_eq!(ab, scope(&q(&["b", "a", "b"], ns())), "values are a set");
        for other in [&["a"][..], &[], &["a", "c"], &["a", "b", "c"]] {
            assert_ne!(ab, scope(&q(other, ns())), "{other:?}");
        }
        let mut filters_swapped = q(&["a", "b"], ns());
        filters_swapped.tags.reverse();
        assert_eq!(ab, scope(&filters_swapped), "filters are a set");
        let any = |members: Vec<TypeFilter>| scope(&q(&["a"], TypeFilter::AnyOf(members)));
        let both = any(vec![product("ECS"), TypeFilter::Exact(rds.clone())]);
        assert_eq!(
            both,
            any(vec![TypeFilter::Exact(rds.clone()), product("ECS")])
        );
        assert_ne!(both, any(vec![product("ECS")]));
        assert_ne!(both, any(vec![product("RDS"), product("ECS")]));
        assert_ne!(any(vec![]), scope(&q(&["a"], ns())));
        assert_ne!(
            scope(&q(&["a"], product("RDS"))),
            scope(&q(&["a"], TypeFilter::Exact(rds)))
        );
    }

    /// Row paging returns every (resource, tag) row exactly once, in order, whatever the number
    /// of tags per resource and the page size (resources are read in growing chunks).
    #[tokio::test]
    async fn row_pages_cover_every_row_once() {
        let store = MemStore::new();
        let account = AccountId::parse("1000000000000001").expect("account");
        let region = Region::parse("cn-hangzhou").expect("region");
        let rtype = ResourceType::new("ALIYUN", "RDS", "INSTANCE").expect("type");
        let mut changes = Vec::new();
        let mut want = Vec::new();
        for i in 0..40u32 {
            let id = ResourceId::parse(&format!("rm-{i:03}")).expect("id");
            let tags: Vec<Tag> = (0..(i % 7 + 1))
                .map(|k| Tag::new(format!("k{k}"), "v"))
                .collect();
            for t in &tags {
                want.push((id.as_str().to_owned(), t.key.clone()));
            }
            let resource = ResourceRef {
                region: region.clone(),
                resource_type: rtype.clone(),
                id,
            };
            changes.push(ResourceChange {
                resource,
                op: TagOp::Set(tags),
            });
        }
        want.sort();
        let set = ChangeSet {
            account: account.clone(),
            changes,
            atomicity: Atomicity::AllOrNothing,
            require_registered: false,
            catalogue: None,
        };
        store.apply(set).await.expect("apply");
        let service = TagService::new(store, false).await.expect("service");
        for page_size in [1, 3, 7, 50, 200] {
            let mut got = Vec::new();
            let mut token: Option<String> = None;
            loop {
                let query = ResourceQuery {
                    account: account.clone(),
                    region: region.clone(),
                    types: TypeFilter::Exact(rtype.clone()),
                    ids: Vec::new(),
                    tags: vec![crate::query::TagFilter::key("k0")],
                    start: None,
                    limit: 0,
                };
                let page = service
                    .list_tag_rows(query, token.as_deref(), page_size)
                    .await
                    .expect("page");
                assert!(page.items.len() <= page_size);
                if page.next_token.is_some() {
                    assert_eq!(page.items.len(), page_size, "only the last page is short");
                }
                got.extend(
                    page.items
                        .into_iter()
                        .map(|r| (r.id.as_str().to_owned(), r.key)),
                );
                match page.next_token {
                    Some(next) => token = Some(next),
                    None => break,
                }
            }
            assert_eq!(got, want, "page size {page_size}");
        }
    }
}
