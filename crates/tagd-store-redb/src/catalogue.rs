//! Catalogue reads: distinct keys and values in use, by skip-scan over the indexes (one seek per
//! distinct key or value visited), and preset tags.

use redb::ReadTransaction;
use tagd_core::catalogue::{KeyQuery, PresetKeyInfo, TextMatch, ValueQuery};
use tagd_core::{AccountId, StoreError, TypeFilter};

use crate::keys;
use crate::postings;
use crate::tables::{KEY_POSTINGS, PRESET_KEYS, PRESET_VALUES, TAG_POSTINGS, scope_prefix};
use crate::{engine_error, table_error};

type BytesTable = redb::ReadOnlyTable<&'static [u8], &'static [u8]>;

/// The first key in `[lo, hi)`, if any.
fn first_in(table: &BytesTable, lo: &[u8], hi: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
    if lo >= hi {
        return Ok(None);
    }
    let mut range = table.range(lo..hi).map_err(engine_error)?;
    match range.next() {
        Some(entry) => Ok(Some(entry.map_err(engine_error)?.0.value().to_vec())),
        None => Ok(None),
    }
}

/// The key range of components under `base` matching `m`, starting after `after`.
fn match_range(base: &[u8], m: &TextMatch, after: Option<&str>) -> (Vec<u8>, Vec<u8>) {
    let mut lo = base.to_vec();
    match m {
        TextMatch::Any => {}
        TextMatch::Exact(s) => keys::push(&mut lo, s),
        TextMatch::Prefix(p) => keys::push_open(&mut lo, p),
    }
    let hi = if matches!(m, TextMatch::Any) {
        keys::prefix_end(base)
    } else {
        keys::prefix_end(&lo)
    };
    if let Some(after) = after {
        let mut skip = base.to_vec();
        keys::push(&mut skip, after);
        let past = keys::prefix_end(&skip);
        if past > lo {
            lo = past;
        }
    }
    (lo, hi)
}

/// The ranges of (type, id) tails whose types `types` admits: one for an exact type, a
/// namespace or a product, one per member of an `AnyOf`.
fn type_ranges(types: &TypeFilter) -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut probe = Vec::new();
    match types {
        TypeFilter::Exact(t) => keys::push(&mut probe, t.as_str()),
        TypeFilter::Namespace(ns) => keys::push_open(&mut probe, &format!("{ns}::")),
        TypeFilter::Product { namespace, product } => {
            keys::push_open(&mut probe, &format!("{namespace}::{product}::"));
        }
        TypeFilter::AnyOf(any) => return any.iter().flat_map(type_ranges).collect(),
    }
    let end = keys::prefix_end(&probe);
    vec![(probe, end)]
}

