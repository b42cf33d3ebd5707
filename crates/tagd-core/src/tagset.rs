//! A resource's tags and the one function that changes them under a rule set.

use std::collections::BTreeMap;

use crate::change::{ResourceProblem, TagOp};
use crate::model::Tag;
use crate::rules::RuleSet;

/// The tags of one resource, sorted by key; one value per key. It also holds the one attribute
/// a resource has besides its tags: the uuid Baidu's `createAndAssign` records
/// (`resourceUuid`), which lives as long as the resource has tags.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagSet {
    tags: BTreeMap<String, String>,
    uuid: Option<String>,
}

impl TagSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_tags(tags: impl IntoIterator<Item = Tag>) -> Self {
        Self {
            tags: tags.into_iter().map(|t| (t.key, t.value)).collect(),
            uuid: None,
        }
    }

    /// From (key, value) pairs; a repeated key keeps its last value. Pairs already in key
    /// order (as stored) are built in one pass.
    pub fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        Self {
            tags: pairs.into_iter().collect(),
            uuid: None,
        }
    }

    /// The same tags with `uuid` recorded (an empty one records none).
    #[must_use]
    pub fn with_uuid(mut self, uuid: Option<String>) -> Self {
        self.uuid = uuid.filter(|u| !u.is_empty());
        self
    }

    /// The uuid recorded with the resource's tags (Baidu's `resourceUuid`), if any.
    pub fn uuid(&self) -> Option<&str> {
        self.uuid.as_deref()
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.tags.get(key).map(String::as_str)
    }

    pub fn len(&self) -> usize {
        self.tags.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tags.is_empty()
    }

    /// Iterates `(key, value)` in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.tags.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn insert(&mut self, key: String, value: String) {
        self.tags.insert(key, value);
    }

    /// Removes a key; returns its value if it was there. The last tag takes the uuid with it.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let removed = self.tags.remove(key);
        if self.tags.is_empty() {
            self.uuid = None;
        }
        removed
    }

    /// Whether this set carries `key` (with `value`, when one is given).
    pub fn matches(&self, key: &str, value: Option<&str>) -> bool {
        match (self.tags.get(key), value) {
            (Some(_), None) => true,
            (Some(have), Some(want)) => have == want,
            (None, _) => false,
        }
    }

    /// The set after `op`, or why the resource cannot take it. System tags (per `rules`) are
    /// never removed by `RemoveAll`/`Replace` and do not count against the per-resource limit.
    pub fn apply(&self, op: &TagOp, rules: &RuleSet) -> Result<TagSet, ResourceProblem> {
        let mut next = self.tags.clone();
        let mut uuid = self.uuid.clone();
        match op {
            TagOp::Set(tags) => {
                for tag in tags {
                    next.insert(tag.key.clone(), tag.value.clone());
                }
            }
            TagOp::Remove(keys) => {
                for key in keys {
                    next.remove(key);
                }
            }
            TagOp::RemovePairs(tags) => {
                for tag in tags {
                    if next.get(&tag.key) == Some(&tag.value) {
                        next.remove(&tag.key);
                    }
                }
            }
            TagOp::RemoveAll => next.retain(|k, _| rules.is_system_key(k)),
            TagOp::Replace { tags, uuid: given } => {
                next.retain(|k, _| rules.is_system_key(k));
                for tag in tags {
                    next.insert(tag.key.clone(), tag.value.clone());
                }
                uuid = Some(given.clone()).filter(|u| !u.is_empty());
            }
        }
        // Removals are always allowed, even on a resource over a (since lowered) limit.
        let adds = matches!(op, TagOp::Set(_) | TagOp::Replace { .. });
        let user_tags = next.keys().filter(|k| !rules.is_system_key(k)).count();
        if adds && user_tags > rules.max_tags_per_resource {
            return Err(ResourceProblem::TagQuotaExceeded);
        }
        if next.is_empty() {
            uuid = None;
        }
        Ok(TagSet { tags: next, uuid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::ALIYUN_RULES;

    fn set(n: usize) -> TagSet {
        TagSet::from_tags((0..n).map(|i| Tag::new(format!("k{i:02}"), "v")))
    }

    #[test]
    fn the_uuid_follows_replace_and_leaves_with_the_last_tag() {
        let replace = |uuid: &str| TagOp::Replace {
            tags: vec![Tag::new("a", "1")],
            uuid: uuid.into(),
        };
        let with = set(2)
            .apply(&replace("u-1"), &ALIYUN_RULES)
            .expect("replace");
        assert_eq!(with.uuid(), Some("u-1"));
        let set_more = with
            .apply(&TagOp::Set(vec![Tag::new("b", "2")]), &ALIYUN_RULES)
            .expect("set");
        assert_eq!(set_more.uuid(), Some("u-1"), "other ops keep it");
        assert_ne!(
            set_more.clone().with_uuid(None),
            set_more,
            "it is part of the value"
        );
        assert_eq!(
            set_more
                .apply(&replace(""), &ALIYUN_RULES)
                .expect("replace")
                .uuid(),
            None
        );
        let emptied = with
            .apply(&TagOp::RemoveAll, &ALIYUN_RULES)
            .expect("remove");
        assert_eq!(emptied.uuid(), None);
        let mut one = with.clone();
        one.remove("a");
        assert_eq!(one.uuid(), None, "removing the last tag drops it");
    }

    #[test]
    fn overwrite_does_not_count_twice() {
        let twenty = set(20);
        let op = TagOp::Set(vec![Tag::new("k00", "new")]);
        let after = twenty.apply(&op, &ALIYUN_RULES).expect("overwrite fits");
        assert_eq!(after.len(), 20);
        assert_eq!(after.get("k00"), Some("new"));
    }

    #[test]
    fn the_twenty_first_tag_is_refused() {
        let op = TagOp::Set(vec![Tag::new("k20", "v")]);
        assert_eq!(
            set(20).apply(&op, &ALIYUN_RULES),
            Err(ResourceProblem::TagQuotaExceeded)
        );
        assert!(set(19).apply(&op, &ALIYUN_RULES).is_ok());
    }

    #[test]
    fn remove_all_keeps_system_tags() {
        let mut s = set(3);
        s.insert("acs:rm:rgId".into(), "rg-1".into());
        let after = s.apply(&TagOp::RemoveAll, &ALIYUN_RULES).expect("ok");
        assert_eq!(
            after.iter().collect::<Vec<_>>(),
            vec![("acs:rm:rgId", "rg-1")]
        );
    }

    #[test]
    fn replace_swaps_user_tags() {
        let after = set(3)
            .apply(
                &TagOp::Replace {
                    tags: vec![Tag::new("a", "1")],
                    uuid: String::new(),
                },
                &ALIYUN_RULES,
            )
            .expect("ok");
        assert_eq!(after.iter().collect::<Vec<_>>(), vec![("a", "1")]);
    }

    #[test]
    fn remove_pairs_needs_the_value() {
        let s = TagSet::from_tags([Tag::new("env", "prod"), Tag::new("team", "x")]);
        let op = TagOp::RemovePairs(vec![Tag::new("env", "dev"), Tag::new("team", "x")]);
        let after = s.apply(&op, &ALIYUN_RULES).expect("ok");
        assert_eq!(after.iter().collect::<Vec<_>>(), vec![("env", "prod")]);
    }

    #[test]
    fn remove_missing_key_is_a_no_op() {
        let after = set(2)
            .apply(&TagOp::Remove(vec!["zz".into()]), &ALIYUN_RULES)
            .expect("ok");
        assert_eq!(after, set(2));
    }

    #[test]
    fn matches_key_only_and_key_value() {
        let s = set(1);
        assert!(s.matches("k00", None));
        assert!(s.matches("k00", Some("v")));
        assert!(!s.matches("k00", Some("w")));
        assert!(!s.matches("zz", None));
    }
}
