//! The write-ahead log that makes a batch durable before it is acknowledged.
//!
//! Every batch the writer applies is committed to redb *without* fsync (`Durability::None`),
//! then its effects — the new primary records, not the requests — are appended here as one
//! framed record and `fdatasync`ed. Only then are the waiters answered. A sequential append
//! plus one fdatasync costs a fraction of a durable redb commit (which writes every dirty
//! B-tree page), and one of them serves the whole batch.
//!
//! Periodically the writer makes redb itself durable (a checkpoint: an `Immediate` commit that
//! records the last sequence number it covers) and empties the log. On open, records past the
//! checkpoint are replayed; replay is idempotent (records hold final values, not deltas), so a
//! crash between checkpoint and emptying is harmless.
//!
//! The log file is recycled, as PostgreSQL recycles its WAL segments: emptying it only moves
//! the write position back to the start, and later records overwrite the old ones in place.
//! Overwriting blocks the file already has makes `fdatasync` flush data only; an append must
//! also commit the file's new size to the filesystem journal, which under write load made each
//! sync ~25–30% slower (bench/README.md). The file therefore keeps the size of its largest
//! stretch between checkpoints (bounded by the checkpoint policy's `wal_bytes`).
//!
//! What follows the last record written is old: records an earlier checkpoint covered, or part
//! of one. Sequence numbers only grow, so reading stops at the first frame that is torn,
//! corrupt, or not the successor of the one before it; the first frame may have any number
//! (after a checkpoint, the file can start with records that checkpoint covered).
//!
//! Frame: `len u32 | crc32 u32 | payload`; payload: `version u8 | seq u64 | count u32 |
//! effects`. A torn or corrupt tail (a crash during an append that was therefore never
//! acknowledged) ends the replay.

use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;
use std::path::Path;

const VERSION: u8 = 1;

/// One change to a primary table; indexes are derived from these on replay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Effect {
    /// `resources[key] = tags` (an encoded tag set).
    ResourcePut(Vec<u8>, Vec<u8>),
    ResourceDelete(Vec<u8>),
    AccountPut(String, Vec<u8>),
    KeyPut(String, Vec<u8>),
    RegisteredPut(Vec<u8>),
    RegisteredDelete(Vec<u8>),
    PresetKeyPut(Vec<u8>, Vec<u8>),
    PresetKeyDelete(Vec<u8>),
    PresetValuePut(Vec<u8>, Vec<u8>),
    PresetValueDelete(Vec<u8>),
    CataloguePut(Vec<u8>, Vec<u8>),
    CatalogueDelete(Vec<u8>),
    MetaPut(String, Vec<u8>),
}

/// One durable batch.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub effects: Vec<Effect>,
}

pub struct Wal {
    file: File,
    bytes: u64,
}

impl Wal {
    /// Opens (creating) the log and returns it with every intact record it holds: the run of
    /// frames from the start whose sequence numbers follow each other.
    pub fn open(path: &Path) -> io::Result<(Wal, Vec<Record>)> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let size = file.metadata()?.len();
        let mut records: Vec<Record> = Vec::new();
        let mut reader = BufReader::new(&file);
        let mut valid_bytes = 0u64;
        while let Some((record, len)) = read_frame(&mut reader, size - valid_bytes)? {
            if records
                .last()
                .is_some_and(|last| record.seq != last.seq + 1)
            {
                break;
            }
            records.push(record);
            valid_bytes += len;
        }
        // What follows is overwritten by the next appends; it is never read as a record.
        Ok((
            Wal {
                file,
                bytes: valid_bytes,
            },
            records,
        ))
    }

    /// Appends one record and waits until it is on disk.
    #[cfg(test)]
    pub fn append(&mut self, record: &Record) -> io::Result<()> {
        self.append_frames(&encode_frame(record))
    }

    /// Writes already framed records after the last one and waits until they are on disk.
    pub fn append_frames(&mut self, frames: &[u8]) -> io::Result<()> {
        self.file.write_all_at(frames, self.bytes)?;
        self.file.sync_data()?;
        self.bytes += frames.len() as u64;
        Ok(())
    }

    /// Bytes of intact records the log holds.
    pub fn len(&self) -> u64 {
        self.bytes
    }

    /// Empties the log (after a checkpoint made everything in it durable in redb): the next
    /// record is written at the start. Nothing is written now: until then the file holds only
    /// records the checkpoint covers, which a replay skips.
    pub fn reset(&mut self) {
        self.bytes = 0;
    }
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(bytes);
}

