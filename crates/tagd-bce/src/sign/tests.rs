//! Tests of `bce-auth-v1`: every known-answer vector of spec §4.5 (each intermediate string
//! asserted, signer and verifier both), the §8.1 capture, tamper tests and property tests.

use http::{HeaderMap, HeaderName, HeaderValue};
use time::macros::datetime;

use super::*;
use crate::query::{Query, QueryParam, decode_path};

// ---- common inputs of §4.5 ----

const AK: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const SK: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const TS: &str = "2015-04-27T08:23:49Z";
const PREFIX: &str = "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800";
const SIGNING_KEY: &str = "1d5ce5f464064cbee060330d973218821825ac6952368a482a592e6615aef479";

fn signed_at() -> OffsetDateTime {
    datetime!(2015-04-27 08:23:49 UTC)
}

fn header_map(list: &[(&str, &str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in list {
        map.append(
            HeaderName::from_bytes(name.as_bytes()).unwrap(),
            HeaderValue::from_str(value).unwrap(),
        );
    }
    map
}

/// One request of §4.5 as it arrives on the wire, with the expected canonical request and
/// `Authorization` value.
struct Vector {
    method: &'static str,
    path: &'static str,
    wire_query: &'static str,
    headers: Vec<(&'static str, &'static str)>,
    canonical: &'static str,
    signature: &'static str,
    authorization: &'static str,
}

impl Vector {
    fn headers(&self) -> HeaderMap {
        let mut map = header_map(&self.headers);
        map.insert(
            http::header::AUTHORIZATION,
            HeaderValue::from_str(self.authorization).unwrap(),
        );
        map
    }

    fn query(&self) -> Query {
        Query::parse(self.wire_query).unwrap()
    }

    /// Runs the server side on the vector as received, at the signing instant.
    fn verify_with(
        &self,
        method: &str,
        path: &str,
        query: &Query,
        headers: &HeaderMap,
        secret: &str,
    ) -> Result<(), AuthError> {
        let auth = authorization_from_headers(headers)?;
        let request = ReceivedRequest {
            method,
            path,
            query,
            headers,
        };
        verify(&request, &auth, secret, signed_at())
    }

    fn verify(&self) -> Result<(), AuthError> {
        self.verify_with(self.method, self.path, &self.query(), &self.headers(), SK)
    }

    /// The server-side canonical request and signature, asserted against the vector.
    fn assert_server_side(&self) {
        let headers = self.headers();
        let auth = authorization_from_headers(&headers).unwrap();
        assert_eq!(auth.auth_string_prefix(), PREFIX);
        assert_eq!(signing_key(SK, &auth.auth_string_prefix()), SIGNING_KEY);
        let query = self.query();
        let request = ReceivedRequest {
            method: self.method,
            path: self.path,
            query: &query,
            headers: &headers,
        };
        let canonical = request.canonical_request(&auth.signed_headers);
        assert_eq!(canonical, self.canonical);
        assert_eq!(signature(SIGNING_KEY, &canonical), self.signature);
        assert_eq!(auth.signature, self.signature);
        assert!(verify_signature(SIGNING_KEY, &canonical, self.signature));
        assert_eq!(self.verify(), Ok(()));
    }

    /// Every signed component changed, one at a time, fails; unsigned ones do not matter.
    fn assert_tampering_fails(&self) {
        let mismatch = Err(AuthError::SignatureMismatch);
        let query = self.query();
        let headers = self.headers();
        let other_method = if self.method == "PUT" { "POST" } else { "PUT" };
        assert_eq!(
            self.verify_with(other_method, self.path, &query, &headers, SK),
            mismatch,
            "method"
        );
        let other_path = format!("{}x", self.path);
        assert_eq!(
            self.verify_with(self.method, &other_path, &query, &headers, SK),
            mismatch,
            "path"
        );
        let mut extra = query.params().to_vec();
        extra.push(QueryParam::new("clientToken", "1"));
        assert_eq!(
            self.verify_with(
                self.method,
                self.path,
                &Query::from_params(extra),
                &headers,
                SK
            ),
            mismatch,
            "extra query parameter"
        );
        for (position, param) in query.params().iter().enumerate() {
            let mut changed = query.params().to_vec();
            changed[position].value = Some(format!("{}x", param.value.as_deref().unwrap_or("")));
            assert_eq!(
                self.verify_with(
                    self.method,
                    self.path,
                    &Query::from_params(changed),
                    &headers,
                    SK
                ),
                mismatch,
                "query value of {}",
                param.key
            );
        }
        let auth = authorization_from_headers(&headers).unwrap();
        let signed_names: Vec<String> = if auth.signed_headers.is_empty() {
            headers
                .keys()
                .map(|name| name.as_str().to_owned())
                .filter(|name| is_default_signed_header(name))
                .collect()
        } else {
            auth.signed_headers
                .iter()
                .map(|name| (*name).to_owned())
                .collect()
        };
        assert!(!signed_names.is_empty());
        for name in &signed_names {
            let mut changed = headers.clone();
            let value = format!("{}x", changed[name.as_str()].to_str().unwrap());
            changed.insert(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(&value).unwrap(),
            );
            assert_eq!(
                self.verify_with(self.method, self.path, &query, &changed, SK),
                mismatch,
                "header {name}"
            );
        }
        assert_eq!(
            self.verify_with(
                self.method,
                self.path,
                &query,
                &headers,
                "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbc"
            ),
            mismatch,
            "secret"
        );
        // Unsigned headers may change freely.
        let mut unsigned = headers.clone();
        unsigned.insert(
            http::header::USER_AGENT,
            HeaderValue::from_static("bce-sdk-python/0.9.79"),
        );
        unsigned.insert(http::header::CONNECTION, HeaderValue::from_static("close"));
        assert_eq!(
            self.verify_with(self.method, self.path, &query, &unsigned, SK),
            Ok(()),
            "unsigned headers"
        );
    }
}

fn vector_a() -> Vector {
    Vector {
        method: "PUT",
        path: "/v1/tag",
        wire_query: "create=",
        headers: vec![
            ("Host", "tag.baidubce.com"),
            ("Content-Type", "application/json; charset=utf-8"),
            ("Content-Length", "45"),
            ("x-bce-date", TS),
        ],
        canonical: "PUT\n/v1/tag\ncreate=\ncontent-length:45\n\
                    content-type:application%2Fjson%3B%20charset%3Dutf-8\n\
                    host:tag.baidubce.com\nx-bce-date:2015-04-27T08%3A23%3A49Z",
        signature: "05794cf3318d4a181b4b11723b006f492196cded9d3b1f2f6176c16e8e859f78",
        authorization: "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800//\
                        05794cf3318d4a181b4b11723b006f492196cded9d3b1f2f6176c16e8e859f78",
    }
}

/// Vector B as Go sends it: bare `?create`, an explicit list and an unsigned request id.
fn vector_b() -> Vector {
    Vector {
        method: "PUT",
        path: "/v1/tag",
        wire_query: "create",
        headers: vec![
            ("Host", "tag.baidubce.com"),
            ("Content-Type", "application/json;charset=utf-8"),
            ("Content-Length", "45"),
            ("Content-Md5", "FrIN0xahxMRZCuM4qJc9wg=="),
            ("x-bce-date", TS),
            ("x-bce-request-id", "11111111-2222-3333-4444-555555555555"),
        ],
        canonical: "PUT\n/v1/tag\ncreate=\ncontent-length:45\n\
                    content-md5:FrIN0xahxMRZCuM4qJc9wg%3D%3D\n\
                    content-type:application%2Fjson%3Bcharset%3Dutf-8\n\
                    host:tag.baidubce.com\nx-bce-date:2015-04-27T08%3A23%3A49Z",
        signature: "bd1250b751042ddb5e54b1f72743d9803c6578457429a0f630380005fee50727",
        authorization: "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800/\
                        content-length;content-md5;content-type;host;x-bce-date/\
                        bd1250b751042ddb5e54b1f72743d9803c6578457429a0f630380005fee50727",
    }
}

fn vector_c() -> Vector {
    Vector {
        method: "GET",
        path: "/v1/tag",
        wire_query: "tagKey=%E9%A1%B9%E7%9B%AE%20a%2Fb&tagValue=",
        headers: vec![
            ("Host", "tag.baidubce.com"),
            ("Content-Length", "0"),
            ("x-bce-date", TS),
        ],
        canonical: "GET\n/v1/tag\ntagKey=%E9%A1%B9%E7%9B%AE%20a%2Fb&tagValue=\n\
                    content-length:0\nhost:tag.baidubce.com\nx-bce-date:2015-04-27T08%3A23%3A49Z",
        signature: "858d48bc81d97e86b338e91f1daed602d5fe8c01b4eaa61338c07b04f27ef2c3",
        authorization: "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800//\
                        858d48bc81d97e86b338e91f1daed602d5fe8c01b4eaa61338c07b04f27ef2c3",
    }
}

/// Baidu's own documentation sample (BOS UploadPart); `Date` is sent but not signed.
fn vector_d() -> Vector {
    Vector {
        method: "PUT",
        path: "/v1/test/myfolder/readme.txt",
        wire_query: "partNumber=9&uploadId=a44cc9bab11cbd156984767aad637851",
        headers: vec![
            ("Host", "bj.bcebos.com"),
            ("Date", "Mon, 27 Apr 2015 16:23:49 +0800"),
            ("Content-Type", "text/plain"),
            ("Content-Length", "8"),
            ("Content-Md5", "NFzcPqhviddjRNnSOGo4rw=="),
            ("x-bce-date", TS),
        ],
        canonical: "PUT\n/v1/test/myfolder/readme.txt\n\
                    partNumber=9&uploadId=a44cc9bab11cbd156984767aad637851\n\
                    content-length:8\ncontent-md5:NFzcPqhviddjRNnSOGo4rw%3D%3D\n\
                    content-type:text%2Fplain\nhost:bj.bcebos.com\n\
                    x-bce-date:2015-04-27T08%3A23%3A49Z",
        signature: "d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e",
        authorization: "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800//\
                        d74a04362e6a848f5b39b15421cb449427f419c95a480fd6b8cf9fc783e2999e",
    }
}

/// The client signer for one vector's inputs.
fn client_sign(vector: &Vector, query: &Query, selection: HeaderSelection<'_>) -> Signed {
    let headers = header_map(&vector.headers);
    sign(&SignRequest {
        method: vector.method,
        path: vector.path,
        query,
        headers: &headers,
        access_key_id: AK,
        secret: SK,
        timestamp: signed_at(),
        expiration_secs: DEFAULT_EXPIRATION_SECS,
        selection,
    })
}

fn assert_intermediates(signed: &Signed, vector: &Vector) {
    assert_eq!(signed.auth_string_prefix, PREFIX);
    assert_eq!(signed.signing_key, SIGNING_KEY);
    assert_eq!(signed.canonical_request, vector.canonical);
    assert_eq!(signed.signature, vector.signature);
}

#[test]
fn common_inputs_give_the_spec_signing_key() {
    assert_eq!(auth_string_prefix(AK, TS, "1800"), PREFIX);
    assert_eq!(signing_key(SK, PREFIX), SIGNING_KEY);
    assert_eq!(signed_at().unix_timestamp(), 1_430_123_029);
}

#[test]
fn vector_a_python_java_style() {
    let vector = vector_a();
    vector.assert_server_side();
    let query = Query::from_params(vec![QueryParam::new("create", "")]);
    let signed = client_sign(&vector, &query, HeaderSelection::Implicit);
    assert_intermediates(&signed, &vector);
    assert!(signed.signed_headers.is_empty());
    assert_eq!(signed.authorization, vector.authorization);
    assert_eq!(query.to_wire(), "create=");
}

#[test]
fn vector_a_java_wire_form_with_bare_flag() {
    // Java puts `?create` in the URL and signs `create=` (§8.3).
    let mut vector = vector_a();
    vector.wire_query = "create";
    vector.assert_server_side();
    let signed = client_sign(&vector, &vector.query(), HeaderSelection::Implicit);
    assert_eq!(signed.authorization, vector.authorization);
}

#[test]
fn vector_a_node_style_lists_the_same_signature() {
    let mut vector = vector_a();
    vector.authorization = "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800/\
        content-length;content-type;host;x-bce-date/\
        05794cf3318d4a181b4b11723b006f492196cded9d3b1f2f6176c16e8e859f78";
    vector.assert_server_side();
    let signed = client_sign(&vector, &vector.query(), HeaderSelection::Listed);
    assert_intermediates(&signed, &vector);
    assert_eq!(
        signed.signed_headers,
        ["content-length", "content-type", "host", "x-bce-date"]
    );
    assert_eq!(signed.authorization, vector.authorization);
}

#[test]
fn vector_b_go_style() {
    let vector = vector_b();
    vector.assert_server_side();
    let query = Query::from_params(vec![QueryParam::flag("create")]);
    let signed = client_sign(&vector, &query, HeaderSelection::ListedGo);
    assert_intermediates(&signed, &vector);
    assert_eq!(signed.authorization, vector.authorization);
    assert_eq!(query.to_wire(), "create");
    // The request id may be anything: it is not signed.
    let mut other_id = vector.headers();
    other_id.insert(
        REQUEST_ID_HEADER,
        HeaderValue::from_static("99999999-2222-3333-4444-555555555555"),
    );
    assert_eq!(
        vector.verify_with("PUT", "/v1/tag", &vector.query(), &other_id, SK),
        Ok(())
    );
    other_id.remove(REQUEST_ID_HEADER);
    assert_eq!(
        vector.verify_with("PUT", "/v1/tag", &vector.query(), &other_id, SK),
        Ok(())
    );
}

/// §4.5 B, last paragraph: the Python signer handed B's headers with an explicit list still
/// signs every `x-bce-*` header, the request id included (§4.3), and yields `19823422…` under
/// the same five-name list. The spec leaves the request id as "<any uuid>"; the value that
/// reproduces the spec's signature is `11111111-2222-3333-4444-555555555555`. A verifier that
/// honours the explicit list must refuse that request.
#[test]
fn vector_b_python_explicit_list_quirk_is_refused() {
    let vector = vector_b();
    let headers = header_map(&vector.headers);
    let python_signed_names = [
        "content-length",
        "content-md5",
        "content-type",
        "host",
        "x-bce-date",
        REQUEST_ID_HEADER,
    ];
    let python_canonical = canonical_request(
        "PUT",
        "/v1/tag",
        "create=",
        &canonical_headers(&headers, &python_signed_names),
    );
    assert!(python_canonical.ends_with("\nx-bce-request-id:11111111-2222-3333-4444-555555555555"));
    let python_signature = signature(SIGNING_KEY, &python_canonical);
    assert_eq!(
        python_signature,
        "19823422efd0547a04ce32c174e26451733cca59c2b63e7b3dd713a065acfb7a"
    );
    let mut refused = vector;
    refused.authorization = "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800/\
        content-length;content-md5;content-type;host;x-bce-date/\
        19823422efd0547a04ce32c174e26451733cca59c2b63e7b3dd713a065acfb7a";
    assert_eq!(refused.verify(), Err(AuthError::SignatureMismatch));
}

#[test]
fn vector_c_non_ascii_query() {
    let vector = vector_c();
    vector.assert_server_side();
    let query = Query::from_params(vec![
        QueryParam::new("tagKey", "项目 a/b"),
        QueryParam::new("tagValue", ""),
    ]);
    assert_eq!(query.to_wire(), vector.wire_query);
    let signed = client_sign(&vector, &query, HeaderSelection::Implicit);
    assert_intermediates(&signed, &vector);
    assert_eq!(signed.authorization, vector.authorization);
}

#[test]
fn vector_c_other_wire_encodings_verify() {
    // Node writes lowercase escapes and escapes unreserved characters (§1.3); the order on
    // the wire is arbitrary. The server re-encodes, so all of them verify.
    for wire_query in [
        "tagKey=%e9%a1%b9%e7%9b%ae%20a%2fb&tagValue=",
        "tagValue=&tagKey=%E9%A1%B9%E7%9B%AE%20a%2Fb",
        "tagKey=%E9%A1%B9%E7%9B%AE%20a/b&tagValue",
    ] {
        let mut vector = vector_c();
        vector.wire_query = wire_query;
        assert_eq!(vector.verify(), Ok(()), "{wire_query}");
    }
}

#[test]
fn vector_d_baidu_documentation_sample() {
    let vector = vector_d();
    vector.assert_server_side();
    let signed = client_sign(&vector, &vector.query(), HeaderSelection::Implicit);
    assert_intermediates(&signed, &vector);
    assert_eq!(signed.authorization, vector.authorization);
}

#[test]
fn vector_d_path_is_signed() {
    let mut vector = vector_d();
    vector.path = "/test/myfolder/readme.txt";
    let signed = client_sign(&vector, &vector.query(), HeaderSelection::Implicit);
    assert_eq!(
        signed.signature,
        "1816c10fce34ba9c9825eddc05fd6058bf82e05fefeddee8da6f869486ea68c0"
    );
}

#[test]
fn every_vector_refuses_tampering() {
    for vector in [vector_a(), vector_b(), vector_c(), vector_d()] {
        vector.assert_tampering_fails();
    }
}

/// The canonical request the capture server rebuilt for bce-python-sdk 0.9.79's
/// `PUT /v1/tag?create=` (§8.1). The capture's secret is not in the spec, so only the
/// canonical request can be checked: `Host` with its port, `User-Agent` left out.
#[test]
fn python_capture_canonical_request() {
    let headers = header_map(&[
        ("Content-Type", "application/json; charset=utf-8"),
        (
            "User-Agent",
            "bce-sdk-python/0.9.79/3.11.7 (main, May  9 2026, 07:35:25) [GCC 12.2.0]/linux",
        ),
        ("Host", "127.0.0.1:18765"),
        ("Content-Length", "85"),
        (
            "Authorization",
            "bce-auth-v1/AKEXAMPLE0123456789abcdef0123456/2026-11-22T20:18:34Z/1800//\
             10e71a3fef7e09464a6b936cd44d24244dca7584f09be88e308123cfe65c1ec2",
        ),
        ("x-bce-date", "2026-11-22T20:18:34Z"),
    ]);
    let auth = authorization_from_headers(&headers).unwrap();
    assert_eq!(auth.access_key_id, "AKEXAMPLE0123456789abcdef0123456");
    assert!(auth.signed_headers.is_empty());
    let query = Query::parse("create=").unwrap();
    let request = ReceivedRequest {
        method: "PUT",
        path: "/v1/tag",
        query: &query,
        headers: &headers,
    };
    assert_eq!(
        request.canonical_request(&auth.signed_headers),
        "PUT\n/v1/tag\ncreate=\ncontent-length:85\n\
         content-type:application%2Fjson%3B%20charset%3Dutf-8\n\
         host:127.0.0.1%3A18765\nx-bce-date:2026-11-22T20%3A18%3A34Z"
    );
}

// ---- Authorization parsing ----

#[test]
fn parse_authorization_reads_every_part() {
    let auth =
        parse_authorization("  bce-auth-v1/AK/2015-04-27T08:23:49Z/01800/host;x-bce-date/abcdef  ")
            .unwrap();
    assert_eq!(auth.access_key_id, "AK");
    assert_eq!(auth.timestamp, signed_at());
    assert_eq!(auth.timestamp_raw, TS);
    assert_eq!(auth.expiration_secs, 1800);
    // The prefix is signed as sent, leading zero included.
    assert_eq!(
        auth.auth_string_prefix(),
        "bce-auth-v1/AK/2015-04-27T08:23:49Z/01800"
    );
    assert_eq!(auth.signed_headers, ["host", "x-bce-date"]);
    assert_eq!(auth.signature, "abcdef");
    let empty_list = parse_authorization("bce-auth-v1/AK/2015-04-27T08:23:49Z/1800//sig").unwrap();
    assert!(empty_list.signed_headers.is_empty());
}

#[test]
fn parse_authorization_refuses_malformed_headers() {
    for header in [
        "",
        "bce-auth-v1",
        "bce-auth-v1/AK/2015-04-27T08:23:49Z/1800/sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49Z/1800//sig/extra",
        "bce-auth-v2/AK/2015-04-27T08:23:49Z/1800//sig",
        "BCE-AUTH-V1/AK/2015-04-27T08:23:49Z/1800//sig",
        "bce-auth-v1//2015-04-27T08:23:49Z/1800//sig",
        "bce-auth-v1/AK/2015-04-27 08:23:49Z/1800//sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49.5Z/1800//sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49+00:00/1800//sig",
        "bce-auth-v1/AK/2015-02-30T08:23:49Z/1800//sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49Z///sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49Z/-1//sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49Z/+1800//sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49Z/18 00//sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49Z/4294967296//sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49Z/00000000001//sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49Z/1800/host;;x-bce-date/sig",
        "bce-auth-v1/AK/2015-04-27T08:23:49Z/1800/host;/sig",
        "ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=host,Signature=x",
    ] {
        assert!(
            matches!(
                parse_authorization(header),
                Err(AuthError::Malformed { .. })
            ),
            "{header:?}"
        );
    }
    assert_eq!(
        parse_authorization("bce-auth-v1/AK/2015-04-27T08:23:49Z/4294967295//sig")
            .map(|auth| auth.expiration_secs),
        Ok(u32::MAX)
    );
}

#[test]
fn authorization_from_headers_missing_or_not_ascii() {
    assert_eq!(
        authorization_from_headers(&HeaderMap::new()),
        Err(AuthError::Missing)
    );
    let mut headers = HeaderMap::new();
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_bytes("bce-auth-v1/密钥/2015-04-27T08:23:49Z/1800//s".as_bytes())
            .unwrap(),
    );
    assert!(matches!(
        authorization_from_headers(&headers),
        Err(AuthError::Malformed { .. })
    ));
}

#[test]
fn timestamps_are_strict_and_round_trip() {
    assert_eq!(parse_timestamp(TS), Some(signed_at()));
    assert_eq!(format_timestamp(signed_at()), TS);
    assert_eq!(
        format_timestamp(datetime!(2015-04-27 16:23:49.999 +08:00)),
        TS
    );
    for text in [
        "2015-04-27T08:23:49z",
        "2015-04-27t08:23:49Z",
        "2015-4-27T08:23:49Z",
        "2015-04-27T24:00:00Z",
        "2015-13-01T00:00:00Z",
        "2015-04-27T08:23:4９Z",
        "",
    ] {
        assert_eq!(parse_timestamp(text), None, "{text:?}");
    }
}

// ---- the expiry window ----

#[test]
fn expiry_window_boundaries() {
    let auth = parse_authorization(vector_a().authorization).unwrap();
    let at = |seconds: i64| signed_at() + Duration::seconds(seconds);
    assert_eq!(check_time(&auth, at(0)), Ok(()));
    assert_eq!(check_time(&auth, at(1800)), Ok(()));
    assert_eq!(
        check_time(&auth, at(1801)),
        Err(AuthError::Expired {
            timestamp: TS.to_owned()
        })
    );
    // Signed up to 15 minutes ahead of the server's clock is tolerated, not one second more.
    assert_eq!(check_time(&auth, at(-MAX_FUTURE_SKEW_SECS)), Ok(()));
    assert_eq!(
        check_time(&auth, at(-MAX_FUTURE_SKEW_SECS - 1)),
        Err(AuthError::FromTheFuture {
            timestamp: TS.to_owned()
        })
    );
}

#[test]
fn expiry_edge_cases() {
    assert!(!is_expired(signed_at(), 0, signed_at()));
    assert!(is_expired(
        signed_at(),
        0,
        signed_at() + Duration::seconds(1)
    ));
    let end_of_calendar = datetime!(9999-12-31 23:59:59 UTC);
    assert!(!is_expired(end_of_calendar, u32::MAX, end_of_calendar));
    assert!(!is_too_far_in_future(signed_at(), signed_at()));
}

#[test]
fn expiry_is_checked_before_the_signature() {
    let mut vector = vector_a();
    vector.authorization =
        "bce-auth-v1/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/2015-04-27T08:23:49Z/1800//00";
    let headers = vector.headers();
    let auth = authorization_from_headers(&headers).unwrap();
    let query = vector.query();
    let request = ReceivedRequest {
        method: "PUT",
        path: "/v1/tag",
        query: &query,
        headers: &headers,
    };
    let late = signed_at() + Duration::hours(1);
    assert!(matches!(
        verify(&request, &auth, SK, late),
        Err(AuthError::Expired { .. })
    ));
    assert_eq!(
        verify(&request, &auth, SK, signed_at()),
        Err(AuthError::SignatureMismatch)
    );
}

// ---- canonical parts ----

#[test]
fn uri_encode_rules() {
    assert_eq!(uri_encode(b"AZaz09-_.~"), "AZaz09-_.~");
    assert_eq!(uri_encode(b"a b*/+=:&%"), "a%20b%2A%2F%2B%3D%3A%26%25");
    assert_eq!(uri_encode("项目".as_bytes()), "%E9%A1%B9%E7%9B%AE");
    assert_eq!(uri_encode(&[0xff, 0x00]), "%FF%00");
}

#[test]
fn canonical_uri_keeps_slashes_and_adds_the_leading_one() {
    assert_eq!(canonical_uri(""), "/");
    assert_eq!(canonical_uri("/"), "/");
    assert_eq!(canonical_uri("v1/tag"), "/v1/tag");
    assert_eq!(canonical_uri("/v1/a b/项"), "/v1/a%20b/%E9%A1%B9");
    assert_eq!(
        canonical_uri(&decode_path("/v1/%74ag%2Fx").unwrap()),
        "/v1/tag/x"
    );
}

#[test]
fn canonical_query_string_rules() {
    let query = Query::parse("b=2&create&a-b=1&a=1&AUTHORIZATION=x&authorization&a=0").unwrap();
    // Sorted as whole `k=v` strings: `a-b=1` sorts before `a=0` because `-` < `=`.
    assert_eq!(canonical_query_string(&query), "a-b=1&a=0&a=1&b=2&create=");
    assert_eq!(canonical_query_string(&Query::default()), "");
    let unicode = Query::from_params(vec![QueryParam::new("k y", "v*~")]);
    assert_eq!(canonical_query_string(&unicode), "k%20y=v%2A~");
}

#[test]
fn canonical_headers_explicit_and_default_sets() {
    let headers = header_map(&[
        ("Host", "127.0.0.1:8080"),
        ("Content-Type", "  text/plain  "),
        ("Content-Length", "0"),
        ("x-bce-date", TS),
        ("x-bce-empty", " "),
        ("x-bce-meta-k", "v 1"),
        ("User-Agent", "bce-sdk-go/0.9"),
        ("Date", "Mon, 27 Apr 2015 16:23:49 +0800"),
    ]);
    // Default set: host, content-*, x-bce-*; empty values skipped; values trimmed.
    assert_eq!(
        canonical_headers(&headers, &[]),
        "content-length:0\ncontent-type:text%2Fplain\nhost:127.0.0.1%3A8080\n\
         x-bce-date:2015-04-27T08%3A23%3A49Z\nx-bce-meta-k:v%201"
    );
    // Explicit list: any case, repeats once, absent or empty names skipped, others not signed.
    assert_eq!(
        canonical_headers(
            &headers,
            &["Host", "host", "user-agent", "content-md5", "x-bce-empty"]
        ),
        "host:127.0.0.1%3A8080\nuser-agent:bce-sdk-go%2F0.9"
    );
}

#[test]
fn canonical_headers_encode_non_ascii_values_and_take_the_first_repeat() {
    let mut headers = HeaderMap::new();
    headers.append(
        "x-bce-meta",
        HeaderValue::from_bytes("项 1".as_bytes()).unwrap(),
    );
    headers.append("x-bce-meta", HeaderValue::from_static("second"));
    assert_eq!(canonical_headers(&headers, &[]), "x-bce-meta:%E9%A1%B9%201");
}

#[test]
fn verify_signature_refuses_malformed_hex() {
    let canonical = vector_a().canonical;
    let good = signature(SIGNING_KEY, canonical);
    assert!(verify_signature(SIGNING_KEY, canonical, &good));
    assert!(verify_signature(
        SIGNING_KEY,
        canonical,
        &good.to_uppercase()
    ));
    for bad in [
        String::new(),
        "zz".repeat(32),
        good[..62].to_owned(),
        format!("{good}00"),
    ] {
        assert!(!verify_signature(SIGNING_KEY, canonical, &bad), "{bad}");
    }
}

#[test]
fn explicit_selection_lists_names_as_given() {
    let vector = vector_a();
    let query = vector.query();
    let signed = client_sign(
        &vector,
        &query,
        HeaderSelection::Explicit(&["X-Bce-Date", "host", "host"]),
    );
    assert_eq!(signed.signed_headers, ["host", "x-bce-date"]);
    assert!(signed.authorization.contains("/1800/host;x-bce-date/"));
    let mut headers = header_map(&vector.headers);
    headers.insert(
        http::header::AUTHORIZATION,
        HeaderValue::from_str(&signed.authorization).unwrap(),
    );
    assert_eq!(
        vector.verify_with("PUT", "/v1/tag", &query, &headers, SK),
        Ok(())
    );
}

// ---- properties ----

mod props {
    use super::*;
    use proptest::prelude::*;

    const METHODS: [&str; 4] = ["GET", "PUT", "POST", "DELETE"];

    #[derive(Debug, Clone)]
    struct Case {
        method: &'static str,
        path: String,
        query: Vec<QueryParam>,
        host: String,
        content_type: Option<String>,
        meta: Option<String>,
        selection: u8,
        secret: String,
        timestamp: OffsetDateTime,
        expiration_secs: u32,
    }

    fn case() -> impl Strategy<Value = Case> {
        let query_param = (
            "[a-zA-Z0-9 ._~%&=+*/-]{1,6}",
            proptest::option::of(".{0,6}"),
        )
            .prop_map(|(key, value)| QueryParam { key, value });
        (
            prop::sample::select(METHODS.to_vec()),
            proptest::collection::vec("[^/]{0,5}", 0..4),
            proptest::collection::vec(query_param, 0..4),
            "[a-z0-9.]{1,12}(:[0-9]{1,5})?",
            proptest::option::of("[ -~]{0,16}"),
            proptest::option::of("[ -~]{0,16}"),
            0..3u8,
            "[ -~]{1,24}",
            0i64..4_000_000_000,
            0..100_000u32,
        )
            .prop_map(
                |(
                    method,
                    segments,
                    query,
                    host,
                    content_type,
                    meta,
                    selection,
                    secret,
                    unix,
                    expiration_secs,
                )| Case {
                    method,
                    path: format!("/{}", segments.join("/")),
                    query: query
                        .into_iter()
                        .filter(|param| !param.key.eq_ignore_ascii_case("authorization"))
                        .collect(),
                    host,
                    content_type,
                    meta,
                    selection,
                    secret,
                    timestamp: OffsetDateTime::from_unix_timestamp(unix).unwrap(),
                    expiration_secs,
                },
            )
    }

    impl Case {
        fn headers(&self) -> HeaderMap {
            let mut headers = HeaderMap::new();
            headers.insert("host", HeaderValue::from_str(&self.host).unwrap());
            headers.insert(
                "x-bce-date",
                HeaderValue::from_str(&format_timestamp(self.timestamp)).unwrap(),
            );
            headers.insert("x-bce-request-id", HeaderValue::from_static("req-1"));
            headers.insert("user-agent", HeaderValue::from_static("prop/1"));
            if let Some(value) = &self.content_type {
                headers.insert("content-type", HeaderValue::from_str(value).unwrap());
            }
            if let Some(value) = &self.meta {
                headers.insert("x-bce-meta-k", HeaderValue::from_str(value).unwrap());
            }
            headers
        }

        fn selection(&self) -> HeaderSelection<'static> {
            match self.selection {
                0 => HeaderSelection::Implicit,
                1 => HeaderSelection::Listed,
                _ => HeaderSelection::ListedGo,
            }
        }

        /// Signs the case, then returns what the server receives: the method, the decoded
        /// path and the query parsed back from their wire forms, and the headers with the
        /// `Authorization` added.
        fn send(&self) -> (String, Query, HeaderMap) {
            let query = Query::from_params(self.query.clone());
            let mut headers = self.headers();
            let signed = sign(&SignRequest {
                method: self.method,
                path: &self.path,
                query: &query,
                headers: &headers,
                access_key_id: "AK",
                secret: &self.secret,
                timestamp: self.timestamp,
                expiration_secs: self.expiration_secs,
                selection: self.selection(),
            });
            headers.insert(
                http::header::AUTHORIZATION,
                HeaderValue::from_str(&signed.authorization).unwrap(),
            );
            let path = decode_path(&canonical_uri(&self.path)).unwrap();
            let received = Query::parse(&query.to_wire()).unwrap();
            (path, received, headers)
        }

        fn verify(
            &self,
            method: &str,
            path: &str,
            query: &Query,
            headers: &HeaderMap,
            secret: &str,
        ) -> Result<(), AuthError> {
            let auth = authorization_from_headers(headers)?;
            let request = ReceivedRequest {
                method,
                path,
                query,
                headers,
            };
            verify(&request, &auth, secret, self.timestamp)
        }
    }

    proptest! {
        #[test]
        fn sign_then_verify_round_trips(case in case()) {
            let (path, query, headers) = case.send();
            prop_assert_eq!(case.verify(case.method, &path, &query, &headers, &case.secret), Ok(()));
        }

        #[test]
        fn any_signed_change_fails(case in case(), change in 0..6u8, pick in any::<prop::sample::Index>()) {
            let (path, query, headers) = case.send();
            let (mut method, mut path, mut query, mut headers, mut secret) =
                (case.method.to_owned(), path, query, headers, case.secret.clone());
            match change {
                0 => {
                    let others: Vec<&str> = METHODS.iter().copied().filter(|m| *m != case.method).collect();
                    method = pick.get(&others).to_string();
                }
                1 => path.push('x'),
                2 => {
                    let mut params = query.params().to_vec();
                    params.push(QueryParam::new("zz", "1"));
                    query = Query::from_params(params);
                }
                3 => {
                    let mut params = query.params().to_vec();
                    if params.is_empty() {
                        params.push(QueryParam::flag("create"));
                    } else {
                        let at = pick.index(params.len());
                        let value = params[at].value.clone().unwrap_or_default();
                        params[at].value = Some(format!("{value}x"));
                    }
                    query = Query::from_params(params);
                }
                4 => {
                    let name = *pick.get(&["host", "x-bce-date"]);
                    let value = format!("{}x", headers[name].to_str().unwrap());
                    headers.insert(name, HeaderValue::from_str(&value).unwrap());
                }
                _ => secret.push('x'),
            }
            prop_assert_eq!(
                case.verify(&method, &path, &query, &headers, &secret),
                Err(AuthError::SignatureMismatch)
            );
        }

        #[test]
        fn parse_authorization_never_panics(header in ".{0,80}") {
            let _ = parse_authorization(&header);
        }
    }
}
