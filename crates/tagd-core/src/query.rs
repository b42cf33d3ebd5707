//! Queries: which resources of an account to read, in a stable order, from a cursor.

use crate::account::AccountId;
use crate::model::{Region, ResourceId, ResourceRef, ResourceType};
use crate::tagset::TagSet;

/// One tag condition: the key, and the values one of which it must carry.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagFilter {
    pub key: String,
    /// The values OR'ed (AWS RGTA's `{"Key": k, "Values": [a, b]}`); empty means "carries this
    /// key, with any value".
    pub values: Vec<String>,
}

impl TagFilter {
    /// Carries `key`, with any value.
    pub fn key(key: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            values: Vec::new(),
        }
    }

    /// Carries `key` = `value`.
    pub fn pair(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            values: vec![value.into()],
        }
    }

    /// `key` = `value` if there is a value, else `key` with any value.
    pub fn new(key: impl Into<String>, value: Option<impl Into<String>>) -> Self {
        match value {
            Some(value) => Self::pair(key, value),
            None => Self::key(key),
        }
    }

    /// The one value required, when exactly one is.
    pub fn single_value(&self) -> Option<&str> {
        match self.values.as_slice() {
            [value] => Some(value),
            _ => None,
        }
    }

    /// Whether `tags` carry the key with one of the values (any value if none is given).
    pub fn matches(&self, tags: &TagSet) -> bool {
        tags.get(&self.key)
            .is_some_and(|have| self.values.is_empty() || self.values.iter().any(|v| v == have))
    }
}

/// Which resource types a query covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeFilter {
    /// Exactly one canonical type.
    Exact(ResourceType),
    /// Every type of one namespace (`ALIYUN`): a dialect sees only its own cloud's resources.
    Namespace(String),
    /// Every type of one product of a namespace: `AWS::EC2::*` for RGTA's `ec2` filter.
    Product { namespace: String, product: String },
    /// A type any of these admit (RGTA's `ResourceTypeFilters` are OR'ed); empty admits none.
    AnyOf(Vec<TypeFilter>),
}

impl TypeFilter {
    pub fn admits(&self, t: &ResourceType) -> bool {
        match self {
            TypeFilter::Exact(want) => want == t,
            TypeFilter::Namespace(ns) => t.namespace() == ns,
            TypeFilter::Product { namespace, product } => {
                t.namespace() == namespace && t.product() == product
            }
            TypeFilter::AnyOf(any) => any.iter().any(|f| f.admits(t)),
        }
    }
}

/// A position in the (type, id) order of a query's results.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cursor {
    pub resource_type: ResourceType,
    pub id: ResourceId,
    /// Whether the resource at this position is itself included.
    pub inclusive: bool,
}

impl Cursor {
    /// Whether `(t, id)` lies at or after this cursor.
    pub fn admits(&self, t: &ResourceType, id: &ResourceId) -> bool {
        let here = (&self.resource_type, &self.id);
        if self.inclusive {
            (t, id) >= here
        } else {
            (t, id) > here
        }
    }
}

/// Resources of one account in one region, filtered, in (type, id) order.
///
/// Semantics (spec aliyun.md §2.3): `ids` are OR'ed, `tags` are AND'ed (the values of one tag
/// filter OR'ed, aws-rgta.md §2.3), both together are intersected; an empty list means no
/// condition of that kind. Resources without tags are never returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceQuery {
    pub account: AccountId,
    pub region: Region,
    pub types: TypeFilter,
    /// Resources named by (type, id); OR'ed.
    pub ids: Vec<(ResourceType, ResourceId)>,
    pub tags: Vec<TagFilter>,
    pub start: Option<Cursor>,
    /// At most this many resources are returned.
    pub limit: usize,
}

impl ResourceQuery {
    /// Whether a resource with these tags satisfies every tag condition.
    pub fn tags_match(&self, tags: &TagSet) -> bool {
        !tags.is_empty() && self.tags.iter().all(|f| f.matches(tags))
    }
}

/// A resource with all of its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceTags {
    pub resource: ResourceRef,
    pub tags: TagSet,
}
