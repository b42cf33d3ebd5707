//! The read paths: one resource's tags and filtered, ordered, cursor-paged queries.

use redb::{ReadOnlyTable, ReadTransaction};
use tagd_core::{
    Cursor, ResourceId, ResourceQuery, ResourceRef, ResourceTags, ResourceType, StoreError,
    TypeFilter,
};

use crate::codec;
use crate::keys;
use crate::postings;
use crate::tables::{KEY_POSTINGS, RESOURCES, TAG_POSTINGS, resource_key, scope_prefix};
use crate::{engine_error, table_error};

type BytesTable = ReadOnlyTable<&'static [u8], &'static [u8]>;

/// How many rows (index entries, records, ids) a read may examine; `None`: no limit.
pub struct Budget(Option<usize>);

impl Budget {
    pub const UNLIMITED: Budget = Budget(None);

    pub fn rows(n: usize) -> Budget {
        Budget(Some(n))
    }

    /// Takes one row, the one at `(t, id)`; once the budget is spent, says where to resume.
    fn spend(&mut self, t: &ResourceType, id: &ResourceId) -> Result<(), Cursor> {
        match &mut self.0 {
            None => Ok(()),
            Some(0) => Err(Cursor {
                resource_type: t.clone(),
                id: id.clone(),
                inclusive: true,
            }),
            Some(left) => {
                *left -= 1;
                Ok(())
            }
        }
    }
}

/// Why a budgeted read stopped early.
pub enum Stopped {
    /// The budget ran out: what was found so far, and the position of the first row not
    /// examined.
    Exhausted(Vec<ResourceTags>, Cursor),
    Failed(StoreError),
}

impl From<StoreError> for Stopped {
    fn from(err: StoreError) -> Self {
        Stopped::Failed(err)
    }
}

/// Runs a query in one read transaction (a consistent snapshot).
pub fn query(txn: &ReadTransaction, q: &ResourceQuery) -> Result<Vec<ResourceTags>, StoreError> {
    match query_within(txn, q, Budget::UNLIMITED) {
        Ok(found) => Ok(found),
        Err(Stopped::Failed(err)) => Err(err),
        Err(Stopped::Exhausted(..)) => Err(StoreError::Engine("an unlimited read ran out".into())),
    }
}

/// Finishes a query that [`query_within`] stopped at `resume` with `found`.
pub fn resume(
    txn: &ReadTransaction,
    q: ResourceQuery,
    mut found: Vec<ResourceTags>,
    resume: Cursor,
) -> Result<Vec<ResourceTags>, StoreError> {
    let rest = ResourceQuery {
        start: Some(resume),
        limit: q.limit.saturating_sub(found.len()),
        ..q
    };
    found.extend(query(txn, &rest)?);
    Ok(found)
}

/// [`query`], giving up once it has examined more rows than `budget` allows.
pub fn query_within(
    txn: &ReadTransaction,
    q: &ResourceQuery,
    mut budget: Budget,
) -> Result<Vec<ResourceTags>, Stopped> {
    let resources = txn.open_table(RESOURCES).map_err(table_error)?;
    if q.limit == 0 {
        return Ok(Vec::new());
    }
    if !q.ids.is_empty() {
        return by_ids(&resources, q, &mut budget);
    }
    let Some(driver) = driving_filter(q) else {
        return by_scan(&resources, q, &mut budget);
    };
    let mut matcher = Matcher::new(&resources, q);
    let mut out = Vec::new();
    let mut stopped = None;
    let mut each = |member: &[u8]| -> Result<bool, StoreError> {
        let (rtype, id) = matcher.types.type_and_id(member)?;
        if let Err(resume) = budget.spend(&rtype, &id) {
            stopped = Some(resume);
            return Ok(false);
        }
        if let Some(found) = matcher.check(member, rtype, id)? {
            out.push(found);
            if out.len() == q.limit {
                return Ok(false);
            }
        }
        Ok(true)
    };
    let (lo, hi) = bounds(&[], 0, q.start.as_ref(), &q.types);
    if lo >= hi {
        return Ok(out);
    }
    let (table, group) = driving_list(q, driver);
    let table = txn.open_table(table).map_err(table_error)?;
    postings::scan(&table, &group, &lo, Some(&hi), &mut each)?;
    if let Some(resume) = stopped {
        return Err(Stopped::Exhausted(out, resume));
    }
    Ok(out)
}

/// The filter whose index drives the scan: a condition with one value if there is one (its
/// (key, value) list is more selective than a bare key's), else the first condition, by its
/// key's list (any value, or one of several: the records are checked against every filter).
fn driving_filter(q: &ResourceQuery) -> Option<&tagd_core::TagFilter> {
    q.tags
        .iter()
        .find(|f| f.single_value().is_some())
        .or_else(|| q.tags.first())
}

