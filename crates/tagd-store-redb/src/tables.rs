//! The redb tables and the layout of their keys.
//!
//! | table | key | value |
//! |---|---|---|
//! | `meta` | name | bytes (`schema_version`, `token_key`) |
//! | `accounts` | account id | account record |
//! | `access_keys` | access key id | credential record |
//! | `resources` | (account, region, type, id) | tag set |
//! | `tag_postings` | (account, region, key, value) ++ fence | a chunk of (type, id) members ([`crate::postings`]) |
//! | `key_postings` | (account, region, key) ++ fence | a chunk of (type, id) members |
//! | `registered` | (account, region, type, id) | empty |
//! | `preset_keys` | (account, key) | description |
//! | `preset_values` | (account, key, value) | description |
//! | `catalogue` | (account, namespace, key, value) | tag id (u64) |
//!
//! Both indexes are posting lists of (type, id) members, so a filter's matches come out in the
//! order pages need.

use redb::TableDefinition;
use tagd_core::{AccountId, Region, ResourceRef};

use crate::keys;

pub const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
pub const ACCESS_KEYS: TableDefinition<&str, &[u8]> = TableDefinition::new("access_keys");
pub const RESOURCES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("resources");
pub const TAG_POSTINGS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tag_postings");
/// Schema 1's (key, value) index, one key per binding: (account, region, key, value, type, id).
/// Opening a schema-1 store moves it into `tag_postings`.
pub const TAG_INDEX_V1: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tag_index");
pub const KEY_POSTINGS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("key_postings");
/// Schemas 1 and 2's key index, one key per binding: (account, region, key, type, id). Opening
/// such a store moves it into `key_postings`.
pub const KEY_INDEX_V2: TableDefinition<&[u8], &[u8]> = TableDefinition::new("key_index");
pub const REGISTERED: TableDefinition<&[u8], &[u8]> = TableDefinition::new("registered");
pub const PRESET_KEYS: TableDefinition<&[u8], &[u8]> = TableDefinition::new("preset_keys");
pub const PRESET_VALUES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("preset_values");
pub const CATALOGUE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("catalogue");

pub const SCHEMA_VERSION: u8 = 3;

/// (account, region, type, id): the key of `resources` and `registered`.
pub fn resource_key(account: &AccountId, r: &ResourceRef) -> Vec<u8> {
    keys::tuple(&[
        account.as_str(),
        r.region.as_str(),
        r.resource_type.as_str(),
        r.id.as_str(),
    ])
}

/// The groups and members of one resource in both posting-list indexes, built in one buffer: the
/// (account, region) prefix and the (type, id) suffix are encoded once, not once per tag.
pub struct IndexKeys {
    scope: Vec<u8>,
    tail: Vec<u8>,
    buf: Vec<u8>,
}

impl IndexKeys {
    pub fn new(account: &AccountId, r: &ResourceRef) -> Self {
        let scope = scope_prefix(account, &r.region);
        let tail = keys::tuple(&[r.resource_type.as_str(), r.id.as_str()]);
        let buf = Vec::with_capacity(scope.len() + tail.len() + 64);
        Self { scope, tail, buf }
    }

    /// ((account, region, key, value), (type, id)): the `tag_postings` group of `key=value`
    /// and this resource's member of it.
    pub fn tag(&mut self, key: &str, value: &str) -> (&[u8], &[u8]) {
        self.buf.clear();
        self.buf.extend_from_slice(&self.scope);
        keys::push(&mut self.buf, key);
        keys::push(&mut self.buf, value);
        (&self.buf, &self.tail)
    }

    /// ((account, region, key), (type, id)): the `key_postings` group of `key` and this
    /// resource's member of it.
    pub fn key(&mut self, key: &str) -> (&[u8], &[u8]) {
        self.buf.clear();
        self.buf.extend_from_slice(&self.scope);
        keys::push(&mut self.buf, key);
        (&self.buf, &self.tail)
    }
}

/// (account, namespace, key, value): an explicit catalogue's tag.
pub fn catalogue_key(account: &AccountId, namespace: &str, key: &str, value: &str) -> Vec<u8> {
    keys::tuple(&[account.as_str(), namespace, key, value])
}

/// (account, region): the prefix of one account's region in every tuple table.
pub fn scope_prefix(account: &AccountId, region: &Region) -> Vec<u8> {
    keys::tuple(&[account.as_str(), region.as_str()])
}

#[cfg(test)]
mod tests {
    use tagd_core::{Region, ResourceId, ResourceType};

    use super::*;

    #[test]
    fn index_keys_are_the_tuples_of_the_table_layout() {
        let account = AccountId::parse("1000000000000001").expect("account");
        let r = ResourceRef {
            region: Region::parse("cn-hangzhou").expect("region"),
            resource_type: ResourceType::parse_canonical("ALIYUN::RDS::INSTANCE").expect("type"),
            id: ResourceId::parse("rm-1").expect("id"),
        };
        let mut index = IndexKeys::new(&account, &r);
        let key_group = |key: &str| keys::tuple(&[account.as_str(), r.region.as_str(), key]);
        let tail = keys::tuple(&[r.resource_type.as_str(), r.id.as_str()]);
        let group = keys::tuple(&[account.as_str(), r.region.as_str(), "env", "prod"]);
        assert_eq!(
            index.tag("env", "prod"),
            (group.as_slice(), tail.as_slice())
        );
        assert_eq!(
            index.key("env"),
            (key_group("env").as_slice(), tail.as_slice())
        );
        // The buffer is reused: a shorter key after a longer one is not polluted.
        let group = keys::tuple(&[account.as_str(), r.region.as_str(), "a\0b", ""]);
        assert_eq!(index.tag("a\0b", ""), (group.as_slice(), tail.as_slice()));
        assert_eq!(index.key("x"), (key_group("x").as_slice(), tail.as_slice()));
    }
}
