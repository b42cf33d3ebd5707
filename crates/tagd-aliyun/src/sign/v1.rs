//! Signature V1 (HMAC-SHA1) of the RPC style, `shared/spec/aliyun.md` §1.3 (and §1.2 for the
//! common parameters). Used by the legacy `aliyun-python-sdk-core` and by the Tea SDKs with
//! `signature_algorithm='v2'`.
//!
//! `StringToSign = METHOD + "&%2F&" + enc(Canonical)`, where `Canonical` joins `enc(k)=enc(v)`
//! for every parameter of the query and the form body except `Signature` (empty values kept),
//! sorted by name. `Signature = base64(HMAC-SHA1(secret + "&", StringToSign))`.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;

use super::{Pair, percent_encode_into, percent_encode_twice_into, sorted};

type HmacSha1 = Hmac<Sha1>;

/// The parameter that carries the signature; it is the only one left out of the signature.
pub const SIGNATURE_PARAM: &str = "Signature";

/// The V1 string to sign for a request made with `method` (`GET` or `POST`, as actually used).
///
/// `params` are the decoded parameters of the query and the form body, e.g.
/// [`crate::params::Params::pairs`]. `Signature` is left out; empty values are kept.
///
/// The parameters are sorted by their *decoded* name in byte order (then by decoded value, for
/// repeated names), which is what every client does: the legacy Python SDK and the Tea SDK sort
/// the raw names before encoding them. Sorting the encoded names gives the same order for the
/// names the APIs use (letters, digits and `.`); the two differ only for names with characters
/// such as `:` that are encoded.
pub fn string_to_sign<P: Pair>(method: &str, params: impl IntoIterator<Item = P>) -> String {
    let mut out = String::new();
    string_to_sign_into(&mut out, method, params);
    out
}

/// [`string_to_sign`], appended to `out`.
pub fn string_to_sign_into<P: Pair>(
    out: &mut String,
    method: &str,
    params: impl IntoIterator<Item = P>,
) {
    let signed = sorted(params, |p| p.name() != SIGNATURE_PARAM);
    let size: usize = signed
        .iter()
        .map(|p| p.name().len() + p.value().len() + 6)
        .sum();
    out.reserve(method.len() + 6 + size + size / 2);
    out.push_str(method);
    out.push_str("&%2F&");
    // `enc(Canonical)` in one pass: `enc(enc(k)) + "%3D" + enc(enc(v))`, joined by `%26`.
    for (position, pair) in signed.iter().enumerate() {
        if position > 0 {
            out.push_str("%26");
        }
        percent_encode_twice_into(out, pair.name());
        out.push_str("%3D");
        percent_encode_twice_into(out, pair.value());
    }
}

/// `base64(HMAC-SHA1(key = secret + "&", string_to_sign))`.
pub fn sign(secret: &str, string_to_sign: &str) -> String {
    SigningKey::new(secret).sign(string_to_sign)
}

/// Whether `signature_b64` is the V1 signature of `string_to_sign` under `secret`.
///
/// The base64 text is decoded and the MAC compared in constant time; text that is not base64
/// never verifies.
pub fn verify(secret: &str, string_to_sign: &str, signature_b64: &str) -> bool {
    let Ok(signature) = BASE64.decode(signature_b64) else {
        return false;
    };
    let mut mac = keyed_mac(secret);
    mac.update(string_to_sign.as_bytes());
    mac.verify_slice(&signature).is_ok()
}

/// Client side: what a request's common parameters of §1.2 hold besides their constants.
#[derive(Clone, Copy, Debug)]
pub struct Common<'a> {
    pub action: &'a str,
    pub version: &'a str,
    pub access_key_id: &'a str,
    pub nonce: &'a str,
    pub region: &'a str,
    /// [`super::format_timestamp`] of the request's time.
    pub timestamp: &'a str,
}

impl<'a> Common<'a> {
    /// The common parameters as `aliyun-python-sdk-core` sends them, with `Format=JSON`: the
    /// start of a request's list, which its API parameters then follow.
    pub fn params(&self) -> [(&'a str, &'a str); 9] {
        [
            ("Action", self.action),
            ("Version", self.version),
            ("Format", "JSON"),
            ("AccessKeyId", self.access_key_id),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureVersion", "1.0"),
            ("SignatureNonce", self.nonce),
            ("RegionId", self.region),
            ("Timestamp", self.timestamp),
        ]
    }
}

