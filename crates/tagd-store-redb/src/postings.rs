//! The (key, value) tag index as chunked posting lists.
//!
//! A *group* is one (account, region, key, value); its *members* are the (type, id) tails of
//! the resources carrying that tag, encoded as `keys::tuple` encodes them, so byte order is
//! (type, id) order. A group's members are kept sorted in chunks of at most
//! [`MAX_MEMBERS`]; a chunk is stored under `group ++ fence`, where the fence is the first
//! member the chunk may hold: every member of a chunk sorts at or after its fence and before
//! the next chunk's. The first chunk's fence is empty, so every member has a chunk; a stored
//! chunk is never empty.
//!
//! One binding changing costs a change to an in-memory chunk instead of a redb remove +
//! insert: the writer's [`PostingCache`] holds the chunks it changed and writes each of them
//! once when its transaction is published or made durable ([`PostingCache::flush`]), however
//! many of its members changed (`bench/README.md`, session 7).
//!
//! A chunk's bytes are its members in order, each as a big-endian `u16` length and the bytes.

use std::collections::HashMap;
use std::ops::Bound;

use redb::{ReadableTable, Table};
use tagd_core::StoreError;

use crate::engine_error;
use crate::keys;

/// Most members a chunk holds; one more splits it in two.
pub const MAX_MEMBERS: usize = 64;

fn corrupt() -> StoreError {
    StoreError::Corrupt("tag index chunk".into())
}

/// The members of a chunk's bytes, in order.
pub fn members(bytes: &[u8]) -> Members<'_> {
    Members { rest: bytes }
}

pub struct Members<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Members<'a> {
    type Item = Result<&'a [u8], StoreError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let Some((len, tail)) = self.rest.split_first_chunk::<2>() else {
            self.rest = &[];
            return Some(Err(corrupt()));
        };
        let len = usize::from(u16::from_be_bytes(*len));
        if tail.len() < len {
            self.rest = &[];
            return Some(Err(corrupt()));
        }
        let (member, rest) = tail.split_at(len);
        self.rest = rest;
        Some(Ok(member))
    }
}

/// The last member of a chunk's bytes (a walk over the lengths), `None` if it has none or is
/// corrupt.
fn last_member(bytes: &[u8]) -> Option<&[u8]> {
    let mut last = None;
    for member in members(bytes) {
        last = Some(member.ok()?);
    }
    last
}

