//! The Alibaba dialect's errors: every wire code tagd answers, with its HTTP status and message
//! (spec aliyun.md §1.7, §2.4 and the RDS TagResources seed, verbatim), and the one mapping from
//! core errors to them.

use std::borrow::Cow;

use tagd_core::{CoreError, ErrorKind, StoreError, TagRuleError};

/// An error as it goes on the wire.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AliyunError {
    pub status: u16,
    pub code: Cow<'static, str>,
    pub message: Cow<'static, str>,
}

const fn e(status: u16, code: &'static str, message: &'static str) -> AliyunError {
    AliyunError {
        status,
        code: Cow::Borrowed(code),
        message: Cow::Borrowed(message),
    }
}

// ---- common (gateway) errors, §1.7 ----
pub const INCOMPLETE_SIGNATURE: AliyunError = e(
    400,
    "IncompleteSignature",
    "The request signature does not conform to Aliyun standards.",
);
pub const KEY_NOT_FOUND: AliyunError = e(
    404,
    "InvalidAccessKeyId.NotFound",
    "Specified access key is not found.",
);
pub const KEY_INACTIVE: AliyunError = e(
    400,
    "InvalidAccessKeyId.Inactive",
    "Specified access key is disabled.",
);
pub const TIMESTAMP_FORMAT: AliyunError = e(
    400,
    "InvalidTimeStamp.Format",
    "Specified time stamp or date value is not well formatted.",
);
pub const TIMESTAMP_EXPIRED: AliyunError = e(
    400,
    "InvalidTimeStamp.Expired",
    "Specified time stamp or date value is expired.",
);
pub const NONCE_USED: AliyunError = e(
    400,
    "SignatureNonceUsed",
    "Specified signature nonce was used already.",
);
pub const INVALID_VERSION: AliyunError = e(
    400,
    "InvalidVersion",
    "Specified parameter Version is not valid.",
);
pub const ACTION_NOT_FOUND: AliyunError = e(
    404,
    "InvalidAction.NotFound",
    "Specified api is not found, please check your url and method.",
);
pub const INTERNAL: AliyunError = e(
    500,
    "InternalError",
    "The request processing has failed due to some unknown error.",
);
pub const UNAVAILABLE: AliyunError = e(
    503,
    "ServiceUnavailable",
    "The request has failed due to a temporary failure of the server.",
);

// ---- RDS tag family, the seed and §2.4 ----
pub const TOO_MANY_TAGS: AliyunError = e(
    400,
    "NumberExceed.Tags",
    "The maximum number of Tags is exceeded. The maximum value is 20.",
);
pub const TAGS_MISSING: AliyunError = e(
    400,
    "MissingParameter",
    "The parameter - Tags should not be null",
);
pub const KEY_BLANK: AliyunError = e(
    400,
    "InvalidTagKey.Malformed",
    "The Tag.N.Key parameter is blank",
);
pub const VALUE_BLANK: AliyunError = e(
    400,
    "InvalidTagValue.Malformed",
    "The Tag.N.Value parameter is blank",
);
pub const DUPLICATE_KEY: AliyunError = e(
    400,
    "Duplicate.TagKey",
    "The Tag.N.Key contain duplicate key.",
);
pub const QUOTA_EXCEEDED: AliyunError = e(
    400,
    "OperationDenied.QuotaExceed",
    "The maximum number of Tags is exceeded.",
);
pub const TOO_MANY_RESOURCES: AliyunError = e(
    400,
    "NumberExceed.ResourceIds",
    "The maximum number of ResourceIds is exceeded. The maximum value is 50.",
);
pub const SYSTEM_TAG: AliyunError = e(
    400,
    "InvalidTagKey.Malformed",
    "The operator is not permission for the system tag",
);
pub const RESOURCE_NOT_FOUND: AliyunError = e(
    400,
    "Request.NotFound",
    "The requested resource is not available.",
);
pub const VALUE_INVALID: AliyunError = e(
    400,
    "InvalidTagValue.Malformed",
    "The Tag.N.Value parameter is invalid.",
);
pub const KEY_INVALID: AliyunError = e(
    400,
    "InvalidTagKey.Malformed",
    "The Tag.N.Key parameter is invalid.",
);
pub const RESOURCE_TYPE_NOT_FOUND: AliyunError = e(
    404,
    "InvalidResourceType.NotFound",
    "The ResourceType provided does not exist in our records.",
);
pub const TAG_KEY_MISSING: AliyunError =
    e(400, "MissingParameter.TagKey", "You must specify TagKey.");
pub const INVALID_NEXT_TOKEN: AliyunError = e(
    400,
    "Invalid.NextToken",
    "The parameter NextToken is invalid.",
);

impl AliyunError {
    /// `MissingParameter` in the RDS tag family's words: `The parameter - <name> should not be null`.
    pub fn null_parameter(name: &str) -> Self {
        Self {
            status: 400,
            code: Cow::Borrowed("MissingParameter"),
            message: Cow::Owned(format!("The parameter - {name} should not be null")),
        }
    }

    /// The gateway's `MissingParameter`.
    pub fn missing(name: &str) -> Self {
        Self {
            status: 400,
            code: Cow::Borrowed("MissingParameter"),
            message: Cow::Owned(format!(
                "The input parameter \"{name}\" that is mandatory for processing this request is not supplied."
            )),
        }
    }

