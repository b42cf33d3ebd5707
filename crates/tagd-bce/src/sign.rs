//! The `bce-auth-v1` signature, `shared/spec/bce.md` §4 (Baidu's "Generate Authentication
//! String" reference, <https://cloud.baidu.com/doc/Reference/s/njwvz1yfu>).
//!
//! ```text
//! Authorization    = bce-auth-v1/{ak}/{timestamp}/{expirationPeriodInSeconds}/{signedHeaders}/{signature}
//! authStringPrefix = bce-auth-v1/{ak}/{timestamp}/{expirationPeriodInSeconds}
//! signingKey       = hex(HMAC-SHA256(key = secret, authStringPrefix))
//! canonicalRequest = METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders
//! signature        = hex(HMAC-SHA256(key = signingKey as ASCII hex, canonicalRequest))
//! ```
//!
//! Server side, in the order of §4.4: [`parse_authorization`] (403 `AccessDenied` when absent,
//! 400 `InvalidHTTPAuthHeader` when malformed), the key lookup (the caller's, 403
//! `InvalidAccessKeyId`), then [`verify`]: the time window (400 `RequestExpired`) and the
//! signature over the canonical request rebuilt from what was received, compared in constant
//! time through `Mac::verify_slice` (400 `SignatureDoesNotMatch`).
//!
//! Client side, [`sign`] reproduces what each SDK sends (§4.3): Python 0.9.79 and Java sign the
//! default header set and send an empty `signedHeaders`; Node 1.0.7 signs the same set and lists
//! it; Go lists what it signs and leaves out its `x-bce-request-id`.

use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_encode};
use sha2::Sha256;
use time::{Duration, OffsetDateTime};

use crate::query::Query;

type HmacSha256 = Hmac<Sha256>;

/// The scheme name, the first part of the `Authorization` header.
pub const AUTH_VERSION: &str = "bce-auth-v1";

/// The expiration every SDK uses by default, in seconds (§4.1).
pub const DEFAULT_EXPIRATION_SECS: u32 = 1800;

/// How far in the future a request's timestamp may be before it is refused with
/// `RequestExpired` (§3.4 and §4.4 step 3, tagd's bound: Baidu only says the signing time must
/// not be much later than the send time).
pub const MAX_FUTURE_SKEW_SECS: i64 = 15 * 60;

/// The headers signed by default besides every `x-bce-*` header (§4.2), sorted.
pub const DEFAULT_SIGNED_HEADERS: [&str; 4] =
    ["content-length", "content-md5", "content-type", "host"];

/// The prefix of the BCE headers, all of which are in the default set (§4.2).
pub const BCE_HEADER_PREFIX: &str = "x-bce-";

/// The request id header bce-sdk-go sends and never signs (§1.2, §4.3).
pub const REQUEST_ID_HEADER: &str = "x-bce-request-id";

/// `UriEncode` of §4.2: every byte except `A-Z a-z 0-9 - _ . ~` is `%XX` with uppercase hex.
const URI_ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// `UriEncode` with `/` kept, for the canonical URI.
const URI_ENCODE_PATH_SET: &AsciiSet = &URI_ENCODE_SET.remove(b'/');

/// Why a request did not authenticate. Each variant maps to one wire error
/// (see `From<&AuthError> for BceError` in [`crate::error`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header: 403 `AccessDenied`.
    #[error("no authorization header")]
    Missing,
    /// The header is not `bce-auth-v1/…` as §4.1 describes: 400 `InvalidHTTPAuthHeader`.
    #[error("malformed authorization header: {reason}")]
    Malformed {
        /// What is wrong, for the log only.
        reason: &'static str,
    },
    /// No enabled key with this id (raised by the caller's lookup): 403 `InvalidAccessKeyId`.
    #[error("unknown or disabled access key id")]
    UnknownAccessKey,
    /// `now > timestamp + expiration`: 400 `RequestExpired`.
    #[error("request expired, signed at {timestamp}")]
    Expired {
        /// The timestamp as sent; the wire message repeats it.
        timestamp: String,
    },
    /// The timestamp is more than [`MAX_FUTURE_SKEW_SECS`] ahead of the server's clock: 400
    /// `RequestExpired`, as §3.4 says.
    #[error("request signed in the future at {timestamp}")]
    FromTheFuture {
        /// The timestamp as sent; the wire message repeats it.
        timestamp: String,
    },
    /// The signature is not the one computed with the key's secret: 400 `SignatureDoesNotMatch`.
    #[error("signature does not match")]
    SignatureMismatch,
}

