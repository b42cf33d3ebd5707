//! Query strings, paths and the operation router of the BCE Tag API (`shared/spec/bce.md` §1.1,
//! §1.3, §2, §3.4 and §9 items 1–2).
//!
//! Decoding follows §1.3: `%XX` is one byte with hex digits of either case (Node 1.0.7 sends
//! `node%2dlang`, lowercase and escaping `-`), a literal `+` stays a `+` (no SDK sends `+` for a
//! space), and the decoded bytes must be UTF-8. A `%` not followed by two hex digits, or bytes
//! that are not UTF-8, make the URI invalid (400 `InvalidURI`).
//!
//! Three states of a parameter are kept apart, because the API gives them different meanings:
//! absent, present as a bare flag (`?create`, Go and Java), and present with a value, possibly
//! empty (`?create=`, Python and Node; `?tagValue=` asks for the empty value, §2.3).
//!
//! The router dispatches on method + decoded path + the *presence* of an action flag, never on
//! its value (§1.1). Its answers for unknown paths, wrong methods and bad flags are tagd's
//! choices of §3.4.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// Characters kept as they are when a query is written for the wire: `A-Z a-z 0-9 - _ . ~`,
/// as the Python, Go and Java SDKs do (§1.3). Everything else is `%XX` with uppercase hex.
const WIRE_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Why a query string or a path could not be decoded; answered with 400 `InvalidURI`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum QueryError {
    /// A `%` not followed by two hex digits.
    #[error("invalid percent-encoding in the uri")]
    InvalidPercentEncoding,
    /// Percent-decoded bytes that are not UTF-8.
    #[error("uri is not valid utf-8 after percent-decoding")]
    InvalidUtf8,
}

/// One query parameter, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryParam {
    /// The decoded key.
    pub key: String,
    /// The decoded value; `None` for a bare flag without `=` (`?create`), `Some("")` for
    /// `?create=`.
    pub value: Option<String>,
}

impl QueryParam {
    /// A parameter with a value (possibly empty).
    pub fn new(key: &str, value: &str) -> Self {
        Self {
            key: key.to_owned(),
            value: Some(value.to_owned()),
        }
    }

    /// A bare flag, written without `=` (`?create`).
    pub fn flag(key: &str) -> Self {
        Self {
            key: key.to_owned(),
            value: None,
        }
    }
}

/// The decoded parameters of one query string, in arrival order (repeats kept).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    params: Vec<QueryParam>,
}

impl Query {
    /// Decodes a raw query string (without the leading `?`) as §1.3 says.
    ///
    /// Parameters are separated by `&`; empty segments (`a=1&&b=2`) are skipped. A segment
    /// without `=` is a bare flag. The key and the value are decoded separately, so an encoded
    /// `%26` or `%3D` is data, not a separator.
    pub fn parse(raw: &str) -> Result<Query, QueryError> {
        let mut params = Vec::new();
        for segment in raw.split('&') {
            if segment.is_empty() {
                continue;
            }
            let param = match segment.split_once('=') {
                Some((key, value)) => QueryParam {
                    key: decode_component(key)?,
                    value: Some(decode_component(value)?),
                },
                None => QueryParam {
                    key: decode_component(segment)?,
                    value: None,
                },
            };
            params.push(param);
        }
        Ok(Query { params })
    }

    /// Wraps already decoded parameters (the client side builds its query this way).
    pub fn from_params(params: Vec<QueryParam>) -> Query {
        Query { params }
    }

    /// Every parameter, in arrival order.
    pub fn params(&self) -> &[QueryParam] {
        &self.params
    }

    /// Whether a parameter named exactly `key` is present, as a flag or with any value.
    pub fn contains(&self, key: &str) -> bool {
        self.params.iter().any(|param| param.key == key)
    }

