//! The queries of one connection that have started and not yet finished, and which of them a
//! `FinishQuery` ends.
//!
//! Sync diesel has one query in flight at a time (PostgreSQL's type look-ups nest one inside
//! another). diesel-async pipelines queries through `&AsyncPgConnection`: their `StartQuery`
//! and `FinishQuery` events interleave, `StartQuery` carries the SQL with its binds and
//! `FinishQuery` the plain SQL, and a query future that is dropped never sends `FinishQuery`.
//! So a `FinishQuery` ends a pending query with the same statement, preferring one started
//! under the span that is current now (the task that finishes a query is the one that polls
//! it); queries that never finish are handed back to be ended as unfinished, all of them at a
//! point where none can still be running, and the oldest whenever too many pile up.
//!
//! Among queries with the same statement and caller, the *newest* is ended. The events cannot
//! tell two pipelined queries of one statement (`try_join!(find(1), find(2))`) from a query
//! whose future was dropped followed by the same query again (a retry after a timeout): both
//! are "start, start, finish". Newest first is right for the retry, and for the pair only
//! swaps the ends of two spans that carry the same text under the same parent; oldest first
//! would give the dropped query the retry's end, leave the retry to be ended as cancelled, and
//! shift every later run of that statement from that span by one.

use std::collections::VecDeque;

use opentelemetry::trace::SpanId;

/// At most this many unfinished queries are kept per connection; past it the oldest is given
/// up on. Pipelining bursts stay far below it; dropped futures cannot grow it without bound.
pub(super) const CAPACITY: usize = 256;

/// Queries started and not yet finished, oldest first. `S` is what ends one (a span's
/// context); the tests use plain labels.
#[derive(Debug)]
pub(super) struct Pending<S> {
    queries: VecDeque<PendingQuery<S>>,
}

#[derive(Debug)]
struct PendingQuery<S> {
    /// Hash of the statement without its binds: what `FinishQuery` is matched on.
    statement: u64,
    /// The span that was current when the query started.
    caller: SpanId,
    span: S,
}

impl<S> Default for Pending<S> {
    fn default() -> Self {
        Pending {
            queries: VecDeque::new(),
        }
    }
}

impl<S> Pending<S> {
    /// A query has started. Returns the oldest unfinished query when there are now too many:
    /// it is given up on.
    pub(super) fn start(&mut self, statement: u64, caller: SpanId, span: S) -> Option<S> {
        let evicted = if self.queries.len() >= CAPACITY {
            self.queries.pop_front().map(|query| query.span)
        } else {
            None
        };
        self.queries.push_back(PendingQuery {
            statement,
            caller,
            span,
        });
        evicted
    }

    /// A query has finished: the pending query it ends, if any. With one query pending it is
    /// that one, and nothing is asked; otherwise `statement` (the finished statement's hash,
    /// `None` when it cannot be told) picks the newest query with that statement, started
    /// under `caller` if one was.
    pub(super) fn finish(
        &mut self,
        statement: impl FnOnce() -> Option<u64>,
        caller: impl FnOnce() -> SpanId,
    ) -> Option<S> {
        if self.queries.len() <= 1 {
            return self.queries.pop_front().map(|query| query.span);
        }
        let statement = statement()?;
        let caller = caller();
        let same = |query: &PendingQuery<S>| query.statement == statement;
        let position = self
            .queries
            .iter()
            .rposition(|query| same(query) && query.caller == caller)
            .or_else(|| self.queries.iter().rposition(same))?;
        self.queries.remove(position).map(|query| query.span)
    }

