//! Request parameters of the Alibaba Cloud RPC ("POP") style.
//!
//! Implements `shared/spec/aliyun.md` §1.1: parameters arrive in the URL query, in an
//! `application/x-www-form-urlencoded` body, or in both. Both are decoded with form rules
//! (`+` is a space, `%XX` is a UTF-8 byte) and kept in arrival order, query first, because the
//! V1 signature (§1.3) covers every one of them. Lists are "repeat lists" with 1-based indices
//! (`ResourceId.1`, `Tag.1.Key`) whose order on the wire means nothing (§1.1).

use std::collections::BTreeMap;

/// Largest repeat-list index accepted. The real APIs allow at most 50 resources and 20 tags per
/// request; the bound only keeps an absurd index from being treated as valid.
pub const MAX_INDEX: u32 = 10_000;

/// Ordered, decoded parameters of one request: the URL query first, then the form body.
///
/// Every decoded name and value lives in one string, each pair as the two spans of it: a
/// request's twenty-odd parameters cost two allocations instead of two each (parsing W1's
/// query took ~5 µs with a `String` per name and value, most of it allocating).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Params {
    text: String,
    /// (name start, name end = value start, value end) in `text`.
    spans: Vec<(u32, u32, u32)>,
}

/// Why the parameters of a request could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ParamsError {
    /// A name of a repeat list whose index is not a decimal number in `1..=MAX_INDEX` without
    /// leading zeros (`ResourceId.0`, `ResourceId.x`, `ResourceId.01`, `ResourceId.`).
    #[error("invalid repeat-list index in parameter {name}")]
    InvalidIndex {
        /// The full parameter name as received.
        name: String,
    },
    /// A name of a list of structs with a valid index but an unknown or missing field
    /// (`Tag.1.Colour`, `Tag.1`, `Tag.1.Key.2`).
    #[error("unknown field in parameter {name}")]
    UnknownField {
        /// The full parameter name as received.
        name: String,
    },
    /// A name or value whose percent-decoded bytes are not UTF-8.
    #[error("parameter is not valid utf-8 after percent-decoding")]
    InvalidUtf8,
}

/// One element of a repeat list of tags (`Tag.N.Key` / `Tag.N.Value`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagParam {
    /// The 1-based index `N` from the wire.
    pub index: u32,
    /// `Tag.N.Key`, if it was sent.
    pub key: Option<String>,
    /// `Tag.N.Value`, if it was sent.
    pub value: Option<String>,
}

impl Params {
    /// Decodes with form rules: `+` is a space, `%XX` is UTF-8 (invalid UTF-8 gives
    /// [`ParamsError::InvalidUtf8`]).
    ///
    /// `query` is the raw URL query without the leading `?`. `form_body` is the raw body of an
    /// `application/x-www-form-urlencoded` request; the caller decides from the Content-Type
    /// whether there is one. Empty segments (`a=1&&b=2`) are skipped, a segment without `=` is a
    /// name with an empty value, and empty values are kept (`SignatureType=` takes part in the
    /// V1 signature). A `%` not followed by two hex digits stays a literal `%`, as in the WHATWG
    /// form decoder.
    pub fn parse(query: &str, form_body: Option<&[u8]>) -> Result<Params, ParamsError> {
        let size = query.len() + form_body.map_or(0, <[u8]>::len);
        let mut decoder = Decoder {
            bytes: Vec::with_capacity(size),
            spans: Vec::with_capacity(size / 16 + 1),
        };
        decoder.decode_form(query)?;
        if let Some(body) = form_body {
            // Checked whole once: then only a piece with a `%XX` escape can decode to
            // something that is not UTF-8.
            decoder
                .decode_form(std::str::from_utf8(body).map_err(|_| ParamsError::InvalidUtf8)?)?;
        }
        // Each piece was checked as it was decoded (or is a run of checked input), so this
        // only confirms it.
        let text = String::from_utf8(decoder.bytes).map_err(|_| ParamsError::InvalidUtf8)?;
        Ok(Params {
            text,
            spans: decoder.spans,
        })
    }