/// The posting list of the driving filter: its (key, value) group, or its key's group for a
/// key-only condition. Both hold (type, id) members.
fn driving_list(
    q: &ResourceQuery,
    driver: &tagd_core::TagFilter,
) -> (
    redb::TableDefinition<'static, &'static [u8], &'static [u8]>,
    Vec<u8>,
) {
    let mut group = scope_prefix(&q.account, &q.region);
    keys::push(&mut group, &driver.key);
    match driver.single_value() {
        Some(value) => {
            keys::push(&mut group, value);
            (TAG_POSTINGS, group)
        }
        None => (KEY_POSTINGS, group),
    }
}

/// Reads the records of posting-list members and keeps those that meet the query.
struct Matcher<'a> {
    resources: &'a BytesTable,
    q: &'a ResourceQuery,
    types: TypeCache,
    /// The `resources` key of a member: the scope, then the member ((type, id)) as is.
    record_key: Vec<u8>,
    scope_len: usize,
}

impl<'a> Matcher<'a> {
    fn new(resources: &'a BytesTable, q: &'a ResourceQuery) -> Self {
        let record_key = scope_prefix(&q.account, &q.region);
        Self {
            resources,
            q,
            types: TypeCache::default(),
            scope_len: record_key.len(),
            record_key,
        }
    }

    /// The resource at `member` ((type, id), already parsed) if it meets the query.
    fn check(
        &mut self,
        member: &[u8],
        resource_type: ResourceType,
        id: ResourceId,
    ) -> Result<Option<ResourceTags>, StoreError> {
        if !self.q.types.admits(&resource_type) {
            return Ok(None);
        }
        self.record_key.truncate(self.scope_len);
        self.record_key.extend_from_slice(member);
        let resource = ResourceRef {
            region: self.q.region.clone(),
            resource_type,
            id,
        };
        fetch(self.resources, self.q, &self.record_key, resource)
    }
}

/// The members of the posting list that drives a query, collected before any record is read,
/// so that their records can be read by more than one thread ([`fetch_candidates`]).
pub struct Candidates {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    /// Whether the list may hold members in the query's range after the last one collected.
    more: bool,
}

impl Candidates {
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    fn member(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        &self.bytes[start..self.ends[i]]
    }

    /// Where a query resumes after the members collected: `None` when the list has no more.
    pub fn rest(&self) -> Result<Option<Cursor>, StoreError> {
        let Some(last) = self.len().checked_sub(1).filter(|_| self.more) else {
            return Ok(None);
        };
        let (resource_type, id) = TypeCache::default().type_and_id(self.member(last))?;
        Ok(Some(Cursor {
            resource_type,
            id,
            inclusive: false,
        }))
    }
}

/// For a query driven by a posting list (one with a tag condition and no ids): up to `max` of
/// the list's members in the query's range, in order. `None` for any other query.
pub fn candidates(
    txn: &ReadTransaction,
    q: &ResourceQuery,
    max: usize,
) -> Result<Option<Candidates>, StoreError> {
    if !q.ids.is_empty() {
        return Ok(None);
    }
    let Some(driver) = driving_filter(q) else {
        return Ok(None);
    };
    let mut found = Candidates {
        bytes: Vec::new(),
        ends: Vec::new(),
        more: false,
    };
    let (lo, hi) = bounds(&[], 0, q.start.as_ref(), &q.types);
    if lo >= hi || max == 0 {
        return Ok(Some(found));
    }
    let (table, group) = driving_list(q, driver);
    let table = txn.open_table(table).map_err(table_error)?;
    postings::scan(&table, &group, &lo, Some(&hi), |member| {
        if found.ends.len() == max {
            found.more = true;
            return Ok::<_, StoreError>(false);
        }
        found.bytes.extend_from_slice(member);
        found.ends.push(found.bytes.len());
        Ok(true)
    })?;
    Ok(Some(found))
}

/// The resources among `candidates[range]` that meet the query, in order.
pub fn fetch_candidates(
    txn: &ReadTransaction,
    q: &ResourceQuery,
    candidates: &Candidates,
    range: std::ops::Range<usize>,
) -> Result<Vec<ResourceTags>, StoreError> {
    let resources = txn.open_table(RESOURCES).map_err(table_error)?;
    let mut matcher = Matcher::new(&resources, q);
    let mut out = Vec::with_capacity(range.len());
    for i in range {
        let member = candidates.member(i);
        let (rtype, id) = matcher.types.type_and_id(member)?;
        if let Some(found) = matcher.check(member, rtype, id)? {
            out.push(found);
        }
    }
    Ok(out)
}

