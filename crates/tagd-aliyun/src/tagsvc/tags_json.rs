//! The Tag service's `Tags` parameter: a JSON object of string pairs in a string
//! (`{"k1":"v1","k2":"v2"}`). Parsed keeping every pair, so a repeated key is seen.

use std::fmt;

use serde::Deserializer as _;
use serde::de::{MapAccess, Visitor};

/// Why a `Tags` string is not a map of string pairs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TagsJsonError {
    /// Broken JSON, not an object, a non-string value, or no pair at all.
    Malformed,
    /// The same key twice.
    Duplicate(String),
}

struct Pairs;

impl<'de> Visitor<'de> for Pairs {
    type Value = Vec<(String, serde_json::Value)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut pairs = Vec::new();
        while let Some(entry) = map.next_entry::<String, serde_json::Value>()? {
            pairs.push(entry);
        }
        Ok(pairs)
    }
}

/// Parses `Tags` into ordered (key, value) pairs.
pub fn parse(raw: &str) -> Result<Vec<(String, String)>, TagsJsonError> {
    let mut de = serde_json::Deserializer::from_str(raw);
    let pairs = de
        .deserialize_map(Pairs)
        .map_err(|_| TagsJsonError::Malformed)?;
    de.end().map_err(|_| TagsJsonError::Malformed)?;
    if pairs.is_empty() {
        return Err(TagsJsonError::Malformed);
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(pairs.len());
    for (key, value) in pairs {
        let serde_json::Value::String(value) = value else {
            return Err(TagsJsonError::Malformed);
        };
        if out.iter().any(|(k, _)| k == &key) {
            return Err(TagsJsonError::Duplicate(key));
        }
        out.push((key, value));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn maps_of_strings() {
        assert_eq!(
            parse(r#"{"env": "prod", "数据": ""}"#),
            Ok(vec![
                ("env".into(), "prod".into()),
                ("数据".into(), String::new())
            ])
        );
    }

    #[test]
    fn everything_else_is_malformed() {
        for bad in [
            "",
            "{}",
            "[]",
            r#"["a"]"#,
            "k=v",
            r#"{"a":1}"#,
            r#"{"a":null}"#,
            r#"{"a":"b"} x"#,
            "{",
        ] {
            assert_eq!(parse(bad), Err(TagsJsonError::Malformed), "{bad}");
        }
    }

    #[test]
    fn repeated_keys_are_seen() {
        assert_eq!(
            parse(r#"{"a":"1","a":"2"}"#),
            Err(TagsJsonError::Duplicate("a".into()))
        );
    }
}
