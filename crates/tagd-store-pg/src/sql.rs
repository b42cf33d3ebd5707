//! What the engine's modules share: error mapping, the per-account lock, text and type filters
//! in SQL, and the decoding of stored names.

use sqlx::postgres::PgRow;
use sqlx::{Postgres, QueryBuilder, Row as _};
use tagd_core::catalogue::TextMatch;
use tagd_core::{
    AccountId, Region, ResourceId, ResourceRef, ResourceType, StoreError, TagSet, TypeFilter,
};

/// A database error in the store's terms: the database out of reach is `Unavailable` (the
/// dialects answer 503, which clients retry), anything else an engine error.
pub(crate) fn db_error(err: &sqlx::Error) -> StoreError {
    match err {
        sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::WorkerCrashed => StoreError::Unavailable(format!("database: {err}")),
        other => StoreError::Engine(format!("database: {other}")),
    }
}

pub(crate) fn unavailable(err: &sqlx::Error) -> StoreError {
    StoreError::Unavailable(format!("database: {err}"))
}

pub(crate) fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(format!("stored {what}"))
}

/// Takes the transaction-scoped advisory lock of `account` exclusively: for the writes that
/// reach across the account (its catalogue and its quota, preset tags), which then meet no
/// other write of the account on any node.
pub(crate) async fn lock_account(
    tx: &mut sqlx::PgConnection,
    account: &AccountId,
) -> Result<(), StoreError> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(account_lock_key(account))
        .execute(tx)
        .await
        .map_err(|e| db_error(&e))?;
    Ok(())
}

/// Takes `account`'s lock shared, then each of `resources`' own lock exclusively: writes to
/// other resources of the account run side by side, on any node; two writes to one resource,
/// or one and an account-wide write, meet in order.
///
/// No deadlock: every writer takes one account lock first, holding nothing, then resource locks
/// in ascending key order.
pub(crate) async fn lock_resources(
    tx: &mut sqlx::PgConnection,
    account: &AccountId,
    resources: &[&ResourceRef],
) -> Result<(), StoreError> {
    let mut keys: Vec<i64> = resources
        .iter()
        .map(|r| resource_lock_key(account, r))
        .collect();
    keys.sort_unstable();
    keys.dedup();
    // One round trip: the shared account lock is the first row, the resource locks follow in
    // the array's (ascending) order.
    sqlx::query(
        "SELECT pg_advisory_xact_lock_shared($1) \
         UNION ALL SELECT pg_advisory_xact_lock(k) FROM unnest($2::bigint[]) AS k",
    )
    .bind(account_lock_key(account))
    .bind(keys)
    .execute(tx)
    .await
    .map_err(|e| db_error(&e))?;
    Ok(())
}

/// The advisory lock key of `account`'s writes.
pub fn account_lock_key(account: &AccountId) -> i64 {
    lock_key(&[b"tagd.account", account.as_str().as_bytes()])
}

/// The advisory lock key of one resource's writes.
pub fn resource_lock_key(account: &AccountId, resource: &ResourceRef) -> i64 {
    lock_key(&[
        b"tagd.resource",
        account.as_str().as_bytes(),
        resource.region.as_str().as_bytes(),
        resource.resource_type.as_str().as_bytes(),
        resource.id.as_str().as_bytes(),
    ])
}