fn malformed(reason: &'static str) -> AuthError {
    AuthError::Malformed { reason }
}

// ---- the Authorization header, §4.1 ----

/// The parts of an `Authorization: bce-auth-v1/…` header, borrowed from the header value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authorization<'a> {
    /// The access key id, non-empty.
    pub access_key_id: &'a str,
    /// The timestamp as sent, `YYYY-MM-DDThh:mm:ssZ`.
    pub timestamp_raw: &'a str,
    /// The timestamp, parsed.
    pub timestamp: OffsetDateTime,
    /// The expiration as sent (decimal digits; the prefix signs this text).
    pub expiration_raw: &'a str,
    /// The expiration in seconds.
    pub expiration_secs: u32,
    /// The `signedHeaders` names as sent; empty means the default set (§4.2).
    pub signed_headers: Vec<&'a str>,
    /// The signature as sent, not yet decoded (hex is checked by [`verify`]).
    pub signature: &'a str,
}

impl Authorization<'_> {
    /// `bce-auth-v1/{ak}/{timestamp}/{expiration}`, exactly as received.
    pub fn auth_string_prefix(&self) -> String {
        auth_string_prefix(self.access_key_id, self.timestamp_raw, self.expiration_raw)
    }
}

/// `bce-auth-v1/{access_key_id}/{timestamp}/{expiration}` (§4.2 step 1).
pub fn auth_string_prefix(access_key_id: &str, timestamp: &str, expiration: &str) -> String {
    format!("{AUTH_VERSION}/{access_key_id}/{timestamp}/{expiration}")
}

/// Reads and parses the `Authorization` header of `headers` (§4.4 step 1).
///
/// No header is [`AuthError::Missing`]; a value that is not visible ASCII, or does not parse
/// with [`parse_authorization`], is [`AuthError::Malformed`].
pub fn authorization_from_headers(headers: &HeaderMap) -> Result<Authorization<'_>, AuthError> {
    let value = headers
        .get(http::header::AUTHORIZATION)
        .ok_or(AuthError::Missing)?;
    let text = value
        .to_str()
        .map_err(|_| malformed("authorization header is not visible ascii"))?;
    parse_authorization(text)
}

/// Parses `bce-auth-v1/{ak}/{timestamp}/{expiration}/{signedHeaders}/{signature}` (§4.1).
///
/// Exactly six `/`-separated parts (surrounding whitespace is ignored); the first is exactly
/// `bce-auth-v1`; the access key id is non-empty; the timestamp is strictly
/// `YYYY-MM-DDThh:mm:ssZ`; the expiration is 1 to 10 decimal digits that fit a `u32`;
/// `signedHeaders` is empty or `;`-separated non-empty names. The signature is not checked
/// here: text that is not hex simply never verifies.
pub fn parse_authorization(header: &str) -> Result<Authorization<'_>, AuthError> {
    let parts: Vec<&str> = header.trim().split('/').collect();
    let [
        version,
        access_key_id,
        timestamp_raw,
        expiration_raw,
        signed_headers_raw,
        signature,
    ] = parts[..]
    else {
        return Err(malformed("not six slash-separated parts"));
    };
    if version != AUTH_VERSION {
        return Err(malformed("not bce-auth-v1"));
    }
    if access_key_id.is_empty() {
        return Err(malformed("empty access key id"));
    }
    let timestamp = parse_timestamp(timestamp_raw).ok_or(malformed("bad timestamp"))?;
    let expiration_secs = parse_expiration(expiration_raw).ok_or(malformed("bad expiration"))?;
    let signed_headers: Vec<&str> = if signed_headers_raw.is_empty() {
        Vec::new()
    } else {
        signed_headers_raw.split(';').collect()
    };
    if signed_headers.iter().any(|name| name.trim().is_empty()) {
        return Err(malformed("empty name in signed headers"));
    }
    Ok(Authorization {
        access_key_id,
        timestamp_raw,
        timestamp,
        expiration_raw,
        expiration_secs,
        signed_headers,
        signature,
    })
}

