//! Turns an [`Operation`] into an HTTP request signed the way the SDKs sign it, with a fresh
//! `SignatureNonce` and `Timestamp` every time (tagd refuses replays, so a request can never be
//! reused), and reads what the runner needs back out of responses.
//!
//! V1 (`shared/spec/aliyun.md` §1.3): `POST /?<params>&Signature=…`, every parameter in the
//! query as `aliyun-python-sdk-core` sends them. V3 (§1.4): `POST /?<api params>` with the
//! `x-acs-*` headers and `Authorization: ACS3-HMAC-SHA256 …`, as the Tea SDK sends them.

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::Full;
use serde::Deserialize;
use tagd_aliyun::sign::{format_timestamp, v1, v3};
use time::OffsetDateTime;

use crate::cli::SignScheme;
use crate::workload::{BceCall, Operation, RpcCall};

/// Everything that signs requests for one run.
#[derive(Clone, Debug)]
pub struct Signer {
    scheme: SignScheme,
    access_key_id: String,
    secret: String,
    region: String,
    /// The `host` header (signed by V3), the endpoint as given: `127.0.0.1:18080`.
    host: String,
    /// V1's HMAC key, absorbed once from `secret`.
    v1_key: v1::SigningKey,
}

impl Signer {
    /// `host` is the endpoint as given (`127.0.0.1:18080`): V3 signs it as the `host` header.
    pub fn new(
        scheme: SignScheme,
        access_key_id: String,
        secret: String,
        region: String,
        host: String,
    ) -> Self {
        let v1_key = v1::SigningKey::new(&secret);
        Self {
            scheme,
            access_key_id,
            secret,
            region,
            host,
            v1_key,
        }
    }

    /// The HTTP request for `operation`, freshly signed now.
    pub fn request(&self, operation: &Operation) -> Request<Full<Bytes>> {
        match operation {
            Operation::Get(path) => self.unsigned_get(path),
            Operation::Bce(call) => self.sign_bce(call, OffsetDateTime::now_utc()),
            Operation::Rpc(call) => {
                let nonce = uuid::Uuid::new_v4().simple().to_string();
                let now = OffsetDateTime::now_utc();
                match self.scheme {
                    SignScheme::V1 => self.sign_v1(call, &nonce, now),
                    SignScheme::V3 => self.sign_v3(call, &nonce, now),
                }
            }
        }
    }

    fn unsigned_get(&self, path: &str) -> Request<Full<Bytes>> {
        let mut request = Request::new(Full::new(Bytes::new()));
        *request.method_mut() = Method::GET;
        *request.uri_mut() = path.parse().unwrap_or_default();
        insert_header(&mut request, "host", &self.host);
        request
    }

