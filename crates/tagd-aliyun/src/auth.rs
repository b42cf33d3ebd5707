//! Authentication of an RPC request: signature V1 (HMAC-SHA1 over the parameters) or V3
//! (`Authorization: ACS3-HMAC-SHA256`), the ±15 min clock window and nonce replay protection.
//!
//! Order of checks (spec aliyun.md §1.5): parameter presence, key lookup, timestamp, signature,
//! nonce. A nonce is recorded only once the signature verified, so a forged request cannot burn
//! a legitimate client's nonce.

use bytes::Bytes;
use http::{HeaderMap, Method};
use tagd_core::{AccessKeyId, Credential, Store, TagService};
use time::OffsetDateTime;

use crate::error::{self, AliyunError};
use crate::nonce::NonceCache;
use crate::params::Params;
use crate::sign::{parse_timestamp, v1, v3};

/// Allowed distance between a request's timestamp and the server's clock.
pub const CLOCK_WINDOW_SECS: i64 = 15 * 60;

/// The V3 headers a signature must cover (§1.4: Alibaba requires the `x-acs-*` headers signed).
/// Action and Version come only from these headers, and the replay window rests on the date and
/// nonce: left unsigned, anyone could swap the action or replay the request with a fresh date and
/// nonce. (Every SDK signs them; the Python Tea SDK 0.4.6 signs every header it sends.)
const V3_MUST_SIGN: [&str; 4] = [
    "x-acs-action",
    "x-acs-version",
    "x-acs-date",
    "x-acs-signature-nonce",
];

/// Which scheme signed the request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    V1,
    V3,
}

/// What the authenticator needs to see of a request.
pub struct SignedRequest<'a> {
    pub method: &'a Method,
    pub path: &'a str,
    /// The URL query alone (V3 signs only these).
    pub query: &'a Params,
    /// Query and form body together (V1 signs all of these).
    pub all: &'a Params,
    pub headers: &'a HeaderMap,
    pub body: &'a Bytes,
}

/// The scheme a request uses, from its `Authorization` header.
pub fn scheme_of(headers: &HeaderMap) -> Scheme {
    let v3 = headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().starts_with("ACS3-"));
    if v3 { Scheme::V3 } else { Scheme::V1 }
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Checks the request's credentials and signature; returns the key that signed it.
pub async fn authenticate<S: Store>(
    req: &SignedRequest<'_>,
    service: &TagService<S>,
    nonces: &NonceCache,
    now: OffsetDateTime,
) -> Result<Credential, AliyunError> {
    match scheme_of(req.headers) {
        Scheme::V1 => authenticate_v1(req, service, nonces, now).await,
        Scheme::V3 => authenticate_v3(req, service, nonces, now).await,
    }
}

async fn authenticate_v1<S: Store>(
    req: &SignedRequest<'_>,
    service: &TagService<S>,
    nonces: &NonceCache,
    now: OffsetDateTime,
) -> Result<Credential, AliyunError> {
    let params = req.all;
    // `Signature=` carries no signature either (V3 refuses an empty `Signature=` field alike).
    let signature = params
        .get(v1::SIGNATURE_PARAM)
        .filter(|signature| !signature.is_empty())
        .ok_or(error::INCOMPLETE_SIGNATURE)?;
    if params
        .get("SignatureMethod")
        .is_some_and(|m| m != "HMAC-SHA1")
    {
        return Err(error::INCOMPLETE_SIGNATURE);
    }
    let key_id = params
        .get("AccessKeyId")
        .ok_or_else(|| AliyunError::missing("AccessKeyId"))?;
    let timestamp = params
        .get("Timestamp")
        .ok_or_else(|| AliyunError::missing("Timestamp"))?;
    let nonce = params
        .get("SignatureNonce")
        .ok_or_else(|| AliyunError::missing("SignatureNonce"))?;
    let credential = lookup(service, key_id).await?;
    let signed_at = check_clock(timestamp, now)?;
    let string_to_sign = v1::string_to_sign(req.method.as_str(), params.pairs());
    if !v1::verify(credential.secret.expose(), &string_to_sign, signature) {
        return Err(AliyunError::signature_mismatch(&string_to_sign));
    }
    record_nonce(nonces, key_id, nonce, signed_at, now)?;
    Ok(credential)
}

