//! A resource's tags and the one function that changes them under a rule set.

use std::fmt;

use crate::change::{ResourceProblem, TagOp};
use crate::model::Tag;
use crate::rules::RuleSet;

/// The tags of one resource, sorted by key; one value per key. It also holds the one attribute
/// a resource has besides its tags: the uuid Baidu's `createAndAssign` records
/// (`resourceUuid`), which lives as long as the resource has tags.
///
/// The pairs live in one string, key then value, in key order, with the offsets where each
/// ends: a resource has a few dozen tags at most, stored records are already in key order,
/// and listings build one set per resource they return, so a set costs two allocations
/// however many tags it has.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct TagSet {
    /// Every key and value, one after the other, in key order.
    text: String,
    /// For each tag, where its key and its value end in `text` (its key starts where the
    /// previous value ended). Keys are sorted and unique.
    ends: Vec<(usize, usize)>,
    uuid: Option<String>,
}

impl fmt::Debug for TagSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TagSet")
            .field("tags", &self.iter().collect::<Vec<_>>())
            .field("uuid", &self.uuid)
            .finish()
    }
}

impl TagSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty set with room for `tags` tags of `bytes` bytes in all.
    pub fn with_capacity(tags: usize, bytes: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            ends: Vec::with_capacity(tags),
            uuid: None,
        }
    }

    pub fn from_tags(tags: impl IntoIterator<Item = Tag>) -> Self {
        Self::from_pairs(tags.into_iter().map(|t| (t.key, t.value)))
    }

    /// From (key, value) pairs; a repeated key keeps its last value.
    pub fn from_pairs<K: AsRef<str>, V: AsRef<str>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        let mut set = Self::new();
        for (k, v) in pairs {
            set.push(k.as_ref(), v.as_ref());
        }
        set
    }

    /// Adds a tag, replacing the value of a key already there. Pairs given in key order (as
    /// stored) are appended.
    pub fn push(&mut self, key: &str, value: &str) {
        if self.last_key().is_none_or(|last| last < key) {
            self.text.push_str(key);
            let key_end = self.text.len();
            self.text.push_str(value);
            self.ends.push((key_end, self.text.len()));
        } else {
            self.insert(key, value);
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

    /// Where tag `at` starts in `text`.
    fn start(&self, at: usize) -> usize {
        at.checked_sub(1).map_or(0, |before| self.ends[before].1)
    }

    fn key_at(&self, at: usize) -> &str {
        &self.text[self.start(at)..self.ends[at].0]
    }

    fn value_at(&self, at: usize) -> &str {
        let (key_end, value_end) = self.ends[at];
        &self.text[key_end..value_end]
    }

    fn last_key(&self) -> Option<&str> {
        self.ends.len().checked_sub(1).map(|at| self.key_at(at))
    }

    fn position(&self, key: &str) -> Result<usize, usize> {
        let mut lo = 0;
        let mut hi = self.ends.len();
        while lo < hi {
            let mid = lo + (hi - lo) / 2;
            match self.key_at(mid).cmp(key) {
                std::cmp::Ordering::Less => lo = mid + 1,
                std::cmp::Ordering::Greater => hi = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(lo)
    }

    /// Moves the offsets of the tags from `from` on after an edit before them replaced
    /// `removed` bytes with `added` (they all lie past the edit, so none goes below zero).
    fn shift(&mut self, from: usize, removed: usize, added: usize) {
        for (key_end, value_end) in &mut self.ends[from..] {
            *key_end = *key_end - removed + added;
            *value_end = *value_end - removed + added;
        }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        let at = self.position(key).ok()?;
        Some(self.value_at(at))
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Iterates `(key, value)` in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        (0..self.ends.len()).map(|at| (self.key_at(at), self.value_at(at)))
    }

    /// The `(key, value)` pairs in key order (the uuid is dropped).
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    pub fn insert(&mut self, key: &str, value: &str) {
        match self.position(key) {
            Ok(at) => {
                let (key_end, value_end) = self.ends[at];
                self.text.replace_range(key_end..value_end, value);
                self.ends[at].1 = key_end + value.len();
                self.shift(at + 1, value_end - key_end, value.len());
            }
            Err(at) => {
                let start = self.start(at);
                self.text.insert_str(start, value);
                self.text.insert_str(start, key);
                self.ends
                    .insert(at, (start + key.len(), start + key.len() + value.len()));
                self.shift(at + 1, 0, key.len() + value.len());
            }
        }
    }

    /// Removes a key; returns its value if it was there. The last tag takes the uuid with it.
    pub fn remove(&mut self, key: &str) -> Option<String> {
        let removed = self.position(key).ok().map(|at| self.remove_at(at));
        if self.ends.is_empty() {
            self.uuid = None;
        }
        removed
    }

    /// Removes tag `at`; returns its value.
    fn remove_at(&mut self, at: usize) -> String {
        let start = self.start(at);
        let (key_end, value_end) = self.ends.remove(at);
        let value = self.text[key_end..value_end].to_owned();
        self.text.replace_range(start..value_end, "");
        self.shift(at, value_end - start, 0);
        value
    }

    /// Keeps only the tags whose key `keep` admits.
    fn retain_keys(&mut self, keep: impl Fn(&str) -> bool) {
        let mut kept = TagSet::with_capacity(self.len(), self.text.len());
        for (k, v) in self.iter().filter(|(k, _)| keep(k)) {
            kept.push(k, v);
        }
        self.text = kept.text;
        self.ends = kept.ends;
    }

    /// The set after `op`, or why the resource cannot take it. System tags (per `rules`) are
    /// never removed by `RemoveAll`/`Replace` and do not count against the per-resource limit.
    pub fn apply(&self, op: &TagOp, rules: &RuleSet) -> Result<TagSet, ResourceProblem> {
        let mut next = self.clone();
        match op {
            TagOp::Set(tags) => {
                for tag in tags {
                    next.insert(&tag.key, &tag.value);
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
            TagOp::RemoveAll => next.retain_keys(|k| rules.is_system_key(k)),
            TagOp::Replace { tags, uuid: given } => {
                next.retain_keys(|k| rules.is_system_key(k));
                for tag in tags {
                    next.insert(&tag.key, &tag.value);
                }
                next.uuid = Some(given.clone()).filter(|u| !u.is_empty());
            }
        }
        // Removals are always allowed, even on a resource over a (since lowered) limit.
        let adds = matches!(op, TagOp::Set(_) | TagOp::Replace { .. });
        let user_tags = next.iter().filter(|(k, _)| !rules.is_system_key(k)).count();
        if adds && user_tags > rules.max_tags_per_resource {
            return Err(ResourceProblem::TagQuotaExceeded);
        }
        if next.is_empty() {
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
        grown.insert("aa", "x");
        grown.insert("a", "y");
        assert_eq!(
            grown.iter().collect::<Vec<_>>(),
            vec![("a", "y"), ("aa", "x"), ("b", "2")]
        );
        assert_eq!(grown.remove("aa"), Some("x".into()));
        assert_eq!(grown.remove("aa"), None);
        assert_eq!(grown.into_pairs(), pairs(&[("a", "y"), ("b", "2")]));
    }

    #[derive(Clone, Debug)]
    enum Edit {
        Insert(String, String),
        Push(String, String),
        Remove(String),
    }

    fn edit() -> impl proptest::strategy::Strategy<Value = Edit> {
        use proptest::prelude::*;
        // Few distinct keys, so that edits meet keys already there; values of every length.
        let key = "[a-d]{0,2}";
        let value = "\\PC{0,5}";
        prop_oneof![
            (key, value).prop_map(|(k, v)| Edit::Insert(k, v)),
            (key, value).prop_map(|(k, v)| Edit::Push(k, v)),
            key.prop_map(Edit::Remove),
        ]
    }

    proptest::proptest! {
        /// The packed set behaves as a sorted map of key to value.
        #[test]
        fn edits_match_a_map(edits in proptest::collection::vec(edit(), 0..40)) {
            let mut set = TagSet::new();
            let mut model = std::collections::BTreeMap::new();
            for edit in edits {
                match edit {
                    Edit::Insert(k, v) => {
                        set.insert(&k, &v);
                        model.insert(k, v);
                    }
                    Edit::Push(k, v) => {
                        set.push(&k, &v);
                        model.insert(k, v);
                    }
                    Edit::Remove(k) => {
                        proptest::prop_assert_eq!(set.remove(&k), model.remove(&k));
                    }
                }
                let want: Vec<(&str, &str)> =
                    model.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
                proptest::prop_assert_eq!(set.iter().collect::<Vec<_>>(), want);
                proptest::prop_assert_eq!(set.len(), model.len());
                for (k, v) in &model {
                    proptest::prop_assert_eq!(set.get(k), Some(v.as_str()));
                }
                let rebuilt = TagSet::from_pairs(set.clone().into_pairs());
                proptest::prop_assert_eq!(&rebuilt, &set);
            }
        }
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
        s.insert("acs:rm:rgId", "rg-1");
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
}
