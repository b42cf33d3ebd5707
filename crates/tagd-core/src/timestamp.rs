//! Timestamps in the strict `YYYY-MM-DDThh:mm:ssZ` form that both clouds' signatures carry
//! (Alibaba's `Timestamp` / `x-acs-date`, Baidu's `Authorization` timestamp / `x-bce-date`).

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

/// Parses `YYYY-MM-DDThh:mm:ssZ` strictly: fractional seconds, other offsets, a lowercase
/// `t`/`z`, missing zero padding and impossible dates are all `None`.
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
