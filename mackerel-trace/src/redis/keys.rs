//! The table of redis commands: which of a command's arguments are keys (shown in
//! `db.query.text`) and which are values (`?`), and which commands have subcommands.

/// Which arguments after the command name (and its subcommand) are shown as written; every
/// other argument is `?`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keys {
    /// None: `AUTH ? ?`, `PING`, `SELECT ?`.
    None,
    /// All: `DEL a b`, `MGET a b`, `INCR n`.
    All,
    /// The first: `SET k ?`, `EXPIRE k ?`, `LPUSH l ? ?`. Also the default for commands not
    /// in the table.
    First,
    /// The first two: `LMOVE src dst ? ?`, `SMOVE src dst ?`.
    FirstTwo,
    /// All but the last (a timeout): `BLPOP a b ?`.
    AllButLast,
    /// Every other one, from the first: `MSET a ? b ?`.
    Pairs,
    /// The key and field names of hash reads: `HMGET h f1 f2`, `HDEL h f`.
    Fields,
    /// The key and every field of field-value pairs: `HSET h f1 ? f2 ?`.
    FieldValuePairs,
    /// The key and one field: `HINCRBY h f ?`.
    FieldThenValues,
    /// A count of keys at argument `at`, then the keys; the arguments before the count are
    /// shown when `before` (`EVALSHA sha 2 a b ? ?`, `ZUNIONSTORE d 2 a b`), not otherwise
    /// (`EVAL ? 1 k ?`: a script may hold literal values; `BLMPOP ? 1 l LEFT`).
    Counted { at: usize, before: bool },
    /// The `STREAMS` word and the first half of what follows it: `XREAD ? ? STREAMS s ?`.
    Streams,
}

/// The table: how each known command's arguments are shown, and whether its second word is a
/// subcommand (`CLIENT SETNAME`). Commands it does not know show their first argument.
pub(super) fn layout(name: &str) -> (bool, Keys) {
    use Keys::*;
    match name {
        "ACL" | "CLIENT" | "CLUSTER" | "COMMAND" | "CONFIG" | "DEBUG" | "FUNCTION" | "LATENCY"
        | "MODULE" | "PUBSUB" | "SCRIPT" | "SLOWLOG" => (true, None),
        "MEMORY" | "OBJECT" | "XINFO" | "XGROUP" => (true, First),
        "BITOP" => (true, All),
        "AUTH" | "HELLO" | "PING" | "ECHO" | "SELECT" | "SWAPDB" | "DBSIZE" | "FLUSHDB"
        | "FLUSHALL" | "INFO" | "TIME" | "LASTSAVE" | "SAVE" | "BGSAVE" | "BGREWRITEAOF"
        | "MULTI" | "EXEC" | "DISCARD" | "UNWATCH" | "QUIT" | "RESET" | "RANDOMKEY" | "SCAN"
        | "WAIT" | "WAITAOF" | "MIGRATE" | "ROLE" | "SHUTDOWN" | "FAILOVER" | "REPLICAOF"
        | "SLAVEOF" | "MONITOR" | "SYNC" | "PSYNC" | "READONLY" | "READWRITE" | "ASKING" => {
            (false, None)
        }
        "GET" | "GETDEL" | "DEL" | "UNLINK" | "EXISTS" | "MGET" | "TOUCH" | "WATCH" | "TYPE"
        | "TTL" | "PTTL" | "EXPIRETIME" | "PEXPIRETIME" | "PERSIST" | "STRLEN" | "INCR"
        | "DECR" | "LLEN" | "SCARD" | "SMEMBERS" | "SINTER" | "SUNION" | "SDIFF"
        | "SINTERSTORE" | "SUNIONSTORE" | "SDIFFSTORE" | "HLEN" | "HGETALL" | "HKEYS" | "HVALS"
        | "ZCARD" | "PFCOUNT" | "PFMERGE" | "DUMP" | "RENAME" | "RENAMENX" | "RPOPLPUSH"
        | "XLEN" | "SUBSCRIBE" | "UNSUBSCRIBE" | "PSUBSCRIBE" | "PUNSUBSCRIBE" | "SSUBSCRIBE"
        | "SUNSUBSCRIBE" => (false, All),
        "LMOVE" | "BLMOVE" | "BRPOPLPUSH" | "SMOVE" | "COPY" | "LCS" | "ZRANGESTORE"
        | "GEOSEARCHSTORE" => (false, FirstTwo),
        "BLPOP" | "BRPOP" | "BZPOPMIN" | "BZPOPMAX" => (false, AllButLast),
        "MSET" | "MSETNX" => (false, Pairs),
        "HGET" | "HMGET" | "HDEL" | "HEXISTS" | "HSTRLEN" => (false, Fields),
        "HSET" | "HMSET" => (false, FieldValuePairs),
        "HSETNX" | "HINCRBY" | "HINCRBYFLOAT" => (false, FieldThenValues),
        "EVAL" | "EVAL_RO" | "BLMPOP" | "BZMPOP" => (
            false,
            Counted {
                at: 1,
                before: false,
            },
        ),
        "EVALSHA" | "EVALSHA_RO" | "FCALL" | "FCALL_RO" | "ZUNIONSTORE" | "ZINTERSTORE"
        | "ZDIFFSTORE" => (
            false,
            Counted {
                at: 1,
                before: true,
            },
        ),
        "ZUNION" | "ZINTER" | "ZDIFF" | "ZINTERCARD" | "SINTERCARD" | "LMPOP" | "ZMPOP" => (
            false,
            Counted {
                at: 0,
                before: false,
            },
        ),
        "XREAD" | "XREADGROUP" => (false, Streams),
        _ => (false, First),
    }
}

impl Keys {
    /// For each of `args` (after the command name and subcommand): whether it is shown.
    pub(super) fn shown<'a>(self, args: &'a [Option<&[u8]>]) -> impl Iterator<Item = bool> + 'a {
        let count = match self {
            Keys::Counted { at, .. } => args
                .get(at)
                .copied()
                .flatten()
                .and_then(|n| std::str::from_utf8(n).ok()?.parse::<usize>().ok()),
            _ => None,
        };
        let streams = match self {
            Keys::Streams => args
                .iter()
                .position(|a| a.is_some_and(|a| a.eq_ignore_ascii_case(b"STREAMS"))),
            _ => None,
        };
        let len = args.len();
        (0..len).map(move |i| match self {
            Keys::None => false,
            Keys::All | Keys::Fields => true,
            Keys::First => i == 0,
            Keys::FirstTwo | Keys::FieldThenValues => i < 2,
            Keys::AllButLast => i + 1 < len,
            Keys::Pairs => i % 2 == 0,
            Keys::FieldValuePairs => i == 0 || i % 2 == 1,
            Keys::Counted { at, before } => match count {
                Some(n) => (i < at && before) || (i >= at && i <= at + n),
                None => i < at && before,
            },
            Keys::Streams => match streams {
                Some(s) => i >= s && i <= s + (len - s - 1) / 2,
                None => false,
            },
        })
    }
}
