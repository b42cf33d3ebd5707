//! The BCE wire errors as data (`shared/spec/bce.md` §3): the Tag codes of the seed
//! (`shared/seeds/baidu-tag-create.txt`, §3.2, verbatim), the BCE common codes (§3.3, exact doc
//! text), the few codes tagd adds for routing and availability (§3.4), the mapping of this
//! crate's protocol errors onto them, and the error body of §3.1.
//!
//! The body is `{"requestId","code","message"}`, all three strings, always: bce-python-sdk
//! indexes each key directly and the Node SDK reads the code only from a JSON content type, so
//! the caller sends it with [`ERROR_CONTENT_TYPE`], a `Content-Length`, and an
//! `x-bce-request-id` header equal to `requestId`.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::dto::BodyError;
use crate::query::{QueryError, RouteError};
use crate::sign::AuthError;

/// The content type of every error body (§3.1).
pub const ERROR_CONTENT_TYPE: &str = "application/json; charset=utf-8";

/// One row of the catalogue: a wire code with its HTTP status and message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode {
    /// The code, e.g. `TagExceptions.TagKeyEmpty`.
    pub code: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The message, verbatim. For `RequestExpired` it holds the `<ts>` placeholder that
    /// [`BceError::request_expired`] fills in.
    pub message: &'static str,
}

const fn row(code: &'static str, status: u16, message: &'static str) -> ErrorCode {
    ErrorCode {
        code,
        status,
        message,
    }
}

// ---- Tag codes, the seed's table (§3.2), in its order ----

/// 400: the key breaks the rules of §6.
pub const TAG_KEY_INVALID: ErrorCode = row(
    "TagExceptions.TagKeyInvalid",
    400,
    "Tag key contains invalid characters or length exceeds limit.",
);
/// 400: the value breaks the rules of §6.
pub const TAG_VALUE_INVALID: ErrorCode = row(
    "TagExceptions.TagValueInvalid",
    400,
    "Tag value contains invalid characters or length exceeds limit.",
);
/// 400: a tag's key is missing, `null` or `""`.
pub const TAG_KEY_EMPTY: ErrorCode = row(
    "TagExceptions.TagKeyEmpty",
    400,
    "Tag key should not be empty.",
);
/// 400: `tags` is missing, `null` or `[]`.
pub const TAG_EMPTY: ErrorCode = row("TagExceptions.TagEmpty", 400, "Tag should not be empty.");
/// **413**: the account would exceed its tag quota.
pub const TAG_LIMIT_EXCEEDED: ErrorCode = row(
    "TagExceptions.LimitExceeded",
    413,
    "Limit exceeded for current request.",
);

/// The seed's table, in the seed's order.
pub const SEED_TABLE: [ErrorCode; 5] = [
    TAG_KEY_INVALID,
    TAG_VALUE_INVALID,
    TAG_KEY_EMPTY,
    TAG_EMPTY,
    TAG_LIMIT_EXCEEDED,
];

// ---- BCE common codes (§3.3), in the doc's order ----