/// 1 to 10 ASCII digits (leading zeros allowed) whose value fits a `u32`.
fn parse_expiration(text: &str) -> Option<u32> {
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

// ---- timestamps and the expiry window, §4.1 and §4.4 step 3 ----

pub use tagd_core::timestamp::{format_timestamp, parse_timestamp};

/// Whether a request signed at `timestamp` for `expiration_secs` has expired at `now`:
/// `now > timestamp + expiration` (§4.4 step 3). The last second is still valid.
pub fn is_expired(timestamp: OffsetDateTime, expiration_secs: u32, now: OffsetDateTime) -> bool {
    match timestamp.checked_add(Duration::seconds(i64::from(expiration_secs))) {
        Some(expires_at) => now > expires_at,
        // Past the calendar's end: not before the year 9999.
        None => false,
    }
}

/// Whether `timestamp` is more than [`MAX_FUTURE_SKEW_SECS`] ahead of `now`.
pub fn is_too_far_in_future(timestamp: OffsetDateTime, now: OffsetDateTime) -> bool {
    timestamp - now > Duration::seconds(MAX_FUTURE_SKEW_SECS)
}

/// The time check of §4.4 step 3: expired, or too far in the future, is `RequestExpired`.
pub fn check_time(auth: &Authorization<'_>, now: OffsetDateTime) -> Result<(), AuthError> {
    if is_expired(auth.timestamp, auth.expiration_secs, now) {
        return Err(AuthError::Expired {
            timestamp: auth.timestamp_raw.to_owned(),
        });
    }
    if is_too_far_in_future(auth.timestamp, now) {
        return Err(AuthError::FromTheFuture {
            timestamp: auth.timestamp_raw.to_owned(),
        });
    }
    Ok(())
}

// ---- the canonical request, §4.2 step 3 ----

/// `UriEncode` of §4.2 over the bytes of `input`: keeps `A-Z a-z 0-9 - _ . ~` and writes every
/// other byte as `%XX` with uppercase hex (space `%20`, `*` `%2A`, `/` `%2F`).
pub fn uri_encode(input: &[u8]) -> String {
    percent_encode(input, URI_ENCODE_SET).to_string()
}

/// The canonical URI: `UriEncode` of the decoded path with `/` kept, always starting with `/`
/// (an empty path is `/`), as the Python SDK's `_get_canonical_uri_path` does.
pub fn canonical_uri(decoded_path: &str) -> String {
    let encoded = percent_encode(decoded_path.as_bytes(), URI_ENCODE_PATH_SET).to_string();
    if encoded.starts_with('/') {
        encoded
    } else {
        format!("/{encoded}")
    }
}

/// The canonical query string: `UriEncode(key)=UriEncode(value)` for every parameter except the
/// key `authorization` (any case), a bare flag written as `key=` (`?create` and `?create=` both
/// give `create=`), the strings sorted in byte order and joined with `&`.
///
/// The parameters are re-encoded from their decoded form, never copied from the wire: Go,
/// Python and Node encode the same query differently (§4.4 step 4).
pub fn canonical_query_string(query: &Query) -> String {
    let mut encoded: Vec<String> = Vec::with_capacity(query.params().len());
    for param in query.params() {
        if param.key.eq_ignore_ascii_case("authorization") {
            continue;
        }
        let value = param.value.as_deref().unwrap_or("");
        encoded.push(format!(
            "{}={}",
            uri_encode(param.key.as_bytes()),
            uri_encode(value.as_bytes())
        ));
    }
    encoded.sort_unstable();
    encoded.join("&")
}

/// Whether `name` (lowercase) is in the default set signed when `signedHeaders` is empty:
/// `host`, `content-length`, `content-type`, `content-md5` and every `x-bce-*` header (§4.2).
pub fn is_default_signed_header(name: &str) -> bool {
    DEFAULT_SIGNED_HEADERS.contains(&name) || name.starts_with(BCE_HEADER_PREFIX)
}

/// The canonical headers (§4.2): `UriEncode(name):UriEncode(trim(value))` for each header to
/// sign whose trimmed value is non-empty, sorted and joined with `\n`.
///
/// `signed_headers` are the names from the `Authorization` header (any case): when non-empty
/// exactly those are signed, a listed header that is absent or empty being skipped; when empty
/// the default set is taken from `headers` ([`is_default_signed_header`]). Values are the bytes
/// as received, `Host` with its port; a name received more than once contributes its first
/// value. A name listed twice is signed once.
pub fn canonical_headers(headers: &HeaderMap, signed_headers: &[&str]) -> String {
    let mut lines: Vec<String> = Vec::new();
    if signed_headers.is_empty() {
        for name in headers.keys() {
            if is_default_signed_header(name.as_str()) {
                push_header_line(&mut lines, name.as_str(), headers.get(name));
            }
        }
    } else {
        let mut names: Vec<String> = signed_headers
            .iter()
            .map(|name| name.trim().to_ascii_lowercase())
            .collect();
        names.sort_unstable();
        names.dedup();
        for name in &names {
            push_header_line(&mut lines, name, headers.get(name.as_str()));
        }
    }
    lines.sort_unstable();
    lines.join("\n")
}

fn push_header_line(lines: &mut Vec<String>, name: &str, value: Option<&http::HeaderValue>) {
    let Some(value) = value else {
        return;
    };
    let trimmed = value.as_bytes().trim_ascii();
    if trimmed.is_empty() {
        return;
    }
    lines.push(format!(
        "{}:{}",
        uri_encode(name.as_bytes()),
        uri_encode(trimmed)
    ));
}

/// `METHOD \n CanonicalURI \n CanonicalQueryString \n CanonicalHeaders`, no trailing newline
/// and no payload hash (§4.2 step 3).
pub fn canonical_request(
    method: &str,
    canonical_uri: &str,
    canonical_query: &str,
    canonical_headers: &str,
) -> String {
    format!("{method}\n{canonical_uri}\n{canonical_query}\n{canonical_headers}")
}

// ---- keys and signatures, §4.2 steps 2 and 4 ----

/// `signingKey = hex(HMAC-SHA256(key = secret, authStringPrefix))`, 64 lowercase hex digits.
pub fn signing_key(secret: &str, auth_string_prefix: &str) -> String {
    let mut mac = keyed_mac(secret.as_bytes());
    mac.update(auth_string_prefix.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// `signature = hex(HMAC-SHA256(key = signingKey as ASCII, canonicalRequest))`.
pub fn signature(signing_key: &str, canonical_request: &str) -> String {
    let mut mac = keyed_mac(signing_key.as_bytes());
    mac.update(canonical_request.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

/// Whether `signature_hex` is the signature of `canonical_request` under `signing_key`. The hex
/// (either case) is decoded and compared with `Mac::verify_slice`, in constant time; text that
/// is not 64 hex digits never verifies.
pub fn verify_signature(signing_key: &str, canonical_request: &str, signature_hex: &str) -> bool {
    let Ok(claimed) = hex::decode(signature_hex) else {
        return false;
    };
    let mut mac = keyed_mac(signing_key.as_bytes());
    mac.update(canonical_request.as_bytes());
    mac.verify_slice(&claimed).is_ok()
}

fn keyed_mac(key: &[u8]) -> HmacSha256 {
    // HMAC takes keys of any length (RFC 2104 hashes long ones), so this cannot fail.
    HmacSha256::new_from_slice(key).expect("hmac accepts keys of any length")
}

// ---- server side, §4.4 ----

/// What the server received, as the verifier needs it.
#[derive(Debug, Clone, Copy)]
pub struct ReceivedRequest<'a> {
    /// The HTTP method, as received (`PUT`).
    pub method: &'a str,
    /// The **decoded** path ([`crate::query::decode_path`]).
    pub path: &'a str,
    /// The parsed query ([`Query::parse`]).
    pub query: &'a Query,
    /// Every header received, `Host` included (an HTTP/2 front end must copy `:authority`
    /// into `host` first).
    pub headers: &'a HeaderMap,
}

impl ReceivedRequest<'_> {
    /// The canonical request rebuilt from what was received (§4.4 step 4).
    pub fn canonical_request(&self, signed_headers: &[&str]) -> String {
        canonical_request(
            self.method,
            &canonical_uri(self.path),
            &canonical_query_string(self.query),
            &canonical_headers(self.headers, signed_headers),
        )
    }
}

/// Steps 3 to 5 of §4.4, once the caller has parsed `auth` and found the key's `secret`: the
/// time window, then the signature over the rebuilt canonical request, in constant time.
pub fn verify(
    request: &ReceivedRequest<'_>,
    auth: &Authorization<'_>,
    secret: &str,
    now: OffsetDateTime,
) -> Result<(), AuthError> {
    check_time(auth, now)?;
    let key = signing_key(secret, &auth.auth_string_prefix());
    let canonical = request.canonical_request(&auth.signed_headers);
    if verify_signature(&key, &canonical, auth.signature) {
        Ok(())
    } else {
        Err(AuthError::SignatureMismatch)
    }
}

// ---- client side, §4.3 ----

/// Which headers a client signs and how it lists them (§4.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderSelection<'a> {
    /// bce-python-sdk 0.9.79 and bce-java-sdk: the default set is signed and `signedHeaders`
    /// is sent empty (`…/1800//<signature>`).
    Implicit,
    /// `@baiducloud/sdk` 1.0.7: the default set is signed and listed.
    Listed,
    /// bce-sdk-go: the default set without `x-bce-request-id` is signed and listed.
    ListedGo,
    /// Exactly these names are signed (those present with a non-empty value) and all of them
    /// are listed, lowercase, sorted, once each.
    Explicit(&'a [&'a str]),
}

/// Client side: one request to sign. `headers` are the headers that will be sent, `host` and
/// `x-bce-date` (= [`format_timestamp`] of `timestamp`) included: the signer adds none.
#[derive(Debug, Clone, Copy)]
pub struct SignRequest<'a> {
    /// The HTTP method, e.g. `PUT`.
    pub method: &'a str,
    /// The decoded path; send it as [`canonical_uri`] of itself.
    pub path: &'a str,
    /// The decoded query; send it as [`Query::to_wire`].
    pub query: &'a Query,
    /// The headers that will be sent.
    pub headers: &'a HeaderMap,
    /// The access key id.
    pub access_key_id: &'a str,
    /// The secret access key.
    pub secret: &'a str,
    /// The signing time (whole seconds are used).
    pub timestamp: OffsetDateTime,
    /// The validity in seconds, [`DEFAULT_EXPIRATION_SECS`] for the SDKs.
    pub expiration_secs: u32,
    /// Which headers to sign and list.
    pub selection: HeaderSelection<'a>,
}

