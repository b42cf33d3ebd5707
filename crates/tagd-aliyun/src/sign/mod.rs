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

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Every byte except `A-Z a-z 0-9 - _ . ~` is encoded (§1.3 step 2).
const ENCODE_SET: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes `s` as §1.3 step 2 requires: keeps `A-Z a-z 0-9 - _ . ~` and writes every
/// other UTF-8 byte as `%XX` with uppercase hex, so a space is `%20`, `*` is `%2A` and `~`
/// stays as is.
pub fn percent_encode(s: &str) -> String {
    utf8_percent_encode(s, ENCODE_SET).to_string()
}

/// Parses a timestamp in the strict form `YYYY-MM-DDThh:mm:ssZ` (§1.2), as sent in the V1
/// `Timestamp` parameter and the V3 `x-acs-date` header.
///
/// Fractional seconds, other offsets, a lowercase `t`/`z`, missing zero padding and impossible
/// dates are all rejected with `None` (the caller answers `InvalidTimeStamp.Format`, §1.5).
pub fn parse_timestamp(s: &str) -> Option<OffsetDateTime> {
    let bytes = s.as_bytes();
    if bytes.len() != 20
        || bytes[4] != b'-'
        || bytes[7] != b'-'
        || bytes[10] != b'T'
        || bytes[13] != b':'
        || bytes[16] != b':'
        || bytes[19] != b'Z'
    {
        return None;
    }
    let year = i32::try_from(decimal(&bytes[0..4])?).ok()?;
    let month = Month::try_from(u8::try_from(decimal(&bytes[5..7])?).ok()?).ok()?;
    let day = u8::try_from(decimal(&bytes[8..10])?).ok()?;
    let hour = u8::try_from(decimal(&bytes[11..13])?).ok()?;
    let minute = u8::try_from(decimal(&bytes[14..16])?).ok()?;
    let second = u8::try_from(decimal(&bytes[17..19])?).ok()?;
    let date = Date::from_calendar_date(year, month, day).ok()?;
    let time = Time::from_hms(hour, minute, second).ok()?;
    Some(PrimitiveDateTime::new(date, time).assume_utc())
}

/// Formats `t` as `YYYY-MM-DDThh:mm:ssZ` in UTC, dropping any fraction of a second (the client
/// side of [`parse_timestamp`]).
pub fn format_timestamp(t: OffsetDateTime) -> String {
    let utc = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        utc.year(),
        u8::from(utc.month()),
        utc.day(),
        utc.hour(),
        utc.minute(),
        utc.second()
    )
}

/// The value of a run of ASCII digits (at most 4 here, so no overflow).
fn decimal(digits: &[u8]) -> Option<u32> {
    let mut value: u32 = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        value = value * 10 + u32::from(digit - b'0');
    }
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

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
