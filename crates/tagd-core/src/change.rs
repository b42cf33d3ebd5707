//! Change sets: a whole validated request, applied by a store atomically.

use crate::account::AccountId;
use crate::model::{ResourceRef, Tag};

/// A tag of an explicit catalogue with its id (stable, unique, never reused).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueTag {
    pub key: String,
    pub value: String,
    pub id: u64,
}

/// What to do to one resource's tags.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagOp {
    /// Upsert: add new keys, overwrite the values of existing ones.
    Set(Vec<Tag>),
    /// Remove these keys; absent keys are ignored.
    Remove(Vec<String>),
    /// Remove each key only where it carries exactly the given value (Baidu's unbind).
    RemovePairs(Vec<Tag>),
    /// Remove every user tag (system tags stay).
    RemoveAll,
    /// Replace every user tag with these, and record `uuid` as the resource's uuid (Baidu's
    /// `createAndAssign` `resourceUuid`; empty records none).
    Replace { tags: Vec<Tag>, uuid: String },
}

/// One resource and what to do to it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceChange {
    pub resource: ResourceRef,
    pub op: TagOp,
}

/// Whether one resource's failure sinks the whole request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Atomicity {
    /// Any failure rejects the request and nothing changes (RDS, Baidu).
    AllOrNothing,
    /// Failing resources are left unchanged and reported; the others are applied (Alibaba's Tag
    /// service `FailedResources`).
    PerResource,
}

/// Changes to a namespace's explicit tag catalogue (Baidu's), applied with the resource changes
/// of the same change set, before them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CatalogueChange {
    pub namespace: String,
    /// Tags to delete from the catalogue; each is also removed from every resource (any region)
    /// of the namespace that carries it. Absent tags are skipped.
    pub delete: Vec<Tag>,
    /// Tags to create; existing ones are skipped.
    pub create: Vec<Tag>,
    /// Most tags the account's catalogue may hold afterwards.
    pub quota: usize,
}

/// A validated request: the unit a store applies atomically and makes durable before answering.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChangeSet {
    pub account: AccountId,
    pub changes: Vec<ResourceChange>,
    pub atomicity: Atomicity,
    /// Only registered resources may be changed (`serve --resources registered`).
    pub require_registered: bool,
    /// Catalogue changes applied first (always all-or-nothing with the rest).
    pub catalogue: Option<CatalogueChange>,
}

/// Why one resource could not take its change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResourceProblem {
    /// It would carry more tags than its rule set allows.
    TagQuotaExceeded,
    /// tagd only accepts registered resources and this one is not.
    NotRegistered,
}

/// One failed resource: its index in [`ChangeSet::changes`] and the problem.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResourceFailure {
    pub index: usize,
    pub resource: ResourceRef,
    pub problem: ResourceProblem,
}

/// What a store did with a change set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// For [`Atomicity::AllOrNothing`], non-empty means nothing was applied (it holds the first
    /// failure); for [`Atomicity::PerResource`], the resources left unchanged.
    pub failures: Vec<ResourceFailure>,
    /// The catalogue would have exceeded its quota: nothing was applied.
    pub catalogue_full: bool,
}
