//! Regions, resource types, resource ids and tags: the names every dialect maps onto.

use std::fmt;
use std::sync::Arc;

/// A region id such as `cn-hangzhou`, `bj` or `us-east-1`: 1..=64 of `[a-z0-9-]`. Shared
/// text: every resource a listing returns holds a copy.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Region(Arc<str>);

impl Region {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        ok.then(|| Self(s.into()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Region {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A canonical resource type, `NAMESPACE::PRODUCT::TYPE` in upper case, e.g.
/// `ALIYUN::RDS::INSTANCE`. The namespace (`ALIYUN`, `BCE`, `AWS`) is part of a resource's
/// identity and selects the rule set that governs its tags. Shared text: a scan clones one per
/// row.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ResourceType(Arc<str>);

impl ResourceType {
    /// Builds `NAMESPACE::PRODUCT::TYPE`, upper-casing each part. Parts are 1..=64 characters of
    /// `[A-Za-z0-9_-]`.
    pub fn new(namespace: &str, product: &str, kind: &str) -> Option<Self> {
        if !(Self::valid_part(namespace) && Self::valid_part(product) && Self::valid_part(kind)) {
            return None;
        }
        Some(Self(
            format!(
                "{}::{}::{}",
                namespace.to_ascii_uppercase(),
                product.to_ascii_uppercase(),
                kind.to_ascii_uppercase()
            )
            .into(),
        ))
    }

    /// Parses a canonical `A::B::C` string (any case).
    pub fn parse_canonical(s: &str) -> Option<Self> {
        // `A::B::C` split on ':' is `A`, ``, `B`, ``, `C` (a char split is a memchr; stored
        // keys hold the canonical form, and index scans parse one per row).
        let mut parts = s.split(':');
        let (Some(ns), Some(""), Some(product), Some(""), Some(kind), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return None;
        };
        // `s` is exactly `ns::product::kind`, so upper-casing it is what `new` would build.
        [ns, product, kind]
            .iter()
            .all(|part| Self::valid_part(part))
            .then(|| Self(s.to_ascii_uppercase().into()))
    }

    /// 1..=64 characters of `[A-Za-z0-9_-]`.
    fn valid_part(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 64
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first segment: `ALIYUN` for `ALIYUN::RDS::INSTANCE`.
    pub fn namespace(&self) -> &str {
        self.0.split(':').next().unwrap_or_default()
    }

    /// The second segment: `RDS` for `ALIYUN::RDS::INSTANCE`.
    pub fn product(&self) -> &str {
        self.0.split(':').nth(2).unwrap_or_default()
    }

    /// The third segment: `INSTANCE` for `ALIYUN::RDS::INSTANCE`.
    pub fn kind(&self) -> &str {
        self.0.split(':').nth(4).unwrap_or_default()
    }
}

impl fmt::Display for ResourceType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A resource id such as `rm-uf6wjk5xxxxxxx`: 1..=256 characters, none of them whitespace or
/// control characters. A self-hosted tag service has no inventory, so any such id is
/// well-formed; `serve --resources registered` narrows this to registered resources.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ResourceId(String);

impl ResourceId {
    pub fn parse(s: &str) -> Option<Self> {
        let chars = s.chars().count();
        let ok =
            (1..=256).contains(&chars) && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        ok.then(|| Self(s.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One resource of an account: where it lives, what it is, its id.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct ResourceRef {
    pub region: Region,
    pub resource_type: ResourceType,
    pub id: ResourceId,
}

/// A key with its value. Validity is checked against a [`crate::RuleSet`], not here.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

impl Tag {
    pub fn new(key: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            key: key.into(),
            value: value.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_type_is_canonical_upper_case() {
        let t = ResourceType::new("aliyun", "rds", "instance").expect("valid");
        assert_eq!(t.as_str(), "ALIYUN::RDS::INSTANCE");
        assert_eq!(t.namespace(), "ALIYUN");
        assert_eq!(t.product(), "RDS");
        assert_eq!(t.kind(), "INSTANCE");
        assert_eq!(
            ResourceType::parse_canonical("ALIYUN::rds::Instance"),
            Some(t)
        );
        assert!(ResourceType::parse_canonical("ALIYUN::RDS").is_none());
        assert!(ResourceType::parse_canonical("A::B::C::D").is_none());
        for bad in [
            "A:::B::C",
            "A:B::C::D",
            "A::B:C",
            ":A::B::C",
            "A::B::C:",
            "A::::C",
            "A::B::",
        ] {
            assert!(ResourceType::parse_canonical(bad).is_none(), "{bad}");
        }
        let upper = ResourceType::parse_canonical("ACS::ECS::INSTANCE").expect("canonical");
        assert_eq!(upper.as_str(), "ACS::ECS::INSTANCE");
        assert_eq!(
            (upper.namespace(), upper.product(), upper.kind()),
            ("ACS", "ECS", "INSTANCE")
        );
        assert!(ResourceType::new("a b", "x", "y").is_none());
    }

    #[test]
    fn regions_and_ids() {
        assert!(Region::parse("cn-hangzhou").is_some());
        assert!(Region::parse("CN").is_none());
        assert!(Region::parse("").is_none());
        assert!(ResourceId::parse("rm-uf6wjk5xxxxxxx").is_some());
        assert!(ResourceId::parse("a b").is_none());
        assert!(ResourceId::parse("").is_none());
        assert!(ResourceId::parse(&"x".repeat(257)).is_none());
    }
}
