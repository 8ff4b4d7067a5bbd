//! SQL text as the DB view groups it: literal values replaced by `?` (so `WHERE id = 5` and
//! `WHERE id = 6` are one row), and the statement's operation and table for the span name.

/// `sql` with every literal value written into it replaced by `?`: quoted strings (with their
/// `E`/`X`/`B`/`N` prefixes), numbers, PostgreSQL dollar-quoted strings, and, for MySQL and
/// MariaDB, double-quoted strings. Placeholders (`$1`, `?1`, `:name`), identifiers (`"t1"`,
/// `` `t1` ``, `t1.c2`), keywords (`NULL`, `TRUE`) and comments are kept as they are.
pub(crate) fn sanitize_sql(sql: &str, system: Option<&str>) -> String {
    let double_quotes_are_strings = matches!(system, Some("mysql" | "mariadb"));
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut i = 0;
    // Where the text copied verbatim starts: runs of plain text are pushed in one go.
    let mut copied = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let replaced_until = match b {
            b'\'' => Some(skip_quoted(bytes, i, b'\'')),
            b'"' if double_quotes_are_strings => Some(skip_quoted(bytes, i, b'"')),
            b'"' | b'`' => {
                i = skip_quoted(bytes, i, b);
                continue;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => {
                i = bytes[i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |p| i + p);
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = find(bytes, i + 2, b"*/").map_or(bytes.len(), |p| p + 2);
                continue;
            }
            b'$' => dollar_quoted(bytes, i),
            b'0'..=b'9' if !follows_word(bytes, i) => Some(skip_number(bytes, i)),
            b'.' if bytes.get(i + 1).is_some_and(u8::is_ascii_digit) && !follows_word(bytes, i) => {
                Some(skip_number(bytes, i))
            }
            _ => None,
        };
        match replaced_until {
            Some(end) => {
                let mut start = i;
                // A string's one-letter prefix (E'..', X'..', B'..', N'..') is part of it.
                if b == b'\''
                    && start > 0
                    && matches!(
                        bytes[start - 1].to_ascii_uppercase(),
                        b'E' | b'X' | b'B' | b'N'
                    )
                    && !follows_word(bytes, start - 1)
                {
                    start -= 1;
                }
                out.push_str(&sql[copied..start.max(copied)]);
                out.push('?');
                i = end;
                copied = end;
            }
            None => i += 1,
        }
    }
    out.push_str(&sql[copied..]);
    out
}

/// Whether the byte before `i` continues a word (an identifier, a placeholder such as `$1` or
/// `?2` or `:3`), so that a digit at `i` is part of it rather than a number.
fn follows_word(bytes: &[u8], i: usize) -> bool {
    i > 0
        && (matches!(bytes[i - 1], b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'_' | b'$' | b'?' | b':' | b'@' | b'#')
            || bytes[i - 1] >= 0x80)
}

