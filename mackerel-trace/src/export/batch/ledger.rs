//! [`Ledger`]: what the export thread took on and what it settled, so that a shutdown that
//! gives up can count, exactly, what it leaves behind.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Every item the export thread takes on is either settled (counted as exported or as failed)
/// or still waiting: in the queue, in the worker's batch, in a request in flight. Closing the
/// ledger at shutdown counts the waiting ones and stops the worker from counting anything
/// after, so that no item is counted twice or not at all, whenever shutdown gives up.
///
/// Exact once application threads no longer hand over items, as at shutdown: the SDK stops
/// calling the processor when its provider shuts down, and the fast path stops taking spans.
#[derive(Debug, Default)]
pub(super) struct Ledger {
    /// Items application threads put in the queue: on their side, so no lock.
    queued: AtomicU64,
    books: Mutex<Books>,
}

#[derive(Debug, Default)]
struct Books {
    /// Items the export thread took from elsewhere (the fast path's buffers).
    collected: u64,
    /// Items counted as exported or as failed.
    settled: u64,
    /// What was left is counted: nothing more is.
    closed: bool,
}

impl Ledger {
    /// An item went into the queue. On application threads.
    #[inline]
    pub(super) fn queued(&self) {
        self.queued.fetch_add(1, Ordering::Relaxed);
    }

    /// Runs `collect`, which takes items from elsewhere and returns how many, unless the
    /// ledger is closed: their count and the taking are one step for [`close`](Self::close).
    pub(super) fn collect(&self, collect: impl FnOnce() -> usize) -> usize {
        let mut books = self.books();
        if books.closed {
            return 0;
        }
        let collected = collect();
        books.collected += collected as u64;
        collected
    }

    /// Counts `items` through `count` unless the ledger is closed (shutdown counted them
    /// already). Returns whether it is still open: the worker stops once it is not.
    pub(super) fn settle(&self, items: usize, count: impl FnOnce()) -> bool {
        let mut books = self.books();
        if books.closed {
            return false;
        }
        count();
        books.settled += items as u64;
        true
    }

    pub(super) fn is_closed(&self) -> bool {
        self.books().closed
    }

    /// Closes the ledger: returns the items taken on and never settled, plus those `discard`
    /// drops from elsewhere (and counts); nothing is settled or collected after. `0` when
    /// already closed.
    pub(super) fn close(&self, discard: impl FnOnce() -> usize) -> u64 {
        let mut books = self.books();
        if books.closed {
            return 0;
        }
        books.closed = true;
        let taken = self.queued.load(Ordering::Relaxed) + books.collected;
        taken.saturating_sub(books.settled) + discard() as u64
    }

    fn books(&self) -> MutexGuard<'_, Books> {
        self.books.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closing_counts_what_was_taken_on_and_not_settled_and_freezes_the_books() {
        let ledger = Ledger::default();
        (0..5).for_each(|_| ledger.queued());
        assert_eq!(ledger.collect(|| 7), 7);
        let mut counted = 0;
        assert!(ledger.settle(4, || counted += 4));
        assert_eq!(ledger.close(|| 3), 5 + 7 - 4 + 3);
        // The request in flight when shutdown gave up comes back: it was counted already.
        assert!(!ledger.settle(2, || counted += 2));
        assert_eq!(counted, 4);
        assert_eq!(
            ledger.collect(|| unreachable!("nothing is taken once closed")),
            0
        );
        assert!(ledger.is_closed());
        assert_eq!(ledger.close(|| 1), 0);
    }
}
