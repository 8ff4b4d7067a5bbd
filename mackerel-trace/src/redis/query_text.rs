//! What a redis command's span says about it: `db.operation.name` (the command name, upper
//! case) and `db.query.text` (the command as the Redis CLI shows it, with its keys and `?` for
//! every other argument: `SET user:42 ?`, `HSET h f1 ? f2 ?`, `MGET a b`).

use ::redis::{Arg, Cmd, Pipeline};

use super::keys::{layout, Keys};
use crate::value::MAX_STRING_BYTES;

/// The span's description of one command or pipeline.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Shaped {
    /// `db.operation.name`: `GET`, `CLIENT SETNAME`, `PIPELINE`, `MULTI SET`.
    pub(super) operation: String,
    /// `db.query.text`, at most [`MAX_STRING_BYTES`].
    pub(super) text: String,
    /// `db.stored_procedure.name`: the script's SHA1 of `EVALSHA`, the function of `FCALL`.
    pub(super) procedure: Option<String>,
    /// `db.operation.batch.size`: a pipeline's number of commands, when it is not one.
    pub(super) batch_size: Option<usize>,
}

/// One command: its name upper case, its keys, `?` for the rest.
pub(super) fn command(cmd: &Cmd) -> Shaped {
    let args: Vec<Option<&[u8]>> = cmd
        .args_iter()
        .map(|arg| match arg {
            Arg::Simple(bytes) => Some(bytes),
            _ => None, // a cursor: a value
        })
        .collect();
    let Some((name, rest)) = args.split_first() else {
        return Shaped {
            operation: String::new(),
            text: String::new(),
            procedure: None,
            batch_size: None,
        };
    };
    let mut operation = name.map(word).unwrap_or_else(|| "?".to_owned());
    let (subcommand, keys) = layout(&operation);
    let mut text = Text::default();
    text.push(&operation);
    let rest = match rest.split_first() {
        Some((Some(sub), rest)) if subcommand && is_keyword(sub) => {
            let sub = word(sub);
            text.push(&sub);
            operation.push(' ');
            operation.push_str(&sub);
            rest
        }
        _ => rest,
    };
    let procedure = match keys {
        Keys::Counted { before: true, .. }
            if operation.starts_with("EVALSHA") || operation.starts_with("FCALL") =>
        {
            rest.first().copied().flatten().map(shown)
        }
        _ => None,
    };
    write_args(keys, rest, &mut text);
    Shaped {
        operation,
        text: text.out,
        procedure,
        batch_size: None,
    }
}

/// A pipeline: `PIPELINE`, or `MULTI` when atomic, followed by the command name when all its
/// commands have the same one; its commands' texts joined by `; `, or their one text when they
/// all have the same. A pipeline of one command that is not atomic is that command.
pub(super) fn pipeline(pipeline: &Pipeline) -> Shaped {
    let kind = if pipeline.is_transaction() {
        "MULTI"
    } else {
        "PIPELINE"
    };
    let count = pipeline.len();
    let mut commands = pipeline.cmd_iter().map(command);
    let Some(first) = commands.next() else {
        return Shaped {
            operation: kind.to_owned(),
            text: String::new(),
            procedure: None,
            batch_size: Some(0),
        };
    };
    if count == 1 && !pipeline.is_transaction() {
        return first;
    }
    let mut joined = Text::default();
    joined.push(&first.text);
    let (mut same_operation, mut same_text, mut same_procedure) = (true, true, true);
    for next in commands {
        same_operation &= next.operation == first.operation;
        same_text &= next.text == first.text;
        same_procedure &= next.procedure == first.procedure;
        joined.push_separated("; ", &next.text);
    }
    Shaped {
        operation: if same_operation {
            format!("{kind} {}", first.operation)
        } else {
            kind.to_owned()
        },
        text: if same_text { first.text } else { joined.out },
        procedure: first.procedure.filter(|_| same_procedure),
        batch_size: (count != 1).then_some(count),
    }
}

fn write_args(keys: Keys, args: &[Option<&[u8]>], text: &mut Text) {
    for (arg, show) in args.iter().zip(keys.shown(args)) {
        if text.full {
            break;
        }
        match arg {
            Some(arg) if show => text.push(&shown(arg)),
            _ => text.push("?"),
        }
    }
}

/// An argument shown as written: as UTF-8 (invalid bytes replaced), in double quotes with
/// escapes when it is empty or holds spaces, quotes or control characters.
fn shown(arg: &[u8]) -> String {
    let arg = String::from_utf8_lossy(arg);
    let plain = !arg.is_empty()
        && !arg
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '"' || c == '\'');
    if plain {
        arg.into_owned()
    } else {
        format!("\"{}\"", arg.escape_debug())
    }
}

