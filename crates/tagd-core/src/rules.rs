//! Rule sets: the limits and key/value rules of a resource namespace, as data, and the
//! per-call limits of an API family. The core enforces them; dialects only choose which.

/// What may go wrong with one key or value under a [`RuleSet`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagRuleError {
    /// Empty, or only whitespace.
    KeyBlank,
    KeyTooLong,
    /// Starts with the system-tag prefix (`acs:`): system tags are not the user's.
    KeySystem,
    /// Starts with another reserved prefix (`aliyun`).
    KeyReserved,
    KeyHasUrl,
    KeyCharset,
    /// Non-empty but only whitespace (an empty value is allowed where the rules allow it).
    ValueBlank,
    ValueEmpty,
    ValueTooLong,
    ValueReserved,
    ValueHasUrl,
    ValueCharset,
}

impl TagRuleError {
    /// Whether the problem is with the key (as opposed to the value).
    pub fn concerns_key(self) -> bool {
        matches!(
            self,
            TagRuleError::KeyBlank
                | TagRuleError::KeyTooLong
                | TagRuleError::KeySystem
                | TagRuleError::KeyReserved
                | TagRuleError::KeyHasUrl
                | TagRuleError::KeyCharset
        )
    }
}

/// Which characters keys and values may hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Charset {
    /// Any Unicode text (Alibaba documents no charset restriction).
    Any,
    /// ASCII letters and digits, CJK ideographs, `-` `_` `/` `.` and space (Baidu).
    BaiduTag,
}

/// The rules that govern the tags of every resource in one namespace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleSet {
    /// The resource-type namespace these rules govern (`ALIYUN`).
    pub namespace: &'static str,
    /// Key length in Unicode characters, at least 1.
    pub max_key_chars: usize,
    /// Value length in Unicode characters.
    pub max_value_chars: usize,
    pub allow_empty_value: bool,
    /// Tags one resource may carry, counted after overwrites (system tags excluded).
    pub max_tags_per_resource: usize,
    /// Keys users may not set: system tags live under these.
    pub reserved_key_prefixes: &'static [&'static str],
    /// Values users may not set.
    pub reserved_value_prefixes: &'static [&'static str],
    /// Keys under this prefix are system tags (listed with Category System, never removed by
    /// "remove all", never counted against the per-resource limit).
    pub system_key_prefix: Option<&'static str>,
    /// Reject keys and values that contain `http://` or `https://`.
    pub forbid_urls: bool,
    pub charset: Charset,
}

/// Alibaba Cloud resources (`ALIYUN::…`): spec aliyun.md §4 and the RDS TagResources seed.
pub const ALIYUN_RULES: RuleSet = RuleSet {
    namespace: "ALIYUN",
    max_key_chars: 128,
    max_value_chars: 128,
    allow_empty_value: true,
    max_tags_per_resource: 20,
    reserved_key_prefixes: &["aliyun", "acs:"],
    reserved_value_prefixes: &["acs:"],
    system_key_prefix: Some("acs:"),
    forbid_urls: true,
    charset: Charset::Any,
};

/// Baidu AI Cloud resources (`BCE::…`): spec bce.md §6. Keys 1–65 and values 0–65 characters
/// from Baidu's charset; no reserved prefixes and no system tags are documented. Baidu documents
/// no per-resource limit; tagd allows 1000 (one value per key, as everywhere in tagd).
pub const BCE_RULES: RuleSet = RuleSet {
    namespace: "BCE",
    max_key_chars: 65,
    max_value_chars: 65,
    allow_empty_value: true,
    max_tags_per_resource: 1000,
    reserved_key_prefixes: &[],
    reserved_value_prefixes: &[],
    system_key_prefix: None,
    forbid_urls: false,
    charset: Charset::BaiduTag,
};

/// The rules for a namespace tagd has no specific rules for: Alibaba's limits without
/// reserved prefixes. Used only for types registered outside any dialect.
pub const GENERIC_RULES: RuleSet = RuleSet {
    namespace: "",
    reserved_key_prefixes: &[],
    reserved_value_prefixes: &[],
    system_key_prefix: None,
    ..ALIYUN_RULES
};

