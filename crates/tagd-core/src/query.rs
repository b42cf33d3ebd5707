//! Queries: which resources of an account to read, in a stable order, from a cursor.

use crate::account::AccountId;
use crate::model::{Region, ResourceId, ResourceRef, ResourceType};
use crate::tagset::TagSet;

/// One tag condition: the key, and the value when one is required.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct TagFilter {
    pub key: String,
    /// `None` means "carries this key, with any value".
    pub value: Option<String>,
}

/// Which resource types a query covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum TypeFilter {
    /// Exactly one canonical type.
    Exact(ResourceType),
    /// Every type of one namespace (`ALIYUN`): a dialect sees only its own cloud's resources.
    Namespace(String),
}

impl TypeFilter {
    pub fn admits(&self, t: &ResourceType) -> bool {
        match self {
            TypeFilter::Exact(want) => want == t,
            TypeFilter::Namespace(ns) => t.namespace() == ns,
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
/// Semantics (spec aliyun.md §2.3): `ids` are OR'ed, `tags` are AND'ed, both together are
/// intersected; an empty list means no condition of that kind. Resources without tags are never
/// returned.
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
        !tags.is_empty()
            && self
                .tags
                .iter()
                .all(|f| tags.matches(&f.key, f.value.as_deref()))
    }
}

/// A resource with all of its tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceTags {
    pub resource: ResourceRef,
    pub tags: TagSet,
}
