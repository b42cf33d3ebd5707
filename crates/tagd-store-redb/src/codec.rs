//! Versioned byte encodings of stored values (no serde format: a leading version byte, then
//! big-endian lengths), so a future format change can be read side by side.

use tagd_core::{AccessKeyId, Account, AccountId, Credential, SecretKey, StoreError, TagSet};

const V1: u8 = 1;

struct Reader<'a>(&'a [u8]);

/// A record whose every byte was checked as UTF-8 at once: its strings are slices of it.
/// Lengths and counts are bytes below 0x80 (ASCII) unless a string is 128 bytes or longer, so
/// nearly every tag record passes, and one check of the whole record replaces one per string
/// (~4% of a 100-match listing's CPU, `bench/README.md`, session 12).
struct TextReader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> TextReader<'a> {
    fn str(&mut self) -> Result<&'a str, StoreError> {
        let head = self
            .text
            .as_bytes()
            .get(self.at..self.at + 4)
            .ok_or_else(|| corrupt("truncated"))?;
        let bytes: [u8; 4] = head.try_into().map_err(|_| corrupt("truncated"))?;
        let start = self.at + 4;
        let end = start
            .checked_add(u32::from_be_bytes(bytes) as usize)
            .ok_or_else(|| corrupt("truncated"))?;
        // `get` refuses an end past the record or inside a character.
        let body = self
            .text
            .get(start..end)
            .ok_or_else(|| corrupt("truncated or not utf-8"))?;
        self.at = end;
        Ok(body)
    }
}

impl<'a> Reader<'a> {
    fn u8(&mut self) -> Result<u8, StoreError> {
        let (&b, rest) = self.0.split_first().ok_or_else(|| corrupt("truncated"))?;
        self.0 = rest;
        Ok(b)
    }

    fn u64(&mut self) -> Result<u64, StoreError> {
        let (head, rest) = self
            .0
            .split_at_checked(8)
            .ok_or_else(|| corrupt("truncated"))?;
        self.0 = rest;
        let bytes: [u8; 8] = head.try_into().map_err(|_| corrupt("truncated"))?;
        Ok(u64::from_be_bytes(bytes))
    }

    fn str(&mut self) -> Result<&'a str, StoreError> {
        let (head, rest) = self
            .0
            .split_at_checked(4)
            .ok_or_else(|| corrupt("truncated"))?;
        let bytes: [u8; 4] = head.try_into().map_err(|_| corrupt("truncated"))?;
        let len = u32::from_be_bytes(bytes) as usize;
        let (body, rest) = rest
            .split_at_checked(len)
            .ok_or_else(|| corrupt("truncated"))?;
        self.0 = rest;
        std::str::from_utf8(body).map_err(|_| corrupt("not utf-8"))
    }

    fn version(&mut self) -> Result<(), StoreError> {
        match self.u8()? {
            V1 => Ok(()),
            other => Err(corrupt(&format!("unknown record version {other}"))),
        }
    }
}

fn corrupt(what: &str) -> StoreError {
    StoreError::Corrupt(what.to_owned())
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    let len = u32::try_from(s.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

/// A resource record: the count and the (key, value) pairs, then, only when the resource has
/// one, its uuid (Baidu's `resourceUuid`). A record without a uuid ends after the pairs, as
/// every record did before uuids were kept.
pub fn encode_tags(tags: &TagSet) -> Vec<u8> {
    let mut out = vec![V1];
    out.extend_from_slice(&(tags.len() as u64).to_be_bytes());
    for (k, v) in tags.iter() {
        put_str(&mut out, k);
        put_str(&mut out, v);
    }
    if let Some(uuid) = tags.uuid() {
        put_str(&mut out, uuid);
    }
    out
}

pub fn decode_tags(bytes: &[u8]) -> Result<TagSet, StoreError> {
    let mut r = Reader(bytes);
    r.version()?;
    let n = r.u64()?;
    // At most 64 tags up front: `n` comes from disk, and a corrupt count must not allocate
    // much. The record's length bounds the text.
    let count = usize::try_from(n.min(64)).unwrap_or(64);
    let tags = TagSet::with_capacity(count, r.0.len());
    match std::str::from_utf8(r.0) {
        Ok(text) => read_pairs(&mut TextReader { text, at: 0 }, n, tags),
        Err(_) => read_pairs(&mut r, n, tags),
    }
}

/// Where a record's strings come from: checked one by one ([`Reader`]), or slices of a record
/// checked as a whole ([`TextReader`]).
trait Strings<'a> {
    fn next_str(&mut self) -> Result<&'a str, StoreError>;
    fn at_end(&self) -> bool;
}

impl<'a> Strings<'a> for Reader<'a> {
    fn next_str(&mut self) -> Result<&'a str, StoreError> {
        self.str()
    }

    fn at_end(&self) -> bool {
        self.0.is_empty()
    }
}

impl<'a> Strings<'a> for TextReader<'a> {
    fn next_str(&mut self) -> Result<&'a str, StoreError> {
        self.str()
    }

    fn at_end(&self) -> bool {
        self.at == self.text.len()
    }
}

