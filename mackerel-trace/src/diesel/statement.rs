//! The SQL of a diesel query event, without its bound values.
//!
//! The query diesel hands to the hook is opaque: its `Display` writes the SQL, and for a query
//! built with diesel's DSL ends with ` -- binds: [..]`, the bound values themselves. Writing it
//! serializes the query again, so it is written once per event, and only when needed.

use std::fmt::{Display, Write as _};
use std::hash::{Hash as _, Hasher as _};

/// What diesel appends before the bound values.
const BINDS: &str = " -- binds: ";

/// The query's text as diesel writes it, or `None` when diesel cannot write it (a query that
/// fails to build fails to run too, and the caller sees that error).
pub(super) fn write(query: &(impl Display + ?Sized)) -> Option<String> {
    let mut text = String::new();
    // `write!` into a String fails only when the query's own Display does; `format!` would
    // panic then.
    write!(text, "{query}").ok()?;
    Some(text)
}

/// The statement without diesel's ` -- binds: [..]`, cut at the marker's *first* appearance:
/// the values come after it, so no value is kept even when one contains the marker, and
/// SQLite's multi-row inserts, written as one statement with its binds per line, keep only
/// their first statement.
pub(super) fn without_binds(text: &str) -> &str {
    text.find(BINDS).map_or(text, |at| &text[..at]).trim_end()
}

/// What a `FinishQuery` is matched on: the statement without binds, hashed (the start event
/// has the binds, the finish event of diesel-async has none).
pub(super) fn key(statement: &str) -> u64 {
    let mut hasher = std::hash::DefaultHasher::new();
    statement.hash(&mut hasher);
    hasher.finish()
}

#[cfg(test)]
mod tests {
    use std::fmt;

    use super::*;

    /// A query whose `Display` fails, as diesel's does when the query cannot be built.
    struct Unwritable;

    impl Display for Unwritable {
        fn fmt(&self, _: &mut fmt::Formatter<'_>) -> fmt::Result {
            Err(fmt::Error)
        }
    }

    #[test]
    fn binds_are_cut_and_the_statement_kept() {
        assert_eq!(
            without_binds(
                r#"SELECT "users"."id" FROM "users" WHERE "users"."name" = $1 -- binds: ["alice"]"#
            ),
            r#"SELECT "users"."id" FROM "users" WHERE "users"."name" = $1"#
        );
        assert_eq!(without_binds("BEGIN"), "BEGIN");
    }

    #[test]
    fn a_bound_value_containing_the_marker_is_not_kept() {
        let text = r#"SELECT 1 WHERE a = $1 -- binds: ["x -- binds: secret"]"#;
        assert_eq!(without_binds(text), "SELECT 1 WHERE a = $1");
    }

    #[test]
    fn sqlite_batch_inserts_keep_their_first_statement_and_no_value() {
        let text = "INSERT INTO `t` (`a`) VALUES (?) -- binds: [\"one\"]\n\
                    INSERT INTO `t` (`a`) VALUES (?) -- binds: [\"two\"]\n";
        assert_eq!(without_binds(text), "INSERT INTO `t` (`a`) VALUES (?)");
    }

    #[test]
    fn start_and_finish_texts_of_one_query_have_the_same_key() {
        let start = without_binds("SELECT * FROM t WHERE id = $1 -- binds: [7]");
        let finish = without_binds("SELECT * FROM t WHERE id = $1");
        assert_eq!(key(start), key(finish));
        assert_ne!(key(start), key("SELECT * FROM u WHERE id = $1"));
    }

    #[test]
    fn a_query_diesel_cannot_write_gives_nothing_and_does_not_panic() {
        assert_eq!(write(&Unwritable), None);
        assert_eq!(write("SELECT 1").as_deref(), Some("SELECT 1"));
    }
}
