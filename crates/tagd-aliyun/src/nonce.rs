//! Replay protection: remembers (AccessKeyId, SignatureNonce) pairs for the timestamp window
//! (spec aliyun.md §1.5).
//!
//! Entries are 64-bit keyed hashes, not the strings, with a 32-bit expiry: 16 bytes each in
//! the map, because the cache holds every request of the last 15 minutes (14M entries at 16k
//! signed requests/s). Two different nonces of one key collide with odds of about 1 in 2^64
//! per pair, which would refuse one honest request; the SDKs then retry with a new nonce.
//! 32 shards keep concurrent requests off each other's lock; each drops expired entries every
//! 30 s.
//! The cache is per process: with several tagd nodes behind a balancer, a replay to another
//! node within the window is not caught (noted in docs/design.md).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Mutex;

const SHARDS: usize = 32;
const PRUNE_EVERY_SECS: u32 = 30;

#[derive(Default)]
struct Shard {
    /// Fingerprint -> expiry (Unix seconds, saturated to `u32`).
    seen: HashMap<u64, u32>,
    next_prune: u32,
}

/// The nonces used recently, per access key.
pub struct NonceCache {
    shards: Vec<Mutex<Shard>>,
    hash: RandomState,
}

impl Default for NonceCache {
    fn default() -> Self {
        Self::new()
    }
}

impl NonceCache {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            hash: RandomState::new(),
        }
    }

    fn fingerprint(&self, access_key_id: &str, nonce: &str) -> u64 {
        let mut h = self.hash.build_hasher();
        h.write(access_key_id.as_bytes());
        h.write_u8(0xFF);
        h.write(nonce.as_bytes());
        h.finish()
    }

    /// Records the nonce until `expires_at` (Unix seconds). Returns `false` if it was already
    /// recorded and has not expired: a replay.
    pub fn check_and_record(
        &self,
        access_key_id: &str,
        nonce: &str,
        now: i64,
        expires_at: i64,
    ) -> bool {
        let fp = self.fingerprint(access_key_id, nonce);
        let index = usize::try_from(fp % SHARDS as u64).unwrap_or(0);
        let now = seconds(now);
        let expires_at = seconds(expires_at);
        let Ok(mut shard) = self.shards[index].lock() else {
            // A poisoned shard means a panic while holding it; refusing is the safe answer.
            return false;
        };
        if now >= shard.next_prune {
            shard.seen.retain(|_, expiry| *expiry > now);
            shard.next_prune = now.saturating_add(PRUNE_EVERY_SECS);
        }
        match shard.seen.get(&fp) {
            Some(expiry) if *expiry > now => false,
            _ => {
                shard.seen.insert(fp, expires_at);
                true
            }
        }
    }

    /// Entries held (for tests and metrics).
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok())
            .map(|s| s.seen.len())
            .sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Unix seconds as `u32`, saturated (until 2106 that is the value itself).
fn seconds(unix: i64) -> u32 {
    u32::try_from(unix.max(0)).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nonce_works_once_per_key_until_it_expires() {
        let cache = NonceCache::new();
        assert!(cache.check_and_record("ak1", "n1", 100, 1000));
        assert!(!cache.check_and_record("ak1", "n1", 200, 1000), "replay");
        assert!(
            cache.check_and_record("ak2", "n1", 200, 1000),
            "scoped per key"
        );
        assert!(cache.check_and_record("ak1", "n2", 200, 1000));
        assert!(
            cache.check_and_record("ak1", "n1", 1000, 2000),
            "expired entries free the nonce"
        );
    }

    #[test]
    fn expired_entries_are_pruned() {
        let cache = NonceCache::new();
        for i in 0..100 {
            cache.check_and_record("ak", &i.to_string(), 0, 10);
        }
        assert_eq!(cache.len(), 100);
        for i in 0..SHARDS * 8 {
            cache.check_and_record("ak", &format!("later-{i}"), 1000, 2000);
        }
        assert_eq!(cache.len(), SHARDS * 8);
    }
}