/// A record's `n` (key, value) pairs into `tags`, then its uuid if anything follows them.
fn read_pairs<'a>(
    r: &mut impl Strings<'a>,
    n: u64,
    mut tags: TagSet,
) -> Result<TagSet, StoreError> {
    for _ in 0..n {
        let k = r.next_str()?;
        let v = r.next_str()?;
        tags.push(k, v);
    }
    let uuid = if r.at_end() {
        None
    } else {
        Some(r.next_str()?.to_owned())
    };
    Ok(tags.with_uuid(uuid))
}

pub fn encode_account(a: &Account) -> Vec<u8> {
    let mut out = vec![V1];
    put_str(&mut out, a.id.as_str());
    put_str(&mut out, &a.name);
    out.push(u8::from(a.root));
    out.extend_from_slice(&a.created_at.to_be_bytes());
    out
}

pub fn decode_account(bytes: &[u8]) -> Result<Account, StoreError> {
    let mut r = Reader(bytes);
    r.version()?;
    let id = AccountId::parse(r.str()?).ok_or_else(|| corrupt("account id"))?;
    let name = r.str()?.to_owned();
    let root = r.u8()? != 0;
    let created_at = r.u64()?;
    Ok(Account {
        id,
        name,
        root,
        created_at,
    })
}

pub fn encode_key(c: &Credential) -> Vec<u8> {
    let mut out = vec![V1];
    put_str(&mut out, c.access_key_id.as_str());
    put_str(&mut out, c.secret.expose());
    put_str(&mut out, c.account_id.as_str());
    out.push(u8::from(c.enabled));
    out.extend_from_slice(&c.created_at.to_be_bytes());
    out
}

pub fn decode_key(bytes: &[u8]) -> Result<Credential, StoreError> {
    let mut r = Reader(bytes);
    r.version()?;
    let access_key_id = AccessKeyId::parse(r.str()?).ok_or_else(|| corrupt("access key id"))?;
    let secret = SecretKey::new(r.str()?.to_owned()).ok_or_else(|| corrupt("secret"))?;
    let account_id = AccountId::parse(r.str()?).ok_or_else(|| corrupt("account id"))?;
    let enabled = r.u8()? != 0;
    let created_at = r.u64()?;
    Ok(Credential {
        access_key_id,
        secret,
        account_id,
        enabled,
        created_at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tagd_core::Tag;

    #[test]
    fn records_round_trip() {
        let tags = TagSet::from_tags([Tag::new("env", "prod"), Tag::new("数据", "")]);
        assert_eq!(decode_tags(&encode_tags(&tags)).expect("decodes"), tags);
        let with_uuid = tags.clone().with_uuid(Some("c6a6b3e4-uuid".into()));
        let decoded = decode_tags(&encode_tags(&with_uuid)).expect("decodes");
        assert_eq!(decoded.uuid(), Some("c6a6b3e4-uuid"));
        assert_eq!(decoded, with_uuid);
        // Without a uuid the record is what it always was: count and pairs only.
        assert_eq!(
            encode_tags(&tags).len(),
            1 + 8 + (4 + 3 + 4 + 4) + (4 + "数据".len() + 4)
        );
        let account = Account {
            id: AccountId::generate(),
            name: "ops team".into(),
            root: true,
            created_at: 1_700_000_000,
        };
        assert_eq!(
            decode_account(&encode_account(&account)).expect("decodes"),
            account
        );
        let key = Credential {
            access_key_id: AccessKeyId::generate(),
            secret: SecretKey::generate(),
            account_id: account.id.clone(),
            enabled: false,
            created_at: 5,
        };
        assert_eq!(decode_key(&encode_key(&key)).expect("decodes"), key);
    }

    #[test]
    fn records_with_long_or_wide_strings_round_trip_and_bad_text_is_corrupt() {
        // A 200-byte value makes its length byte 0xC8, so the record as a whole is not UTF-8
        // and each string is checked on its own; the others are read as slices of the record.
        for value in ["short", "数据中心", &"v".repeat(200), &"数".repeat(90)] {
            let tags = TagSet::from_tags([Tag::new("env", value), Tag::new("z", "")])
                .with_uuid(Some("u-1".into()));
            assert_eq!(decode_tags(&encode_tags(&tags)).expect("decodes"), tags);
        }
        // A length that ends inside a character, in a record that is otherwise UTF-8.
        let mut inside = encode_tags(&TagSet::from_tags([Tag::new("k", "数")]));
        let at = inside.len() - 3 - 4;
        inside[at..at + 4].copy_from_slice(&2u32.to_be_bytes());
        assert!(decode_tags(&inside).is_err());
        // Bytes that are not UTF-8 at all.
        let mut invalid = encode_tags(&TagSet::from_tags([Tag::new("k", "ab")]));
        let last = invalid.len() - 1;
        invalid[last] = 0xFF;
        assert!(decode_tags(&invalid).is_err());
    }

    #[test]
    fn truncated_or_unknown_versions_are_corrupt() {
        let tags = encode_tags(&TagSet::from_tags([Tag::new("a", "b")]));
        assert!(decode_tags(&tags[..tags.len() - 1]).is_err());
        let mut future = tags.clone();
        future[0] = 9;
        assert!(decode_tags(&future).is_err());
    }
}