/// 403: no `Authorization` header (§3.4).
pub const ACCESS_DENIED: ErrorCode = row("AccessDenied", 403, "Access denied.");
/// 400: well-formed JSON of the wrong shape, or a required non-tag field missing (§1.4).
pub const INAPPROPRIATE_JSON: ErrorCode = row(
    "InappropriateJSON",
    400,
    "The JSON you provided was well-formed and valid, but not appropriate for this operation.",
);
/// 500: an unexpected fault; Python and Go retry it (§3.6).
pub const INTERNAL_ERROR: ErrorCode = row(
    "InternalError",
    500,
    "We encountered an internal error. Please try again.",
);
/// 403: no enabled key with this id.
pub const INVALID_ACCESS_KEY_ID: ErrorCode = row(
    "InvalidAccessKeyId",
    403,
    "The Access Key ID you provided does not exist in our records.",
);
/// 400: the `Authorization` header does not parse.
pub const INVALID_HTTP_AUTH_HEADER: ErrorCode = row(
    "InvalidHTTPAuthHeader",
    400,
    "The HTTP authorization header is invalid. Consult the service documentation for details.",
);
/// 400: the body could not be read.
pub const INVALID_HTTP_REQUEST: ErrorCode = row(
    "InvalidHTTPRequest",
    400,
    "There was an error in the body of your HTTP request.",
);
/// 400: bad percent-encoding, bad action flags, bad `strongAssociation` (§3.4).
pub const INVALID_URI: ErrorCode = row("InvalidURI", 400, "Could not parse the specified URI.");
/// 400: the body is not well-formed JSON, or is empty where one is needed.
pub const MALFORMED_JSON: ErrorCode = row(
    "MalformedJSON",
    400,
    "The JSON you provided was not well-formed.",
);
/// 404: a path under another API version than `v1`.
pub const INVALID_VERSION: ErrorCode = row(
    "InvalidVersion",
    404,
    "The API version specified was invalid.",
);
/// 403: the account has not opened the service.
pub const OPT_IN_REQUIRED: ErrorCode = row(
    "OptInRequired",
    403,
    "A subscription for the service is required.",
);
/// 412: an `If-Match` precondition failed.
pub const PRECONDITION_FAILED: ErrorCode = row(
    "PreconditionFailed",
    412,
    "The specified If-Match header doesn't match the ETag header.",
);
/// 400: outside the time window; the message carries the request's timestamp, see
/// [`BceError::request_expired`].
pub const REQUEST_EXPIRED: ErrorCode = row(
    "RequestExpired",
    400,
    "Request has expired. Timestamp date is <ts>.",
);
/// 403: a client token reused with another request.
pub const IDEMPOTENT_PARAMETER_MISMATCH: ErrorCode = row(
    "IdempotentParameterMismatch",
    403,
    "The request uses the same client token as a previous, but non-identical request.",
);
/// **400** (not 403): the signature differs from the server's.
pub const SIGNATURE_DOES_NOT_MATCH: ErrorCode = row(
    "SignatureDoesNotMatch",
    400,
    "The request signature we calculated does not match the signature you provided. \
     Check your Secret Access Key and signing method. Consult the service documentation for details.",
);

/// The common table of §3.3, in the doc's order.
pub const COMMON_TABLE: [ErrorCode; 14] = [
    ACCESS_DENIED,
    INAPPROPRIATE_JSON,
    INTERNAL_ERROR,
    INVALID_ACCESS_KEY_ID,
    INVALID_HTTP_AUTH_HEADER,
    INVALID_HTTP_REQUEST,
    INVALID_URI,
    MALFORMED_JSON,
    INVALID_VERSION,
    OPT_IN_REQUIRED,
    PRECONDITION_FAILED,
    REQUEST_EXPIRED,
    IDEMPOTENT_PARAMETER_MISMATCH,
    SIGNATURE_DOES_NOT_MATCH,
];

// ---- tagd's own codes (§3.4: Baidu documents no code for these; messages are tagd's) ----

/// 404: a `/v1/` path that is none of the four. Go's SDK derives the same code from a bare 404.
pub const NOT_FOUND: ErrorCode = row("NotFound", 404, "The requested resource does not exist.");
/// 405: a known path with a method it does not serve.
pub const METHOD_NOT_ALLOWED: ErrorCode = row(
    "MethodNotAllowed",
    405,
    "The specified method is not allowed against this resource.",
);
/// 503: storage is down or overloaded; Python and Go retry it (§3.6).
pub const SERVICE_UNAVAILABLE: ErrorCode = row(
    "ServiceUnavailable",
    503,
    "The service is temporarily unavailable. Please try again.",
);

/// The codes tagd adds, with messages of its own choosing.
pub const TAGD_TABLE: [ErrorCode; 3] = [NOT_FOUND, METHOD_NOT_ALLOWED, SERVICE_UNAVAILABLE];