    /// The parameters a V1 request signs and sends: common ones of §1.2, then the call's.
    /// Borrowed: signing a request allocates only its query and string to sign.
    pub fn v1_params<'a>(
        &'a self,
        call: &'a RpcCall,
        nonce: &'a str,
        timestamp: &'a str,
    ) -> Vec<(&'a str, &'a str)> {
        let common = v1::Common {
            action: call.action,
            version: call.version,
            access_key_id: &self.access_key_id,
            nonce,
            region: &self.region,
            timestamp,
        };
        let mut params = Vec::with_capacity(9 + call.params.len());
        params.extend(common.params());
        params.extend(
            call.params
                .iter()
                .map(|(name, value)| (name.as_str(), value.as_str())),
        );
        params
    }

    fn sign_v1(&self, call: &RpcCall, nonce: &str, now: OffsetDateTime) -> Request<Full<Bytes>> {
        let timestamp = timestamp(now);
        let params = self.v1_params(call, nonce, &timestamp);
        let mut uri = String::with_capacity(768);
        uri.push_str("/?");
        self.v1_key.signed_query_into(&mut uri, "POST", &params);
        let mut request = Request::new(Full::new(Bytes::new()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = http::Uri::from_maybe_shared(Bytes::from(uri)).unwrap_or_default();
        insert_header(&mut request, "host", &self.host);
        request
    }

    fn sign_v3(&self, call: &RpcCall, nonce: &str, now: OffsetDateTime) -> Request<Full<Bytes>> {
        let mut query = Vec::with_capacity(1 + call.params.len());
        query.push(("RegionId".to_owned(), self.region.clone()));
        query.extend(call.params.iter().cloned());
        let headers = v3::sign_request(&v3::SignRequest {
            method: "POST",
            query: &query,
            host: &self.host,
            action: call.action,
            version: call.version,
            date: now,
            nonce,
            content_type: None,
            body: b"",
            access_key_id: &self.access_key_id,
            secret: &self.secret,
        });
        let mut request = Request::new(Full::new(Bytes::new()));
        *request.method_mut() = Method::POST;
        *request.uri_mut() = format!("/?{}", v3::canonical_query(&query))
            .parse()
            .unwrap_or_default();
        for (name, value) in &headers {
            insert_header(&mut request, name, value);
        }
        request
    }
}

/// `Timestamp` of a request made at `now`: formatted once a second per thread, as every
/// request of that second carries the same text.
fn timestamp(now: OffsetDateTime) -> String {
    thread_local! {
        static LAST: std::cell::RefCell<(i64, String)> = const {
            std::cell::RefCell::new((i64::MIN, String::new()))
        };
    }
    let second = now.unix_timestamp();
    LAST.with_borrow_mut(|(at, text)| {
        if *at != second {
            *at = second;
            *text = format_timestamp(now);
        }
        text.clone()
    })
}

impl Signer {
    /// A Baidu request signed as bce-python-sdk 0.9.79 signs it: the default header set
    /// (host, content-length, content-type, x-bce-date), `signedHeaders` left empty.
    fn sign_bce(&self, call: &BceCall, now: OffsetDateTime) -> Request<Full<Bytes>> {
        let params = call
            .query
            .iter()
            .map(|(k, v)| match v {
                Some(v) => tagd_bce::query::QueryParam::new(k, v),
                None => tagd_bce::query::QueryParam::flag(k),
            })
            .collect();
        let query = tagd_bce::query::Query::from_params(params);
        let mut headers = http::HeaderMap::new();
        let mut put = |name: &'static str, value: &str| {
            if let Ok(value) = header::HeaderValue::from_str(value) {
                headers.insert(header::HeaderName::from_static(name), value);
            }
        };
        put("host", &self.host);
        put("x-bce-date", &tagd_bce::sign::format_timestamp(now));
        put("content-type", "application/json; charset=utf-8");
        put("content-length", &call.body.len().to_string());
        let signed = tagd_bce::sign::sign(&tagd_bce::sign::SignRequest {
            method: call.method,
            path: call.path,
            query: &query,
            headers: &headers,
            access_key_id: &self.access_key_id,
            secret: &self.secret,
            timestamp: now,
            expiration_secs: tagd_bce::sign::DEFAULT_EXPIRATION_SECS,
            selection: tagd_bce::sign::HeaderSelection::Implicit,
        });
        let wire = query.to_wire();
        let uri = if wire.is_empty() {
            call.path.to_owned()
        } else {
            format!("{}?{wire}", call.path)
        };
        let mut request = Request::new(Full::new(Bytes::from(call.body.clone())));
        *request.method_mut() = call.method.parse().unwrap_or(Method::GET);
        *request.uri_mut() = uri.parse().unwrap_or_default();
        *request.headers_mut() = headers;
        insert_header(&mut request, "authorization", &signed.authorization);
        request
    }
}

/// Adds a header; names and values here are built from ASCII text the signer produced, so a
/// failure is a bug in the signer, and the request goes out without it (and fails visibly).
fn insert_header(request: &mut Request<Full<Bytes>>, name: &'static str, value: &str) {
    let name = header::HeaderName::from_static(name);
    if let Ok(value) = header::HeaderValue::from_str(value) {
        request.headers_mut().insert(name, value);
    }
}

#[derive(Deserialize)]
struct ErrorBody {
    /// Alibaba spells it `Code`, Baidu `code`.
    #[serde(rename = "Code", alias = "code")]
    code: Option<String>,
}

/// The `Code` of an error response, or a placeholder when the body is not the JSON error shape
/// (a proxy page, a plain-text 404, a timeout from the server's middleware).
pub fn error_code(body: &[u8]) -> String {
    match serde_json::from_slice::<ErrorBody>(body) {
        Ok(ErrorBody { code: Some(code) }) => code,
        _ => "(no Code)".to_owned(),
    }
}