/// The rule set that governs a resource type's namespace.
pub fn rules_for_namespace(namespace: &str) -> &'static RuleSet {
    match namespace {
        "ALIYUN" => &ALIYUN_RULES,
        "BCE" => &BCE_RULES,
        _ => &GENERIC_RULES,
    }
}

impl RuleSet {
    /// Checks one key against these rules.
    pub fn check_key(&self, key: &str) -> Result<(), TagRuleError> {
        if self.key_is_blank(key) {
            return Err(TagRuleError::KeyBlank);
        }
        if key.chars().count() > self.max_key_chars {
            return Err(TagRuleError::KeyTooLong);
        }
        if self.is_system_key(key) {
            return Err(TagRuleError::KeySystem);
        }
        if self
            .reserved_key_prefixes
            .iter()
            .any(|p| key.starts_with(p))
        {
            return Err(TagRuleError::KeyReserved);
        }
        if self.forbid_urls && has_url(key) {
            return Err(TagRuleError::KeyHasUrl);
        }
        if !self.charset_allows(key) {
            return Err(TagRuleError::KeyCharset);
        }
        Ok(())
    }

    /// Checks one value against these rules.
    pub fn check_value(&self, value: &str) -> Result<(), TagRuleError> {
        if value.is_empty() {
            return if self.allow_empty_value {
                Ok(())
            } else {
                Err(TagRuleError::ValueEmpty)
            };
        }
        if value.trim().is_empty() && self.charset != Charset::BaiduTag {
            return Err(TagRuleError::ValueBlank);
        }
        if value.chars().count() > self.max_value_chars {
            return Err(TagRuleError::ValueTooLong);
        }
        if self
            .reserved_value_prefixes
            .iter()
            .any(|p| value.starts_with(p))
        {
            return Err(TagRuleError::ValueReserved);
        }
        if self.forbid_urls && has_url(value) {
            return Err(TagRuleError::ValueHasUrl);
        }
        if !self.charset_allows(value) {
            return Err(TagRuleError::ValueCharset);
        }
        Ok(())
    }

    /// Whether `key` is no key at all: empty or only whitespace. Under Baidu's charset only the
    /// space is whitespace; a key of other whitespace (a tab, U+3000) is not empty but outside
    /// the charset, and is refused as such (bce.md §2.1: only a missing, null or `""` key is
    /// `TagKeyEmpty`; §6 for the charset).
    fn key_is_blank(&self, key: &str) -> bool {
        match self.charset {
            Charset::Any => key.trim().is_empty(),
            Charset::BaiduTag => key.chars().all(|c| c == ' '),
        }
    }

    /// Whether `key` names a system tag under these rules.
    pub fn is_system_key(&self, key: &str) -> bool {
        self.system_key_prefix.is_some_and(|p| key.starts_with(p))
    }

    fn charset_allows(&self, s: &str) -> bool {
        match self.charset {
            Charset::Any => true,
            Charset::BaiduTag => s.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || matches!(c, '-' | '_' | '/' | '.' | ' ')
                    || ('\u{4E00}'..='\u{9FFF}').contains(&c)
                    || ('\u{3400}'..='\u{4DBF}').contains(&c)
            }),
        }
    }
}

fn has_url(s: &str) -> bool {
    s.contains("http://") || s.contains("https://")
}

/// The per-call limits of one API family (they differ between APIs over the same namespace:
/// RDS takes 50 resources × 20 tags, the Tag service 50 ARNs × 10 pairs).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CallLimits {
    pub max_resources: usize,
    pub max_tags: usize,
    /// Keys in one untag call.
    pub max_untag_keys: usize,
}

/// The Tag service 2018-08-28: 50 ARNs × 10 pairs, 20 keys per untag.
pub const ALIYUN_TAG_LIMITS: CallLimits = CallLimits {
    max_resources: 50,
    max_tags: 10,
    max_untag_keys: 20,
};