/// A command or subcommand name, upper case.
fn word(arg: &[u8]) -> String {
    let mut word = shown(arg);
    word.make_ascii_uppercase();
    word
}

/// A subcommand, as opposed to a value where one was expected: a short word.
fn is_keyword(arg: &[u8]) -> bool {
    !arg.is_empty()
        && arg.len() <= 32
        && arg
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
}

/// Words separated by spaces, cut at [`MAX_STRING_BYTES`] on a char boundary.
#[derive(Default)]
struct Text {
    out: String,
    full: bool,
}

impl Text {
    fn push(&mut self, word: &str) {
        let separator = if self.out.is_empty() { "" } else { " " };
        self.push_separated(separator, word);
    }

    fn push_separated(&mut self, separator: &str, word: &str) {
        if self.full {
            return;
        }
        let room = MAX_STRING_BYTES - self.out.len();
        if separator.len() + word.len() <= room {
            self.out.push_str(separator);
            self.out.push_str(word);
            return;
        }
        self.full = true;
        let mut end = room.saturating_sub(separator.len());
        if end == 0 {
            return;
        }
        while !word.is_char_boundary(end) {
            end -= 1;
        }
        self.out.push_str(separator);
        self.out.push_str(&word[..end]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(cmd: &Cmd) -> String {
        command(cmd).text
    }

    fn args(words: &[&str]) -> Cmd {
        let mut cmd = Cmd::new();
        for w in words {
            cmd.arg(*w);
        }
        cmd
    }

    #[test]
    fn keys_are_shown_and_every_other_argument_is_a_question_mark() {
        let cases: &[(&[&str], &str)] = &[
            (&["SET", "user:42", "s3cret"], "SET user:42 ?"),
            (&["SET", "k", "v", "EX", "10"], "SET k ? ? ?"),
            (&["GET", "user:42"], "GET user:42"),
            (&["MGET", "a", "b"], "MGET a b"),
            (&["MSET", "a", "1", "b", "2"], "MSET a ? b ?"),
            (&["HSET", "h", "f1", "v1", "f2", "v2"], "HSET h f1 ? f2 ?"),
            (
                &["HMSET", "myhash", "field1", "Hello", "field2", "World"],
                "HMSET myhash field1 ? field2 ?",
            ),
            (&["HGET", "h", "f"], "HGET h f"),
            (&["HINCRBY", "h", "f", "5"], "HINCRBY h f ?"),
            (&["EXPIRE", "k", "60"], "EXPIRE k ?"),
            (&["DEL", "a", "b"], "DEL a b"),
            (&["INCR", "n"], "INCR n"),
            (&["LPUSH", "l", "x", "y"], "LPUSH l ? ?"),
            (&["ZADD", "z", "1", "m"], "ZADD z ? ?"),
            (&["BLPOP", "a", "b", "5"], "BLPOP a b ?"),
            (
                &["LMOVE", "src", "dst", "LEFT", "RIGHT"],
                "LMOVE src dst ? ?",
            ),
            (&["AUTH", "user", "password"], "AUTH ? ?"),
            (&["HELLO", "3", "AUTH", "u", "p"], "HELLO ? ? ? ?"),
            (&["PING"], "PING"),
            (
                &["EVALSHA", "abc123", "2", "k1", "k2", "a1"],
                "EVALSHA abc123 2 k1 k2 ?",
            ),
            (&["EVAL", "return 'x'", "1", "k", "a"], "EVAL ? 1 k ?"),
            (
                &["ZUNIONSTORE", "d", "2", "a", "b", "WEIGHTS", "1", "2"],
                "ZUNIONSTORE d 2 a b ? ? ?",
            ),
            (
                &["SINTERCARD", "2", "a", "b", "LIMIT", "5"],
                "SINTERCARD 2 a b ? ?",
            ),
            (
                &["XREAD", "COUNT", "2", "STREAMS", "s1", "s2", "0", "0"],
                "XREAD ? ? STREAMS s1 s2 ? ?",
            ),
            (&["CLIENT", "SETNAME", "worker-1"], "CLIENT SETNAME ?"),
            (&["CONFIG", "SET", "requirepass", "pw"], "CONFIG SET ? ?"),
            (&["OBJECT", "ENCODING", "k"], "OBJECT ENCODING k"),
            (&["XGROUP", "CREATE", "s", "g", "$"], "XGROUP CREATE s ? ?"),
            (&["JSON.SET", "doc", "$.a", "1"], "JSON.SET doc ? ?"),
        ];
        for (words, expected) in cases {
            assert_eq!(text(&args(words)), *expected, "{words:?}");
        }
    }

    #[test]
    fn the_operation_is_the_command_name_upper_case_with_a_subcommand() {
        assert_eq!(command(&args(&["get", "k"])).operation, "GET");
        assert_eq!(command(&args(&["get", "k"])).text, "GET k");
        assert_eq!(
            command(&args(&["client", "setname", "x"])).operation,
            "CLIENT SETNAME"
        );
        assert_eq!(command(&args(&["CLIENT", "a b", "x"])).text, "CLIENT ? ?");
        let eval = command(&args(&["EVALSHA", "abc", "0"]));
        assert_eq!(eval.procedure.as_deref(), Some("abc"));
        assert_eq!(command(&args(&["EVAL", "x", "0"])).procedure, None);
    }

    #[test]
    fn binary_empty_and_spaced_keys_are_quoted_without_panics() {
        let mut cmd = Cmd::new();
        cmd.arg("GET").arg(&b"\xff\x00k"[..]);
        assert_eq!(text(&cmd), "GET \"\u{fffd}\\0k\"");
        assert_eq!(text(&args(&["DEL", "", "a b"])), "DEL \"\" \"a b\"");
        assert_eq!(text(&Cmd::new()), "");
        let mut cmd = Cmd::new();
        cmd.arg(&b"\xc3"[..]).arg("k");
        assert_eq!(text(&cmd), "\u{fffd} k");
    }

    #[test]
    fn a_bad_key_count_shows_no_keys() {
        assert_eq!(
            text(&args(&["EVALSHA", "sha", "two", "k"])),
            "EVALSHA sha ? ?"
        );
        assert_eq!(text(&args(&["EVAL", "s", "9", "k"])), "EVAL ? 9 k");
        assert_eq!(text(&args(&["XREAD", "COUNT", "1"])), "XREAD ? ?");
    }

    #[test]
    fn a_cursor_is_a_value() {
        let mut cmd = Cmd::new();
        cmd.arg("SSCAN")
            .arg("s")
            .cursor_arg(0)
            .arg("MATCH")
            .arg("a*");
        assert_eq!(text(&cmd), "SSCAN s ? ? ?");
    }

    #[test]
    fn long_texts_are_cut_at_the_limit_on_a_char_boundary() {
        let mut cmd = Cmd::new();
        cmd.arg("MGET");
        for i in 0..2000 {
            cmd.arg(format!("ключ:{i}"));
        }
        let text = text(&cmd);
        assert!(text.len() <= MAX_STRING_BYTES && text.len() > MAX_STRING_BYTES - 20);
        assert!(text.starts_with("MGET ключ:0 ключ:1 "));
    }

    #[test]
    fn pipelines_name_their_kind_and_join_or_share_their_texts() {
        let mut pipe = ::redis::pipe();
        pipe.set("a", 1).get("a").incr("n", 1);
        let shaped = pipeline(&pipe);
        assert_eq!(shaped.operation, "PIPELINE");
        assert_eq!(shaped.text, "SET a ?; GET a; INCRBY n ?");
        assert_eq!(shaped.batch_size, Some(3));

        let mut pipe = ::redis::pipe();
        pipe.atomic().set("a", 1).set("b", 2);
        let shaped = pipeline(&pipe);
        assert_eq!(shaped.operation, "MULTI SET");
        assert_eq!(shaped.text, "SET a ?; SET b ?");

        let mut pipe = ::redis::pipe();
        pipe.get("same").get("same");
        let shaped = pipeline(&pipe);
        assert_eq!(
            (shaped.operation.as_str(), shaped.text.as_str()),
            ("PIPELINE GET", "GET same")
        );

        let mut pipe = ::redis::pipe();
        pipe.get("only");
        assert_eq!(pipeline(&pipe), command(&args(&["GET", "only"])));
        pipe.atomic();
        let shaped = pipeline(&pipe);
        assert_eq!(
            (shaped.operation.as_str(), shaped.batch_size),
            ("MULTI GET", None)
        );

        let shaped = pipeline(&::redis::pipe());
        assert_eq!(
            (shaped.operation.as_str(), shaped.batch_size),
            ("PIPELINE", Some(0))
        );
    }

    #[test]
    fn a_long_pipeline_is_cut_at_the_limit() {
        let mut pipe = ::redis::pipe();
        for i in 0..5000 {
            pipe.set(format!("key:{i}"), i);
        }
        let shaped = pipeline(&pipe);
        assert!(shaped.text.len() <= MAX_STRING_BYTES);
        assert!(shaped.text.starts_with("SET key:0 ?; SET key:1 ?; "));
        assert_eq!(shaped.batch_size, Some(5000));
    }
}
