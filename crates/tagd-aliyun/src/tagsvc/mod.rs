//! Alibaba's standalone Tag service, version 2018-08-28 (spec aliyun.md §3 and §6 item 10;
//! tagd's choices in docs/aliyun-tag-service.md). Resources are named by ARN and may be of any
//! product; the rules are the core's, shared with the RDS API over the same resources.

pub mod arn;
mod by_tag;
mod catalogue;
pub mod error;
mod presets;
mod resources;
pub mod tags_json;

use tagd_core::catalogue::TextMatch;
use tagd_core::rules::{ALIYUN_RULES, RuleSet};
use tagd_core::{AccountId, Region, ResourceType, Store, TagService};

use crate::error::AliyunError;
use crate::params::Params;
use crate::render::{Format, Node, Stream};

/// The actions of the Tag service, spelled as the vendor does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TagAction {
    TagResources,
    UntagResources,
    ListTagResources,
    ListTagKeys,
    ListTagValues,
    CreateTags,
    DeleteTag,
    ListResourcesByTag,
}

impl TagAction {
    const ALL: [TagAction; 8] = [
        Self::TagResources,
        Self::UntagResources,
        Self::ListTagResources,
        Self::ListTagKeys,
        Self::ListTagValues,
        Self::CreateTags,
        Self::DeleteTag,
        Self::ListResourcesByTag,
    ];

    /// Matches case-insensitively.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|a| a.name().eq_ignore_ascii_case(name))
    }

    pub fn name(self) -> &'static str {
        match self {
            Self::TagResources => "TagResources",
            Self::UntagResources => "UntagResources",
            Self::ListTagResources => "ListTagResources",
            Self::ListTagKeys => "ListTagKeys",
            Self::ListTagValues => "ListTagValues",
            Self::CreateTags => "CreateTags",
            Self::DeleteTag => "DeleteTag",
            Self::ListResourcesByTag => "ListResourcesByTag",
        }
    }
}

/// Runs one action for `account`; returns the response fields after `RequestId`.
pub async fn run<S: Store>(
    action: TagAction,
    params: &Params,
    account: &AccountId,
    service: &TagService<S>,
    format: Format,
) -> Result<Vec<(&'static str, Node)>, AliyunError> {
    match action {
        TagAction::TagResources => resources::tag(params, account, service).await,
        TagAction::UntagResources => resources::untag(params, account, service).await,
        TagAction::ListTagResources => resources::list(params, account, service, format).await,
        TagAction::ListTagKeys => catalogue::keys(params, account, service).await,
        TagAction::ListTagValues => catalogue::values(params, account, service).await,
        TagAction::CreateTags => presets::create(params, account, service).await,
        TagAction::DeleteTag => presets::delete(params, account, service).await,
        TagAction::ListResourcesByTag => by_tag::list(params, account, service, format).await,
    }
}

// ---- parameters shared by the actions ----

fn region(params: &Params) -> Result<Region, AliyunError> {
    let raw = params
        .get("RegionId")
        .ok_or_else(|| error::missing("RegionId"))?;
    Region::parse(raw).ok_or_else(|| AliyunError::invalid("RegionId"))
}

/// The Tag service's key and value rules: Alibaba's (§4), but a value is 1..128 characters here,
/// where the RDS API over the same resources also takes an empty one (§4, "Value length").
const TAG_RULES: RuleSet = RuleSet {
    allow_empty_value: false,
    ..ALIYUN_RULES
};

/// The Alibaba namespace of canonical types: the only one this service's resources live in.
const NAMESPACE: &str = "ALIYUN";

/// A `ResourceType` parameter: `ALIYUN::<Product>::<Type>` (spec aliyun.md §3.3). Another
/// namespace's type (`BCE::…`, another dialect's resources) is as invalid as a malformed one.
fn resource_type(raw: &str) -> Result<ResourceType, AliyunError> {
    ResourceType::parse_canonical(raw)
        .filter(|t| t.namespace() == NAMESPACE)
        .ok_or(error::INVALID_RESOURCE_TYPE)
}

/// `PageSize` / `MaxResult`: 1..=1000, `default` when absent.
fn page_size(params: &Params, name: &str, default: usize) -> Result<usize, AliyunError> {
    match params.get(name) {
        None | Some("") => Ok(default),
        Some(raw) => match raw.parse::<usize>() {
            Ok(n) if (1..=1000).contains(&n) => Ok(n),
            _ => Err(AliyunError::invalid(name)),
        },
    }
}