    /// Every parameter, in arrival order (what the V1 signature covers).
    pub fn pairs(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + Clone + '_ {
        self.spans
            .iter()
            .map(|&(start, middle, end)| (self.slice(start, middle), self.slice(middle, end)))
    }

    fn slice(&self, start: u32, end: u32) -> &str {
        self.text
            .get(start as usize..end as usize)
            .unwrap_or_default()
    }

    /// The value of the first parameter named exactly `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.pairs()
            .find(|(pair_name, _)| *pair_name == name)
            .map(|(_, value)| value)
    }

    /// The repeat list `<prefix>.1`, `<prefix>.2`, … sorted by index.
    ///
    /// Gaps are allowed and the order on the wire is irrelevant. Every name that starts with
    /// `<prefix>.` must be `<prefix>.<index>`; anything else is [`ParamsError::InvalidIndex`].
    /// If an index repeats, its first occurrence wins.
    pub fn list(&self, prefix: &str) -> Result<Vec<String>, ParamsError> {
        let mut by_index: BTreeMap<u32, &str> = BTreeMap::new();
        for (name, value) in self.pairs() {
            let Some(rest) = strip_list_prefix(name, prefix) else {
                continue;
            };
            let Some(index) = parse_index(rest) else {
                return Err(ParamsError::InvalidIndex {
                    name: name.to_owned(),
                });
            };
            by_index.entry(index).or_insert(value);
        }
        Ok(by_index.into_values().map(str::to_owned).collect())
    }

    /// The repeat list of structs `<prefix>.N.Key` / `<prefix>.N.Value`, sorted by `N`.
    ///
    /// A member may lack its key or its value; the caller decides whether that is an error.
    /// A name that starts with `<prefix>.` but has a bad index is [`ParamsError::InvalidIndex`];
    /// one with a good index but a field other than `Key` or `Value` is
    /// [`ParamsError::UnknownField`]. If a name repeats, its first occurrence wins.
    pub fn tag_list(&self, prefix: &str) -> Result<Vec<TagParam>, ParamsError> {
        let mut by_index: BTreeMap<u32, TagParam> = BTreeMap::new();
        for (name, value) in self.pairs() {
            let Some(rest) = strip_list_prefix(name, prefix) else {
                continue;
            };
            let (index_text, field) = match rest.split_once('.') {
                Some((index_text, field)) => (index_text, Some(field)),
                None => (rest, None),
            };
            let Some(index) = parse_index(index_text) else {
                return Err(ParamsError::InvalidIndex {
                    name: name.to_owned(),
                });
            };
            let entry = by_index.entry(index).or_insert(TagParam {
                index,
                key: None,
                value: None,
            });
            let slot = match field {
                Some("Key") => &mut entry.key,
                Some("Value") => &mut entry.value,
                _ => {
                    return Err(ParamsError::UnknownField {
                        name: name.to_owned(),
                    });
                }
            };
            if slot.is_none() {
                *slot = Some(value.to_owned());
            }
        }
        Ok(by_index.into_values().collect())
    }
}

/// The first parameter `name` among the `&`-separated pieces of `query` and `form_body` that
/// decode on their own, for a request whose parameters as a whole do not ([`Params::parse`]
/// failed): its error still goes out in the `Format` it asked for (spec aliyun.md §6 item 5).
pub fn first_readable(query: &str, form_body: Option<&[u8]>, name: &str) -> Option<String> {
    let body = form_body.map(String::from_utf8_lossy);
    query
        .split('&')
        .chain(body.iter().flat_map(|body| body.split('&')))
        .filter_map(|piece| Params::parse(piece, None).ok())
        .find_map(|piece| piece.get(name).map(str::to_owned))
}

/// The part of `name` after `<prefix>.`, if `name` starts with it.
fn strip_list_prefix<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    name.strip_prefix(prefix)?.strip_prefix('.')
}

/// A 1-based decimal index without sign or leading zeros, at most [`MAX_INDEX`].
fn parse_index(text: &str) -> Option<u32> {
    let first = *text.as_bytes().first()?;
    if first == b'0' || !text.bytes().all(|byte| byte.is_ascii_digit()) {
        return None;
    }
    // At most 5 digits for MAX_INDEX = 10_000; longer text cannot be valid and must not
    // overflow the parse.
    if text.len() > 5 {
        return None;
    }
    let index: u32 = text.parse().ok()?;
    (index <= MAX_INDEX).then_some(index)
}

