//! Opaque page tokens: versioned, authenticated, base64url.
//!
//! A token carries the position where the next page starts and a fingerprint of the query it
//! belongs to, sealed with an HMAC whose key lives in the store (so tokens survive restarts and
//! work on every node). A forged, garbled or foreign token fails to open.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};

const VERSION: u8 = 1;
const TAG_LEN: usize = 16;

/// Seals and opens page tokens with one secret key.
#[derive(Clone)]
pub struct TokenCodec {
    key: [u8; 32],
}

impl std::fmt::Debug for TokenCodec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCodec(<key>)")
    }
}

impl TokenCodec {
    pub fn new(key: [u8; 32]) -> Self {
        Self { key }
    }

    /// Seals `fields` for the query whose fingerprint is `scope`.
    pub fn seal(&self, scope: &[u8; 32], fields: &[&str]) -> String {
        let mut body = vec![VERSION];
        for field in fields {
            let len = u32::try_from(field.len()).unwrap_or(u32::MAX);
            body.extend_from_slice(&len.to_be_bytes());
            body.extend_from_slice(field.as_bytes());
        }
        let tag = self.tag(scope, &body);
        body.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(body)
    }

    /// Opens a token sealed for `scope` and returns its fields, or `None` if it is not one.
    pub fn open(&self, scope: &[u8; 32], token: &str) -> Option<Vec<String>> {
        let raw = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
        if raw.len() < 1 + TAG_LEN || raw[0] != VERSION {
            return None;
        }
        let (body, tag) = raw.split_at(raw.len() - TAG_LEN);
        let mut mac = self.mac(scope);
        mac.update(body);
        mac.verify_truncated_left(tag).ok()?;
        let mut fields = Vec::new();
        let mut rest = &body[1..];
        while !rest.is_empty() {
            let (len_bytes, tail) = rest.split_at_checked(4)?;
            let len = usize::try_from(u32::from_be_bytes(len_bytes.try_into().ok()?)).ok()?;
            let (field, tail) = tail.split_at_checked(len)?;
            fields.push(String::from_utf8(field.to_vec()).ok()?);
            rest = tail;
        }
        Some(fields)
    }

    fn mac(&self, scope: &[u8; 32]) -> Hmac<Sha256> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.key)
            .unwrap_or_else(|_| unreachable!("HMAC takes keys of any length"));
        mac.update(scope);
        mac
    }

    fn tag(&self, scope: &[u8; 32], body: &[u8]) -> [u8; 32] {
        let mut mac = self.mac(scope);
        mac.update(body);
        mac.finalize().into_bytes().into()
    }
}

/// A fingerprint of a query's defining parts (not its position), for [`TokenCodec`] scopes.
pub fn fingerprint(parts: &[&str]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    for part in parts {
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn codec() -> TokenCodec {
        TokenCodec::new([7u8; 32])
    }

    #[test]
    fn round_trip_and_scope_binding() {
        let scope = fingerprint(&["acct", "cn-hangzhou"]);
        let token = codec().seal(&scope, &["ALIYUN::RDS::INSTANCE", "rm-1", "env"]);
        assert_eq!(
            codec().open(&scope, &token),
            Some(vec![
                "ALIYUN::RDS::INSTANCE".into(),
                "rm-1".into(),
                "env".into()
            ])
        );
        let other = fingerprint(&["acct", "cn-beijing"]);
        assert_eq!(codec().open(&other, &token), None);
        assert_eq!(TokenCodec::new([8u8; 32]).open(&scope, &token), None);
    }

    #[test]
    fn garbage_is_refused() {
        let scope = fingerprint(&["x"]);
        for bad in [
            "",
            "abc",
            "!!!!",
            "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
            "212db86sca438481",
        ] {
            assert_eq!(codec().open(&scope, bad), None, "{bad}");
        }
    }

    proptest! {
        #[test]
        fn any_fields_round_trip(fields in proptest::collection::vec(".{0,40}", 0..5)) {
            let scope = fingerprint(&["p"]);
            let refs: Vec<&str> = fields.iter().map(String::as_str).collect();
            let token = codec().seal(&scope, &refs);
            prop_assert_eq!(codec().open(&scope, &token), Some(fields.clone()));
        }

        #[test]
        fn flipping_any_character_breaks_the_token(pos in 0usize..64, field in "[a-z]{1,20}") {
            let scope = fingerprint(&["p"]);
            let token = codec().seal(&scope, &[&field]);
            let mut bytes = token.into_bytes();
            let i = pos % bytes.len();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let forged = String::from_utf8(bytes).expect("ascii");
            prop_assert_eq!(codec().open(&scope, &forged), None);
        }
    }
}
