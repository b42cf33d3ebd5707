//! The account's tag catalogue: the keys and values that resources carry now (derived from the
//! indexes, so they drop out the moment no resource carries them), and preset ("meta") tags
//! that exist before any resource carries them.

use crate::account::AccountId;
use crate::model::Region;
use crate::query::TypeFilter;

/// How a key or value is matched.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TextMatch {
    Any,
    Exact(String),
    Prefix(String),
}

impl TextMatch {
    pub fn admits(&self, s: &str) -> bool {
        match self {
            TextMatch::Any => true,
            TextMatch::Exact(want) => s == want,
            TextMatch::Prefix(prefix) => s.starts_with(prefix.as_str()),
        }
    }
}

/// Distinct keys carried by resources of one account in one region, ascending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyQuery {
    pub account: AccountId,
    pub region: Region,
    pub types: TypeFilter,
    pub matching: TextMatch,
    /// Only keys after this one (exclusive).
    pub after: Option<String>,
    pub limit: usize,
}

/// Distinct values of one key carried by resources of one account in one region, ascending.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValueQuery {
    pub account: AccountId,
    pub region: Region,
    pub types: TypeFilter,
    pub key: String,
    pub matching: TextMatch,
    pub after: Option<String>,
    pub limit: usize,
}

/// A preset value with its description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetValue {
    pub value: String,
    pub description: String,
}

/// A preset key with its description and values (account-wide, all regions).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetKey {
    pub key: String,
    pub description: String,
    pub values: Vec<PresetValue>,
}

/// A preset key as listed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PresetKeyInfo {
    pub key: String,
    pub description: String,
}

/// What deleting a preset key or value did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PresetDelete {
    Deleted,
    KeyNotFound,
    ValueNotFound,
    /// The key still has values and no value was named.
    KeyHasValues,
}