/// A 64-bit lock key for a name of several parts (FNV-1a, parts NUL-separated): stable across
/// nodes and releases. Two names that share one only wait for each other.
fn lock_key(parts: &[&[u8]]) -> i64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in parts {
        for byte in part.iter().chain(b"\0") {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    i64::from_ne_bytes(hash.to_ne_bytes())
}

/// A row limit as SQL takes it.
pub(crate) fn limit(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// ` AND <column> matches m`, for a bytea column.
pub(crate) fn push_match(b: &mut QueryBuilder<Postgres>, column: &str, m: &TextMatch) {
    match m {
        TextMatch::Any => {}
        TextMatch::Exact(s) => {
            b.push(format_args!(" AND {column} = "));
            b.push_bind(s.as_bytes().to_vec());
        }
        TextMatch::Prefix(p) => {
            b.push(format_args!(" AND {column} >= "));
            b.push_bind(p.as_bytes().to_vec());
            if let Some(end) = prefix_end(p.as_bytes()) {
                b.push(format_args!(" AND {column} < "));
                b.push_bind(end);
            }
        }
    }
}

/// The first byte string after every string that starts with `prefix`; `None` if there is none
/// (an empty prefix, or one of 0xFF bytes only).
fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}

/// ` AND <the types `types` admits>`, for a canonical type column.
pub(crate) fn push_types(b: &mut QueryBuilder<Postgres>, column: &str, types: &TypeFilter) {
    b.push(" AND ");
    push_type_condition(b, column, types);
}

fn push_type_condition(b: &mut QueryBuilder<Postgres>, column: &str, types: &TypeFilter) {
    match types {
        TypeFilter::Exact(t) => {
            b.push(format_args!("{column} = "));
            b.push_bind(t.as_str().to_owned());
        }
        TypeFilter::Namespace(ns) => {
            b.push(format_args!("starts_with({column}, "));
            b.push_bind(format!("{ns}::"));
            b.push(")");
        }
        TypeFilter::Product { namespace, product } => {
            b.push(format_args!("starts_with({column}, "));
            b.push_bind(format!("{namespace}::{product}::"));
            b.push(")");
        }
        TypeFilter::AnyOf(any) if any.is_empty() => {
            b.push("FALSE");
        }
        TypeFilter::AnyOf(any) => {
            b.push("(");
            for (i, member) in any.iter().enumerate() {
                if i > 0 {
                    b.push(" OR ");
                }
                push_type_condition(b, column, member);
            }
            b.push(")");
        }
    }
}

pub(crate) fn text(bytes: Vec<u8>, what: &str) -> Result<String, StoreError> {
    String::from_utf8(bytes).map_err(|_| corrupt(what))
}

/// The resource a row names in its `region`, `rtype` and `rid` columns.
pub(crate) fn resource_ref(row: &PgRow) -> Result<ResourceRef, StoreError> {
    let get = |column: &str| -> Result<String, StoreError> {
        row.try_get(column).map_err(|e| db_error(&e))
    };
    Ok(ResourceRef {
        region: Region::parse(&get("region")?).ok_or_else(|| corrupt("region"))?,
        resource_type: resource_type(&get("rtype")?)?,
        id: resource_id(&get("rid")?)?,
    })
}

pub(crate) fn resource_type(s: &str) -> Result<ResourceType, StoreError> {
    ResourceType::parse_canonical(s).ok_or_else(|| corrupt("resource type"))
}

pub(crate) fn resource_id(s: &str) -> Result<ResourceId, StoreError> {
    ResourceId::parse(s).ok_or_else(|| corrupt("resource id"))
}

/// A tag set from its stored arrays (keys in order, values beside them) and uuid.
pub(crate) fn tag_set(
    keys: Vec<Vec<u8>>,
    vals: Vec<Vec<u8>>,
    uuid: Option<Vec<u8>>,
) -> Result<TagSet, StoreError> {
    if keys.len() != vals.len() {
        return Err(corrupt("tag set"));
    }
    let mut tags = TagSet::with_capacity(keys.len(), 0);
    for (k, v) in keys.into_iter().zip(vals) {
        tags.push(&text(k, "tag key")?, &text(v, "tag value")?);
    }
    let uuid = uuid.map(|u| text(u, "uuid")).transpose()?;
    Ok(tags.with_uuid(uuid))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefix_end_is_the_first_string_past_the_prefix() {
        assert_eq!(prefix_end(b"ab"), Some(b"ac".to_vec()));
        assert_eq!(prefix_end(b"a\xff"), Some(b"b".to_vec()));
        assert_eq!(prefix_end(b"\xff\xff"), None);
        assert_eq!(prefix_end(b""), None);
    }

    #[test]
    fn lock_keys_differ_by_name_and_stay_put() {
        let key = |parts: &[&str]| {
            let bytes: Vec<&[u8]> = parts.iter().map(|p| p.as_bytes()).collect();
            lock_key(&bytes)
        };
        assert_eq!(
            key(&["a", "1000000000000001"]),
            key(&["a", "1000000000000001"])
        );
        assert_ne!(
            key(&["a", "1000000000000001"]),
            key(&["a", "1000000000000002"])
        );
        // The parts are separated: moving a byte from one to the next is another name.
        assert_ne!(key(&["a", "bc"]), key(&["ab", "c"]));
        // Fixed across releases: nodes of two versions must lock alike during an upgrade.
        assert_eq!(key(&["tagd.account", "1"]), -5_192_098_768_923_262_759);
    }
}
