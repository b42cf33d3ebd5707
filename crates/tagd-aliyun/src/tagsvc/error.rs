//! The Tag service's wire errors (spec aliyun.md §3.6, tagd's choices in
//! docs/aliyun-tag-service.md) and the mapping from core errors.

use std::borrow::Cow;

use tagd_core::{CoreError, StoreError, TagRuleError};

use crate::error::{AliyunError, INTERNAL, UNAVAILABLE};

const fn e(status: u16, code: &'static str, message: &'static str) -> AliyunError {
    AliyunError {
        status,
        code: Cow::Borrowed(code),
        message: Cow::Borrowed(message),
    }
}

fn owned(status: u16, code: &'static str, message: String) -> AliyunError {
    AliyunError {
        status,
        code: Cow::Borrowed(code),
        message: Cow::Owned(message),
    }
}

pub const INVALID_TAGS: AliyunError = e(
    400,
    "InvalidParameter.Tags",
    "The Tags parameter cannot be empty, and JSON parsing should adhere to the format of a Map.",
);
pub const TOO_MANY_TAGS: AliyunError = e(
    403,
    "NumberExceed.Tags",
    "The maximum number of Tags is exceeded.",
);
pub const TOO_MANY_RESOURCES: AliyunError = e(
    403,
    "NumberExceed.ResourceIds",
    "The maximum number of ResourceIds is exceeded.",
);
pub const DUPLICATE_KEY: AliyunError = e(
    403,
    "Duplicate.TagKey",
    "The Tag.N.Key contains duplicate keys.",
);
pub const SYSTEM_TAG: AliyunError = e(
    403,
    "NoPermission.SystemTag",
    "The user does not have permission to operate the system tag.",
);
pub const TAG_KEY_MISSING: AliyunError =
    e(400, "MissingParameter.TagKey", "You must specify TagKey.");
pub const INVALID_CATEGORY: AliyunError = e(
    403,
    "InvalidParameter.Category",
    "The Category parameter is invalid.",
);
pub const INVALID_RESOURCE_TYPE: AliyunError = e(
    403,
    "InvalidParameter.ResourceType",
    "The ResourceType parameter is invalid.",
);
pub const FUZZY_NOT_SUPPORTED: AliyunError = e(
    400,
    "FuzzyQuery.NotSupport",
    "The specified FuzzyType is not supported.",
);
pub const INVALID_NEXT_TOKEN: AliyunError = e(
    403,
    "Invalid.NextToken",
    "The parameter NextToken is invalid.",
);
pub const INVALID_PRESET_KEY: AliyunError =
    e(403, "InvalidParameter.Key", "The Key parameter is invalid.");
pub const INVALID_PRESET_VALUE: AliyunError = e(
    403,
    "InvalidParameter.Value",
    "The Value parameter is invalid.",
);
pub const META_KEY_NOT_FOUND: AliyunError =
    e(403, "MetaTagKeyNotFound", "The meta tag key is not found.");
pub const META_KEY_HAS_VALUE: AliyunError = e(
    400,
    "MetaTagKeyHasValue",
    "The specified TagKey already bind tag value",
);

/// Per-resource failures (`FailedResources`), code and message.
pub const QUOTA_PER_RESOURCE: (&str, &str) = (
    "QuotaExceed.TagsPerResource",
    "The maximum number of tags for each resource is exceeded.",
);
pub const RESOURCE_NOT_FOUND: (&str, &str) = (
    "InvalidResourceId.NotFound",
    "The specified ResourceIds are not found in our records.",
);

/// `MissingParameter.<Name>`: `The parameter - <Name> should not be null`.
pub fn missing(name: &'static str) -> AliyunError {
    let code = match name {
        "RegionId" => "MissingParameter.RegionId",
        "ResourceARN" => "MissingParameter.ResourceARN",
        "Tags" => "MissingParameter.Tags",
        "TagKeyValueParamList" => "MissingParameter.TagKeyValueParamList",
        "Key" => "MissingParameter.Key",
        "Value" => "MissingParameter.Value",
        "ResourceType" => "MissingParameter.ResourceType",
        "TagFilter.Key" => "MissingParameter.TagFilter.Key",
        _ => "MissingParameter",
    };
    owned(
        400,
        code,
        format!("The parameter - {name} should not be null"),
    )
}

pub fn arn_format(arn: &str) -> AliyunError {
    owned(
        400,
        "InvalidResourceARN.FormatError",
        format!(
            "The format of parameter ResourceARN: {arn} is not valid, the correct format is arn:acs:${{Service}}:${{Region}}:${{Account}}:${{ResourceType}}/${{ResourceId}}."
        ),
    )
}

pub fn arn_region(arn: &str) -> AliyunError {
    owned(
        400,
        "InvalidResourceARN.Region",
        format!(
            "The region of parameter ResourceARN does not match the RegionId parameter, specifically: {arn}."
        ),
    )
}

pub fn arn_account(arn: &str) -> AliyunError {
    owned(
        400,
        "InvalidResourceARN.Account",
        format!(
            "The account of parameter ResourceARN does not match the caller, specifically: {arn}."
        ),
    )
}

pub fn invalid_key(key: &str) -> AliyunError {
    owned(
        400,
        "InvalidParameter.TagKey",
        format!("The TagKey parameter  is invalid. The following TagKeys are invalid: {key}."),
    )
}

pub fn invalid_value(value: &str) -> AliyunError {
    owned(
        400,
        "InvalidParameter.TagValue",
        format!("The TagValue parameter is invalid. The following TagValues are invalid: {value}."),
    )
}

/// A key or value problem, with the offending text.
pub fn from_rule(problem: TagRuleError, key: &str, value: &str) -> AliyunError {
    match problem {
        TagRuleError::KeySystem => SYSTEM_TAG,
        TagRuleError::KeyBlank
        | TagRuleError::KeyTooLong
        | TagRuleError::KeyReserved
        | TagRuleError::KeyHasUrl
        | TagRuleError::KeyCharset => invalid_key(key),
        TagRuleError::ValueBlank
        | TagRuleError::ValueEmpty
        | TagRuleError::ValueTooLong
        | TagRuleError::ValueReserved
        | TagRuleError::ValueHasUrl
        | TagRuleError::ValueCharset => invalid_value(value),
    }
}

/// Maps the core's whole-request errors; `tag(i)` gives the (key, value) of tag `i` of the
/// request for the messages that name it.
pub fn from_core(err: &CoreError, tag: impl Fn(usize) -> (String, String)) -> AliyunError {
    match err {
        CoreError::NoResources => missing("ResourceARN"),
        CoreError::TooManyResources { .. } => TOO_MANY_RESOURCES,
        CoreError::NoTags => missing("Tags"),
        CoreError::TooManyTags { .. } => TOO_MANY_TAGS,
        CoreError::DuplicateTagKey { .. } => DUPLICATE_KEY,
        CoreError::InvalidTag { index, problem } => {
            let (key, value) = tag(*index);
            from_rule(*problem, &key, &value)
        }
        CoreError::InvalidPageToken => INVALID_NEXT_TOKEN,
        CoreError::Store(StoreError::Unavailable(_)) => UNAVAILABLE,
        // Per-resource outcomes are reported in FailedResources, never as errors; anything
        // else is internal.
        CoreError::TagQuotaExceeded { .. }
        | CoreError::ResourceNotFound { .. }
        | CoreError::CatalogueFull
        | CoreError::Store(_) => INTERNAL,
    }
}