/// RDS 2014-08-15 `TagResources` / `UntagResources` / `ListTagResources`.
pub const ALIYUN_RDS_LIMITS: CallLimits = CallLimits {
    max_resources: 50,
    max_tags: 20,
    max_untag_keys: 20,
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliyun_key_rules_at_their_boundaries() {
        let r = &ALIYUN_RULES;
        assert_eq!(r.check_key(""), Err(TagRuleError::KeyBlank));
        assert_eq!(r.check_key("   "), Err(TagRuleError::KeyBlank));
        assert_eq!(r.check_key(&"k".repeat(128)), Ok(()));
        assert_eq!(r.check_key(&"k".repeat(129)), Err(TagRuleError::KeyTooLong));
        // Lengths count characters, not bytes: 128 CJK characters are 384 bytes.
        assert_eq!(r.check_key(&"数".repeat(128)), Ok(()));
        assert_eq!(
            r.check_key(&"数".repeat(129)),
            Err(TagRuleError::KeyTooLong)
        );
        assert_eq!(r.check_key("aliyun-team"), Err(TagRuleError::KeyReserved));
        assert_eq!(r.check_key("acs:rm:rgId"), Err(TagRuleError::KeySystem));
        assert_eq!(r.check_key("see http://x"), Err(TagRuleError::KeyHasUrl));
        assert_eq!(r.check_key("https://x"), Err(TagRuleError::KeyHasUrl));
        assert_eq!(r.check_key("team a*"), Ok(()));
        assert_eq!(r.check_key("Aliyun"), Ok(()));
    }

    #[test]
    fn aliyun_value_rules_at_their_boundaries() {
        let r = &ALIYUN_RULES;
        assert_eq!(r.check_value(""), Ok(()));
        assert_eq!(r.check_value("  "), Err(TagRuleError::ValueBlank));
        assert_eq!(r.check_value(&"v".repeat(128)), Ok(()));
        assert_eq!(
            r.check_value(&"v".repeat(129)),
            Err(TagRuleError::ValueTooLong)
        );
        assert_eq!(r.check_value("acs:x"), Err(TagRuleError::ValueReserved));
        assert_eq!(r.check_value("aliyun"), Ok(()));
        assert_eq!(r.check_value("a http://b"), Err(TagRuleError::ValueHasUrl));
        assert_eq!(r.check_value("数据~/+="), Ok(()));
    }

    #[test]
    fn baidu_charset() {
        let r = RuleSet {
            charset: Charset::BaiduTag,
            ..GENERIC_RULES
        };
        assert_eq!(r.check_key("env_1/a.b c-d"), Ok(()));
        assert_eq!(r.check_key("数据"), Ok(()));
        assert_eq!(r.check_key("a#b"), Err(TagRuleError::KeyCharset));
        assert_eq!(r.check_value("a=b"), Err(TagRuleError::ValueCharset));
    }

    #[test]
    fn baidu_blank_keys_are_empty_or_spaces_only() {
        let r = &BCE_RULES;
        assert_eq!(r.check_key(""), Err(TagRuleError::KeyBlank));
        assert_eq!(r.check_key("   "), Err(TagRuleError::KeyBlank));
        // Other whitespace is outside Baidu's charset: an invalid key, not an empty one.
        for key in ["\t", "\n", "\u{3000}", " \t ", "\r\n"] {
            assert_eq!(r.check_key(key), Err(TagRuleError::KeyCharset), "{key:?}");
        }
        assert_eq!(r.check_key(" a "), Ok(()));
        // Alibaba's rules keep calling any whitespace-only key blank.
        assert_eq!(ALIYUN_RULES.check_key("\t"), Err(TagRuleError::KeyBlank));
        assert_eq!(
            ALIYUN_RULES.check_key("\u{3000}"),
            Err(TagRuleError::KeyBlank)
        );
    }

    #[test]
    fn system_keys() {
        assert!(ALIYUN_RULES.is_system_key("acs:tag:createdby"));
        assert!(!ALIYUN_RULES.is_system_key("aliyun"));
        assert!(!GENERIC_RULES.is_system_key("acs:x"));
    }
}
