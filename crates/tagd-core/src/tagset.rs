//! A resource's tags and the one function that changes them under a rule set.

use crate::change::{ResourceProblem, TagOp};
use crate::model::Tag;
use crate::rules::RuleSet;

/// The tags of one resource, sorted by key; one value per key. It also holds the one attribute
/// a resource has besides its tags: the uuid Baidu's `createAndAssign` records
/// (`resourceUuid`), which lives as long as the resource has tags.
///
/// The pairs are a sorted vector, not a map: a resource has a few dozen tags at most, stored
/// records are already in key order, and listings build one set per resource they return.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TagSet {
    /// Sorted by key, keys unique.
    tags: Vec<(String, String)>,
    uuid: Option<String>,
}

impl TagSet {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn from_tags(tags: impl IntoIterator<Item = Tag>) -> Self {
        Self::from_pairs(tags.into_iter().map(|t| (t.key, t.value)).collect())
    }

    /// From (key, value) pairs; a repeated key keeps its last value. Pairs already in key
    /// order (as stored) are taken as they are.
    pub fn from_pairs(mut pairs: Vec<(String, String)>) -> Self {
        if !pairs.windows(2).all(|w| w[0].0 < w[1].0) {
            // Stable: of equal keys the last given moves into the one `dedup_by` keeps.
            pairs.sort_by(|a, b| a.0.cmp(&b.0));
            pairs.dedup_by(|later, kept| {
                let same = later.0 == kept.0;
                if same {
                    std::mem::swap(&mut later.1, &mut kept.1);
                }
                same
            });
        }
        Self {
            tags: pairs,
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

    fn position(&self, key: &str) -> Result<usize, usize> {
        self.tags.binary_search_by(|(k, _)| k.as_str().cmp(key))
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        let at = self.position(key).ok()?;
        Some(self.tags[at].1.as_str())
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

    /// The `(key, value)` pairs in key order, moved out (the uuid is dropped).
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.tags
    }

    pub fn insert(&mut self, key: String, value: String) {
        match self.position(&key) {
            Ok(at) => self.tags[at].1 = value,
            Err(at) => self.tags.insert(at, (key, value)),
        }
    }

    /// Removes a key; returns its value if it was there. The last tag takes the uuid with it.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let removed = self.position(key).ok().map(|at| self.tags.remove(at).1);
        if self.tags.is_empty() {
            self.uuid = None;
        }
        removed
    }

    /// Whether this set carries `key` (with `value`, when one is given).
    pub fn matches(&self, key: &str, value: Option<&str>) -> bool {
        match (self.get(key), value) {
            (Some(_), None) => true,
            (Some(have), Some(want)) => have == want,
            (None, _) => false,
        }
    }

    /// The set after `op`, or why the resource cannot take it. System tags (per `rules`) are
    /// never removed by `RemoveAll`/`Replace` and do not count against the per-resource limit.
    pub fn apply(&self, op: &TagOp, rules: &RuleSet) -> Result<TagSet, ResourceProblem> {
        let mut next = self.clone();
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
                    if next.get(&tag.key) == Some(tag.value.as_str()) {
                        next.remove(&tag.key);
                    }
                }
            }
            TagOp::RemoveAll => next.tags.retain(|(k, _)| rules.is_system_key(k)),
            TagOp::Replace { tags, uuid: given } => {
                next.tags.retain(|(k, _)| rules.is_system_key(k));
                for tag in tags {
                    next.insert(tag.key.clone(), tag.value.clone());
                }
                next.uuid = Some(given.clone()).filter(|u| !u.is_empty());
            }
        }
        // Removals are always allowed, even on a resource over a (since lowered) limit.
        let adds = matches!(op, TagOp::Set(_) | TagOp::Replace { .. });
        let user_tags = next
            .tags
            .iter()
            .filter(|(k, _)| !rules.is_system_key(k))
            .count();
        if adds && user_tags > rules.max_tags_per_resource {
            return Err(ResourceProblem::TagQuotaExceeded);
        }
        if next.tags.is_empty() {
            next.uuid = None;
        }
        Ok(next)
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
    fn pairs_out_of_order_are_sorted_and_the_last_of_a_key_wins() {
        let pairs = |list: &[(&str, &str)]| {
            list.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>()
        };
        let s = TagSet::from_pairs(pairs(&[
            ("b", "1"),
            ("a", "2"),
            ("b", "3"),
            ("c", "4"),
            ("a", "5"),
        ]));
        assert_eq!(
            s.iter().collect::<Vec<_>>(),
            vec![("a", "5"), ("b", "3"), ("c", "4")]
        );
        let sorted = TagSet::from_pairs(pairs(&[("a", "1"), ("b", "2")]));
        assert_eq!(sorted.get("b"), Some("2"));
        assert_eq!(sorted.get("c"), None);
        let mut grown = sorted.clone();
        grown.insert("aa".into(), "x".into());
        grown.insert("a".into(), "y".into());
        assert_eq!(
            grown.iter().collect::<Vec<_>>(),
            vec![("a", "y"), ("aa", "x"), ("b", "2")]
        );
        assert_eq!(grown.remove("aa"), Some("x".into()));
        assert_eq!(grown.remove("aa"), None);
        assert_eq!(grown.into_pairs(), pairs(&[("a", "y"), ("b", "2")]));
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
