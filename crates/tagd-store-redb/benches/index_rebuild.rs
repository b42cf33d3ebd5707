//! Whether the tag index could live in memory and be rebuilt at start (`bench/README.md`,
//! session 6): scans a stopped store's `resources` table, decodes every record and builds
//! posting lists (one `Vec<u32>` of resource numbers per distinct (key, value), the resource
//! numbers in key order), and reports the time and the RSS it took.
//!
//! `cargo bench -p tagd-store-redb --bench index_rebuild -- DATA_DIR` (a directory
//! `tagd-bench load` filled, with no server running on it). Without a directory it says so and
//! does nothing.

use std::collections::HashMap;
use std::time::Instant;

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

const RESOURCES: TableDefinition<&[u8], &[u8]> = TableDefinition::new("resources");

fn rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<u64>().ok())
        })
        .unwrap_or(0)
        / 1024
}

/// The next length-prefixed string of a record (`codec.rs`: `u32` big-endian length, bytes).
fn next_str<'a>(bytes: &mut &'a [u8]) -> Option<&'a str> {
    let (len, rest) = bytes.split_first_chunk::<4>()?;
    let (text, rest) = rest.split_at_checked(u32::from_be_bytes(*len) as usize)?;
    *bytes = rest;
    std::str::from_utf8(text).ok()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let Some(dir) = std::env::args().skip(1).find(|a| !a.starts_with('-')) else {
        println!("usage: cargo bench -p tagd-store-redb --bench index_rebuild -- DATA_DIR");
        return Ok(());
    };
    let db = Database::builder()
        .set_cache_size(96 << 20)
        .open(std::path::Path::new(&dir).join("tagd.redb"))?;
    let before = rss_mib();
    let started = Instant::now();
    let txn = db.begin_read()?;
    let table = txn.open_table(RESOURCES)?;
    let mut ids: HashMap<Box<str>, u32> = HashMap::new();
    let mut lists: Vec<Vec<u32>> = Vec::new();
    let mut resources = 0u32;
    let mut bindings = 0u64;
    let mut pair = String::new();
    for entry in table.iter()? {
        let (_, record) = entry?;
        // version u8, count u64, then (key, value) strings.
        let mut bytes = record.value().get(9..).ok_or("short record")?;
        let count = record
            .value()
            .get(1..9)
            .and_then(|c| <[u8; 8]>::try_from(c).ok())
            .map(u64::from_be_bytes)
            .ok_or("short record")?;
        for _ in 0..count {
            let key = next_str(&mut bytes).ok_or("bad record")?;
            let value = next_str(&mut bytes).ok_or("bad record")?;
            pair.clear();
            pair.push_str(key);
            pair.push('\0');
            pair.push_str(value);
            let id = match ids.get(pair.as_str()) {
                Some(&id) => id,
                None => {
                    let id = u32::try_from(lists.len())?;
                    ids.insert(pair.as_str().into(), id);
                    lists.push(Vec::new());
                    id
                }
            };
            lists[id as usize].push(resources);
            bindings += 1;
        }
        resources += 1;
    }
    let seconds = started.elapsed().as_secs_f64();
    let list_mib = lists.iter().map(|l| l.capacity() * 4 + 24).sum::<usize>() >> 20;
    println!(
        "{resources} resources, {bindings} bindings, {} distinct (key, value): rebuilt in \
         {seconds:.2} s; RSS {before} -> {} MiB (posting lists ~{list_mib} MiB)",
        lists.len(),
        rss_mib()
    );
    Ok(())
}