    /// The gateway's `InvalidParameter`.
    pub fn invalid(name: &str) -> Self {
        Self {
            status: 400,
            code: Cow::Borrowed("InvalidParameter"),
            message: Cow::Owned(format!("The specified parameter \"{name}\" is not valid.")),
        }
    }

    /// `SignatureDoesNotMatch`, carrying the server's string to sign after the only colon of the
    /// prefix: the legacy Python SDK splits on it and compares with its own (§1.7).
    pub fn signature_mismatch(string_to_sign: &str) -> Self {
        Self {
            status: 400,
            code: Cow::Borrowed("SignatureDoesNotMatch"),
            message: Cow::Owned(format!(
                "Specified signature is not matched with our calculation. server string to sign is:{string_to_sign}"
            )),
        }
    }
}

/// Maps a core error to the RDS tag family's wire error. Anything not mapped deliberately is an
/// internal error (the source is logged by the caller, never sent).
pub fn from_core(err: &CoreError) -> AliyunError {
    match err {
        CoreError::NoResources => AliyunError::null_parameter("ResourceIds"),
        CoreError::TooManyResources { .. } => TOO_MANY_RESOURCES,
        CoreError::NoTags => TAGS_MISSING,
        CoreError::TooManyTags { .. } => TOO_MANY_TAGS,
        CoreError::DuplicateTagKey { .. } => DUPLICATE_KEY,
        CoreError::InvalidTag { problem, .. } => from_rule(*problem),
        CoreError::TagQuotaExceeded { .. } => QUOTA_EXCEEDED,
        CoreError::ResourceNotFound { .. } => RESOURCE_NOT_FOUND,
        CoreError::InvalidPageToken => INVALID_NEXT_TOKEN,
        // Alibaba's APIs have no explicit catalogue.
        CoreError::CatalogueFull => INTERNAL,
        CoreError::Store(StoreError::Unavailable(_)) => UNAVAILABLE,
        CoreError::Store(_) => match err.kind() {
            ErrorKind::Unavailable => UNAVAILABLE,
            _ => INTERNAL,
        },
    }
}

/// The seed's key/value errors.
pub fn from_rule(problem: TagRuleError) -> AliyunError {
    match problem {
        TagRuleError::KeyBlank => KEY_BLANK,
        TagRuleError::KeySystem | TagRuleError::KeyReserved => SYSTEM_TAG,
        TagRuleError::KeyTooLong | TagRuleError::KeyHasUrl | TagRuleError::KeyCharset => {
            KEY_INVALID
        }
        TagRuleError::ValueBlank => VALUE_BLANK,
        TagRuleError::ValueEmpty
        | TagRuleError::ValueTooLong
        | TagRuleError::ValueReserved
        | TagRuleError::ValueHasUrl
        | TagRuleError::ValueCharset => VALUE_INVALID,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_table_verbatim() {
        // The ten rows of shared/seeds/aliyun-rds-TagResources.txt, in its order.
        let rows = [
            (
                TOO_MANY_TAGS,
                "NumberExceed.Tags",
                "The maximum number of Tags is exceeded. The maximum value is 20.",
            ),
            (
                TAGS_MISSING,
                "MissingParameter",
                "The parameter - Tags should not be null",
            ),
            (
                KEY_BLANK,
                "InvalidTagKey.Malformed",
                "The Tag.N.Key parameter is blank",
            ),
            (
                VALUE_BLANK,
                "InvalidTagValue.Malformed",
                "The Tag.N.Value parameter is blank",
            ),
            (
                DUPLICATE_KEY,
                "Duplicate.TagKey",
                "The Tag.N.Key contain duplicate key.",
            ),
            (
                QUOTA_EXCEEDED,
                "OperationDenied.QuotaExceed",
                "The maximum number of Tags is exceeded.",
            ),
            (
                TOO_MANY_RESOURCES,
                "NumberExceed.ResourceIds",
                "The maximum number of ResourceIds is exceeded. The maximum value is 50.",
            ),
            (
                SYSTEM_TAG,
                "InvalidTagKey.Malformed",
                "The operator is not permission for the system tag",
            ),
            (
                RESOURCE_NOT_FOUND,
                "Request.NotFound",
                "The requested resource is not available.",
            ),
            (
                VALUE_INVALID,
                "InvalidTagValue.Malformed",
                "The Tag.N.Value parameter is invalid.",
            ),
        ];
        for (err, code, message) in rows {
            assert_eq!(
                (err.status, err.code.as_ref(), err.message.as_ref()),
                (400, code, message)
            );
        }
    }

    #[test]
    fn every_rule_problem_maps_to_the_key_or_value_code() {
        use TagRuleError::*;
        for p in [
            KeyBlank,
            KeyTooLong,
            KeySystem,
            KeyReserved,
            KeyHasUrl,
            KeyCharset,
        ] {
            assert_eq!(from_rule(p).code, "InvalidTagKey.Malformed");
        }
        for p in [
            ValueBlank,
            ValueEmpty,
            ValueTooLong,
            ValueReserved,
            ValueHasUrl,
            ValueCharset,
        ] {
            assert_eq!(from_rule(p).code, "InvalidTagValue.Malformed");
        }
    }

    #[test]
    fn signature_mismatch_has_one_colon_before_the_string_to_sign() {
        let err = AliyunError::signature_mismatch("GET&%2F&A%3DB");
        let after: Vec<&str> = err.message.split(':').collect();
        assert_eq!(after[1], "GET&%2F&A%3DB");
    }
}