pub fn encode_frame(record: &Record) -> Vec<u8> {
    let mut payload = Vec::with_capacity(64 + record.effects.len() * 96);
    payload.push(VERSION);
    payload.extend_from_slice(&record.seq.to_be_bytes());
    let count = u32::try_from(record.effects.len()).unwrap_or(u32::MAX);
    payload.extend_from_slice(&count.to_be_bytes());
    for effect in &record.effects {
        match effect {
            Effect::ResourcePut(k, v) => {
                payload.push(1);
                put_bytes(&mut payload, k);
                put_bytes(&mut payload, v);
            }
            Effect::ResourceDelete(k) => {
                payload.push(2);
                put_bytes(&mut payload, k);
            }
            Effect::AccountPut(k, v) => {
                payload.push(3);
                put_bytes(&mut payload, k.as_bytes());
                put_bytes(&mut payload, v);
            }
            Effect::KeyPut(k, v) => {
                payload.push(4);
                put_bytes(&mut payload, k.as_bytes());
                put_bytes(&mut payload, v);
            }
            Effect::RegisteredPut(k) => {
                payload.push(5);
                put_bytes(&mut payload, k);
            }
            Effect::RegisteredDelete(k) => {
                payload.push(6);
                put_bytes(&mut payload, k);
            }
            Effect::PresetKeyPut(k, v) => {
                payload.push(7);
                put_bytes(&mut payload, k);
                put_bytes(&mut payload, v);
            }
            Effect::PresetKeyDelete(k) => {
                payload.push(8);
                put_bytes(&mut payload, k);
            }
            Effect::PresetValuePut(k, v) => {
                payload.push(9);
                put_bytes(&mut payload, k);
                put_bytes(&mut payload, v);
            }
            Effect::PresetValueDelete(k) => {
                payload.push(10);
                put_bytes(&mut payload, k);
            }
            Effect::CataloguePut(k, v) => {
                payload.push(11);
                put_bytes(&mut payload, k);
                put_bytes(&mut payload, v);
            }
            Effect::CatalogueDelete(k) => {
                payload.push(12);
                put_bytes(&mut payload, k);
            }
            Effect::MetaPut(k, v) => {
                payload.push(13);
                put_bytes(&mut payload, k.as_bytes());
                put_bytes(&mut payload, v);
            }
        }
    }
    let mut frame = Vec::with_capacity(payload.len() + 8);
    let len = u32::try_from(payload.len()).unwrap_or(u32::MAX);
    frame.extend_from_slice(&len.to_be_bytes());
    frame.extend_from_slice(&crc32fast::hash(&payload).to_be_bytes());
    frame.extend_from_slice(&payload);
    frame
}

/// Reads one frame from the next `left` bytes of the file; `None` at the end or at a torn /
/// corrupt tail.
fn read_frame(reader: &mut impl Read, left: u64) -> io::Result<Option<(Record, u64)>> {
    let mut header = [0u8; 8];
    if left < 8 || !read_full(reader, &mut header)? {
        return Ok(None);
    }
    let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]);
    // Old bytes can look like any length: never allocate past the end of the file.
    if u64::from(len) > left - 8 {
        return Ok(None);
    }
    let len = len as usize;
    let crc = u32::from_be_bytes([header[4], header[5], header[6], header[7]]);
    let mut payload = vec![0u8; len];
    if !read_full(reader, &mut payload)? || crc32fast::hash(&payload) != crc {
        return Ok(None);
    }
    Ok(decode_payload(&payload).map(|record| (record, 8 + len as u64)))
}

