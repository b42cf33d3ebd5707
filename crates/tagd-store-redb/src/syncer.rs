//! The syncer thread: owns the write-ahead log. The writer hands it each applied batch's record
//! and waiters; the syncer appends every record that has queued up, makes them durable with one
//! `fdatasync`, and only then answers their waiters, in order. Meanwhile the writer already
//! applies the next batch, so the disk wait and the B-tree work overlap.
//!
//! Ordering: jobs are answered strictly in the order the writer sent them, so no request is
//! acknowledged before every batch it could have observed is durable (a batch that changed
//! nothing also waits its turn). A checkpoint's `Reset` travels the same queue, after the
//! records it covers.

use std::sync::mpsc::{Receiver, TryRecvError};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::wal::{Record, Wal, encode_frame};
use crate::writer::Pending;

/// Most jobs one fsync covers.
const MAX_GROUP: usize = 256;

pub enum SyncJob {
    /// Make `record` (if the batch changed anything) durable, then answer `pending`.
    Batch {
        record: Option<Arc<Record>>,
        pending: Vec<Pending>,
        outcome: Result<(), String>,
    },
    /// redb is durable up to the last record sent before this: empty the log.
    Reset,
}

/// The first failure of the log, shared with the writer (which then refuses every write).
pub type Failure = Arc<Mutex<Option<String>>>;

pub fn failure_of(failure: &Failure) -> Option<String> {
    failure.lock().map_or_else(
        |_| Some("the store failure lock is poisoned".into()),
        |f| f.clone(),
    )
}

fn set_failure(failure: &Failure, err: String) {
    tracing::error!(error = %err, "write-ahead log failed: the store stops taking writes");
    if let Ok(mut slot) = failure.lock()
        && slot.is_none()
    {
        *slot = Some(err);
    }
}

pub struct Syncer {
    pub wal: Wal,
    pub failure: Failure,
}

impl Syncer {
    /// Runs until the writer drops its end of the queue.
    pub fn run(mut self, jobs: &Receiver<SyncJob>) {
        while let Ok(first) = jobs.recv() {
            let mut group = vec![first];
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
                }
            }
            let mut frames = Vec::new();
            let mut waiting = Vec::new();
            for job in group {
                match job {
                    SyncJob::Batch {
                        record,
                        pending,
                        outcome,
                    } => {
                        if let (Some(record), Ok(())) = (&record, &outcome) {
                            frames.extend_from_slice(&encode_frame(record));
                        }
                        waiting.push((pending, outcome));
                    }
                    SyncJob::Reset => {
                        self.flush(&mut frames, &mut waiting);
                        self.wal.reset();
                    }
                }
            }
            self.flush(&mut frames, &mut waiting);
        }
    }

    /// Appends and syncs what is buffered, then answers the waiters in order.
    fn flush(
        &mut self,
        frames: &mut Vec<u8>,
        waiting: &mut Vec<(Vec<Pending>, Result<(), String>)>,
    ) {
        if !frames.is_empty() && failure_of(&self.failure).is_none() {
            let started = Instant::now();
            if let Err(err) = self.wal.append_frames(frames) {
                set_failure(&self.failure, format!("log append failed: {err}"));
            }
            metrics::histogram!("tagd_store_wal_sync_seconds")
                .record(started.elapsed().as_secs_f64());
        }
        frames.clear();
        let failed = failure_of(&self.failure);
        for (pending, outcome) in waiting.drain(..) {
            // Once the log has failed, nothing more can be promised durable.
            let outcome = match (&failed, outcome) {
                (Some(err), Ok(())) => Err(err.clone()),
                (_, outcome) => outcome,
            };
            for p in pending {
                p.answer(&outcome);
            }
        }
    }
}