    /// The value of the first parameter named exactly `key`: `None` when absent, `Some("")`
    /// when present with an empty value or as a bare flag.
    ///
    /// If a key repeats, the first occurrence wins (no SDK repeats one; tagd's choice).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.params
            .iter()
            .find(|param| param.key == key)
            .map(|param| param.value.as_deref().unwrap_or(""))
    }

    /// The query as an SDK writes it on the wire: parameters in the given order, `%XX` with
    /// uppercase hex outside `A-Z a-z 0-9 - _ . ~`, and bare flags without `=`.
    pub fn to_wire(&self) -> String {
        let mut wire = String::new();
        for (position, param) in self.params.iter().enumerate() {
            if position > 0 {
                wire.push('&');
            }
            wire.extend(utf8_percent_encode(&param.key, WIRE_ENCODE_SET));
            if let Some(value) = &param.value {
                wire.push('=');
                wire.extend(utf8_percent_encode(value, WIRE_ENCODE_SET));
            }
        }
        wire
    }
}

/// Percent-decodes one query key or value, or a path, into UTF-8 (§1.3): `%XX` with hex of
/// either case is one byte, every other character (`+` included) stands for itself.
pub fn decode_component(raw: &str) -> Result<String, QueryError> {
    let bytes = percent_decode_strict(raw.as_bytes())?;
    String::from_utf8(bytes).map_err(|_| QueryError::InvalidUtf8)
}

/// Percent-decodes a request path (§4.4 step 4: the path is decoded before it is routed and
/// re-encoded for the signature). The same rules as [`decode_component`].
pub fn decode_path(raw: &str) -> Result<String, QueryError> {
    decode_component(raw)
}

fn percent_decode_strict(raw: &[u8]) -> Result<Vec<u8>, QueryError> {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut at = 0;
    while at < raw.len() {
        let byte = raw[at];
        if byte != b'%' {
            bytes.push(byte);
            at += 1;
            continue;
        }
        let (Some(high), Some(low)) = (
            raw.get(at + 1).copied().and_then(hex_value),
            raw.get(at + 2).copied().and_then(hex_value),
        ) else {
            return Err(QueryError::InvalidPercentEncoding);
        };
        bytes.push(high << 4 | low);
        at += 3;
    }
    Ok(bytes)
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

// ---- routing, §2 and §3.4 ----

/// `/v1/tag`: create, delete, list, deleteTagAssociation, createAndAssign, queryFullList (old).
pub const TAG_PATH: &str = "/v1/tag";
/// `/v1/tag/tagResources`: resources bound to tags.
pub const TAG_RESOURCES_PATH: &str = "/v1/tag/tagResources";
/// `/v1/tag/queryFullList`: the full association list, V2 path (used by Go).
pub const QUERY_FULL_LIST_PATH: &str = "/v1/tag/queryFullList";
/// `/v1/resource`: bind (POST) and unbind (PUT) resources to one tag.
pub const RESOURCE_PATH: &str = "/v1/resource";

/// The action flags of `PUT /v1/tag`.
const PUT_FLAGS: [&str; 3] = ["create", "delete", "deleteTagAssociation"];
/// The action flags of `POST /v1/tag`.
const POST_FLAGS: [&str; 2] = ["createAndAssign", "queryFullList"];

/// Filters of `GET /v1/tag` (§2.3), with the spec's meanings already applied.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagFilter {
    /// `None`: every key (`tagKey` absent **or empty**). `Some(k)`: exactly `k`, never empty.
    pub tag_key: Option<String>,
    /// `None`: every value (`tagValue` absent). `Some("")`: only the empty value
    /// (`tagValue=` present but empty). `Some(v)`: exactly `v`.
    pub tag_value: Option<String>,
}

/// Filters of `GET /v1/tag/tagResources` (§2.4).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagResourcesFilter {
    /// `tagKey` and `tagValue`, with the meanings of [`TagFilter`].
    pub tags: TagFilter,
    /// `None`: every region (`region` absent or empty). Filters the resources of each tag.
    pub region: Option<String>,
    /// `None`: every type (`resourceType` absent or empty). Filters the resources of each tag.
    pub resource_type: Option<String>,
}

/// Which of the two paths of queryFullList a request used (§2.9). Both are served the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FullListPath {
    /// `POST /v1/tag?queryFullList`, documented as "to be retired".
    Legacy,
    /// `POST /v1/tag/queryFullList`, the one bce-sdk-go uses.
    V2,
}

