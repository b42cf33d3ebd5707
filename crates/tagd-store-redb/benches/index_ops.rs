//! What one tag-index change costs in redb, the bound of W1 and W2 (`bench/README.md`,
//! session 6): random remove + insert pairs (a tag's value changing) on a table of keys shaped
//! like schema 1's `tag_index` keys (one redb key per binding; since session 7 the store keeps
//! posting-list chunks instead, `src/postings.rs`), in one open transaction with a 96 MiB cache, as the store's writer
//! does. For scale, the same pairs on two in-memory structures: a `BTreeSet` of the same keys,
//! and posting lists (one sorted `Vec<u32>` of resource numbers per (key, value)), the shape
//! an in-memory index would take.
//!
//! `cargo bench -p tagd-store-redb --bench index_ops [-- RESOURCES...]` (default 10000 and
//! 100000 resources × 10 keys; each size takes a few seconds to load).

use std::collections::BTreeSet;
use std::time::Instant;

use redb::{Database, Durability, TableDefinition};

const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tag_index");
const KEYS_PER_RESOURCE: u64 = 10;
const VALUES_PER_KEY: u64 = 100;
const PAIRS: u64 = 100_000;

/// How the (account, region) prefix is written: as `tables.rs` does today, or as a 4-byte id.
#[derive(Clone, Copy)]
enum Prefix {
    Strings,
    Compact,
}

/// xorshift64: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn push(out: &mut Vec<u8>, part: &str) {
    out.extend_from_slice(part.as_bytes());
    out.extend_from_slice(&[0x00, 0x01]);
}

/// (account, region, key, value, type, id), encoded as `keys::tuple` encodes it.
fn index_key(prefix: Prefix, key: u64, value: u64, resource: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(96);
    match prefix {
        Prefix::Strings => {
            push(&mut out, "1000000000000001");
            push(&mut out, "cn-hangzhou");
        }
        Prefix::Compact => out.extend_from_slice(&[0, 0, 0, 1]),
    }
    push(&mut out, &format!("key-{key}"));
    push(&mut out, &format!("value-{value}"));
    push(&mut out, "ALIYUN::RDS::INSTANCE");
    push(&mut out, &format!("rm-bench{resource:07}"));
    out
}

/// The (key, value) of every binding, and the random changes to make: (resource, key, value).
fn workload(resources: u64) -> (Vec<u64>, Vec<(u64, u64, u64)>) {
    let mut rng = Rng(7);
    let values = (0..resources * KEYS_PER_RESOURCE)
        .map(|_| rng.below(VALUES_PER_KEY))
        .collect();
    let changes = (0..PAIRS)
        .map(|_| {
            (
                rng.below(resources),
                rng.below(KEYS_PER_RESOURCE),
                rng.below(VALUES_PER_KEY),
            )
        })
        .collect();
    (values, changes)
}

fn redb_pairs(resources: u64, prefix: Prefix) -> Result<f64, Box<dyn std::error::Error>> {
    let dir = tempfile::tempdir()?;
    let db = Database::builder()
        .set_cache_size(96 << 20)
        .create(dir.path().join("bench.redb"))?;
    let (mut values, changes) = workload(resources);
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::None)?;
    {
        let mut table = txn.open_table(TABLE)?;
        for resource in 0..resources {
            for key in 0..KEYS_PER_RESOURCE {
                let value = values[(resource * KEYS_PER_RESOURCE + key) as usize];
                table.insert(
                    index_key(prefix, key, value, resource).as_slice(),
                    [].as_slice(),
                )?;
            }
        }
    }
    txn.commit()?;
    let mut txn = db.begin_write()?;
    txn.set_durability(Durability::None)?;
    let started = Instant::now();
    {
        let mut table = txn.open_table(TABLE)?;
        for &(resource, key, value) in &changes {
            let slot = &mut values[(resource * KEYS_PER_RESOURCE + key) as usize];
            table.remove(index_key(prefix, key, *slot, resource).as_slice())?;
            table.insert(
                index_key(prefix, key, value, resource).as_slice(),
                [].as_slice(),
            )?;
            *slot = value;
        }
    }
    let micros = started.elapsed().as_secs_f64() * 1e6 / PAIRS as f64;
    txn.commit()?;
    Ok(micros)
}

fn memory_pairs(resources: u64) -> f64 {
    let (mut values, changes) = workload(resources);
    let mut set = BTreeSet::new();
    for resource in 0..resources {
        for key in 0..KEYS_PER_RESOURCE {
            let value = values[(resource * KEYS_PER_RESOURCE + key) as usize];
            set.insert(index_key(Prefix::Strings, key, value, resource).into_boxed_slice());
        }
    }
    let started = Instant::now();
    for &(resource, key, value) in &changes {
        let slot = &mut values[(resource * KEYS_PER_RESOURCE + key) as usize];
        set.remove(index_key(Prefix::Strings, key, *slot, resource).as_slice());
        set.insert(index_key(Prefix::Strings, key, value, resource).into_boxed_slice());
        *slot = value;
    }
    started.elapsed().as_secs_f64() * 1e6 / PAIRS as f64
}

fn posting_pairs(resources: u64) -> f64 {
    let (mut values, changes) = workload(resources);
    // (key, value) -> the resources carrying it, ascending.
    let mut lists: std::collections::HashMap<u64, Vec<u32>> = std::collections::HashMap::new();
    let id = |key: u64, value: u64| key * VALUES_PER_KEY + value;
    for resource in 0..resources {
        for key in 0..KEYS_PER_RESOURCE {
            let value = values[(resource * KEYS_PER_RESOURCE + key) as usize];
            lists
                .entry(id(key, value))
                .or_default()
                .push(resource as u32);
        }
    }
    let started = Instant::now();
    for &(resource, key, value) in &changes {
        let slot = &mut values[(resource * KEYS_PER_RESOURCE + key) as usize];
        let resource = resource as u32;
        if let Some(list) = lists.get_mut(&id(key, *slot))
            && let Ok(at) = list.binary_search(&resource)
        {
            list.remove(at);
        }
        let list = lists.entry(id(key, value)).or_default();
        if let Err(at) = list.binary_search(&resource) {
            list.insert(at, resource);
        }
        *slot = value;
    }
    started.elapsed().as_secs_f64() * 1e6 / PAIRS as f64
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let sizes: Vec<u64> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![10_000, 100_000]
    } else {
        sizes
    };
    println!(
        "| resources | index keys | redb, key as today | redb, 4-byte prefix | BTreeSet of keys | posting lists |"
    );
    println!("|---|---|---|---|---|---|");
    for resources in sizes {
        let strings = redb_pairs(resources, Prefix::Strings)?;
        let compact = redb_pairs(resources, Prefix::Compact)?;
        let memory = memory_pairs(resources);
        let postings = posting_pairs(resources);
        println!(
            "| {resources} | {} | {strings:.2} µs | {compact:.2} µs | {memory:.2} µs | {postings:.3} µs |",
            resources * KEYS_PER_RESOURCE
        );
    }
    println!(
        "(per remove + insert pair, {PAIRS} pairs; redb in one open transaction; the key columns \
         include building the keys)"
    );
    Ok(())
}
