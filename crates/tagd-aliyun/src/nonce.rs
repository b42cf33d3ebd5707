//! Replay protection: remembers (AccessKeyId, SignatureNonce) pairs for the timestamp window
//! (spec aliyun.md §1.5).
//!
//! Entries are 128-bit keyed hashes, not the strings (16 bytes + expiry each), in 32 shards so
//! concurrent requests rarely share a lock. Each shard drops expired entries every 30 s.
//! The cache is per process: with several tagd nodes behind a balancer, a replay to another
//! node within the window is not caught (noted in docs/design.md).

use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher, RandomState};
use std::sync::Mutex;

const SHARDS: usize = 32;
const PRUNE_EVERY_SECS: i64 = 30;

#[derive(Default)]
struct Shard {
    seen: HashMap<u128, i64>,
    next_prune: i64,
}

/// The nonces used recently, per access key.
pub struct NonceCache {
    shards: Vec<Mutex<Shard>>,
    hash_a: RandomState,
    hash_b: RandomState,
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
            hash_a: RandomState::new(),
            hash_b: RandomState::new(),
        }
    }

    fn fingerprint(&self, access_key_id: &str, nonce: &str) -> u128 {
        let half = |state: &RandomState| {
            let mut h = state.build_hasher();
            h.write(access_key_id.as_bytes());
            h.write_u8(0xFF);
            h.write(nonce.as_bytes());
            h.finish()
        };
        (u128::from(half(&self.hash_a)) << 64) | u128::from(half(&self.hash_b))
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
        let index = usize::try_from(fp % SHARDS as u128).unwrap_or(0);
        let Ok(mut shard) = self.shards[index].lock() else {
            // A poisoned shard means a panic while holding it; refusing is the safe answer.
            return false;
        };
        if now >= shard.next_prune {
            shard.seen.retain(|_, expiry| *expiry > now);
            shard.next_prune = now + PRUNE_EVERY_SECS;
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