fn next_token(params: &Params) -> Option<&str> {
    params.get("NextToken").filter(|t| !t.is_empty())
}

/// `FuzzyType` applied to a filter text: EQUAL (default) or PREFIX.
fn text_match(params: &Params, filter: Option<&str>) -> Result<TextMatch, AliyunError> {
    let prefix = match params.get("FuzzyType") {
        None | Some("") => false,
        Some(f) if f.eq_ignore_ascii_case("EQUAL") => false,
        Some(f) if f.eq_ignore_ascii_case("PREFIX") => true,
        Some(_) => return Err(error::FUZZY_NOT_SUPPORTED),
    };
    Ok(match filter.filter(|f| !f.is_empty()) {
        None => TextMatch::Any,
        Some(f) if prefix => TextMatch::Prefix(f.to_owned()),
        Some(f) => TextMatch::Exact(f.to_owned()),
    })
}

/// Which tags a listing shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Category {
    All,
    Custom,
    System,
}

impl Category {
    fn parse(params: &Params) -> Result<Category, AliyunError> {
        match params.get("Category") {
            None | Some("") => Ok(Category::All),
            Some(c) if c.eq_ignore_ascii_case("all") => Ok(Category::All),
            Some(c) if c.eq_ignore_ascii_case("custom") => Ok(Category::Custom),
            Some(c) if c.eq_ignore_ascii_case("system") => Ok(Category::System),
            Some(_) => Err(error::INVALID_CATEGORY),
        }
    }

    fn admits(self, key: &str) -> bool {
        match self {
            Category::All => true,
            Category::Custom => !is_system(key),
            Category::System => is_system(key),
        }
    }
}

fn is_system(key: &str) -> bool {
    ALIYUN_RULES.is_system_key(key)
}

/// The `Tags` list of a listed resource, as a field of the item `out` has open: one
/// `{"Key","Value","Category"}` per tag, with Category `Custom`/`System` (ListTagResources) or
/// `custom`/`system` (the other actions).
fn stream_tags<'a>(
    out: &mut Stream,
    tags: impl Iterator<Item = (&'a str, &'a str)>,
    capitalised: bool,
) {
    out.begin_list("Tags");
    for (key, value) in tags {
        let category = match (is_system(key), capitalised) {
            (true, true) => "System",
            (false, true) => "Custom",
            (true, false) => "system",
            (false, false) => "custom",
        };
        out.begin_item("Tags");
        out.text("Key", key);
        out.text("Value", value);
        out.text("Category", category);
        out.end_item("Tags");
    }
    out.end_list();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_one_to_128_characters() {
        use tagd_core::TagRuleError;
        assert_eq!(TAG_RULES.check_value(""), Err(TagRuleError::ValueEmpty));
        assert_eq!(ALIYUN_RULES.check_value(""), Ok(()), "the RDS API's rules");
        assert_eq!(TAG_RULES.check_value("v"), Ok(()));
        assert_eq!(TAG_RULES.check_value(&"值".repeat(128)), Ok(()));
        assert_eq!(
            TAG_RULES.check_value(&"值".repeat(129)),
            Err(TagRuleError::ValueTooLong)
        );
        assert_eq!(
            error::from_rule(TagRuleError::ValueEmpty, "k", "").code,
            "InvalidParameter.TagValue"
        );
    }

    #[test]
    fn resource_types_are_alibaba_types_only() {
        for ok in [
            "ALIYUN::RDS::INSTANCE",
            "aliyun::ecs::disk",
            "ALIYUN::FOO::WIDGET",
        ] {
            assert_eq!(
                resource_type(ok).map(|t| t.namespace().to_owned()),
                Ok(NAMESPACE.to_owned()),
                "{ok}"
            );
        }
        for bad in [
            "BCE::RDS::RESOURCE",
            "bce::bcc::resource",
            "AWS::RDS::INSTANCE",
            "INSTANCE",
            "ALIYUN::RDS",
        ] {
            assert_eq!(
                resource_type(bad),
                Err(error::INVALID_RESOURCE_TYPE),
                "{bad}"
            );
        }
    }
}