/// Every intermediate value of a client signature, for tests and tools.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Signed {
    /// `bce-auth-v1/{ak}/{timestamp}/{expiration}`.
    pub auth_string_prefix: String,
    /// The 64-hex-digit signing key.
    pub signing_key: String,
    /// The canonical request.
    pub canonical_request: String,
    /// The names listed in the header; empty for [`HeaderSelection::Implicit`].
    pub signed_headers: Vec<String>,
    /// The 64-hex-digit signature.
    pub signature: String,
    /// The value of the `Authorization` header.
    pub authorization: String,
}

/// Signs `request` the way the SDK chosen by its [`HeaderSelection`] does.
pub fn sign(request: &SignRequest<'_>) -> Signed {
    let listed: Vec<String> = match request.selection {
        HeaderSelection::Implicit => Vec::new(),
        HeaderSelection::Listed => present_default_headers(request.headers, |_| true),
        HeaderSelection::ListedGo => {
            present_default_headers(request.headers, |name| name != REQUEST_ID_HEADER)
        }
        HeaderSelection::Explicit(names) => {
            let mut names: Vec<String> = names
                .iter()
                .map(|name| name.trim().to_ascii_lowercase())
                .collect();
            names.sort_unstable();
            names.dedup();
            names
        }
    };
    let listed_refs: Vec<&str> = listed.iter().map(String::as_str).collect();
    let timestamp = format_timestamp(request.timestamp);
    let prefix = auth_string_prefix(
        request.access_key_id,
        &timestamp,
        &request.expiration_secs.to_string(),
    );
    let key = signing_key(request.secret, &prefix);
    let canonical = canonical_request(
        request.method,
        &canonical_uri(request.path),
        &canonical_query_string(request.query),
        &canonical_headers(request.headers, &listed_refs),
    );
    let signature = signature(&key, &canonical);
    let authorization = format!("{prefix}/{}/{signature}", listed_refs.join(";"));
    Signed {
        auth_string_prefix: prefix,
        signing_key: key,
        canonical_request: canonical,
        signed_headers: listed,
        signature,
        authorization,
    }
}

/// The names of the default set present in `headers` with a non-empty value and accepted by
/// `keep`, sorted: what Go and Node list.
fn present_default_headers(headers: &HeaderMap, keep: impl Fn(&str) -> bool) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for (name, value) in headers {
        let name = name.as_str();
        if is_default_signed_header(name) && keep(name) && !value.as_bytes().trim_ascii().is_empty()
        {
            names.push(name.to_owned());
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests;
