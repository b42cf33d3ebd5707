//! Accounts and their access keys. One key works under every signature scheme tagd speaks.

use std::fmt;

/// An account id: 16 decimal digits, like an Alibaba Cloud UID (it appears in ARNs).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AccountId(String);

impl AccountId {
    /// Accepts 1..=32 ASCII digits.
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty() && s.len() <= 32 && s.bytes().all(|b| b.is_ascii_digit());
        ok.then(|| Self(s.to_owned()))
    }

    /// A fresh random 16-digit id whose first digit is not zero.
    pub fn generate() -> Self {
        let bytes = random_bytes::<16>();
        let mut s = String::with_capacity(16);
        for (i, b) in bytes.iter().enumerate() {
            let digit = if i == 0 { 1 + b % 9 } else { b % 10 };
            s.push(char::from(b'0' + digit));
        }
        Self(s)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for AccountId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AccountId({})", self.0)
    }
}

/// An access key id. tagd generates `LTAI` + 20 alphanumerics (Alibaba's shape); any printable
/// ASCII id without whitespace up to 128 characters is accepted (root keys come from the operator).
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct AccessKeyId(String);

impl AccessKeyId {
    pub fn parse(s: &str) -> Option<Self> {
        let ok = !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_graphic());
        ok.then(|| Self(s.to_owned()))
    }

    pub fn generate() -> Self {
        Self(format!("LTAI{}", random_alphanumeric(20)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AccessKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A secret access key. Its `Debug` never prints the secret.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

impl SecretKey {
    pub fn new(secret: String) -> Option<Self> {
        let ok = !secret.is_empty() && secret.len() <= 256;
        ok.then_some(Self(secret))
    }

    /// 30 random alphanumerics, as Alibaba's secrets are.
    pub fn generate() -> Self {
        Self(random_alphanumeric(30))
    }

    /// The secret itself: only for signing and for printing it once to its owner.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<redacted>)")
    }
}

/// An account: the owner of tags and keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub name: String,
    /// Root accounts may call the admin interface.
    pub root: bool,
    /// Seconds since the Unix epoch.
    pub created_at: u64,
}

/// An access key with its secret and owner.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    pub access_key_id: AccessKeyId,
    pub secret: SecretKey,
    pub account_id: AccountId,
    pub enabled: bool,
    pub created_at: u64,
}

/// Fills an array from the OS CSPRNG. A failing OS RNG is unrecoverable for a server that
/// issues secrets, so it aborts loudly rather than issue a weak secret.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    if let Err(err) = getrandom::fill(&mut buf) {
        panic!("the operating system's random number generator failed: {err}");
    }
    buf
}

fn random_alphanumeric(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<64>() {
            // 248 = 4 * 62: rejection sampling keeps the distribution uniform.
            if b < 248 && out.len() < len {
                out.push(char::from(ALPHABET[usize::from(b % 62)]));
            }
        }
    }
    out
}

/// Seconds since the Unix epoch (0 if the clock is before 1970).
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_their_documented_shapes() {
        let account = AccountId::generate();
        assert_eq!(account.as_str().len(), 16);
        assert!(AccountId::parse(account.as_str()).is_some());
        assert_ne!(account.as_str().as_bytes()[0], b'0');
        let key = AccessKeyId::generate();
        assert!(key.as_str().starts_with("LTAI"));
        assert_eq!(key.as_str().len(), 24);
        let secret = SecretKey::generate();
        assert_eq!(secret.expose().len(), 30);
        assert!(secret.expose().bytes().all(|b| b.is_ascii_alphanumeric()));
        assert_ne!(SecretKey::generate(), secret);
    }

    #[test]
    fn secret_debug_is_redacted() {
        let secret = SecretKey::new("hunter2".into()).expect("valid");
        assert!(!format!("{secret:?}").contains("hunter2"));
    }

    #[test]
    fn account_ids_are_digits_only() {
        assert!(AccountId::parse("123456789").is_some());
        assert!(AccountId::parse("").is_none());
        assert!(AccountId::parse("12a").is_none());
    }
}