/// The row of `code` in any of the three tables.
pub fn lookup(code: &str) -> Option<ErrorCode> {
    SEED_TABLE
        .iter()
        .chain(COMMON_TABLE.iter())
        .chain(TAGD_TABLE.iter())
        .find(|row| row.code == code)
        .copied()
}

// ---- errors as they go on the wire ----

/// One error as it goes on the wire: status, code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BceError {
    /// The HTTP status.
    pub status: u16,
    /// The code, always one of the catalogue's.
    pub code: &'static str,
    /// The message: the catalogue's, or one with the details filled in.
    pub message: Cow<'static, str>,
}

impl From<ErrorCode> for BceError {
    fn from(row: ErrorCode) -> Self {
        BceError {
            status: row.status,
            code: row.code,
            message: Cow::Borrowed(row.message),
        }
    }
}

impl BceError {
    /// `RequestExpired` with the request's timestamp as sent:
    /// `Request has expired. Timestamp date is 2026-11-22T20:18:34Z.` (§3.3).
    pub fn request_expired(timestamp: &str) -> Self {
        BceError {
            status: REQUEST_EXPIRED.status,
            code: REQUEST_EXPIRED.code,
            message: Cow::Owned(REQUEST_EXPIRED.message.replace("<ts>", timestamp)),
        }
    }

    /// The status as an `http::StatusCode` (every catalogue status is a valid one).
    pub fn status_code(&self) -> http::StatusCode {
        http::StatusCode::from_u16(self.status).unwrap_or(http::StatusCode::INTERNAL_SERVER_ERROR)
    }

    /// The JSON body of §3.1 for this error, `requestId` first.
    pub fn body(&self, request_id: &str) -> Vec<u8> {
        render_error_body(request_id, self.code, &self.message)
    }
}

/// The error body of §3.1 as the wire carries it; also what a client reads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ErrorBody {
    /// Equal to the `x-bce-request-id` response header.
    pub request_id: String,
    /// The error code.
    pub code: String,
    /// The message.
    pub message: String,
}

/// Borrowed twin of [`ErrorBody`], so that rendering copies nothing.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorBodyRef<'a> {
    request_id: &'a str,
    code: &'a str,
    message: &'a str,
}

/// Renders `{"requestId":…,"code":…,"message":…}` compactly, in that order (§3.1).
pub fn render_error_body(request_id: &str, code: &str, message: &str) -> Vec<u8> {
    let body = ErrorBodyRef {
        request_id,
        code,
        message,
    };
    // A struct of three strings always serializes.
    serde_json::to_vec(&body).expect("a struct of strings serializes to json")
}

// ---- mapping of this crate's protocol errors (§3.4) ----

impl From<&AuthError> for BceError {
    fn from(err: &AuthError) -> Self {
        match err {
            AuthError::Missing => ACCESS_DENIED.into(),
            AuthError::Malformed { .. } => INVALID_HTTP_AUTH_HEADER.into(),
            AuthError::UnknownAccessKey => INVALID_ACCESS_KEY_ID.into(),
            AuthError::Expired { timestamp } | AuthError::FromTheFuture { timestamp } => {
                BceError::request_expired(timestamp)
            }
            AuthError::SignatureMismatch => SIGNATURE_DOES_NOT_MATCH.into(),
        }
    }
}

impl From<&QueryError> for BceError {
    fn from(_: &QueryError) -> Self {
        INVALID_URI.into()
    }
}

impl From<&RouteError> for BceError {
    fn from(err: &RouteError) -> Self {
        match err {
            RouteError::NotFound => NOT_FOUND.into(),
            RouteError::InvalidVersion { .. } => INVALID_VERSION.into(),
            RouteError::MethodNotAllowed => METHOD_NOT_ALLOWED.into(),
            RouteError::NoActionFlag
            | RouteError::SeveralActionFlags
            | RouteError::InvalidStrongAssociation => INVALID_URI.into(),
        }
    }
}