/// The end of the quoted text starting at `start` (doubled quotes and backslashes escape).
fn skip_quoted(bytes: &[u8], start: usize, quote: u8) -> usize {
    let mut i = start + 1;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' if quote != b'`' => i += 2,
            c if c == quote => {
                if bytes.get(i + 1) == Some(&quote) {
                    i += 2;
                } else {
                    return i + 1;
                }
            }
            _ => i += 1,
        }
    }
    bytes.len()
}

/// The end of a number (`12`, `1.5`, `.5`, `1e-3`, `0x1F`) starting at `start`.
fn skip_number(bytes: &[u8], start: usize) -> usize {
    let mut i = start;
    if bytes[i] == b'0' && matches!(bytes.get(i + 1), Some(b'x' | b'X')) {
        i += 2;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
        return i;
    }
    while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.') {
        i += 1;
    }
    if i < bytes.len() && matches!(bytes[i], b'e' | b'E') {
        let mut j = i + 1;
        if matches!(bytes.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        if bytes.get(j).is_some_and(u8::is_ascii_digit) {
            i = j;
            while i < bytes.len() && bytes[i].is_ascii_digit() {
                i += 1;
            }
        }
    }
    i
}

/// A PostgreSQL dollar-quoted string (`$$…$$`, `$tag$…$tag$`) at `start`: its end. `$1` is a
/// placeholder and not one.
fn dollar_quoted(bytes: &[u8], start: usize) -> Option<usize> {
    if follows_word(bytes, start) {
        return None;
    }
    let tag_end = start
        + 1
        + bytes[start + 1..]
            .iter()
            .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))?;
    if bytes[tag_end] != b'$' || bytes.get(start + 1).is_some_and(u8::is_ascii_digit) {
        return None;
    }
    let tag = &bytes[start..=tag_end];
    let close = find(bytes, tag_end + 1, tag)?;
    Some(close + tag.len())
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    bytes
        .get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// What a statement does, and to which table, as far as its first words tell.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct SqlSummary {
    /// The first keyword, upper-case: `SELECT`, `INSERT`, `WITH`, `BEGIN`.
    pub(crate) operation: Option<String>,
    /// The table after `FROM` (`SELECT`, `DELETE`), `INTO` (`INSERT`, `REPLACE`), `UPDATE`, or
    /// `CREATE`/`DROP`/`ALTER`/`TRUNCATE TABLE`; unquoted, schema kept.
    pub(crate) collection: Option<String>,
}

/// The operation and table of `sql` (best read from sanitized text: no literal can fool it).
pub(crate) fn summarize_sql(sql: &str) -> SqlSummary {
    let words = Words::new(sql);
    let mut words = words.peekable();
    let Some(first) = words.next() else {
        return SqlSummary::default();
    };
    let operation = first.to_ascii_uppercase();
    if !operation.bytes().all(|b| b.is_ascii_alphabetic()) {
        return SqlSummary::default();
    }
    let keyword = |w: &str, k: &str| w.eq_ignore_ascii_case(k);
    let collection = match operation.as_str() {
        "SELECT" | "DELETE" => {
            let mut depth_zero_from = None;
            // `Words` yields parentheses as words: only a FROM outside any of them counts.
            let mut depth = 0i32;
            for word in words.by_ref() {
                match word {
                    "(" => depth += 1,
                    ")" => depth -= 1,
                    w if depth == 0 && keyword(w, "FROM") => {
                        depth_zero_from = Some(());
                        break;
                    }
                    _ => {}
                }
            }
            depth_zero_from.and_then(|()| words.next())
        }
        "INSERT" | "REPLACE" => {
            words.find(|w| keyword(w, "INTO"));
            words.next()
        }
        "UPDATE" => {
            // UPDATE [ONLY] table
            match words.next() {
                Some(w) if keyword(w, "ONLY") => words.next(),
                other => other,
            }
        }
        "CREATE" | "DROP" | "ALTER" | "TRUNCATE" => {
            let mut next = words.next();
            if operation != "TRUNCATE" {
                // CREATE [TEMPORARY] TABLE …; anything else (INDEX, VIEW) names no table here.
                while let Some(w) = next {
                    if keyword(w, "TABLE") {
                        break;
                    }
                    if !(keyword(w, "TEMPORARY") || keyword(w, "TEMP") || keyword(w, "UNLOGGED")) {
                        return SqlSummary {
                            operation: Some(operation),
                            collection: None,
                        };
                    }
                    next = words.next();
                }
                next = words.next();
            } else if next.is_some_and(|w| keyword(w, "TABLE")) {
                next = words.next();
            }
            // IF [NOT] EXISTS
            while let Some(w) = next {
                if keyword(w, "IF") || keyword(w, "NOT") || keyword(w, "EXISTS") {
                    next = words.next();
                } else {
                    break;
                }
            }
            next
        }
        _ => None,
    };
    SqlSummary {
        operation: Some(operation),
        collection: collection.and_then(table_name),
    }
}

/// A table reference as a name: quotes removed, `schema.table` kept; `None` for a subquery, a
/// placeholder or a keyword.
fn table_name(word: &str) -> Option<String> {
    let name: String = word.chars().filter(|c| !matches!(c, '"' | '`')).collect();
    let plain = name
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'$') || b >= 0x80);
    (plain && !name.is_empty() && !name.starts_with('$')).then_some(name)
}

/// The words of a statement: identifiers (quoted ones whole, `schema.table` whole), keywords,
/// and each parenthesis as a word of its own; comments skipped.
struct Words<'a> {
    sql: &'a str,
    i: usize,
}

impl<'a> Words<'a> {
    fn new(sql: &'a str) -> Self {
        Words { sql, i: 0 }
    }
}

