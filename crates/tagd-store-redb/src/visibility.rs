//! What readers can see of the writer's open transaction.
//!
//! The writer applies batch after batch to one redb write transaction and commits it only when
//! a reader needs what it holds, or at a checkpoint ([`crate::writer`]): redb copies every
//! B-tree leaf a transaction first touches, so a commit per batch copied ~11 leaves for each
//! one-resource write, while in a long transaction later batches change the same leaves in
//! place. Durability does not depend on these commits: a batch is acknowledged once its record
//! is in the write-ahead log.
//!
//! A read must see every write acknowledged before it started. Each batch with effects bumps
//! `applied` (its log sequence number) before anything in it is acknowledged; a read that finds
//! `published < applied` asks the writer to commit and waits until `published` reaches the
//! `applied` it saw.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use tokio::sync::watch;

pub struct Visibility {
    /// Sequence number of the last batch applied to the writer's open transaction.
    applied: AtomicU64,
    /// Whether a reader has asked for a commit the writer has not started yet.
    wanted: AtomicBool,
    /// Sequence number of the last batch readers can see (`u64::MAX` once the writer has
    /// stopped: nothing more will be published, and readers must not wait).
    published: watch::Sender<u64>,
}

/// What a reader must do before it opens a read transaction.
pub enum Wait {
    /// Everything applied is visible.
    Ready,
    /// Wait for [`Visibility::until`]; `ask` says whether this reader must wake the writer
    /// (no request was pending).
    For { target: u64, ask: bool },
}

impl Visibility {
    pub fn new(seq: u64) -> Self {
        Self {
            applied: AtomicU64::new(seq),
            wanted: AtomicBool::new(false),
            published: watch::Sender::new(seq),
        }
    }

    /// Reader side: what this read has to wait for.
    pub fn check(&self) -> Wait {
        let target = self.applied.load(Ordering::SeqCst);
        if *self.published.borrow() >= target {
            return Wait::Ready;
        }
        // If a request is already pending, the writer clears the flag only when it starts the
        // commit that answers it, which is after `target` was applied: that commit covers it.
        let ask = !self.wanted.swap(true, Ordering::SeqCst);
        Wait::For { target, ask }
    }

    /// Reader side: resolves once batch `target` is visible (or the writer has stopped).
    pub async fn until(&self, target: u64) {
        let mut published = self.published.subscribe();
        // The sender lives as long as `self`, so this cannot fail while we hold `self`.
        drop(published.wait_for(|seen| *seen >= target).await);
    }

    /// Writer side: a batch up to `seq` is in the open transaction. Called before any of its
    /// writes is acknowledged.
    pub fn applied(&self, seq: u64) {
        self.applied.store(seq, Ordering::SeqCst);
    }

    /// Writer side: takes a pending request. Called before the commit that answers it.
    pub fn take_request(&self) -> bool {
        self.wanted.swap(false, Ordering::SeqCst)
    }

    /// Writer side: everything up to `seq` is committed.
    pub fn published(&self, seq: u64) {
        self.published.send_replace(seq);
    }

    /// (applied, published), for tests.
    #[cfg(test)]
    pub fn seen(&self) -> (u64, u64) {
        (
            self.applied.load(Ordering::SeqCst),
            *self.published.borrow(),
        )
    }

    /// Writer side: the writer has stopped; readers see what redb holds.
    pub fn stopped(&self) {
        self.published.send_replace(u64::MAX);
    }
}

#[cfg(test)]
mod tests {
    use super::{Visibility, Wait};

    #[test]
    fn a_read_waits_for_what_was_applied_and_one_request_wakes_the_writer() {
        let vis = Visibility::new(3);
        assert!(matches!(vis.check(), Wait::Ready));
        vis.applied(5);
        assert!(matches!(
            vis.check(),
            Wait::For {
                target: 5,
                ask: true
            }
        ));
        // A second reader finds the request pending.
        assert!(matches!(
            vis.check(),
            Wait::For {
                target: 5,
                ask: false
            }
        ));
        assert!(vis.take_request());
        assert!(!vis.take_request());
        vis.published(5);
        assert!(matches!(vis.check(), Wait::Ready));
    }

    #[tokio::test]
    async fn until_resolves_when_the_batch_is_published() {
        let vis = std::sync::Arc::new(Visibility::new(0));
        vis.applied(2);
        let waiter = {
            let vis = std::sync::Arc::clone(&vis);
            tokio::spawn(async move { vis.until(2).await })
        };
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        vis.published(1);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        vis.published(2);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("the reader was released")
            .expect("the task ran");
    }
}