/// Fills `buf`; `false` if the stream ended first.
fn read_full(reader: &mut impl Read, buf: &mut [u8]) -> io::Result<bool> {
    let mut filled = 0;
    while filled < buf.len() {
        match reader.read(&mut buf[filled..]) {
            Ok(0) => return Ok(false),
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(true)
}

fn decode_payload(mut p: &[u8]) -> Option<Record> {
    let take = |p: &mut &[u8], n: usize| -> Option<Vec<u8>> {
        let (head, rest) = p.split_at_checked(n)?;
        *p = rest;
        Some(head.to_vec())
    };
    let bytes = |p: &mut &[u8]| -> Option<Vec<u8>> {
        let len = u32::from_be_bytes(take(p, 4)?.try_into().ok()?) as usize;
        take(p, len)
    };
    let text = |p: &mut &[u8]| -> Option<String> { String::from_utf8(bytes(p)?).ok() };
    if take(&mut p, 1)? != [VERSION] {
        return None;
    }
    let seq = u64::from_be_bytes(take(&mut p, 8)?.try_into().ok()?);
    let count = u32::from_be_bytes(take(&mut p, 4)?.try_into().ok()?);
    let mut effects = Vec::with_capacity(count.min(1 << 16) as usize);
    for _ in 0..count {
        let kind = take(&mut p, 1)?[0];
        effects.push(match kind {
            1 => Effect::ResourcePut(bytes(&mut p)?, bytes(&mut p)?),
            2 => Effect::ResourceDelete(bytes(&mut p)?),
            3 => Effect::AccountPut(text(&mut p)?, bytes(&mut p)?),
            4 => Effect::KeyPut(text(&mut p)?, bytes(&mut p)?),
            5 => Effect::RegisteredPut(bytes(&mut p)?),
            6 => Effect::RegisteredDelete(bytes(&mut p)?),
            7 => Effect::PresetKeyPut(bytes(&mut p)?, bytes(&mut p)?),
            8 => Effect::PresetKeyDelete(bytes(&mut p)?),
            9 => Effect::PresetValuePut(bytes(&mut p)?, bytes(&mut p)?),
            10 => Effect::PresetValueDelete(bytes(&mut p)?),
            11 => Effect::CataloguePut(bytes(&mut p)?, bytes(&mut p)?),
            12 => Effect::CatalogueDelete(bytes(&mut p)?),
            13 => Effect::MetaPut(text(&mut p)?, bytes(&mut p)?),
            _ => return None,
        });
    }
    p.is_empty().then_some(Record { seq, effects })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64) -> Record {
        Record {
            seq,
            effects: vec![
                Effect::ResourcePut(vec![1, 2], vec![3]),
                Effect::ResourceDelete(vec![4]),
                Effect::AccountPut("1".into(), vec![5]),
                Effect::KeyPut("k".into(), vec![6]),
                Effect::RegisteredPut(vec![7]),
                Effect::RegisteredDelete(vec![8]),
                Effect::PresetKeyPut(vec![9], vec![10]),
                Effect::PresetKeyDelete(vec![11]),
                Effect::PresetValuePut(vec![12], vec![13]),
                Effect::PresetValueDelete(vec![14]),
                Effect::CataloguePut(vec![15], vec![16]),
                Effect::CatalogueDelete(vec![17]),
                Effect::MetaPut("m".into(), vec![18]),
            ],
        }
    }

    /// Writes `bytes` at `offset` of the file, as a crash in the middle of a write leaves it.
    fn scribble(path: &Path, offset: u64, bytes: &[u8]) {
        let f = OpenOptions::new().write(true).open(path).expect("open");
        f.write_all_at(bytes, offset).expect("write");
    }

    fn size(path: &Path) -> u64 {
        std::fs::metadata(path).expect("meta").len()
    }

    #[test]
    fn records_survive_reopen_and_a_torn_tail_is_overwritten() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.wal");
        {
            let (mut wal, old) = Wal::open(&path).expect("open");
            assert!(old.is_empty());
            wal.append(&record(1)).expect("append");
            wal.append(&record(2)).expect("append");
        }
        let intact = size(&path);
        // A crash in the middle of the third append.
        let third = encode_frame(&record(3));
        scribble(&path, intact, &third[..third.len() / 2]);
        let (mut wal, records) = Wal::open(&path).expect("reopen");
        assert_eq!(records, vec![record(1), record(2)]);
        assert_eq!(
            wal.len(),
            intact,
            "the next record goes where the torn one began"
        );
        wal.append(&record(3)).expect("append after the torn tail");
        drop(wal);
        let (wal, records) = Wal::open(&path).expect("reopen");
        assert_eq!(records, vec![record(1), record(2), record(3)]);
        assert_eq!(wal.len(), size(&path));
    }

    /// After a checkpoint the file is written again from the start: what is left of the older
    /// records behind the newer ones is never replayed, whatever it looks like.
    #[test]
    fn a_reset_log_is_overwritten_and_its_old_records_stay_behind() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.wal");
        let (mut wal, _) = Wal::open(&path).expect("open");
        for seq in 1..=6 {
            wal.append(&record(seq)).expect("append");
        }
        let full = size(&path);
        wal.reset();
        assert_eq!(wal.len(), 0);
        drop(wal);
        // A crash right after the reset: the file still holds records the checkpoint covered
        // (the writer skips them by their sequence numbers).
        let (mut wal, records) = Wal::open(&path).expect("reopen");
        assert_eq!(records.len(), 6);
        wal.reset();
        wal.append(&record(7)).expect("append");
        wal.append(&record(8)).expect("append");
        drop(wal);
        assert_eq!(size(&path), full, "overwritten in place, not grown");
        // Frames all have one size here, so frames 3..6 of the old run still sit on frame
        // boundaries right after the new ones: intact, but not successors of 8.
        let (mut wal, records) = Wal::open(&path).expect("reopen");
        assert_eq!(records, vec![record(7), record(8)]);
        // Appends go on after the last new record.
        wal.append(&record(9)).expect("append");
        drop(wal);
        let (_, records) = Wal::open(&path).expect("reopen");
        assert_eq!(records, vec![record(7), record(8), record(9)]);
    }

    #[test]
    fn a_length_past_the_end_of_the_file_ends_the_replay() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.wal");
        {
            let (mut wal, _) = Wal::open(&path).expect("open");
            wal.append(&record(1)).expect("append");
        }
        let end = size(&path);
        // Old bytes whose "length" would be 4 GiB: nothing that large is read (or allocated).
        scribble(&path, end, &[0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0, 1, 2, 3]);
        let (wal, records) = Wal::open(&path).expect("reopen");
        assert_eq!(records, vec![record(1)]);
        assert_eq!(wal.len(), end);
    }

    #[test]
    fn a_flipped_bit_ends_the_replay() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("t.wal");
        {
            let (mut wal, _) = Wal::open(&path).expect("open");
            wal.append(&record(1)).expect("append");
            wal.append(&record(2)).expect("append");
        }
        let mut bytes = std::fs::read(&path).expect("read");
        let last = bytes.len() - 3;
        bytes[last] ^= 0x40;
        std::fs::write(&path, &bytes).expect("write");
        assert_eq!(Wal::open(&path).expect("reopen").1, vec![record(1)]);
    }
}