/// The operations of §2, named as bce-sdk-go's `services/tag` client names them so that grep
/// finds both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    /// §2.1 `PUT /v1/tag?create`, body [`crate::dto::TagsRequest`].
    CreateTags,
    /// §2.2 `PUT /v1/tag?delete`, body [`crate::dto::TagsRequest`].
    DeleteTags,
    /// §2.3 `GET /v1/tag`, no body.
    UserTagList(TagFilter),
    /// §2.4 `GET /v1/tag/tagResources`, no body.
    TagsResources(TagResourcesFilter),
    /// §2.5 `POST /v1/resource`, body [`crate::dto::CreateAssociationsByTagRequest`].
    CreateAssociationsByTag,
    /// §2.6 `PUT /v1/resource`, body [`crate::dto::DeleteAssociationsByTagRequest`].
    DeleteAssociationsByTag,
    /// §2.7 `PUT /v1/tag?deleteTagAssociation`, body [`crate::dto::DeleteTagAssociationRequest`].
    DeleteTagAssociation,
    /// §2.8 `POST /v1/tag?createAndAssign`, body [`crate::dto::CreateAndAssignTagRequest`].
    CreateAndAssign,
    /// §2.9 `POST /v1/tag?queryFullList` or `POST /v1/tag/queryFullList`, body
    /// [`crate::dto::FullTagListRequest`].
    QueryFullList {
        /// `strongAssociation`; absent means `false`.
        strong_association: bool,
        /// The path the request came on.
        path: FullListPath,
    },
}

impl Operation {
    /// The operation's name as bce-sdk-go spells it, for logs and metrics labels.
    pub fn name(&self) -> &'static str {
        match self {
            Operation::CreateTags => "CreateTags",
            Operation::DeleteTags => "DeleteTags",
            Operation::UserTagList(_) => "UserTagList",
            Operation::TagsResources(_) => "TagsResources",
            Operation::CreateAssociationsByTag => "CreateAssociationsByTag",
            Operation::DeleteAssociationsByTag => "DeleteAssociationsByTag",
            Operation::DeleteTagAssociation => "DeleteTagAssociation",
            Operation::CreateAndAssign => "CreateAndAssign",
            Operation::QueryFullList { .. } => "QueryFullList",
        }
    }

    /// Whether the operation changes state. Writes answer `200` with an empty body (§1.5).
    pub fn is_write(&self) -> bool {
        !matches!(
            self,
            Operation::UserTagList(_)
                | Operation::TagsResources(_)
                | Operation::QueryFullList { .. }
        )
    }
}

/// Why a request matches no operation (§3.4).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RouteError {
    /// A path of API version 1 that is not one of the four paths: 404 `NotFound`.
    #[error("no such path")]
    NotFound,
    /// A path under another API version (`/v2/...`): 404 `InvalidVersion`.
    #[error("api version {version} is not served")]
    InvalidVersion {
        /// The version segment as received, e.g. `v2`.
        version: String,
    },
    /// A known path with a method it does not serve (or an action flag that belongs to the
    /// other method): 405 `MethodNotAllowed`.
    #[error("method not allowed on this path")]
    MethodNotAllowed,
    /// `PUT` or `POST /v1/tag` without an action flag: 400 `InvalidURI`.
    #[error("no action flag in the query")]
    NoActionFlag,
    /// `PUT` or `POST /v1/tag` with more than one action flag: 400 `InvalidURI`.
    #[error("several action flags in the query")]
    SeveralActionFlags,
    /// `strongAssociation` other than `true` or `false` (any case): 400 `InvalidURI`.
    #[error("strongAssociation is neither true nor false")]
    InvalidStrongAssociation,
}