/// Client side: the full URL query of a V1-signed request, `enc(k)=enc(v)&…&Signature=enc(sig)`,
/// with the parameters in the given order (any `Signature` among them is dropped).
///
/// `params` must already hold the common parameters of §1.2 (`AccessKeyId`, `Timestamp`,
/// `SignatureNonce`, …); this function only signs them.
pub fn signed_query(method: &str, params: &[(String, String)], secret: &str) -> String {
    let params: Vec<&(String, String)> = params.iter().collect();
    let mut query = String::with_capacity(512);
    SigningKey::new(secret).signed_query_into(&mut query, method, &params);
    query
}

/// A V1 signing key: the HMAC-SHA1 of `secret + "&"` with the key already absorbed, so that
/// signing a request hashes only its string to sign (a client signing every request keeps one).
#[derive(Clone)]
pub struct SigningKey(HmacSha1);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SigningKey(..)")
    }
}

impl SigningKey {
    pub fn new(secret: &str) -> SigningKey {
        SigningKey(keyed_mac(secret))
    }

    /// [`sign`] with this key.
    pub fn sign(&self, string_to_sign: &str) -> String {
        let mut mac = self.0.clone();
        mac.update(string_to_sign.as_bytes());
        BASE64.encode(mac.finalize().into_bytes())
    }

    /// [`signed_query`] with this key, appended to `out`.
    pub fn signed_query_into<P: Pair + Copy>(&self, out: &mut String, method: &str, params: &[P]) {
        let mut string_to_sign = String::new();
        string_to_sign_into(&mut string_to_sign, method, params.iter().copied());
        let signature = self.sign(&string_to_sign);
        for pair in params {
            if pair.name() == SIGNATURE_PARAM {
                continue;
            }
            percent_encode_into(out, pair.name());
            out.push('=');
            percent_encode_into(out, pair.value());
            out.push('&');
        }
        out.push_str(SIGNATURE_PARAM);
        out.push('=');
        percent_encode_into(out, &signature);
    }
}