/// A span's bound; parameters are far smaller than 4 GiB (the body limit is a few MiB).
fn offset(at: usize) -> u32 {
    u32::try_from(at).unwrap_or(u32::MAX)
}

/// Decodes pieces one after the other into one buffer.
struct Decoder {
    bytes: Vec<u8>,
    spans: Vec<(u32, u32, u32)>,
}

impl Decoder {
    /// Splits `input` on `&` and decodes each `name=value` segment with form rules.
    fn decode_form(&mut self, input: &str) -> Result<(), ParamsError> {
        let mut rest = input.as_bytes();
        while !rest.is_empty() {
            let (segment, after) = match memchr::memchr(b'&', rest) {
                Some(at) => (&rest[..at], &rest[at + 1..]),
                None => (rest, &b""[..]),
            };
            rest = after;
            if segment.is_empty() {
                continue;
            }
            let (name, value) = match segment.iter().position(|&byte| byte == b'=') {
                Some(at) => (&segment[..at], &segment[at + 1..]),
                None => (segment, &b""[..]),
            };
            let start = offset(self.bytes.len());
            self.piece(name)?;
            let middle = offset(self.bytes.len());
            self.piece(value)?;
            self.spans.push((start, middle, offset(self.bytes.len())));
        }
        Ok(())
    }

    /// Appends one name or value, form-decoded: `+` is a space, then `%XX` is one byte, then
    /// the bytes must be UTF-8. (The Tea SDK 0.4.6 sends a space as `+`, the legacy SDK as
    /// `%20`, §1.1.)
    fn piece(&mut self, raw: &[u8]) -> Result<(), ParamsError> {
        let start = self.bytes.len();
        let mut escaped = false;
        let mut at = 0;
        while at < raw.len() {
            // Copy the run up to the next `+` or `%` in one go.
            let run = raw[at..]
                .iter()
                .position(|&byte| byte == b'+' || byte == b'%')
                .map_or(raw.len(), |found| at + found);
            self.bytes.extend_from_slice(&raw[at..run]);
            at = run;
            let Some(&byte) = raw.get(at) else { break };
            if byte == b'+' {
                self.bytes.push(b' ');
                at += 1;
            } else if let Some(decoded) = decode_hex_pair(raw.get(at + 1..at + 3)) {
                self.bytes.push(decoded);
                escaped = true;
                at += 3;
            } else {
                self.bytes.push(byte);
                at += 1;
            }
        }
        if escaped && std::str::from_utf8(&self.bytes[start..]).is_err() {
            return Err(ParamsError::InvalidUtf8);
        }
        Ok(())
    }
}