/// Routes a request to its operation (§2 table, §9 item 1).
///
/// `method` is the HTTP method (`GET`, `PUT`, `POST`, case-sensitive), `path` the
/// **decoded** path ([`decode_path`]) matched exactly (no trailing `/`), and `query` the parsed
/// query. Action flags are matched on the presence of their key, case-sensitively; unknown
/// parameters (`clientToken`, …) are ignored.
pub fn route(method: &str, path: &str, query: &Query) -> Result<Operation, RouteError> {
    match path {
        TAG_PATH => route_tag(method, query),
        TAG_RESOURCES_PATH => match method {
            "GET" => Ok(Operation::TagsResources(TagResourcesFilter {
                tags: tag_filter(query),
                region: non_empty(query.get("region")),
                resource_type: non_empty(query.get("resourceType")),
            })),
            _ => Err(RouteError::MethodNotAllowed),
        },
        QUERY_FULL_LIST_PATH => match method {
            "POST" => Ok(Operation::QueryFullList {
                strong_association: strong_association(query)?,
                path: FullListPath::V2,
            }),
            _ => Err(RouteError::MethodNotAllowed),
        },
        RESOURCE_PATH => match method {
            "POST" => Ok(Operation::CreateAssociationsByTag),
            "PUT" => Ok(Operation::DeleteAssociationsByTag),
            _ => Err(RouteError::MethodNotAllowed),
        },
        _ => Err(unknown_path(path)),
    }
}

/// `/v1/tag`: GET lists; PUT and POST need exactly one action flag of their own.
fn route_tag(method: &str, query: &Query) -> Result<Operation, RouteError> {
    let put_flag = single_flag(query, &PUT_FLAGS);
    let post_flag = single_flag(query, &POST_FLAGS);
    let flag_count = put_flag.count + post_flag.count;
    match method {
        // An action flag on GET is a write or a query sent with the wrong method; listing
        // instead would hide the client's mistake (tagd's choice).
        "GET" if flag_count == 0 => Ok(Operation::UserTagList(tag_filter(query))),
        "GET" => Err(RouteError::MethodNotAllowed),
        "PUT" | "POST" if flag_count == 0 => Err(RouteError::NoActionFlag),
        "PUT" | "POST" if flag_count > 1 => Err(RouteError::SeveralActionFlags),
        "PUT" => match put_flag.first {
            Some("create") => Ok(Operation::CreateTags),
            Some("delete") => Ok(Operation::DeleteTags),
            Some(_) => Ok(Operation::DeleteTagAssociation),
            None => Err(RouteError::MethodNotAllowed),
        },
        "POST" => match post_flag.first {
            Some("createAndAssign") => Ok(Operation::CreateAndAssign),
            Some(_) => Ok(Operation::QueryFullList {
                strong_association: strong_association(query)?,
                path: FullListPath::Legacy,
            }),
            None => Err(RouteError::MethodNotAllowed),
        },
        _ => Err(RouteError::MethodNotAllowed),
    }
}

/// How many of `flags` are present (each counted once however often it repeats), and the first.
struct FlagMatch {
    count: usize,
    first: Option<&'static str>,
}

fn single_flag(query: &Query, flags: &[&'static str]) -> FlagMatch {
    let mut found = FlagMatch {
        count: 0,
        first: None,
    };
    for &flag in flags {
        if query.contains(flag) {
            found.count += 1;
            found.first.get_or_insert(flag);
        }
    }
    found
}

fn tag_filter(query: &Query) -> TagFilter {
    TagFilter {
        tag_key: non_empty(query.get("tagKey")),
        tag_value: query.get("tagValue").map(str::to_owned),
    }
}

fn non_empty(value: Option<&str>) -> Option<String> {
    value.filter(|value| !value.is_empty()).map(str::to_owned)
}

/// `strongAssociation`: absent is `false` (§2.9, doc default); `true`/`false` in any case; any
/// other value, the empty one and a bare flag included, is refused.
fn strong_association(query: &Query) -> Result<bool, RouteError> {
    match query.get("strongAssociation") {
        None => Ok(false),
        Some(value) if value.eq_ignore_ascii_case("true") => Ok(true),
        Some(value) if value.eq_ignore_ascii_case("false") => Ok(false),
        Some(_) => Err(RouteError::InvalidStrongAssociation),
    }
}

/// `InvalidVersion` for a first segment `v<digits>` other than `v1`, else `NotFound`.
fn unknown_path(path: &str) -> RouteError {
    let first_segment = path
        .strip_prefix('/')
        .and_then(|rest| rest.split('/').next())
        .unwrap_or("");
    let is_version = first_segment
        .strip_prefix('v')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    if is_version && first_segment != "v1" {
        RouteError::InvalidVersion {
            version: first_segment.to_owned(),
        }
    } else {
        RouteError::NotFound
    }
}

#[cfg(test)]
mod tests;