/// An HMAC-SHA1 keyed with `secret + "&"` (§1.3 step 5).
fn keyed_mac(secret: &str) -> HmacSha1 {
    let mut key = Vec::with_capacity(secret.len() + 1);
    key.extend_from_slice(secret.as_bytes());
    key.push(b'&');
    // HMAC takes keys of any length (RFC 2104 hashes long ones), so this cannot fail.
    HmacSha1::new_from_slice(&key).expect("hmac accepts keys of any length")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::Params;

    fn owned(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    /// Alibaba's published example, reproduced in spec §1.3.
    #[test]
    fn published_test_vector() {
        let params = owned(&[
            ("Version", "2014-05-26"),
            ("AccessKeyId", "testid"),
            ("Timestamp", "2016-02-23T12:46:24Z"),
            ("Action", "DescribeRegions"),
            ("SignatureMethod", "HMAC-SHA1"),
            ("SignatureNonce", "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf"),
            ("Format", "XML"),
            ("SignatureVersion", "1.0"),
        ]);
        let sts = string_to_sign("GET", &params);
        assert_eq!(
            sts,
            "GET&%2F&AccessKeyId%3Dtestid%26Action%3DDescribeRegions%26Format%3DXML\
             %26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf\
             %26SignatureVersion%3D1.0%26Timestamp%3D2016-02-23T12%253A46%253A24Z\
             %26Version%3D2014-05-26"
        );
        assert_eq!(sign("testsecret", &sts), "OLeaidS1JvxuMvnyHOwuJ+uX5qY=");
        assert!(verify("testsecret", &sts, "OLeaidS1JvxuMvnyHOwuJ+uX5qY="));
        assert!(!verify("testsecret2", &sts, "OLeaidS1JvxuMvnyHOwuJ+uX5qY="));
    }

    /// The RDS TagResources request captured from aliyun-python-sdk-core 2.16.1 (spec §5.1):
    /// `%20` for a space, `%2A` for `*`, a literal `~`, `%2B` for `+`, an empty `SignatureType`
    /// and the parameters in the SDK's own (unsorted) order.
    #[test]
    fn legacy_sdk_capture_2_16_1() {
        let query = "ResourceType=INSTANCE&ResourceId.1=rm-uf6wjk5xxxxxxx&ResourceId.2=rm-bp1abc\
            &Tag.1.Value=prod&Tag.1.Key=env&Tag.2.Value=%E6%95%B0%E6%8D%AE~%2F%2B%3D\
            &Tag.2.Key=team%20a%2A&Version=2014-08-15&Action=TagResources&Format=JSON\
            &RegionId=cn-hangzhou&Timestamp=2026-11-22T14%3A37%3A43Z&SignatureMethod=HMAC-SHA1\
            &SignatureType=&SignatureVersion=1.0&SignatureNonce=73238aeffe18656f8c05afb0250ea7de\
            &AccessKeyId=testid&Signature=PgdHR48xum%2F%2FpCRGcnY%2FxVviU3E%3D";
        let params = Params::parse(query, None).unwrap();
        assert_eq!(params.get("Tag.2.Value"), Some("数据~/+="));
        assert_eq!(params.get("Tag.2.Key"), Some("team a*"));
        let signature = params.get("Signature").unwrap();
        assert_eq!(signature, "PgdHR48xum//pCRGcnY/xVviU3E=");

        let sts = string_to_sign("POST", params.pairs());
        assert_eq!(
            sts,
            "POST&%2F&AccessKeyId%3Dtestid%26Action%3DTagResources%26Format%3DJSON\
             %26RegionId%3Dcn-hangzhou%26ResourceId.1%3Drm-uf6wjk5xxxxxxx\
             %26ResourceId.2%3Drm-bp1abc%26ResourceType%3DINSTANCE\
             %26SignatureMethod%3DHMAC-SHA1%26SignatureNonce%3D73238aeffe18656f8c05afb0250ea7de\
             %26SignatureType%3D%26SignatureVersion%3D1.0%26Tag.1.Key%3Denv%26Tag.1.Value%3Dprod\
             %26Tag.2.Key%3Dteam%2520a%252A\
             %26Tag.2.Value%3D%25E6%2595%25B0%25E6%258D%25AE~%252F%252B%253D\
             %26Timestamp%3D2026-11-22T14%253A37%253A43Z%26Version%3D2014-08-15"
        );
        assert_eq!(sign("testsecret", &sts), signature);
        assert!(verify("testsecret", &sts, signature));
        // The same parameters signed over GET do not verify: the method is signed.
        assert!(!verify(
            "testsecret",
            &string_to_sign("GET", params.pairs()),
            signature
        ));
    }

    #[test]
    fn form_body_params_are_signed_like_query_params() {
        // Legacy CommonRequest.add_body_params (spec §1.1): part in the query, part in the body.
        let all = owned(&[
            ("Action", "TagResources"),
            ("ResourceType", "INSTANCE"),
            ("ResourceId.1", "rm-x"),
            ("Tag.1.Key", "k 1"),
            ("Tag.1.Value", "v"),
        ]);
        let sts_all = string_to_sign("POST", &all);
        let params = Params::parse(
            "Action=TagResources",
            Some(b"ResourceType=INSTANCE&ResourceId.1=rm-x&Tag.1.Key=k+1&Tag.1.Value=v"),
        )
        .unwrap();
        assert_eq!(string_to_sign("POST", params.pairs()), sts_all);
    }

    #[test]
    fn empty_values_are_kept_and_signature_is_dropped() {
        let params = owned(&[("B", ""), ("Signature", "x"), ("A", "1")]);
        assert_eq!(string_to_sign("GET", &params), "GET&%2F&A%3D1%26B%3D");
        assert_eq!(
            string_to_sign("GET", Vec::<(&str, &str)>::new()),
            "GET&%2F&"
        );
    }

    #[test]
    fn repeated_names_sort_by_value() {
        let forward = owned(&[("A", "2"), ("A", "1")]);
        let backward = owned(&[("A", "1"), ("A", "2")]);
        assert_eq!(string_to_sign("GET", &forward), "GET&%2F&A%3D1%26A%3D2");
        assert_eq!(
            string_to_sign("GET", &forward),
            string_to_sign("GET", &backward)
        );
    }

    #[test]
    fn borrowed_pairs_sign_as_owned_ones_do() {
        let borrowed = [
            ("Tag.1.Key", "team a*"),
            ("Action", "TagResources"),
            ("Signature", "stale"),
            ("Tag.1.Value", "数据~/+="),
        ];
        let owned = owned(&borrowed);
        let mut sts = String::from("kept:");
        string_to_sign_into(&mut sts, "POST", borrowed);
        assert_eq!(sts, format!("kept:{}", string_to_sign("POST", &owned)));
        let key = SigningKey::new("testsecret");
        let mut query = String::from("/?");
        key.signed_query_into(&mut query, "POST", &borrowed);
        assert_eq!(
            query,
            format!("/?{}", signed_query("POST", &owned, "testsecret"))
        );
        // The key signs as often as asked, each time as a fresh one would.
        assert_eq!(key.sign("x"), sign("testsecret", "x"));
        assert_eq!(key.sign("x"), key.sign("x"));
        assert_ne!(key.sign("x"), key.sign("y"));
    }

    #[test]
    fn verify_rejects_malformed_signatures() {
        let sts = "GET&%2F&A%3D1";
        let good = sign("s", sts);
        assert!(verify("s", sts, &good));
        assert!(!verify("s", sts, ""));
        assert!(!verify("s", sts, "not base64!"));
        assert!(!verify("s", sts, &good[..good.len() - 4]));
        assert!(!verify("s", sts, &format!("{good}AAAA")));
    }

    #[test]
    fn signed_query_is_accepted_by_the_server_side() {
        let params = owned(&[
            ("Action", "TagResources"),
            ("Tag.1.Key", "team a*"),
            ("Tag.1.Value", "数据~/+="),
            ("SignatureType", ""),
            ("Signature", "stale"),
        ]);
        let query = signed_query("POST", &params, "testsecret");
        assert!(query.starts_with("Action=TagResources&Tag.1.Key=team%20a%2A&"));
        assert!(!query.contains("stale"));
        let received = Params::parse(&query, None).unwrap();
        let signature = received.get("Signature").unwrap();
        assert!(verify(
            "testsecret",
            &string_to_sign("POST", received.pairs()),
            signature
        ));
    }

    mod props {
        use super::super::*;
        use crate::params::Params;
        use proptest::prelude::*;

        fn param_list() -> impl Strategy<Value = Vec<(String, String)>> {
            proptest::collection::vec(("[A-Za-z][A-Za-z0-9.]{0,6}", ".{0,6}"), 1..8)
        }

        proptest! {
            #[test]
            fn sign_then_verify_round_trips(params in param_list(), secret in ".{0,12}") {
                let sts = string_to_sign("POST", &params);
                prop_assert!(verify(&secret, &sts, &sign(&secret, &sts)));
            }

            #[test]
            fn signed_query_round_trips_through_parse(params in param_list(), secret in ".{0,12}") {
                let query = signed_query("GET", &params, &secret);
                let received = Params::parse(&query, None).unwrap();
                let signature = received.get(SIGNATURE_PARAM).unwrap();
                prop_assert!(verify(&secret, &string_to_sign("GET", received.pairs()), signature));
            }

            #[test]
            fn any_changed_param_fails(
                params in param_list(),
                secret in ".{0,12}",
                pick in any::<prop::sample::Index>(),
                change in 0..4u8,
            ) {
                let signature = sign(&secret, &string_to_sign("POST", &params));
                let mut changed = params.clone();
                let at = pick.index(changed.len());
                match change {
                    0 => changed[at].1.push('x'),
                    1 => changed[at].0.push('x'),
                    2 => {
                        changed.remove(at);
                    }
                    _ => changed.push(("Extra".to_string(), String::new())),
                }
                prop_assert!(!verify(&secret, &string_to_sign("POST", &changed), &signature));
                // A different secret or method fails too.
                let other_secret = format!("{secret}x");
                prop_assert!(!verify(&other_secret, &string_to_sign("POST", &params), &signature));
                prop_assert!(!verify(&secret, &string_to_sign("GET", &params), &signature));
            }
        }
    }
}