impl From<&BodyError> for BceError {
    fn from(err: &BodyError) -> Self {
        match err {
            BodyError::Malformed(_) => MALFORMED_JSON.into(),
            BodyError::Inappropriate(_) => INAPPROPRIATE_JSON.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    /// The error table of `shared/seeds/baidu-tag-create.txt`, row by row as printed there:
    /// code, "Error description", HTTP status code.
    #[test]
    fn seed_table_verbatim() {
        let seed = [
            (
                "TagExceptions.TagKeyInvalid",
                "Tag key contains invalid characters or length exceeds limit.",
                400,
            ),
            (
                "TagExceptions.TagValueInvalid",
                "Tag value contains invalid characters or length exceeds limit.",
                400,
            ),
            (
                "TagExceptions.TagKeyEmpty",
                "Tag key should not be empty.",
                400,
            ),
            ("TagExceptions.TagEmpty", "Tag should not be empty.", 400),
            (
                "TagExceptions.LimitExceeded",
                "Limit exceeded for current request.",
                413,
            ),
        ];
        assert_eq!(SEED_TABLE.len(), seed.len());
        for (row, (code, message, status)) in SEED_TABLE.iter().zip(seed) {
            assert_eq!((row.code, row.message, row.status), (code, message, status));
        }
    }

    /// The common table of spec §3.3, as printed there.
    #[test]
    fn common_table_verbatim() {
        let doc = [
            ("AccessDenied", 403, "Access denied."),
            (
                "InappropriateJSON",
                400,
                "The JSON you provided was well-formed and valid, but not appropriate for this operation.",
            ),
            (
                "InternalError",
                500,
                "We encountered an internal error. Please try again.",
            ),
            (
                "InvalidAccessKeyId",
                403,
                "The Access Key ID you provided does not exist in our records.",
            ),
            (
                "InvalidHTTPAuthHeader",
                400,
                "The HTTP authorization header is invalid. Consult the service documentation for details.",
            ),
            (
                "InvalidHTTPRequest",
                400,
                "There was an error in the body of your HTTP request.",
            ),
            ("InvalidURI", 400, "Could not parse the specified URI."),
            (
                "MalformedJSON",
                400,
                "The JSON you provided was not well-formed.",
            ),
            (
                "InvalidVersion",
                404,
                "The API version specified was invalid.",
            ),
            (
                "OptInRequired",
                403,
                "A subscription for the service is required.",
            ),
            (
                "PreconditionFailed",
                412,
                "The specified If-Match header doesn't match the ETag header.",
            ),
            (
                "RequestExpired",
                400,
                "Request has expired. Timestamp date is <ts>.",
            ),
            (
                "IdempotentParameterMismatch",
                403,
                "The request uses the same client token as a previous, but non-identical request.",
            ),
            (
                "SignatureDoesNotMatch",
                400,
                "The request signature we calculated does not match the signature you provided. Check your Secret Access Key and signing method. Consult the service documentation for details.",
            ),
        ];
        assert_eq!(COMMON_TABLE.len(), doc.len());
        for (row, (code, status, message)) in COMMON_TABLE.iter().zip(doc) {
            assert_eq!((row.code, row.status, row.message), (code, status, message));
        }
    }

    #[test]
    fn no_code_is_listed_twice_and_every_status_is_an_error() {
        let all: Vec<ErrorCode> = SEED_TABLE
            .iter()
            .chain(COMMON_TABLE.iter())
            .chain(TAGD_TABLE.iter())
            .copied()
            .collect();
        let codes: HashSet<&str> = all.iter().map(|row| row.code).collect();
        assert_eq!(codes.len(), all.len());
        for row in &all {
            assert!(row.status >= 400, "{}", row.code);
            assert_eq!(BceError::from(*row).status_code().as_u16(), row.status);
            assert_eq!(lookup(row.code), Some(*row));
        }
        assert_eq!(lookup("NoSuchCode"), None);
    }

    #[test]
    fn request_expired_repeats_the_timestamp() {
        let err = BceError::request_expired("2026-11-22T20:18:34Z");
        assert_eq!(err.status, 400);
        assert_eq!(err.code, "RequestExpired");
        assert_eq!(
            err.message,
            "Request has expired. Timestamp date is 2026-11-22T20:18:34Z."
        );
    }

    /// The example of spec §3.1, byte for byte (162 bytes; the spec's `Content-Length: 152`
    /// does not match its own body).
    #[test]
    fn error_body_matches_the_spec_example() {
        let body = BceError::from(TAG_KEY_INVALID).body("47e0ef1a-9bf2-11e1-9279-0100e8cf109a");
        let expected = r#"{"requestId":"47e0ef1a-9bf2-11e1-9279-0100e8cf109a","code":"TagExceptions.TagKeyInvalid","message":"Tag key contains invalid characters or length exceeds limit."}"#;
        assert_eq!(String::from_utf8(body.clone()).unwrap(), expected);
        assert_eq!(body.len(), 162);
        let parsed: ErrorBody = serde_json::from_slice(&body).unwrap();
        assert_eq!(parsed.code, "TagExceptions.TagKeyInvalid");
    }

    #[test]
    fn error_body_escapes_and_keeps_all_three_keys() {
        let body = render_error_body("id\"1", "C", "line\nbreak ünï");
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap();
        let object = value.as_object().unwrap();
        assert_eq!(object.len(), 3);
        assert_eq!(object["requestId"], "id\"1");
        assert_eq!(object["message"], "line\nbreak ünï");
        let empty = render_error_body("", "", "");
        assert_eq!(empty, br#"{"requestId":"","code":"","message":""}"#);
    }

    #[test]
    fn protocol_errors_map_as_section_3_4_says() {
        let code = |err: BceError| (err.status, err.code);
        assert_eq!(code((&AuthError::Missing).into()), (403, "AccessDenied"));
        assert_eq!(
            code((&AuthError::Malformed { reason: "x" }).into()),
            (400, "InvalidHTTPAuthHeader")
        );
        assert_eq!(
            code((&AuthError::UnknownAccessKey).into()),
            (403, "InvalidAccessKeyId")
        );
        let expired = BceError::from(&AuthError::Expired {
            timestamp: "2015-04-27T08:23:49Z".into(),
        });
        assert_eq!(
            expired.message,
            "Request has expired. Timestamp date is 2015-04-27T08:23:49Z."
        );
        let future = BceError::from(&AuthError::FromTheFuture {
            timestamp: "2015-04-27T08:23:49Z".into(),
        });
        assert_eq!(future, expired);
        assert_eq!(
            code((&AuthError::SignatureMismatch).into()),
            (400, "SignatureDoesNotMatch")
        );
        assert_eq!(code((&QueryError::InvalidUtf8).into()), (400, "InvalidURI"));
        assert_eq!(code((&RouteError::NotFound).into()), (404, "NotFound"));
        assert_eq!(
            code(
                (&RouteError::InvalidVersion {
                    version: "v2".into()
                })
                    .into()
            ),
            (404, "InvalidVersion")
        );
        assert_eq!(
            code((&RouteError::MethodNotAllowed).into()),
            (405, "MethodNotAllowed")
        );
        for err in [
            RouteError::NoActionFlag,
            RouteError::SeveralActionFlags,
            RouteError::InvalidStrongAssociation,
        ] {
            assert_eq!(code((&err).into()), (400, "InvalidURI"));
        }
        let malformed = crate::dto::parse_body::<crate::dto::TagsRequest>(b"{").unwrap_err();
        assert_eq!(code((&malformed).into()), (400, "MalformedJSON"));
        let inappropriate =
            crate::dto::parse_body::<crate::dto::TagsRequest>(br#"{"tags":"x"}"#).unwrap_err();
        assert_eq!(code((&inappropriate).into()), (400, "InappropriateJSON"));
    }
}