impl<'a> Iterator for Words<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        let bytes = self.sql.as_bytes();
        loop {
            while self.i < bytes.len() && bytes[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            if bytes[self.i..].starts_with(b"--") {
                self.i = bytes[self.i..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(bytes.len(), |p| self.i + p);
            } else if bytes[self.i..].starts_with(b"/*") {
                self.i = find(bytes, self.i + 2, b"*/").map_or(bytes.len(), |p| p + 2);
            } else {
                break;
            }
        }
        let start = self.i;
        let first = *bytes.get(start)?;
        if matches!(first, b'(' | b')' | b',' | b';') {
            self.i += 1;
            return Some(&self.sql[start..self.i]);
        }
        while self.i < bytes.len() {
            match bytes[self.i] {
                q @ (b'"' | b'`' | b'\'') => self.i = skip_quoted(bytes, self.i, q),
                c if c.is_ascii_whitespace() || matches!(c, b'(' | b')' | b',' | b';') => break,
                _ => self.i += 1,
            }
        }
        Some(&self.sql[start..self.i])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pg(sql: &str) -> String {
        sanitize_sql(sql, Some("postgresql"))
    }

    #[test]
    fn literals_become_placeholders_and_placeholders_stay() {
        assert_eq!(
            pg("SELECT * FROM t WHERE id = 5 AND name = 'o''brien' AND x = $1"),
            "SELECT * FROM t WHERE id = ? AND name = ? AND x = $1"
        );
        assert_eq!(
            pg("INSERT INTO t2 (a, b) VALUES (1.5, -3e10), (0x1F, .5)"),
            "INSERT INTO t2 (a, b) VALUES (?, -?), (?, ?)"
        );
        assert_eq!(pg("SELECT E'a\\'b', X'ff', N'x'"), "SELECT ?, ?, ?");
        assert_eq!(pg("SELECT $$it's$$, $f$x$f$ FROM t"), "SELECT ?, ? FROM t");
        assert_eq!(
            sanitize_sql("SELECT ?1, :name, @v FROM t3", Some("sqlite")),
            "SELECT ?1, :name, @v FROM t3"
        );
    }

    #[test]
    fn identifiers_keywords_and_comments_are_kept() {
        let sql = r#"SELECT "col1", `c2`, t1.c3 FROM "Table 9" WHERE x IS NULL -- id = 5
/* 'kept' */ AND flag = TRUE"#;
        assert_eq!(pg(sql), sql);
    }

    #[test]
    fn mysql_double_quoted_text_is_a_string() {
        assert_eq!(
            sanitize_sql(r#"SELECT * FROM t WHERE name = "alice""#, Some("mysql")),
            "SELECT * FROM t WHERE name = ?"
        );
        assert_eq!(
            sanitize_sql(
                r#"SELECT * FROM t WHERE name = "alice""#,
                Some("postgresql")
            ),
            r#"SELECT * FROM t WHERE name = "alice""#
        );
    }

    #[test]
    fn unterminated_text_is_replaced_to_the_end() {
        assert_eq!(pg("SELECT 'secret"), "SELECT ?");
    }

    fn summary(sql: &str) -> (Option<String>, Option<String>) {
        let s = summarize_sql(sql);
        (s.operation, s.collection)
    }

    fn some(op: &str, table: Option<&str>) -> (Option<String>, Option<String>) {
        (Some(op.to_owned()), table.map(str::to_owned))
    }

    #[test]
    fn operation_and_table_come_from_the_first_words() {
        assert_eq!(
            summary("select id from users where id = ?"),
            some("SELECT", Some("users"))
        );
        assert_eq!(
            summary("SELECT (SELECT 1 FROM a) FROM public.\"Orders\" o"),
            some("SELECT", Some("public.Orders"))
        );
        assert_eq!(
            summary("INSERT INTO `items` (a) VALUES (?)"),
            some("INSERT", Some("items"))
        );
        assert_eq!(
            summary("UPDATE ONLY t SET a = ?"),
            some("UPDATE", Some("t"))
        );
        assert_eq!(summary("DELETE FROM t"), some("DELETE", Some("t")));
        assert_eq!(
            summary("CREATE TABLE IF NOT EXISTS users (id INT)"),
            some("CREATE", Some("users"))
        );
        assert_eq!(summary("CREATE INDEX i ON t (a)"), some("CREATE", None));
        assert_eq!(summary("DROP TABLE IF EXISTS t"), some("DROP", Some("t")));
        assert_eq!(summary("SELECT * FROM (SELECT 1) s"), some("SELECT", None));
        assert_eq!(summary("  -- hi\n BEGIN"), some("BEGIN", None));
        assert_eq!(summary("PRAGMA foreign_keys = ON"), some("PRAGMA", None));
        assert_eq!(summary(""), (None, None));
        assert_eq!(summary("(SELECT 1)"), (None, None));
    }
}