async fn authenticate_v3<S: Store>(
    req: &SignedRequest<'_>,
    service: &TagService<S>,
    nonces: &NonceCache,
    now: OffsetDateTime,
) -> Result<Credential, AliyunError> {
    let raw = header(req.headers, "authorization").ok_or(error::INCOMPLETE_SIGNATURE)?;
    let auth = v3::parse_authorization(raw).ok_or(error::INCOMPLETE_SIGNATURE)?;
    let date =
        header(req.headers, "x-acs-date").ok_or_else(|| AliyunError::missing("x-acs-date"))?;
    let nonce = header(req.headers, "x-acs-signature-nonce")
        .ok_or_else(|| AliyunError::missing("x-acs-signature-nonce"))?;
    if !V3_MUST_SIGN.iter().all(|required| {
        auth.signed_headers
            .iter()
            .any(|name| name.eq_ignore_ascii_case(required))
    }) {
        return Err(error::INCOMPLETE_SIGNATURE);
    }
    let credential = lookup(service, auth.credential).await?;
    let signed_at = check_clock(date, now)?;
    let body_hash = v3::payload_hash(req.body);
    let claimed_hash = header(req.headers, "x-acs-content-sha256").unwrap_or(&body_hash);
    let mut signed_headers = Vec::with_capacity(auth.signed_headers.len());
    for name in &auth.signed_headers {
        let lower = name.to_ascii_lowercase();
        let value = header(req.headers, &lower).unwrap_or("");
        signed_headers.push((*name, value));
    }
    let canonical = v3::canonical_request(
        req.method.as_str(),
        req.path,
        req.query.pairs(),
        &signed_headers,
        auth.signed_headers_raw,
        claimed_hash,
    );
    let string_to_sign = v3::string_to_sign(&canonical);
    // The body must be the one the client hashed (§6 item 14): a swapped body is refused even
    // with a valid signature over the claimed hash.
    if !claimed_hash.eq_ignore_ascii_case(&body_hash)
        || !v3::verify(credential.secret.expose(), &string_to_sign, auth.signature)
    {
        return Err(AliyunError::signature_mismatch(&string_to_sign));
    }
    record_nonce(nonces, auth.credential, nonce, signed_at, now)?;
    Ok(credential)
}

async fn lookup<S: Store>(
    service: &TagService<S>,
    key_id: &str,
) -> Result<Credential, AliyunError> {
    let id = AccessKeyId::parse(key_id).ok_or(error::KEY_NOT_FOUND)?;
    let credential = service
        .credential(&id)
        .await
        .map_err(|e| error::from_core(&e))?
        .ok_or(error::KEY_NOT_FOUND)?;
    if !credential.enabled {
        return Err(error::KEY_INACTIVE);
    }
    Ok(credential)
}

/// Parses the timestamp and checks it is within the window; returns it as Unix seconds.
fn check_clock(timestamp: &str, now: OffsetDateTime) -> Result<i64, AliyunError> {
    let signed_at = parse_timestamp(timestamp).ok_or(error::TIMESTAMP_FORMAT)?;
    let skew = (now - signed_at).whole_seconds().abs();
    if skew > CLOCK_WINDOW_SECS {
        return Err(error::TIMESTAMP_EXPIRED);
    }
    Ok(signed_at.unix_timestamp())
}

fn record_nonce(
    nonces: &NonceCache,
    key_id: &str,
    nonce: &str,
    signed_at: i64,
    now: OffsetDateTime,
) -> Result<(), AliyunError> {
    let now = now.unix_timestamp();
    // Kept until the request's timestamp leaves the window, however skewed the client is.
    let expires_at = signed_at.max(now) + CLOCK_WINDOW_SECS + 1;
    if nonces.check_and_record(key_id, nonce, now, expires_at) {
        Ok(())
    } else {
        Err(error::NONCE_USED)
    }
}