/// The byte spelled by two hex digits, if `pair` is exactly that.
fn decode_hex_pair(pair: Option<&[u8]>) -> Option<u8> {
    let [high, low] = pair? else {
        return None;
    };
    let high = char::from(*high).to_digit(16)?;
    let low = char::from(*low).to_digit(16)?;
    u8::try_from(high * 16 + low).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn got(params: &Params) -> Vec<(String, String)> {
        params
            .pairs()
            .map(|(name, value)| (name.to_owned(), value.to_owned()))
            .collect()
    }

    fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
        list.iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect()
    }

    #[test]
    fn parse_keeps_query_then_body_in_arrival_order() {
        let params = Params::parse("b=2&a=1", Some(b"c=3&a=4")).unwrap();
        assert_eq!(
            got(&params),
            pairs(&[("b", "2"), ("a", "1"), ("c", "3"), ("a", "4")])
        );
        assert_eq!(params.get("a"), Some("1"));
        assert_eq!(params.get("A"), None);
    }

    #[test]
    fn parse_plus_is_space_and_percent_is_utf8() {
        // Tea SDK 0.4.6 query (spec §5.2) and legacy SDK query (spec §5.1).
        let tea = Params::parse(
            "Tag.2.Key=team+a%2A&Tag.2.Value=%E6%95%B0%E6%8D%AE~%2F%2B%3D",
            None,
        )
        .unwrap();
        let legacy = Params::parse(
            "Tag.2.Key=team%20a%2A&Tag.2.Value=%e6%95%b0%e6%8d%ae~/%2B=",
            None,
        )
        .unwrap();
        for params in [&tea, &legacy] {
            assert_eq!(params.get("Tag.2.Key"), Some("team a*"));
            assert_eq!(params.get("Tag.2.Value"), Some("数据~/+="));
        }
    }

    #[test]
    fn first_readable_skips_the_pieces_that_do_not_decode() {
        let query = "Tag.1.Key=%FF&Format=json";
        assert!(Params::parse(query, None).is_err());
        assert_eq!(
            first_readable(query, None, "Format").as_deref(),
            Some("json")
        );
        let body: &[u8] = b"Format=%FF&x=\xFF&Format=JSON";
        assert_eq!(
            first_readable("a=%FF", Some(body), "Format").as_deref(),
            Some("JSON")
        );
        assert_eq!(
            first_readable("Format", None, "Format").as_deref(),
            Some("")
        );
        assert_eq!(first_readable("a=%FF", None, "Format"), None);
    }

    #[test]
    fn parse_empty_values_and_segments() {
        let params = Params::parse("&SignatureType=&Flag&&x=a=b&", None).unwrap();
        assert_eq!(
            got(&params),
            pairs(&[("SignatureType", ""), ("Flag", ""), ("x", "a=b")])
        );
        assert_eq!(Params::parse("", None).unwrap().pairs().len(), 0);
        assert_eq!(Params::parse("", Some(b"")).unwrap().pairs().len(), 0);
    }

    #[test]
    fn parse_malformed_percent_stays_literal() {
        let params = Params::parse("a=%&b=%4&c=%zz1&d=100%25", None).unwrap();
        assert_eq!(
            got(&params),
            pairs(&[("a", "%"), ("b", "%4"), ("c", "%zz1"), ("d", "100%")])
        );
    }

    #[test]
    fn parse_rejects_invalid_utf8() {
        assert_eq!(Params::parse("a=%FF", None), Err(ParamsError::InvalidUtf8));
        assert_eq!(Params::parse("%C3=x", None), Err(ParamsError::InvalidUtf8));
        assert_eq!(
            Params::parse("a=1", Some(b"b=\xff")),
            Err(ParamsError::InvalidUtf8)
        );
        // Raw UTF-8 in a body is fine.
        let params = Params::parse("", Some("k=数据".as_bytes())).unwrap();
        assert_eq!(params.get("k"), Some("数据"));
    }

    #[test]
    fn list_sorts_by_numeric_index_with_gaps() {
        let params = Params::parse(
            "ResourceId.10=j&ResourceId.2=b&ResourceIdX=z&ResourceId.1=a&Other.1=o&ResourceId=q",
            None,
        )
        .unwrap();
        assert_eq!(params.list("ResourceId").unwrap(), vec!["a", "b", "j"]);
        assert_eq!(params.list("Missing").unwrap(), Vec::<String>::new());
    }

    #[test]
    fn list_first_occurrence_wins() {
        let params = Params::parse("TagKey.1=first", Some(b"TagKey.1=second")).unwrap();
        assert_eq!(params.list("TagKey").unwrap(), vec!["first"]);
    }

    #[test]
    fn list_rejects_bad_indices() {
        for name in [
            "ResourceId.0",
            "ResourceId.x",
            "ResourceId.01",
            "ResourceId.",
            "ResourceId.+1",
            "ResourceId.-1",
            "ResourceId.1.Key",
            "ResourceId.10001",
            "ResourceId.99999999999999999999",
        ] {
            let query = format!("ResourceId.1=a&{}=b", crate::sign::percent_encode(name));
            let params = Params::parse(&query, None).unwrap();
            assert_eq!(
                params.list("ResourceId"),
                Err(ParamsError::InvalidIndex {
                    name: name.to_string()
                }),
                "{name}"
            );
        }
        let params = Params::parse("ResourceId.10000=max", None).unwrap();
        assert_eq!(params.list("ResourceId").unwrap(), vec!["max"]);
    }

    #[test]
    fn list_prefix_needs_the_dot() {
        // `TagKey.1` is not a member of `Tag`, and `Tag.1.Key` is not a member of `TagKey`.
        let params = Params::parse("TagKey.1=k&Tag.1.Key=t", None).unwrap();
        assert_eq!(params.list("TagKey").unwrap(), vec!["k"]);
        assert_eq!(params.tag_list("Tag").unwrap().len(), 1);
    }

    #[test]
    fn tag_list_pairs_keys_and_values_by_index() {
        // Order as sent by the legacy SDK (spec §5.1): Value before Key, indices interleaved.
        let params = Params::parse(
            "Tag.1.Value=prod&Tag.1.Key=env&Tag.3.Value=only-value&Tag.2.Key=only-key\
             &Tag.1.Key=ignored",
            None,
        )
        .unwrap();
        assert_eq!(
            params.tag_list("Tag").unwrap(),
            vec![
                TagParam {
                    index: 1,
                    key: Some("env".to_string()),
                    value: Some("prod".to_string()),
                },
                TagParam {
                    index: 2,
                    key: Some("only-key".to_string()),
                    value: None,
                },
                TagParam {
                    index: 3,
                    key: None,
                    value: Some("only-value".to_string()),
                },
            ]
        );
    }

    #[test]
    fn tag_list_keeps_empty_values() {
        let params = Params::parse("Tag.1.Key=k&Tag.1.Value=", None).unwrap();
        assert_eq!(
            params.tag_list("Tag").unwrap(),
            vec![TagParam {
                index: 1,
                key: Some("k".to_string()),
                value: Some(String::new()),
            }]
        );
    }

    #[test]
    fn tag_list_rejects_bad_names() {
        for name in ["Tag.0.Key", "Tag.01.Key", "Tag.x.Value", "Tag..Key", "Tag."] {
            let params = Params::parse(&format!("{name}=v"), None).unwrap();
            assert_eq!(
                params.tag_list("Tag"),
                Err(ParamsError::InvalidIndex {
                    name: name.to_string()
                }),
                "{name}"
            );
        }
        for name in [
            "Tag.1",
            "Tag.1.key",
            "Tag.1.Colour",
            "Tag.1.Key.2",
            "Tag.1.",
        ] {
            let params = Params::parse(&format!("{name}=v"), None).unwrap();
            assert_eq!(
                params.tag_list("Tag"),
                Err(ParamsError::UnknownField {
                    name: name.to_string()
                }),
                "{name}"
            );
        }
    }

    mod props {
        use super::super::*;
        use super::got;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn parse_never_panics(query in ".{0,64}", body in proptest::collection::vec(any::<u8>(), 0..64)) {
                let _ = Params::parse(&query, Some(&body));
            }

            #[test]
            fn encoded_pairs_decode_back(
                list in proptest::collection::vec(("[^&=]{0,8}", ".{0,8}"), 0..8)
            ) {
                let query = list
                    .iter()
                    .filter(|(name, value)| !name.is_empty() || !value.is_empty())
                    .map(|(name, value)| {
                        format!("{}={}", crate::sign::percent_encode(name), crate::sign::percent_encode(value))
                    })
                    .collect::<Vec<_>>()
                    .join("&");
                let expected: Vec<(String, String)> = list
                    .into_iter()
                    .filter(|(name, value)| !name.is_empty() || !value.is_empty())
                    .collect();
                let params = Params::parse(&query, None).unwrap();
                prop_assert_eq!(got(&params), expected);
            }

            #[test]
            fn list_is_sorted_by_index(indices in proptest::collection::btree_set(1u32..=MAX_INDEX, 0..10)) {
                let mut shuffled: Vec<u32> = indices.iter().copied().collect();
                shuffled.reverse();
                let query = shuffled
                    .iter()
                    .map(|index| format!("L.{index}=v{index}"))
                    .collect::<Vec<_>>()
                    .join("&");
                let params = Params::parse(&query, None).unwrap();
                let expected: Vec<String> = indices.iter().map(|index| format!("v{index}")).collect();
                prop_assert_eq!(params.list("L").unwrap(), expected);
            }
        }
    }
}
