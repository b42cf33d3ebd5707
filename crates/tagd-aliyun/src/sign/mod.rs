//! Request signatures of the Alibaba Cloud RPC style: V1 (HMAC-SHA1, `shared/spec/aliyun.md`
//! §1.3) in [`v1`] and V3 (ACS3-HMAC-SHA256, §1.4) in [`v3`], plus the helpers both share:
//! the RFC 3986 percent-encoding of §1.3 step 2 and the timestamp format of §1.2 (used by the V1
//! `Timestamp` parameter and the V3 `x-acs-date` header, checked against the window of §1.5).
//!
//! Everything here is a pure function. Verification compares MACs in constant time through
//! `Mac::verify_slice`; signatures are never compared with `==`.
//! Vendor docs: <https://www.alibabacloud.com/help/en/sdk/product-overview/rpc-mechanism> and
//! <https://www.alibabacloud.com/help/en/sdk/product-overview/v3-request-structure-and-signature>.

pub mod v1;
pub mod v3;

/// Percent-encodes `s` as §1.3 step 2 requires: keeps `A-Z a-z 0-9 - _ . ~` and writes every
/// other UTF-8 byte as `%XX` with uppercase hex, so a space is `%20`, `*` is `%2A` and `~`
/// stays as is.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + s.len() / 2);
    percent_encode_into(&mut out, s);
    out
}

/// [`percent_encode`], appended to `out` (signing encodes every parameter on every request, so
/// it avoids a `String` per parameter).
pub fn percent_encode_into(out: &mut String, s: &str) {
    encode_with(out, s, push_escaped);
}

/// Copies `s` to `out`, writing every byte outside `A-Z a-z 0-9 - _ . ~` with `escape`.
fn encode_with(out: &mut String, s: &str, escape: impl Fn(&mut String, u8)) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len());
    let mut start = 0;
    for (at, &b) in bytes.iter().enumerate() {
        if UNRESERVED[usize::from(b)] {
            continue;
        }
        // Runs between escaped bytes are ASCII, so both ends are char boundaries; an empty
        // run may start inside a multi-byte character, hence the check.
        if start < at {
            out.push_str(&s[start..at]);
        }
        escape(out, b);
        start = at + 1;
    }
    out.push_str(&s[start..]);
}

/// `A-Z a-z 0-9 - _ . ~`, by byte: what §1.3 step 2 leaves as it is (a table: signing tests
/// every byte of every parameter, on both sides of each request).
const UNRESERVED: [bool; 256] = {
    let mut table = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        table[b] = c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.' | b'~');
        b += 1;
    }
    table
};

/// Appends `%XX` (uppercase hex) for one byte.
fn push_escaped(out: &mut String, b: u8) {
    out.push('%');
    push_hex(out, b);
}

/// Appends the two uppercase hex digits of one byte.
fn push_hex(out: &mut String, b: u8) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    out.push(char::from(HEX[usize::from(b >> 4)]));
    out.push(char::from(HEX[usize::from(b & 0x0F)]));
}

/// Appends `percent_encode(percent_encode(s))` in one pass: the V1 string to sign encodes the
/// already encoded canonical query a second time, so a kept byte stays, and an escaped one
/// becomes `%25XX`.
pub fn percent_encode_twice_into(out: &mut String, s: &str) {
    encode_with(out, s, |out, b| {
        out.push_str("%25");
        push_hex(out, b);
    });
}

pub use tagd_core::timestamp::{format_timestamp, parse_timestamp};

/// A (name, value) parameter as the signing functions take them: borrowed from a request's
/// [`crate::params::Params::pairs`], or from a client's own list.
pub trait Pair {
    fn name(&self) -> &str;
    fn value(&self) -> &str;
}

impl Pair for (&str, &str) {
    fn name(&self) -> &str {
        self.0
    }
    fn value(&self) -> &str {
        self.1
    }
}

impl Pair for &(&str, &str) {
    fn name(&self) -> &str {
        self.0
    }
    fn value(&self) -> &str {
        self.1
    }
}

impl Pair for &(String, String) {
    fn name(&self) -> &str {
        &self.0
    }
    fn value(&self) -> &str {
        &self.1
    }
}

/// `params` sorted by name, then value, in byte order: the canonical order of both signatures.
fn sorted<P: Pair>(params: impl IntoIterator<Item = P>, keep: impl Fn(&P) -> bool) -> Vec<P> {
    let mut sorted: Vec<P> = params.into_iter().filter(|p| keep(p)).collect();
    sorted.sort_unstable_by(|a, b| (a.name(), a.value()).cmp(&(b.name(), b.value())));
    sorted
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn percent_encode_twice_is_encoding_the_encoding() {
        for s in ["AZaz09-_.~", "team a*", "/+=:&%", "数据", "", "a%20b"] {
            let mut once_twice = String::new();
            percent_encode_twice_into(&mut once_twice, s);
            assert_eq!(once_twice, percent_encode(&percent_encode(s)), "{s}");
        }
    }

    #[test]
    fn every_byte_but_the_unreserved_ones_is_escaped() {
        for b in 0..=255u8 {
            let kept = b.is_ascii_alphanumeric() || b"-_.~".contains(&b);
            assert_eq!(UNRESERVED[usize::from(b)], kept, "byte {b:#04x}");
        }
    }

    #[test]
    fn percent_encode_rules() {
        assert_eq!(percent_encode("AZaz09-_.~"), "AZaz09-_.~");
        assert_eq!(percent_encode("team a*"), "team%20a%2A");
        assert_eq!(percent_encode("/+=:&%"), "%2F%2B%3D%3A%26%25");
        assert_eq!(percent_encode("数据"), "%E6%95%B0%E6%8D%AE");
        assert_eq!(percent_encode(""), "");
    }

    #[test]
    fn parse_timestamp_accepts_the_strict_form() {
        assert_eq!(
            parse_timestamp("2026-11-22T14:37:43Z"),
            Some(datetime!(2026-11-22 14:37:43 UTC))
        );
        assert_eq!(
            parse_timestamp("2024-02-29T23:59:59Z"),
            Some(datetime!(2024-02-29 23:59:59 UTC))
        );
    }

    #[test]
    fn parse_timestamp_rejects_everything_else() {
        for text in [
            "",
            "2026-11-22T14:37:43.123Z",
            "2026-11-22T14:37:43",
            "2026-11-22T14:37:43+00:00",
            "2026-11-22 14:37:43Z",
            "2026-11-22t14:37:43z",
            "2026-11-22T14:37:4Z",
            "2026-1-22T14:37:43Z ",
            "+026-11-22T14:37:43Z",
            "2026-13-22T14:37:43Z",
            "2026-00-22T14:37:43Z",
            "2023-02-29T14:37:43Z",
            "2026-11-22T24:00:00Z",
            "2026-11-22T14:60:00Z",
            "2026-11-22T14:37:60Z",
            "2026-11-22T1４:37:43Z",
        ] {
            assert_eq!(parse_timestamp(text), None, "{text:?}");
        }
    }

    #[test]
    fn format_timestamp_is_utc_without_fraction() {
        assert_eq!(
            format_timestamp(datetime!(2016-02-23 20:46:24.999 +08:00)),
            "2016-02-23T12:46:24Z"
        );
        let text = "2026-11-22T14:37:43Z";
        assert_eq!(
            parse_timestamp(text).map(format_timestamp).as_deref(),
            Some(text)
        );
    }
}