/// Whether the posting list `group` of `table` has a member in one of `ranges`.
fn any_in_ranges(
    table: &BytesTable,
    group: &[u8],
    ranges: &[(Vec<u8>, Vec<u8>)],
) -> Result<bool, StoreError> {
    for (lo, hi) in ranges {
        if postings::any_in(table, group, lo, Some(hi))? {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Skip-scans `table` for distinct values of the component at `position` under `base`.
fn distinct(
    table: &BytesTable,
    base: &[u8],
    position: usize,
    m: &TextMatch,
    after: Option<&str>,
    limit: usize,
    has_type: impl Fn(&[u8]) -> Result<bool, StoreError>,
) -> Result<Vec<String>, StoreError> {
    let (mut lo, hi) = match_range(base, m, after);
    let mut out = Vec::new();
    while out.len() < limit {
        let Some(found) = first_in(table, &lo, &hi)? else {
            break;
        };
        let parts = keys::decode(&found).ok_or_else(|| StoreError::Corrupt("index key".into()))?;
        let component = parts
            .get(position)
            .ok_or_else(|| StoreError::Corrupt("index arity".into()))?;
        let mut prefix = base.to_vec();
        keys::push(&mut prefix, component);
        if has_type(&prefix)? {
            out.push(component.clone());
        }
        lo = keys::prefix_end(&prefix);
    }
    Ok(out)
}

pub fn tag_keys(txn: &ReadTransaction, q: &KeyQuery) -> Result<Vec<String>, StoreError> {
    let table = txn.open_table(KEY_POSTINGS).map_err(table_error)?;
    let base = scope_prefix(&q.account, &q.region);
    let types = type_ranges(&q.types);
    // A key group's keys are its chunks; its members hold the types.
    distinct(
        &table,
        &base,
        2,
        &q.matching,
        q.after.as_deref(),
        q.limit,
        |group| any_in_ranges(&table, group, &types),
    )
}

pub fn tag_values(txn: &ReadTransaction, q: &ValueQuery) -> Result<Vec<String>, StoreError> {
    let table = txn.open_table(TAG_POSTINGS).map_err(table_error)?;
    let mut base = scope_prefix(&q.account, &q.region);
    keys::push(&mut base, &q.key);
    let types = type_ranges(&q.types);
    // A (key, value) group's keys are its chunks; its members hold the types.
    distinct(
        &table,
        &base,
        3,
        &q.matching,
        q.after.as_deref(),
        q.limit,
        |group| any_in_ranges(&table, group, &types),
    )
}

fn text(bytes: &[u8]) -> Result<String, StoreError> {
    String::from_utf8(bytes.to_vec()).map_err(|_| StoreError::Corrupt("preset description".into()))
}

pub fn preset_keys(
    txn: &ReadTransaction,
    account: &AccountId,
    m: &TextMatch,
    after: Option<&str>,
    limit: usize,
) -> Result<Vec<PresetKeyInfo>, StoreError> {
    let table = txn.open_table(PRESET_KEYS).map_err(table_error)?;
    let base = keys::tuple(&[account.as_str()]);
    let (lo, hi) = match_range(&base, m, after);
    let mut out = Vec::new();
    if lo >= hi {
        return Ok(out);
    }
    for entry in table
        .range(lo.as_slice()..hi.as_slice())
        .map_err(engine_error)?
    {
        let (k, v) = entry.map_err(engine_error)?;
        let parts =
            keys::decode(k.value()).ok_or_else(|| StoreError::Corrupt("preset key".into()))?;
        let [_, key] = parts.as_slice() else {
            return Err(StoreError::Corrupt("preset key arity".into()));
        };
        out.push(PresetKeyInfo {
            key: key.clone(),
            description: text(v.value())?,
        });
        if out.len() == limit {
            break;
        }
    }
    Ok(out)
}

pub fn preset_values(
    txn: &ReadTransaction,
    account: &AccountId,
    key: &str,
    m: &TextMatch,
    after: Option<&str>,
    limit: usize,
) -> Result<Option<Vec<String>>, StoreError> {
    let keys_table = txn.open_table(PRESET_KEYS).map_err(table_error)?;
    let kkey = keys::tuple(&[account.as_str(), key]);
    if keys_table
        .get(kkey.as_slice())
        .map_err(engine_error)?
        .is_none()
    {
        return Ok(None);
    }
    let table = txn.open_table(PRESET_VALUES).map_err(table_error)?;
    let (lo, hi) = match_range(&kkey, m, after);
    let mut out = Vec::new();
    if lo >= hi {
        return Ok(Some(out));
    }
    for entry in table
        .range(lo.as_slice()..hi.as_slice())
        .map_err(engine_error)?
    {
        let (k, _) = entry.map_err(engine_error)?;
        let parts =
            keys::decode(k.value()).ok_or_else(|| StoreError::Corrupt("preset value".into()))?;
        let [_, _, value] = parts.as_slice() else {
            return Err(StoreError::Corrupt("preset value arity".into()));
        };
        out.push(value.clone());
        if out.len() == limit {
            break;
        }
    }
    Ok(Some(out))
}

/// An explicit catalogue (Baidu's), by key then value, narrowed to exact key / value matches.
pub fn explicit(
    txn: &ReadTransaction,
    account: &AccountId,
    namespace: &str,
    key: Option<&str>,
    value: Option<&str>,
) -> Result<Vec<tagd_core::change::CatalogueTag>, StoreError> {
    let table = txn
        .open_table(crate::tables::CATALOGUE)
        .map_err(table_error)?;
    let mut base = keys::tuple(&[account.as_str(), namespace]);
    if let Some(key) = key {
        keys::push(&mut base, key);
        if let Some(value) = value {
            keys::push(&mut base, value);
        }
    }
    let end = keys::prefix_end(&base);
    let mut out = Vec::new();
    for entry in table
        .range(base.as_slice()..end.as_slice())
        .map_err(engine_error)?
    {
        let (k, v) = entry.map_err(engine_error)?;
        let parts =
            keys::decode(k.value()).ok_or_else(|| StoreError::Corrupt("catalogue key".into()))?;
        let [_, _, tag_key, tag_value] = parts.as_slice() else {
            return Err(StoreError::Corrupt("catalogue key arity".into()));
        };
        if value.is_some_and(|want| want != tag_value) {
            continue;
        }
        let raw: [u8; 8] = v
            .value()
            .try_into()
            .map_err(|_| StoreError::Corrupt("catalogue id".into()))?;
        out.push(tagd_core::change::CatalogueTag {
            key: tag_key.clone(),
            value: tag_value.clone(),
            id: u64::from_be_bytes(raw),
        });
    }
    Ok(out)
}

/// The regions in which the account has tagged resources: one seek per region.
pub fn regions(
    txn: &ReadTransaction,
    account: &AccountId,
) -> Result<Vec<tagd_core::Region>, StoreError> {
    let table = txn
        .open_table(crate::tables::RESOURCES)
        .map_err(table_error)?;
    let base = keys::tuple(&[account.as_str()]);
    let end = keys::prefix_end(&base);
    let mut lo = base.clone();
    let mut out = Vec::new();
    while let Some(found) = first_in(&table, &lo, &end)? {
        let parts =
            keys::decode(&found).ok_or_else(|| StoreError::Corrupt("resource key".into()))?;
        let name = parts
            .get(1)
            .ok_or_else(|| StoreError::Corrupt("resource key arity".into()))?;
        out.push(
            tagd_core::Region::parse(name).ok_or_else(|| StoreError::Corrupt("region".into()))?,
        );
        let mut prefix = base.clone();
        keys::push(&mut prefix, name);
        lo = keys::prefix_end(&prefix);
    }
    Ok(out)
}