    /// Every pending query, oldest first, now known never to finish.
    pub(super) fn unfinished(&mut self) -> impl Iterator<Item = S> + '_ {
        self.queries.drain(..).map(|query| query.span)
    }

    pub(super) fn is_empty(&self) -> bool {
        self.queries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SELECT: u64 = 1;
    const INSERT: u64 = 2;
    const UPDATE: u64 = 3;

    fn caller(n: u64) -> SpanId {
        SpanId::from_bytes(n.to_be_bytes())
    }

    /// Finishes the query with `statement`, called from `by`.
    fn finish(
        pending: &mut Pending<&'static str>,
        statement: u64,
        by: u64,
    ) -> Option<&'static str> {
        pending.finish(|| Some(statement), || caller(by))
    }

    #[test]
    fn one_pending_query_is_ended_without_asking_which_statement_finished() {
        let mut pending = Pending::default();
        pending.start(SELECT, caller(1), "select");
        let finished = pending.finish(|| unreachable!("not formatted"), || unreachable!());
        assert_eq!(finished, Some("select"));
        assert!(pending.is_empty());
        assert_eq!(finish(&mut pending, SELECT, 1), None);
    }

    #[test]
    fn interleaved_pipelined_queries_each_end_their_own_span() {
        let mut pending = Pending::default();
        pending.start(SELECT, caller(1), "select");
        pending.start(INSERT, caller(1), "insert");
        pending.start(UPDATE, caller(1), "update");
        assert_eq!(finish(&mut pending, INSERT, 1), Some("insert"));
        assert_eq!(finish(&mut pending, UPDATE, 1), Some("update"));
        assert_eq!(finish(&mut pending, SELECT, 1), Some("select"));
        assert!(pending.is_empty());
    }

    #[test]
    fn the_same_statement_in_flight_twice_ends_both_newest_first() {
        let mut pending = Pending::default();
        pending.start(SELECT, caller(1), "first");
        pending.start(SELECT, caller(1), "second");
        pending.start(INSERT, caller(1), "insert");
        assert_eq!(finish(&mut pending, SELECT, 1), Some("second"));
        assert_eq!(finish(&mut pending, INSERT, 1), Some("insert"));
        assert_eq!(finish(&mut pending, SELECT, 1), Some("first"));
        assert!(pending.is_empty());
    }

    #[test]
    fn a_dropped_query_does_not_take_the_end_of_the_same_query_run_again() {
        let mut pending = Pending::default();
        pending.start(SELECT, caller(1), "dropped");
        pending.start(SELECT, caller(1), "retry");
        assert_eq!(finish(&mut pending, SELECT, 1), Some("retry"));
        pending.start(SELECT, caller(1), "later");
        assert_eq!(finish(&mut pending, SELECT, 1), Some("later"));
        assert_eq!(pending.unfinished().collect::<Vec<_>>(), ["dropped"]);
    }

    #[test]
    fn the_same_statement_from_two_callers_ends_the_one_of_the_finishing_caller() {
        // Two callers share a pipelined connection; the older caller's query finishes last.
        let mut pending = Pending::default();
        pending.start(SELECT, caller(1), "first caller's");
        pending.start(SELECT, caller(2), "second caller's");
        assert_eq!(finish(&mut pending, SELECT, 1), Some("first caller's"));
        assert_eq!(
            pending.unfinished().collect::<Vec<_>>(),
            ["second caller's"]
        );
    }

    #[test]
    fn a_caller_that_is_not_the_starter_still_finishes_by_statement() {
        // A query future spawned onto another task finishes under no span of its own.
        let mut pending = Pending::default();
        pending.start(SELECT, caller(1), "select");
        pending.start(INSERT, caller(1), "insert");
        pending.start(SELECT, caller(2), "other caller's select");
        assert_eq!(finish(&mut pending, INSERT, 9), Some("insert"));
        assert_eq!(
            finish(&mut pending, SELECT, 9),
            Some("other caller's select")
        );
    }

    #[test]
    fn a_dropped_query_never_takes_the_end_of_another_statement() {
        let mut pending = Pending::default();
        pending.start(SELECT, caller(1), "dropped");
        pending.start(INSERT, caller(1), "insert");
        assert_eq!(finish(&mut pending, INSERT, 1), Some("insert"));
        pending.start(UPDATE, caller(1), "update");
        assert_eq!(finish(&mut pending, UPDATE, 1), Some("update"));
        assert_eq!(pending.unfinished().collect::<Vec<_>>(), ["dropped"]);
        assert!(pending.is_empty());
    }

    #[test]
    fn a_finish_matching_nothing_while_several_are_pending_ends_nothing() {
        let mut pending = Pending::default();
        pending.start(SELECT, caller(1), "select");
        pending.start(INSERT, caller(1), "insert");
        assert_eq!(finish(&mut pending, UPDATE, 1), None);
        assert_eq!(pending.finish(|| None, || caller(1)), None);
        assert_eq!(pending.unfinished().count(), 2);
    }

    #[test]
    fn unfinished_queries_are_bounded_and_the_oldest_is_given_up_first() {
        let mut pending = Pending::default();
        for n in 0..CAPACITY {
            assert_eq!(pending.start(SELECT, caller(1), n), None);
        }
        assert_eq!(pending.start(INSERT, caller(1), CAPACITY), Some(0));
        assert_eq!(pending.start(INSERT, caller(1), CAPACITY + 1), Some(1));
        assert_eq!(pending.unfinished().count(), CAPACITY);
    }
}
