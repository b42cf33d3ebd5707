//! The redb tables and the layout of their keys.
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | name | bytes (`schema_version`, `token_key`) |
//! | `accounts` | account id | account record |
//! | `access_keys` | access key id | credential record |
//! | `resources` | (account, region, type, id) | tag set |
//! | `tag_index` | (account, region, key, value, type, id) | empty |
//! | `key_index` | (account, region, key, type, id) | empty |
//! | `registered` | (account, region, type, id) | empty |
//! | `preset_keys` | (account, key) | description |
//! | `preset_values` | (account, key, value) | description |
//! | `catalogue` | (account, namespace, key, value) | tag id (u64) |
//!
//! Both indexes end in (type, id), so a filter's matches come out in the order pages need.

use redb::TableDefinition;
use tagd_core::{AccountId, Region, ResourceRef};

use crate::keys;

pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
pub const ACCESS_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("access_keys");
pub const RESOURCES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("resources");
pub const TAG_INDEX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tag_index");
pub const KEY_INDEX: TableDefinition<&[u8], &[u8]> = TableDefinition::new("key_index");
pub const REGISTERED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("registered");
pub const PRESET_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("preset_keys");
pub const PRESET_VALUES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("preset_values");
pub const CATALOGUE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("catalogue");

pub const SCHEMA_VERSION: u8 = 1;

/// (account, region, type, id): the key of `resources` and `registered`.
pub fn resource_key(account: &AccountId, r: &ResourceRef) -> Vec<u8> {
    keys::tuple(&[
        account.as_str(),
        r.region.as_str(),
        r.resource_type.as_str(),
        r.id.as_str(),
    ])
}

/// (account, region, key, value, type, id).
pub fn tag_index_key(account: &AccountId, r: &ResourceRef, key: &str, value: &str) -> Vec<u8> {
    keys::tuple(&[
        account.as_str(),
        r.region.as_str(),
        key,
        value,
        r.resource_type.as_str(),
        r.id.as_str(),
    ])
}

/// (account, region, key, type, id).
pub fn key_index_key(account: &AccountId, r: &ResourceRef, key: &str) -> Vec<u8> {
    keys::tuple(&[
        account.as_str(),
        r.region.as_str(),
        key,
        r.resource_type.as_str(),
        r.id.as_str(),
    ])
}

/// (account, namespace, key, value): an explicit catalogue's tag.
pub fn catalogue_key(account: &AccountId, namespace: &str, key: &str, value: &str) -> Vec<u8> {
    keys::tuple(&[account.as_str(), namespace, key, value])
}

/// (account, region): the prefix of one account's region in every tuple table.
pub fn scope_prefix(account: &AccountId, region: &Region) -> Vec<u8> {
    keys::tuple(&[account.as_str(), region.as_str()])
}