/// The `NextToken` of a successful list response (`""` when absent: no more pages).
///
/// Found by its key, not by parsing the whole page: skipping a 50-resource page's JSON was
/// ~30% of the client's CPU per query, inside the latency it measures. The key's bytes can
/// only be a key: in a JSON string each `"` is escaped, and `NextToken` does not end in `\`.
pub fn next_token(body: &[u8]) -> String {
    const KEY: &[u8] = b"\"NextToken\":";
    let Some(at) = memchr::memmem::find(body, KEY) else {
        return String::new();
    };
    serde_json::Deserializer::from_slice(&body[at + KEY.len()..])
        .into_iter::<Option<String>>()
        .next()
        .and_then(Result::ok)
        .flatten()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::workload::{PoolOrder, ResourcePool, Rng, Targets, Workload};
    use tagd_aliyun::params::Params;

    const SECRET: &str = "benchsecret000000000000000000";

    fn signer(scheme: SignScheme) -> Signer {
        Signer::new(
            scheme,
            "LTAIbench0000000000000000".to_owned(),
            SECRET.to_owned(),
            "cn-hangzhou".to_owned(),
            "127.0.0.1:18080".to_owned(),
        )
    }

    fn w1_operation() -> Operation {
        let targets = Targets {
            pool: ResourcePool { size: 100 },
            order: PoolOrder::Random,
            list_filter: None,
        };
        Workload::Tag.operation(&targets, &mut Rng::new(11), 0)
    }

    /// What the server does with a V1 request: parse the query, rebuild the string to sign,
    /// verify.
    #[test]
    fn v1_request_verifies_on_the_server_side() {
        let request = signer(SignScheme::V1).request(&w1_operation());
        assert_eq!(request.method(), Method::POST);
        assert_eq!(request.headers()["host"], "127.0.0.1:18080");
        let params = Params::parse(request.uri().query().unwrap(), None).unwrap();
        for name in [
            "Action",
            "Version",
            "Format",
            "AccessKeyId",
            "SignatureMethod",
            "SignatureVersion",
            "SignatureNonce",
            "Timestamp",
            "RegionId",
            "Tag.5.Value",
        ] {
            assert!(params.get(name).is_some(), "{name} missing");
        }
        assert_eq!(params.get("Action"), Some("TagResources"));
        assert_eq!(params.get("Version"), Some("2014-08-15"));
        let timestamp = params.get("Timestamp").unwrap();
        assert!(
            tagd_aliyun::sign::parse_timestamp(timestamp).is_some(),
            "{timestamp}"
        );
        let signature = params.get("Signature").unwrap();
        let string_to_sign = v1::string_to_sign("POST", params.pairs());
        assert!(v1::verify(SECRET, &string_to_sign, signature));
        assert!(!v1::verify("other", &string_to_sign, signature));
        assert!(!v1::verify(
            SECRET,
            &v1::string_to_sign("GET", params.pairs()),
            signature
        ));
    }

    #[test]
    fn the_timestamp_follows_the_clock_across_seconds() {
        let at = |unix: i64, nanos: u32| {
            OffsetDateTime::from_unix_timestamp(unix).unwrap()
                + time::Duration::nanoseconds(i64::from(nanos))
        };
        for t in [
            at(1_779_548_400, 0),
            at(1_779_548_400, 999_999_999),
            at(1_779_548_401, 1),
            at(1_779_548_400, 5),
            at(1_779_634_800, 0),
        ] {
            assert_eq!(timestamp(t), format_timestamp(t), "{t}");
        }
    }

    #[test]
    fn every_request_has_a_fresh_nonce() {
        let signer = signer(SignScheme::V1);
        let operation = w1_operation();
        let nonce = |request: &Request<Full<Bytes>>| {
            let params = Params::parse(request.uri().query().unwrap(), None).unwrap();
            params.get("SignatureNonce").unwrap().to_owned()
        };
        let first = signer.request(&operation);
        let second = signer.request(&operation);
        assert_ne!(nonce(&first), nonce(&second));
    }

    /// What the server does with a V3 request: parse the Authorization header, rebuild the
    /// canonical request from the headers it names and the URL query, verify.
    #[test]
    fn v3_request_verifies_on_the_server_side() {
        let request = signer(SignScheme::V3).request(&w1_operation());
        let header = |name: &str| request.headers()[name].to_str().unwrap();
        let authorization = v3::parse_authorization(header("authorization")).unwrap();
        assert_eq!(authorization.credential, "LTAIbench0000000000000000");
        assert_eq!(header("x-acs-action"), "TagResources");
        assert_eq!(header("x-acs-version"), "2014-08-15");
        let signed: Vec<(&str, &str)> = authorization
            .signed_headers
            .iter()
            .map(|name| (*name, header(name)))
            .collect();
        let query = Params::parse(request.uri().query().unwrap(), None).unwrap();
        assert_eq!(query.get("RegionId"), Some("cn-hangzhou"));
        assert_eq!(query.get("Action"), None);
        let canonical = v3::canonical_request(
            "POST",
            "/",
            query.pairs(),
            &signed,
            authorization.signed_headers_raw,
            v3::EMPTY_PAYLOAD_HASH,
        );
        let string_to_sign = v3::string_to_sign(&canonical);
        assert!(v3::verify(SECRET, &string_to_sign, authorization.signature));
        assert!(!v3::verify(
            "other",
            &string_to_sign,
            authorization.signature
        ));
    }

    #[test]
    fn healthz_is_an_unsigned_get() {
        let request = signer(SignScheme::V1).request(&Operation::Get("/healthz"));
        assert_eq!(request.method(), Method::GET);
        assert_eq!(request.uri(), "/healthz");
        assert!(request.uri().query().is_none());
    }

    #[test]
    fn response_fields() {
        let error = br#"{"RequestId":"X","HostId":"rds.aliyuncs.com","Code":"SignatureNonceUsed","Message":"m"}"#;
        assert_eq!(error_code(error), "SignatureNonceUsed");
        assert_eq!(error_code(b"request timed out"), "(no Code)");
        let page = br#"{"RequestId":"X","NextToken":"abc","TagResources":{"TagResource":[]}}"#;
        assert_eq!(next_token(page), "abc");
        assert_eq!(next_token(br#"{"NextToken":""}"#), "");
        assert_eq!(next_token(b"{}"), "");
        // A tag value that spells the key (escaped, as it must be in a string) is not it.
        let tricky = br#"{"TagResources":{"TagResource":[{"TagValue":"\"NextToken\":\"no\""}]},"NextToken": "y\u0041\"z"}"#;
        assert_eq!(next_token(tricky), "yA\"z");
        let last = br#"{"TagResources":{"TagResource":[{"TagValue":"\"NextToken\":\"no\""}]}}"#;
        assert_eq!(next_token(last), "");
        assert_eq!(next_token(br#"{"NextToken":null}"#), "");
    }

    /// What the server does with a Baidu request: parse the Authorization header, rebuild the
    /// canonical request from what arrives, verify; a wrong secret fails.
    #[test]
    fn bce_requests_verify_on_the_server_side() {
        let targets = Targets {
            pool: ResourcePool { size: 100 },
            order: PoolOrder::Random,
            list_filter: None,
        };
        for workload in [Workload::BceBind, Workload::BceTagResources] {
            let operation = workload.operation(&targets, &mut Rng::new(5), 0);
            let request = signer(SignScheme::V1).request(&operation);
            let auth = tagd_bce::sign::authorization_from_headers(request.headers()).expect("auth");
            let path = tagd_bce::query::decode_path(request.uri().path()).expect("path");
            let query =
                tagd_bce::query::Query::parse(request.uri().query().unwrap_or("")).expect("query");
            let received = tagd_bce::sign::ReceivedRequest {
                method: request.method().as_str(),
                path: &path,
                query: &query,
                headers: request.headers(),
            };
            let now = OffsetDateTime::now_utc();
            assert_eq!(
                tagd_bce::sign::verify(&received, &auth, SECRET, now),
                Ok(()),
                "{}",
                workload.name()
            );
            assert!(tagd_bce::sign::verify(&received, &auth, "wrong", now).is_err());
        }
    }
}