/// The key range to scan under `base` (whose keys end in (type, id)): the type's keys if the
/// query names one, from the cursor if it has one.
fn bounds(
    base: &[u8],
    base_len: usize,
    start: Option<&Cursor>,
    types: &TypeFilter,
) -> (Vec<u8>, Vec<u8>) {
    let mut prefix = base.to_vec();
    if let TypeFilter::Exact(t) = types {
        keys::push(&mut prefix, t.as_str());
    }
    let prefix = prefix.as_slice();
    let hi = keys::prefix_end(prefix);
    let Some(cursor) = start else {
        return (prefix.to_vec(), hi);
    };
    let mut from = prefix[..base_len].to_vec();
    keys::push(&mut from, cursor.resource_type.as_str());
    keys::push(&mut from, cursor.id.as_str());
    if !cursor.inclusive {
        from.push(0x00);
    }
    let lo = if from.as_slice() > prefix {
        from
    } else {
        prefix.to_vec()
    };
    (lo, hi)
}

/// The last resource type parsed in a scan: the rows of a scan come in (type, id) order, so
/// most share their type with the row before.
#[derive(Default)]
pub(crate) struct TypeCache {
    last: Option<(String, ResourceType)>,
}

impl TypeCache {
    /// The (type, id) of an index key's tail (or a posting-list member).
    pub(crate) fn type_and_id(
        &mut self,
        suffix: &[u8],
    ) -> Result<(ResourceType, ResourceId), StoreError> {
        let mut rest = suffix;
        let corrupt = || StoreError::Corrupt("index key".into());
        let t = keys::next_component(&mut rest).ok_or_else(corrupt)?;
        let id = keys::next_component(&mut rest).ok_or_else(corrupt)?;
        if !rest.is_empty() {
            return Err(StoreError::Corrupt("index key arity".into()));
        }
        let rtype = match &self.last {
            Some((text, parsed)) if *text == *t => parsed.clone(),
            _ => {
                let parsed = ResourceType::parse_canonical(&t)
                    .ok_or_else(|| StoreError::Corrupt("type".into()))?;
                self.last = Some((t.into_owned(), parsed.clone()));
                parsed
            }
        };
        let id = ResourceId::parse(&id).ok_or_else(|| StoreError::Corrupt("id".into()))?;
        Ok((rtype, id))
    }
}

/// Reads one resource (its `resources` key is `key`) and keeps it if it has tags and meets
/// every tag condition.
fn fetch(
    resources: &BytesTable,
    q: &ResourceQuery,
    key: &[u8],
    resource: ResourceRef,
) -> Result<Option<ResourceTags>, StoreError> {
    let Some(bytes) = resources.get(key).map_err(engine_error)? else {
        return Ok(None);
    };
    let tags = codec::decode_tags(bytes.value())?;
    Ok(q.tags_match(&tags)
        .then_some(ResourceTags { resource, tags }))
}

fn by_ids(
    resources: &BytesTable,
    q: &ResourceQuery,
    budget: &mut Budget,
) -> Result<Vec<ResourceTags>, Stopped> {
    let mut wanted: Vec<&(ResourceType, ResourceId)> = q.ids.iter().collect();
    wanted.sort_unstable();
    wanted.dedup();
    let mut out = Vec::new();
    for (t, id) in wanted {
        if !q.types.admits(t) || q.start.as_ref().is_some_and(|c| !c.admits(t, id)) {
            continue;
        }
        if let Err(resume) = budget.spend(t, id) {
            return Err(Stopped::Exhausted(out, resume));
        }
        let resource = ResourceRef {
            region: q.region.clone(),
            resource_type: t.clone(),
            id: id.clone(),
        };
        let key = resource_key(&q.account, &resource);
        if let Some(found) = fetch(resources, q, &key, resource)? {
            out.push(found);
            if out.len() == q.limit {
                break;
            }
        }
    }
    Ok(out)
}

/// No id and no tag condition: every tagged resource of the scope, in order.
fn by_scan(
    resources: &BytesTable,
    q: &ResourceQuery,
    budget: &mut Budget,
) -> Result<Vec<ResourceTags>, Stopped> {
    let base = scope_prefix(&q.account, &q.region);
    let (lo, hi) = bounds(&base, base.len(), q.start.as_ref(), &q.types);
    let mut out = Vec::new();
    if lo >= hi {
        return Ok(out);
    }
    let mut types = TypeCache::default();
    for entry in resources
        .range(lo.as_slice()..hi.as_slice())
        .map_err(engine_error)?
    {
        let (key, value) = entry.map_err(engine_error)?;
        let (resource_type, id) = types.type_and_id(&key.value()[base.len()..])?;
        if let Err(resume) = budget.spend(&resource_type, &id) {
            return Err(Stopped::Exhausted(out, resume));
        }
        if !q.types.admits(&resource_type) {
            continue;
        }
        let tags = codec::decode_tags(value.value())?;
        if tags.is_empty() {
            continue;
        }
        let resource = ResourceRef {
            region: q.region.clone(),
            resource_type,
            id,
        };
        out.push(ResourceTags { resource, tags });
        if out.len() == q.limit {
            break;
        }
    }
    Ok(out)
}
