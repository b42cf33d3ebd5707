//! A thread that has the kernel write redb's file back between checkpoints.
//!
//! The writer's commits between checkpoints skip fsync, so the pages they write stay dirty in
//! the page cache until the checkpoint's fsync writes them all at once. After a crash they are
//! still dirty, and the first fsync of the next start (redb's own, while opening) must write
//! them all before tagd can be ready: 0.4–0.85 s at 1M resources killed under W1
//! (`bench/README.md`). Syncing the file every `interval` keeps that pile small. It decides
//! nothing about durability (redb's durable commits do), and it runs on a thread of its own so
//! that its disk wait holds neither the writer nor the syncer.

use std::fs::File;
use std::path::Path;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::time::Duration;

/// Keeps the thread alive; dropping it stops the thread at its next wake-up.
pub struct Writeback {
    _stop: Sender<()>,
}

impl Writeback {
    /// Starts syncing `path` every `interval`; `None` when `interval` is zero (off).
    pub fn start(path: &Path, interval: Duration) -> std::io::Result<Option<Writeback>> {
        if interval.is_zero() {
            return Ok(None);
        }
        let file = File::open(path)?;
        let (stop, stopped) = mpsc::channel::<()>();
        std::thread::Builder::new()
            // Linux keeps 15 bytes of a thread's name: "tagd-store-writeback" read back as
            // the writer's "tagd-store-writ", and per-thread CPU figures merged the two.
            .name("tagd-writeback".into())
            .spawn(move || {
                while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(interval) {
                    if let Err(err) = file.sync_data() {
                        // Only a head start lost: the checkpoint syncs (and reports) for itself.
                        tracing::warn!(error = %err, "background write-back of the database failed");
                    }
                }
            })?;
        Ok(Some(Writeback { _stop: stop }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn off_at_zero_and_stops_when_dropped() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("f");
        std::fs::write(&path, b"x").expect("file");
        assert!(
            Writeback::start(&path, Duration::ZERO)
                .expect("start")
                .is_none()
        );
        let running = Writeback::start(&path, Duration::from_millis(1))
            .expect("start")
            .expect("on");
        std::thread::sleep(Duration::from_millis(5));
        drop(running);
        assert!(Writeback::start(&dir.path().join("missing"), Duration::from_millis(1)).is_err());
    }
}
