//! Order-preserving byte encoding of tuple keys.
//!
//! Each component is its UTF-8 bytes with `0x00` escaped as `00 FF`, closed by `00 01`. Byte
//! order of encoded tuples equals the tuple order of the strings, and an encoded prefix of
//! components is a byte prefix of every key that extends it. UTF-8 never holds `0xFF`, so
//! `prefix + [0xFF]` bounds every extension of `prefix` from above.

/// Appends one component.
pub fn push(out: &mut Vec<u8>, part: &str) {
    push_open(out, part);
    out.extend_from_slice(&[0x00, 0x01]);
}

/// Appends a component's bytes without closing it: the prefix of every component that starts
/// with `part`.
pub fn push_open(out: &mut Vec<u8>, part: &str) {
    let bytes = part.as_bytes();
    // Text without NUL (all of it, in practice) is copied as is.
    if !bytes.contains(&0) {
        out.extend_from_slice(bytes);
        return;
    }
    for &b in bytes {
        if b == 0 {
            out.extend_from_slice(&[0x00, 0xFF]);
        } else {
            out.push(b);
        }
    }
}

/// Encodes a tuple of components.
pub fn tuple(parts: &[&str]) -> Vec<u8> {
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.len() + 2).sum());
    for part in parts {
        push(&mut out, part);
    }
    out
}

/// The exclusive upper bound of every key that starts with `prefix`.
pub fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    end.push(0xFF);
    end
}

/// Decodes the next component of `key` and advances past it, borrowing the bytes when the
/// component holds no escaped NUL (all text in practice); `None` if `key` is empty or not a
/// well-formed encoding.
pub fn next_component<'a>(key: &mut &'a [u8]) -> Option<std::borrow::Cow<'a, str>> {
    let at = key.iter().position(|&b| b == 0)?;
    let (head, rest) = key.split_at(at);
    if let [0x00, 0x01, tail @ ..] = rest {
        let part = std::str::from_utf8(head).ok()?;
        *key = tail;
        return Some(std::borrow::Cow::Borrowed(part));
    }
    let mut part = head.to_vec();
    let mut rest = rest;
    loop {
        match rest {
            [0x00, 0x01, tail @ ..] => {
                *key = tail;
                return String::from_utf8(part).ok().map(std::borrow::Cow::Owned);
            }
            [0x00, 0xFF, tail @ ..] => {
                part.push(0);
                rest = tail;
            }
            [0x00, ..] | [] => return None,
            [b, tail @ ..] => {
                part.push(*b);
                rest = tail;
            }
        }
    }
}

/// Decodes every component of a key; `None` if it is not a well-formed encoding.
pub fn decode(mut key: &[u8]) -> Option<Vec<String>> {
    let mut parts = Vec::new();
    while !key.is_empty() {
        parts.push(next_component(&mut key)?.into_owned());
    }
    Some(parts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn order_and_round_trip(a in proptest::collection::vec("\\PC{0,6}|\u{0}", 1..4),
                                b in proptest::collection::vec("\\PC{0,6}|\u{0}", 1..4)) {
            let ea = tuple(&a.iter().map(String::as_str).collect::<Vec<_>>());
            let eb = tuple(&b.iter().map(String::as_str).collect::<Vec<_>>());
            prop_assert_eq!(ea.cmp(&eb), a.cmp(&b));
            prop_assert_eq!(decode(&ea), Some(a.clone()));
            let mut rest = ea.as_slice();
            let mut parts = Vec::new();
            while let Some(part) = next_component(&mut rest) {
                parts.push(part.into_owned());
            }
            prop_assert!(rest.is_empty());
            prop_assert_eq!(parts, a.clone());
        }

        #[test]
        fn prefixes_bound_their_extensions(a in "\\PC{0,6}", b in "\\PC{0,6}", c in "\\PC{0,6}") {
            let prefix = tuple(&[&a]);
            let key = tuple(&[&a, &b, &c]);
            prop_assert!(key.starts_with(&prefix));
            prop_assert!(key < prefix_end(&prefix));
        }
    }
}