/// Calls `each` with every member of `group` in `[lo, hi)`, in order, until it returns
/// `false`. `lo` and `hi` are member bytes (a (type, id) tail or a prefix of one); `hi` `None`
/// is the end of the group.
pub fn scan<T, E>(
    table: &T,
    group: &[u8],
    lo: &[u8],
    hi: Option<&[u8]>,
    mut each: impl FnMut(&[u8]) -> Result<bool, E>,
) -> Result<(), E>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
    E: From<StoreError>,
{
    let group_end = keys::prefix_end(group);
    let mut probe = group.to_vec();
    probe.extend_from_slice(lo);
    // The chunk that may hold `lo`: the last one whose key is at or before `group ++ lo`.
    let start = table
        .range(group..=probe.as_slice())
        .map_err(engine_error)?
        .next_back()
        .transpose()
        .map_err(engine_error)?
        .map(|(key, _)| key.value().to_vec())
        .unwrap_or_else(|| group.to_vec());
    let mut past_lo = lo.is_empty();
    for entry in table
        .range(start.as_slice()..group_end.as_slice())
        .map_err(engine_error)?
    {
        let (key, chunk) = entry.map_err(engine_error)?;
        let fence = &key.value()[group.len()..];
        if hi.is_some_and(|hi| fence >= hi) {
            break;
        }
        // Members are sorted, within a chunk and across the group's chunks: once one is at or
        // past `lo`, so are the rest, and if the chunk's last member is before `hi`, so are
        // all. Comparing every member with both bounds was ~4% of a 100-match listing's CPU
        // (`bench/README.md`, session 12).
        let bytes = chunk.value();
        let before_hi = hi.is_none_or(|hi| last_member(bytes).is_some_and(|last| last < hi));
        for member in members(bytes) {
            let member = member?;
            if !past_lo {
                if member < lo {
                    continue;
                }
                past_lo = true;
            }
            if !before_hi && hi.is_some_and(|hi| member >= hi) {
                return Ok(());
            }
            if !each(member)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Whether `group` has a member in `[lo, hi)`.
pub fn any_in<T>(table: &T, group: &[u8], lo: &[u8], hi: Option<&[u8]>) -> Result<bool, StoreError>
where
    T: ReadableTable<&'static [u8], &'static [u8]>,
{
    let mut found = false;
    scan(table, group, lo, hi, |_| {
        found = true;
        Ok::<_, StoreError>(false)
    })?;
    Ok(found)
}

/// One chunk held by the writer: its bytes, where each member's entry starts in them (for a
/// binary search), and whether they differ from what the transaction holds.
#[derive(Default)]
struct Chunk {
    bytes: Vec<u8>,
    offsets: Vec<u32>,
    /// How many leading bytes every member shares (the (type, id) tuples of a group mostly
    /// share their type).
    shared: usize,
    /// Each member's [`head`] after the `shared` bytes, in member order: the binary search
    /// compares these small integers and reads a member's bytes only when two are equal.
    heads: Vec<u64>,
    dirty: bool,
}

/// The first 8 bytes of `member` after `shared`, big-endian, zero-padded. Two members that
/// share `shared` bytes are ordered as their heads are when the heads differ.
fn head(member: &[u8], shared: usize) -> u64 {
    let rest = member.get(shared..).unwrap_or_default();
    let mut buf = [0u8; 8];
    let n = rest.len().min(8);
    buf[..n].copy_from_slice(&rest[..n]);
    u64::from_be_bytes(buf)
}

fn common_prefix(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).take_while(|(x, y)| x == y).count()
}

impl Chunk {
    fn from_bytes(bytes: Vec<u8>) -> Result<Chunk, StoreError> {
        let mut offsets = Vec::with_capacity(MAX_MEMBERS + 1);
        let mut at = 0;
        for member in members(&bytes) {
            offsets.push(u32::try_from(at).map_err(|_| corrupt())?);
            at += 2 + member?.len();
        }
        let mut chunk = Chunk {
            bytes,
            offsets,
            ..Chunk::default()
        };
        chunk.reindex();
        Ok(chunk)
    }

    /// Recomputes `shared` and `heads` from the members: the members are sorted, so what the
    /// first and the last share, all share.
    fn reindex(&mut self) {
        self.shared = match (self.offsets.first(), self.offsets.last()) {
            (Some(&first), Some(&last)) => {
                common_prefix(self.member_at(first), self.member_at(last))
            }
            _ => 0,
        };
        let heads = self
            .offsets
            .iter()
            .map(|&o| head(self.member_at(o), self.shared))
            .collect();
        self.heads = heads;
    }

    fn count(&self) -> usize {
        self.offsets.len()
    }

    /// The member whose entry starts at `offset`.
    fn member_at(&self, offset: u32) -> &[u8] {
        let at = offset as usize;
        let len = self
            .bytes
            .get(at..at + 2)
            .map_or(0, |l| usize::from(u16::from_be_bytes([l[0], l[1]])));
        self.bytes.get(at + 2..at + 2 + len).unwrap_or_default()
    }

    /// The bytes every member begins with (none when there is no member).
    fn prefix(&self) -> &[u8] {
        self.offsets
            .first()
            .and_then(|&first| self.member_at(first).get(..self.shared))
            .unwrap_or_default()
    }

    /// `Ok(i)`: `member` is the i-th; `Err(i)`: it would be.
    ///
    /// A search of `heads` (a few cache lines), reading a member's bytes only on a tie, where
    /// the search it replaced compared member bytes at every step, each walking the shared
    /// type prefix. W2 at 10k took 6–10% less server CPU a call; under W1 the cost is the first
    /// load of a cold chunk either way (`bench/README.md`, session 11).
    fn position(&self, member: &[u8]) -> Result<usize, usize> {
        self.search(member).0
    }

    /// [`Self::position`], and whether `member` begins with [`Self::prefix`] (so that its head
    /// is comparable with the others').
    fn search(&self, member: &[u8]) -> (Result<usize, usize>, bool) {
        if self.offsets.is_empty() {
            return (Err(0), false);
        }
        let prefix = self.prefix();
        if !member.starts_with(prefix) {
            // Before or after every member, as the prefixes compare.
            let at = if member < prefix { 0 } else { self.count() };
            return (Err(at), false);
        }
        let wanted = head(member, self.shared);
        let tail = member.get(self.shared..).unwrap_or_default();
        let (mut low, mut high) = (0, self.heads.len());
        while low < high {
            let mid = low + (high - low) / 2;
            let probe = self.heads.get(mid).copied().unwrap_or_default();
            let order = probe.cmp(&wanted).then_with(|| {
                let at = self.offsets.get(mid).copied().unwrap_or_default();
                let other = self.member_at(at).get(self.shared..).unwrap_or_default();
                other.cmp(tail)
            });
            match order {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return (Ok(mid), true),
            }
        }
        (Err(low), true)
    }

    /// The byte offset of the i-th entry (the end for `i == count`).
    fn byte_at(&self, i: usize) -> usize {
        self.offsets
            .get(i)
            .map_or(self.bytes.len(), |&o| o as usize)
    }

    /// Adds `member`; false if it was there.
    fn insert(&mut self, member: &[u8]) -> Result<bool, StoreError> {
        let len = u16::try_from(member.len())
            .map_err(|_| StoreError::Engine("tag index member too long".into()))?;
        let (Err(i), shares) = self.search(member) else {
            return Ok(false);
        };
        let at = self.byte_at(i);
        let add = 2 + member.len();
        let end = self.bytes.len();
        if u32::try_from(end + add).is_err() {
            return Err(StoreError::Engine("tag index chunk too large".into()));
        }
        self.bytes.resize(end + add, 0);
        self.bytes.copy_within(at..end, at + add);
        self.bytes[at..at + 2].copy_from_slice(&len.to_be_bytes());
        self.bytes[at + 2..at + add].copy_from_slice(member);
        self.offsets.insert(i, at as u32);
        for offset in &mut self.offsets[i + 1..] {
            *offset += add as u32;
        }
        if shares && self.count() > 1 {
            self.heads.insert(i, head(member, self.shared));
        } else {
            // A first member, or one that shortens what they all share.
            self.reindex();
        }
        Ok(true)
    }

    /// Removes `member`; false if it was not there.
    fn remove(&mut self, member: &[u8]) -> bool {
        let Ok(i) = self.position(member) else {
            return false;
        };
        let at = self.byte_at(i);
        let size = 2 + member.len();
        self.bytes.drain(at..at + size);
        self.offsets.remove(i);
        self.heads.remove(i);
        for offset in &mut self.offsets[i..] {
            *offset -= size as u32;
        }
        true
    }

    /// Splits off the upper half: (its fence, the new chunk).
    fn split(&mut self) -> Result<(Vec<u8>, Chunk), StoreError> {
        let keep = self.count() / 2;
        let at = self.byte_at(keep);
        let fence = self
            .offsets
            .get(keep)
            .map(|&o| self.member_at(o).to_vec())
            .ok_or_else(corrupt)?;
        let bytes = self.bytes.split_off(at);
        let offsets = self
            .offsets
            .split_off(keep)
            .into_iter()
            .map(|o| o - at as u32)
            .collect();
        self.reindex();
        let mut upper = Chunk {
            bytes,
            offsets,
            ..Chunk::default()
        };
        upper.reindex();
        Ok((fence, upper))
    }
}

/// A chunk the writer holds, with the fence of the chunk after it (`None`: the group's last):
/// the members it may hold are `[its fence, upper)`.
struct Held {
    upper: Option<Vec<u8>>,
    chunk: Chunk,
}

/// Approximate heap bytes of a held chunk beyond its members. The per-member arrays (an
/// offset and a head, 12 bytes a member against ~45 of member bytes in a (type, id) tuple)
/// are left out: what the cache holds is up to about a quarter more than it counts.
const HELD_OVERHEAD: usize = 96;

/// The writer's view of the chunks it reads and changes, by group and fence. A member's chunk
/// is found here if a held chunk's range covers it, else by one seek in the table (the last
/// chunk key at or before group ++ member), which is then held.
///
/// Members change only here until [`Self::flush`] writes the changed chunks to the table. The
/// table's *keys* stay exact for seeks, but for one kind: a chunk emptied is deleted from it at
/// once, while a chunk made by a split exists only here until the flush. So that no seek needs
/// to find one of those, the chunk before such a chunk is always held, with an exact `upper`:
/// a split holds both halves, and deleting a chunk holds the chunk before it (`remove`).
pub struct PostingCache {
    max_members: usize,
    groups: HashMap<Vec<u8>, Fences, foldhash::fast::RandomState>,
    /// (group, fence) of every chunk changed since the last flush (some may be gone since).
    changed: Changed,
    /// Approximate bytes held; past `held_bytes` the flush forgets everything.
    bytes: usize,
    held_bytes: usize,
    /// Chunks read from the table since [`Self::take_loads`] (by `locate`, and by `remove`
    /// for the neighbour of an emptied chunk): what a replay after a crash reads again with a
    /// cold cache (the writer's checkpoint trigger counts them).
    loads: u64,
}

/// What the cache may hold after a flush, by default.
const HELD_BYTES: usize = 8 << 20;

impl Default for PostingCache {
    fn default() -> Self {
        Self::with_max_members(MAX_MEMBERS)
    }
}

type BytesTable<'txn> = Table<'txn, &'static [u8], &'static [u8]>;

fn chunk_key(group: &[u8], fence: &[u8]) -> Vec<u8> {
    let mut key = Vec::with_capacity(group.len() + fence.len());
    key.extend_from_slice(group);
    key.extend_from_slice(fence);
    key
}

/// A stored chunk's fence and bytes.
type Stored = (Vec<u8>, Vec<u8>);

/// The last chunk of `group` whose key is in `[group, key]` (`inclusive`) or `[group, key)`.
fn chunk_before(
    table: &BytesTable<'_>,
    group: &[u8],
    key: &[u8],
    inclusive: bool,
) -> Result<Option<Stored>, StoreError> {
    let upper = if inclusive {
        Bound::Included(key)
    } else {
        Bound::Excluded(key)
    };
    table
        .range::<&[u8]>((Bound::Included(group), upper))
        .map_err(engine_error)?
        .next_back()
        .transpose()
        .map_err(engine_error)
        .map(|found| found.map(|(k, v)| (k.value()[group.len()..].to_vec(), v.value().to_vec())))
}

/// The fence of the first chunk of `group` whose key sorts after `key`.
fn fence_after(
    table: &BytesTable<'_>,
    group: &[u8],
    key: &[u8],
) -> Result<Option<Vec<u8>>, StoreError> {
    let end = keys::prefix_end(group);
    table
        .range::<&[u8]>((Bound::Excluded(key), Bound::Excluded(end.as_slice())))
        .map_err(engine_error)?
        .next()
        .transpose()
        .map_err(engine_error)
        .map(|found| found.map(|(k, _)| k.value()[group.len()..].to_vec()))
}

/// The held chunks of one group, by fence, in fence order: a sorted vector searched by
/// halves, where a `BTreeMap` walked each node's keys in turn, a `memcmp` of long shared
/// prefixes per key (W2 at 10k +6%, `bench/README.md`, session 12). A group of a 10k store
/// holds a few dozen chunks. A split moves the entries after it (~140 bytes each): in a hot
/// group of a 1M store, thousands between two flushes (the cache is cut back to
/// [`HELD_BYTES`] only at a flush), a few hundred KiB moved. W1 and W2 at 1M did not slow
/// (1,924 calls/s and 217k tags/s in the suite, against 1,851 and 211k before).
#[derive(Default)]
struct Fences(Vec<(Vec<u8>, Held)>);

impl Fences {
    /// Where `fence` is (`Ok`) or would go (`Err`).
    fn search(&self, fence: &[u8]) -> Result<usize, usize> {
        self.0.binary_search_by(|(f, _)| f.as_slice().cmp(fence))
    }

    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    fn get_mut(&mut self, fence: &[u8]) -> Option<&mut Held> {
        let at = self.search(fence).ok()?;
        self.0.get_mut(at).map(|(_, h)| h)
    }

    /// Holds `held` at `fence`, replacing what was there.
    fn insert(&mut self, fence: Vec<u8>, held: Held) {
        match self.search(&fence) {
            Ok(at) => {
                if let Some(slot) = self.0.get_mut(at) {
                    slot.1 = held;
                }
            }
            Err(at) => self.0.insert(at, (fence, held)),
        }
    }

    /// Holds `held` at `fence` unless something is held there already.
    fn insert_new(&mut self, fence: Vec<u8>, held: Held) {
        if let Err(at) = self.search(&fence) {
            self.0.insert(at, (fence, held));
        }
    }

    fn remove(&mut self, fence: &[u8]) -> Option<Held> {
        let at = self.search(fence).ok()?;
        Some(self.0.remove(at).1)
    }

    /// The last held chunk whose fence is before `key` (or at it, if `inclusive`), as
    /// [`chunk_before`] finds one in the table.
    fn before_mut(&mut self, key: &[u8], inclusive: bool) -> Option<(&Vec<u8>, &mut Held)> {
        let at = self
            .0
            .partition_point(|(f, _)| match f.as_slice().cmp(key) {
                std::cmp::Ordering::Less => true,
                std::cmp::Ordering::Equal => inclusive,
                std::cmp::Ordering::Greater => false,
            });
        let (f, h) = self.0.get_mut(at.checked_sub(1)?)?;
        Some((&*f, h))
    }
}

/// The held chunk whose range covers `member`, with its fence.
fn covering<'a>(held: &'a mut Fences, member: &[u8]) -> Option<(&'a Vec<u8>, &'a mut Held)> {
    held.before_mut(member, true)
        .filter(|(_, h)| h.upper.as_deref().is_none_or(|upper| member < upper))
}

/// The chunks changed since the last flush, by (group, fence).
type Changed = Vec<(Vec<u8>, Vec<u8>)>;

/// Marks the chunk of `group` at `fence` as changed, listing it for the next flush once.
fn mark_changed(chunk: &mut Chunk, changed: &mut Changed, group: &[u8], fence: &[u8]) {
    if !chunk.dirty {
        chunk.dirty = true;
        changed.push((group.to_vec(), fence.to_vec()));
    }
}

/// Adds `member` to the held chunk of `group` that covers it, splitting the chunk past
/// `max_members`; `false` if no held chunk covers it (nothing changed then). `bytes` and
/// `changed` are the cache's own.
fn insert_held(
    held: &mut Fences,
    bytes: &mut usize,
    changed: &mut Changed,
    max_members: usize,
    group: &[u8],
    member: &[u8],
) -> Result<bool, StoreError> {
    let Some((fence, h)) = covering(held, member) else {
        return Ok(false);
    };
    if !h.chunk.insert(member)? {
        return Ok(true);
    }
    *bytes += 2 + member.len();
    mark_changed(&mut h.chunk, changed, group, fence);
    if h.chunk.count() <= max_members {
        return Ok(true);
    }
    let (split, mut upper) = h.chunk.split()?;
    let upper_bound = h.upper.replace(split.clone());
    upper.dirty = true;
    *bytes += group.len() + split.len() + HELD_OVERHEAD;
    changed.push((group.to_vec(), split.clone()));
    held.insert(
        split,
        Held {
            upper: upper_bound,
            chunk: upper,
        },
    );
    Ok(true)
}

/// What [`remove_held`] did.
enum Removed {
    /// No held chunk covers the member.
    NotHeld,
    /// The member was removed, or was not there; its chunk still has members.
    Done,
    /// The member was removed and its chunk, at `fence` with range up to `upper`, is empty
    /// (still held).
    Emptied {
        fence: Vec<u8>,
        upper: Option<Vec<u8>>,
    },
}

/// Removes `member` from the held chunk of `group` that covers it.
fn remove_held(
    held: &mut Fences,
    bytes: &mut usize,
    changed: &mut Changed,
    group: &[u8],
    member: &[u8],
) -> Removed {
    let Some((fence, h)) = covering(held, member) else {
        return Removed::NotHeld;
    };
    if !h.chunk.remove(member) {
        return Removed::Done;
    }
    *bytes = bytes.saturating_sub(2 + member.len());
    if h.chunk.count() > 0 {
        mark_changed(&mut h.chunk, changed, group, fence);
        return Removed::Done;
    }
    Removed::Emptied {
        fence: fence.clone(),
        upper: h.upper.clone(),
    }
}

impl PostingCache {
    /// A cache whose chunks split past `max_members` (tests use small chunks).
    pub fn with_max_members(max_members: usize) -> Self {
        Self {
            max_members: max_members.max(2),
            groups: HashMap::default(),
            changed: Vec::new(),
            bytes: 0,
            held_bytes: HELD_BYTES,
            loads: 0,
        }
    }

    /// A cache that forgets what it holds at a flush past `bytes` (not [`HELD_BYTES`]).
    pub fn holding(bytes: usize) -> Self {
        Self {
            held_bytes: bytes,
            ..Self::default()
        }
    }

    /// Whether it holds more than its budget (the next flush forgets everything).
    pub fn over_budget(&self) -> bool {
        self.bytes > self.held_bytes
    }

    /// Chunks read from the table since the last call.
    pub fn take_loads(&mut self) -> u64 {
        std::mem::take(&mut self.loads)
    }

    /// Forgets everything, changes included: after the transaction they were made against
    /// was aborted (its deletions of emptied chunks went with it).
    pub fn clear(&mut self) {
        self.groups.clear();
        self.changed.clear();
        self.bytes = 0;
    }

    /// Makes the chunk whose range covers `member` held (then [`covering`] finds it); false if
    /// the group has no chunk.
    fn locate(
        &mut self,
        table: &BytesTable<'_>,
        group: &[u8],
        member: &[u8],
    ) -> Result<bool, StoreError> {
        if let Some(held) = self.groups.get_mut(group)
            && covering(held, member).is_some()
        {
            return Ok(true);
        }
        let probe = chunk_key(group, member);
        let Some((fence, bytes)) = chunk_before(table, group, &probe, true)? else {
            return Ok(false);
        };
        let upper = fence_after(table, group, &probe)?;
        let chunk = Chunk::from_bytes(bytes)?;
        self.loads += 1;
        self.bytes += chunk.bytes.len() + group.len() + fence.len() + HELD_OVERHEAD;
        // Not held already (its range would have covered `member`); never replace what is.
        self.groups
            .entry(group.to_vec())
            .or_default()
            .insert_new(fence, Held { upper, chunk });
        Ok(true)
    }

    /// Adds `member` to `group`.
    pub fn insert(
        &mut self,
        table: &BytesTable<'_>,
        group: &[u8],
        member: &[u8],
    ) -> Result<(), StoreError> {
        // A held chunk is found with one lookup of the group and one of the fence; only a
        // chunk not held yet is looked up again after `locate` loads it.
        if self.insert_if_held(group, member)? {
            return Ok(());
        }
        if !self.locate(table, group, member)? {
            // The group's first chunk.
            let mut chunk = Chunk {
                dirty: true,
                ..Chunk::default()
            };
            chunk.insert(member)?;
            self.bytes += chunk.bytes.len() + group.len() + HELD_OVERHEAD;
            self.groups
                .entry(group.to_vec())
                .or_default()
                .insert(Vec::new(), Held { upper: None, chunk });
            self.changed.push((group.to_vec(), Vec::new()));
            return Ok(());
        }
        if self.insert_if_held(group, member)? {
            Ok(())
        } else {
            Err(corrupt())
        }
    }

    /// [`insert_held`] into the group's held chunks; `false` if none covers `member`.
    fn insert_if_held(&mut self, group: &[u8], member: &[u8]) -> Result<bool, StoreError> {
        match self.groups.get_mut(group) {
            Some(held) => insert_held(
                held,
                &mut self.bytes,
                &mut self.changed,
                self.max_members,
                group,
                member,
            ),
            None => Ok(false),
        }
    }

    /// [`remove_held`] from the group's held chunks.
    fn remove_if_held(&mut self, group: &[u8], member: &[u8]) -> Removed {
        match self.groups.get_mut(group) {
            Some(held) => remove_held(held, &mut self.bytes, &mut self.changed, group, member),
            None => Removed::NotHeld,
        }
    }

    /// Removes `member` from `group`, if it is there.
    pub fn remove(
        &mut self,
        table: &mut BytesTable<'_>,
        group: &[u8],
        member: &[u8],
    ) -> Result<(), StoreError> {
        let mut removed = self.remove_if_held(group, member);
        if let Removed::NotHeld = removed {
            if !self.locate(table, group, member)? {
                return Ok(());
            }
            removed = self.remove_if_held(group, member);
        }
        let (fence, upper) = match removed {
            Removed::Done => return Ok(()),
            Removed::NotHeld => return Err(corrupt()),
            Removed::Emptied { fence, upper } => (fence, upper),
        };
        // The chunk is empty: it leaves the table now (seeks must not find it). Its range falls
        // to the chunk before it; the first chunk instead takes the next one's members.
        table
            .remove(chunk_key(group, &fence).as_slice())
            .map_err(engine_error)?;
        let held = self.groups.get_mut(group).ok_or_else(corrupt)?;
        held.remove(&fence);
        self.bytes = self
            .bytes
            .saturating_sub(group.len() + fence.len() + HELD_OVERHEAD);
        if !fence.is_empty() {
            if let Some((_, before)) = held.before_mut(&fence, false)
                && before.upper.as_deref() == Some(fence.as_slice())
            {
                before.upper = upper;
                return Ok(());
            }
            // The chunk before is not held: hold it, with its range now reaching `upper`. The
            // chunk at `upper` may exist only here (made by a split of the deleted chunk), and a
            // seek would then miss it: the chunk before must know it from here on.
            let (before, bytes) = chunk_before(table, group, &chunk_key(group, &fence), false)?
                .ok_or_else(corrupt)?;
            let chunk = Chunk::from_bytes(bytes)?;
            self.loads += 1;
            self.bytes += chunk.bytes.len() + group.len() + before.len() + HELD_OVERHEAD;
            held.insert_new(before, Held { upper, chunk });
            return Ok(());
        }
        let Some(next) = upper else {
            // The group is empty.
            if held.is_empty() {
                self.groups.remove(group);
            }
            return Ok(());
        };
        let (moved, next_upper) = match held.remove(&next) {
            Some(h) => (h.chunk, h.upper),
            None => {
                let key = chunk_key(group, &next);
                let bytes = table
                    .get(key.as_slice())
                    .map_err(engine_error)?
                    .ok_or_else(corrupt)?
                    .value()
                    .to_vec();
                let chunk = Chunk::from_bytes(bytes)?;
                self.loads += 1;
                self.bytes += HELD_OVERHEAD + group.len();
                (chunk, fence_after(table, group, &key)?)
            }
        };
        table
            .remove(chunk_key(group, &next).as_slice())
            .map_err(engine_error)?;
        self.bytes = self.bytes.saturating_sub(next.len());
        let chunk = Chunk {
            dirty: true,
            ..moved
        };
        self.groups.entry(group.to_vec()).or_default().insert(
            Vec::new(),
            Held {
                upper: next_upper,
                chunk,
            },
        );
        self.changed.push((group.to_vec(), Vec::new()));
        Ok(())
    }

    /// Writes every changed chunk to `table`, then forgets what it holds if that has grown
    /// past its budget ([`HELD_BYTES`] by default).
    pub fn flush(&mut self, table: &mut BytesTable<'_>) -> Result<(), StoreError> {
        for (group, fence) in std::mem::take(&mut self.changed) {
            let Some(h) = self
                .groups
                .get_mut(&group)
                .and_then(|held| held.get_mut(&fence))
            else {
                continue;
            };
            if !h.chunk.dirty {
                continue;
            }
            table
                .insert(
                    chunk_key(&group, &fence).as_slice(),
                    h.chunk.bytes.as_slice(),
                )
                .map_err(engine_error)?;
            h.chunk.dirty = false;
        }
        if self.bytes > self.held_bytes {
            self.clear();
        }
        Ok(())
    }
}

/// Writes sorted (group, member) pairs as full chunks: how an index is built from scratch
/// (the migration from the one-key-per-binding layout).
pub struct Builder {
    group: Vec<u8>,
    fence: Vec<u8>,
    chunk: Chunk,
    per_chunk: usize,
}

impl Builder {
    pub fn new() -> Self {
        Self {
            group: Vec::new(),
            fence: Vec::new(),
            chunk: Chunk::default(),
            // Three quarters full: room to grow before the first split.
            per_chunk: MAX_MEMBERS * 3 / 4,
        }
    }

    /// Adds the next pair; pairs must come in (group, member) order.
    pub fn push(
        &mut self,
        table: &mut BytesTable<'_>,
        group: &[u8],
        member: &[u8],
    ) -> Result<(), StoreError> {
        if group != self.group.as_slice() {
            self.finish(table)?;
            self.group = group.to_vec();
            self.fence.clear();
        } else if self.chunk.count() >= self.per_chunk {
            self.finish(table)?;
            self.fence = member.to_vec();
        }
        self.chunk.insert(member)?;
        Ok(())
    }

    /// Writes the chunk being filled.
    pub fn finish(&mut self, table: &mut BytesTable<'_>) -> Result<(), StoreError> {
        if self.chunk.count() == 0 {
            return Ok(());
        }
        let mut key = self.group.clone();
        key.extend_from_slice(&self.fence);
        table
            .insert(key.as_slice(), self.chunk.bytes.as_slice())
            .map_err(engine_error)?;
        self.chunk = Chunk::default();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use proptest::prelude::*;
    use redb::{Database, ReadableDatabase, TableDefinition};

    use super::*;

    const TABLE: TableDefinition<&[u8], &[u8]> = TableDefinition::new("tag_postings");

    fn group(n: u8) -> Vec<u8> {
        keys::tuple(&["1000000000000001", "cn-hangzhou", "env", &format!("v{n}")])
    }

    fn member(n: u16) -> Vec<u8> {
        keys::tuple(&["ALIYUN::RDS::INSTANCE", &format!("rm-{n:04}")])
    }

    #[derive(Clone, Debug)]
    enum Op {
        Insert(u8, u16),
        Remove(u8, u16),
        /// Write the changes to the table, then (if true) forget the cache.
        Flush(bool),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            6 => (0u8..3, 0u16..40).prop_map(|(g, m)| Op::Insert(g, m)),
            4 => (0u8..3, 0u16..40).prop_map(|(g, m)| Op::Remove(g, m)),
            1 => any::<bool>().prop_map(Op::Flush),
        ]
    }

    /// Every stored chunk of `group`: non-empty, at most `max` members, sorted, within its
    /// fence and the next one's, the first with the empty fence. Returns the members in order.
    fn check_group(
        table: &impl ReadableTable<&'static [u8], &'static [u8]>,
        group: &[u8],
        max: usize,
    ) -> Vec<Vec<u8>> {
        let end = keys::prefix_end(group);
        let mut chunks = Vec::new();
        for entry in table.range(group..end.as_slice()).expect("range") {
            let (key, value) = entry.expect("entry");
            let fence = key.value()[group.len()..].to_vec();
            let members: Vec<Vec<u8>> = members(value.value())
                .map(|m| m.expect("member").to_vec())
                .collect();
            chunks.push((fence, members));
        }
        if let Some((first, _)) = chunks.first() {
            assert!(first.is_empty(), "the first chunk's fence is empty");
        }
        let mut all: Vec<Vec<u8>> = Vec::new();
        for (i, (fence, members)) in chunks.iter().enumerate() {
            assert!(!members.is_empty(), "a stored chunk is never empty");
            assert!(members.len() <= max, "{} members > {max}", members.len());
            assert!(members.windows(2).all(|w| w[0] < w[1]), "sorted");
            assert!(members[0] >= *fence, "members sort at or after the fence");
            if let Some((next, _)) = chunks.get(i + 1) {
                assert!(
                    members.last().is_some_and(|m| m < next),
                    "and before the next"
                );
            }
            all.extend(members.iter().cloned());
        }
        all
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn chunks_hold_exactly_the_members_of_a_model(
            ops in proptest::collection::vec(op(), 1..300),
            max in 2usize..6,
            lo in 0u16..45,
            span in 0u16..45,
        ) {
            let dir = tempfile::tempdir().expect("dir");
            let db = Database::create(dir.path().join("p.redb")).expect("db");
            let mut cache = PostingCache::with_max_members(max);
            let mut model: BTreeMap<u8, std::collections::BTreeSet<Vec<u8>>> = BTreeMap::new();
            let txn = db.begin_write().expect("txn");
            {
                let mut table = txn.open_table(TABLE).expect("table");
                for op in ops.iter().cloned().chain([Op::Flush(false)]) {
                    match op {
                        Op::Insert(g, m) => {
                            cache.insert(&table, &group(g), &member(m)).expect("insert");
                            model.entry(g).or_default().insert(member(m));
                        }
                        Op::Remove(g, m) => {
                            cache.remove(&mut table, &group(g), &member(m)).expect("remove");
                            model.entry(g).or_default().remove(&member(m));
                        }
                        Op::Flush(forget) => {
                            cache.flush(&mut table).expect("flush");
                            if forget {
                                cache.clear();
                            }
                            for g in 0..3u8 {
                                let want: Vec<Vec<u8>> =
                                    model.get(&g).into_iter().flatten().cloned().collect();
                                prop_assert_eq!(check_group(&table, &group(g), max), want);
                            }
                        }
                    }
                }
            }
            txn.commit().expect("commit");
            // Readers scan any range of a group from a committed snapshot.
            let read = db.begin_read().expect("read");
            let table = read.open_table(TABLE).expect("table");
            let (lo, hi) = (member(lo), member(lo + span));
            for g in 0..3u8 {
                let mut seen = Vec::new();
                scan(&table, &group(g), &lo, Some(&hi), |m| {
                    seen.push(m.to_vec());
                    Ok::<_, StoreError>(true)
                })
                .expect("scan");
                let want: Vec<Vec<u8>> = model
                    .get(&g)
                    .into_iter()
                    .flatten()
                    .filter(|m| **m >= lo && **m < hi)
                    .cloned()
                    .collect();
                prop_assert_eq!(&seen, &want);
                let any = any_in(&table, &group(g), &lo, Some(&hi)).expect("any");
                prop_assert_eq!(any, !want.is_empty());
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// The head search against a sorted model, with members that share long prefixes,
        /// share none, or are prefixes of one another (so that heads tie and the bytes decide).
        #[test]
        fn a_chunk_finds_members_as_a_sorted_list_does(
            ops in proptest::collection::vec(
                (any::<bool>(), proptest::collection::vec(
                    proptest::sample::select(vec![0u8, 1, 0xff]), 0..12)),
                1..200),
            prefix in proptest::collection::vec(any::<u8>(), 0..10),
        ) {
            let mut chunk = Chunk::default();
            let mut model = std::collections::BTreeSet::new();
            for (add, tail) in ops {
                // Most members carry the shared prefix; those with a 0xff first byte drop it.
                let member: Vec<u8> = if tail.first() == Some(&0xff) {
                    tail.clone()
                } else {
                    prefix.iter().chain(&tail).copied().collect()
                };
                if add {
                    prop_assert_eq!(chunk.insert(&member).expect("insert"), model.insert(member.clone()));
                } else {
                    prop_assert_eq!(chunk.remove(&member), model.remove(&member));
                }
                let sorted: Vec<&Vec<u8>> = model.iter().collect();
                for (i, m) in sorted.iter().enumerate() {
                    prop_assert_eq!(chunk.position(m), Ok(i));
                }
                let want = sorted.binary_search_by(|m| m.as_slice().cmp(&tail));
                prop_assert_eq!(chunk.position(&tail), want);
            }
            if chunk.count() >= 2 {
                let all: Vec<Vec<u8>> = model.iter().cloned().collect();
                let (fence, upper) = chunk.split().expect("split");
                let keep = all.len() / 2;
                prop_assert_eq!(&fence, &all[keep]);
                for (i, m) in all[..keep].iter().enumerate() {
                    prop_assert_eq!(chunk.position(m), Ok(i));
                }
                for (i, m) in all[keep..].iter().enumerate() {
                    prop_assert_eq!(upper.position(m), Ok(i));
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// A group's held chunks against a sorted map: the empty fence among others that share
        /// a long prefix, share none, or are prefixes of one another; each fence held with a
        /// mark of its own, found again by `get_mut` and `before_mut`.
        #[test]
        fn fences_find_chunks_as_a_sorted_map_does(
            ops in proptest::collection::vec(
                (0u8..3, proptest::collection::vec(
                    proptest::sample::select(vec![0u8, 1, 0xff]), 0..12)),
                1..200),
            prefix in proptest::collection::vec(any::<u8>(), 0..10),
        ) {
            let held = |mark: &[u8]| Held { upper: Some(mark.to_vec()), chunk: Chunk::default() };
            let mut fences = Fences::default();
            let mut model = std::collections::BTreeMap::new();
            for (op, tail) in ops {
                let fence: Vec<u8> = match tail.first() {
                    None => Vec::new(),
                    Some(&0xff) => tail.clone(),
                    Some(_) => prefix.iter().chain(&tail).copied().collect(),
                };
                match op {
                    0 => {
                        fences.insert(fence.clone(), held(&tail));
                        model.insert(fence.clone(), tail.clone());
                    }
                    1 => {
                        fences.insert_new(fence.clone(), held(&tail));
                        model.entry(fence.clone()).or_insert_with(|| tail.clone());
                    }
                    _ => {
                        let gone = fences.remove(&fence).and_then(|h| h.upper);
                        prop_assert_eq!(gone, model.remove(&fence));
                    }
                }
                prop_assert_eq!(fences.is_empty(), model.is_empty());
                for (f, mark) in &model {
                    let got = fences.get_mut(f).and_then(|h| h.upper.clone());
                    prop_assert_eq!(got.as_ref(), Some(mark));
                }
                for key in [fence.as_slice(), tail.as_slice(), prefix.as_slice()] {
                    for inclusive in [false, true] {
                        let want = model
                            .range::<[u8], _>((
                                Bound::Unbounded,
                                if inclusive { Bound::Included(key) } else { Bound::Excluded(key) },
                            ))
                            .next_back()
                            .map(|(f, mark)| (f.clone(), mark.clone()));
                        let got = fences
                            .before_mut(key, inclusive)
                            .map(|(f, h)| (f.clone(), h.upper.clone().unwrap_or_default()));
                        prop_assert_eq!(got, want);
                    }
                }
            }
        }
    }

    #[test]
    fn the_builder_writes_full_chunks_the_cache_can_change() {
        let dir = tempfile::tempdir().expect("dir");
        let db = Database::create(dir.path().join("p.redb")).expect("db");
        let txn = db.begin_write().expect("txn");
        {
            let mut table = txn.open_table(TABLE).expect("table");
            let mut builder = Builder::new();
            for g in 0..2u8 {
                for m in 0..200u16 {
                    builder
                        .push(&mut table, &group(g), &member(m))
                        .expect("push");
                }
            }
            builder.finish(&mut table).expect("finish");
            let want: Vec<Vec<u8>> = (0..200).map(member).collect();
            assert_eq!(check_group(&table, &group(0), MAX_MEMBERS), want);
            assert_eq!(check_group(&table, &group(1), MAX_MEMBERS), want);
            let mut cache = PostingCache::default();
            for m in (0..200).step_by(2) {
                cache
                    .remove(&mut table, &group(1), &member(m))
                    .expect("remove");
            }
            cache
                .insert(&table, &group(1), &member(1000))
                .expect("insert");
            cache.flush(&mut table).expect("flush");
            let mut want: Vec<Vec<u8>> = (1..200).step_by(2).map(member).collect();
            want.push(member(1000));
            assert_eq!(check_group(&table, &group(1), MAX_MEMBERS), want);
        }
        txn.commit().expect("commit");
    }
}
