//! Real database servers for the integration tests: PostgreSQL, MariaDB and Redis from the
//! Debian packages, each listening on an ephemeral port of 127.0.0.1 with its data (and its
//! unix socket) in a fresh temporary directory. No Docker, nothing shared with the system's own
//! instances.
//!
//! ```ignore
//! let Some(pg) = support::servers::shared_postgres() else { return }; // not installed: skipped
//! let pool = sqlx::PgPool::connect(&pg.url).await?;
//! ```
//!
//! - **Installed or skipped.** A server whose binaries are missing is `None`, and one stderr line
//!   per kind and process says how to install it. With `MACKEREL_TRACE_REQUIRE_SERVERS=1` (CI
//!   sets it) a missing server is a panic: CI never skips.
//! - **Root.** As root, PostgreSQL (which refuses root) and MariaDB run as the `postgres` and
//!   `mysql` users their packages create, in a temporary directory owned by that user.
//! - **One's own or shared.** `postgres()`, `mariadb()` and `redis()` start a server for the
//!   caller (under a second each), stopped and removed when the [`Server`] is dropped.
//!   `shared_postgres()`, `shared_mariadb()` and `shared_redis()` start one per test process on
//!   first use, for the tests that need a server but not a fresh one, and stop it when the
//!   process exits.
//! - **Nothing left behind.** Dropping a server stops it, waits for it and removes its
//!   directory; shared servers are stopped the same way at process exit. If the test process
//!   dies without exiting (killed, aborted), the kernel stops its servers (`PR_SET_PDEATHSIG`)
//!   and the next test process removes the directories they left.

mod mariadb;
mod postgres;
mod process;
mod redis;
mod scratch;

use std::io::Write as _;
use std::sync::{Mutex, Once, OnceLock, PoisonError};

use process::Process;
use scratch::Scratch;

/// The variable that turns a missing server from a skip into a failure.
const REQUIRE_SERVERS: &str = "MACKEREL_TRACE_REQUIRE_SERVERS";
const INSTALL_HINT: &str =
    "Install the servers with: sudo apt-get install -y postgresql mariadb-server redis-server";

/// A running server; dropping it stops it and removes its data.
pub struct Server {
    /// Always `127.0.0.1`.
    pub host: String,
    pub port: u16,
    /// A client URL with the user, password and database: `postgres://mackerel:…@127.0.0.1:PORT/mackerel`,
    /// `mysql://mackerel:…@127.0.0.1:PORT/mackerel`, `redis://127.0.0.1:PORT/0`.
    pub url: String,
    process: Mutex<Process>,
    scratch: Scratch,
}

/// PostgreSQL (the newest version under `/usr/lib/postgresql`), with a user `mackerel` that
/// has a password and owns the database `mackerel`.
pub fn postgres() -> Option<Server> {
    postgres::start()
}

/// MariaDB, with a user `mackerel` that has a password and every privilege on the database
/// `mackerel`.
pub fn mariadb() -> Option<Server> {
    mariadb::start()
}

/// Redis, with no password and nothing saved to disk.
pub fn redis() -> Option<Server> {
    redis::start()
}

/// One PostgreSQL for the whole test process, started on first use and stopped at exit.
pub fn shared_postgres() -> Option<&'static Server> {
    static SHARED: OnceLock<Option<Server>> = OnceLock::new();
    shared(&SHARED, postgres)
}

/// One MariaDB for the whole test process, started on first use and stopped at exit.
pub fn shared_mariadb() -> Option<&'static Server> {
    static SHARED: OnceLock<Option<Server>> = OnceLock::new();
    shared(&SHARED, mariadb)
}

/// One Redis for the whole test process, started on first use and stopped at exit.
pub fn shared_redis() -> Option<&'static Server> {
    static SHARED: OnceLock<Option<Server>> = OnceLock::new();
    shared(&SHARED, redis)
}

impl Server {
    fn new(kind: Kind, process: Process, port: u16, url: String, scratch: Scratch) -> Server {
        // Captured by the test harness: shown with a failing test's output.
        eprintln!(
            "started {} on 127.0.0.1:{port} in {:.2} s ({})",
            kind.name(),
            scratch.age().as_secs_f64(),
            scratch.path().display()
        );
        Server {
            host: "127.0.0.1".to_owned(),
            port,
            url,
            process: Mutex::new(process),
            scratch,
        }
    }

    /// The server's temporary directory: its data, unix socket and log.
    pub fn dir(&self) -> &std::path::Path {
        self.scratch.path()
    }

    /// Stops the server, waits for it, and removes its directory. Idempotent.
    fn stop(&self) {
        self.process
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .stop();
        self.scratch.remove();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The shared servers started so far: statics are never dropped, so they are stopped at exit.
static SHARED_SERVERS: Mutex<Vec<&'static Server>> = Mutex::new(Vec::new());

fn shared(
    cell: &'static OnceLock<Option<Server>>,
    start: fn() -> Option<Server>,
) -> Option<&'static Server> {
    let server = cell.get_or_init(start).as_ref()?;
    let mut shared = SHARED_SERVERS
        .lock()
        .unwrap_or_else(PoisonError::into_inner);
    if !shared.iter().any(|s| std::ptr::eq(*s, server)) {
        static AT_EXIT: Once = Once::new();
        AT_EXIT.call_once(|| {
            // SAFETY: registers a plain function; it does not unwind (see stop_shared_servers).
            let registered = unsafe { libc::atexit(stop_shared_servers) };
            assert_eq!(
                registered, 0,
                "atexit failed: shared servers would outlive the tests"
            );
        });
        shared.push(server);
    }
    Some(server)
}

/// Runs at process exit (after the test harness returns from `main`).
extern "C" fn stop_shared_servers() {
    let stopped = std::panic::catch_unwind(|| {
        let shared = SHARED_SERVERS
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for server in shared.iter() {
            server.stop();
        }
    });
    // Unwinding out of an `extern "C"` function aborts; say why instead.
    if stopped.is_err() {
        let _ = writeln!(std::io::stderr(), "could not stop the shared test servers");
    }
}

/// The kinds of server, for messages.
#[derive(Clone, Copy)]
enum Kind {
    Postgres,
    Mariadb,
    Redis,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Postgres => "PostgreSQL",
            Kind::Mariadb => "MariaDB",
            Kind::Redis => "Redis",
        }
    }
}

/// A server that cannot run here because `missing` is not installed: `None` with one stderr
/// line per kind and process, or a panic when servers are required.
fn not_installed(kind: Kind, missing: &str) -> Option<Server> {
    if std::env::var_os(REQUIRE_SERVERS).is_some_and(|v| v == "1") {
        panic!(
            "{} is required ({REQUIRE_SERVERS}=1) but not installed: {missing}. {INSTALL_HINT}",
            kind.name()
        );
    }
    static SKIPPED: [Once; 3] = [Once::new(), Once::new(), Once::new()];
    SKIPPED[kind as usize].call_once(|| {
        // Straight to stderr: the test harness would hide an `eprintln!` of a passing test.
        let _ = writeln!(
            std::io::stderr(),
            "skipped: {} tests ({missing}). {INSTALL_HINT}",
            kind.name()
        );
    });
    None
}

/// A password for one server, safe in a URL as it is.
fn password() -> String {
    use std::hash::{BuildHasher as _, Hasher as _};
    let random = std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish();
    format!("pw{random:016x}")
}
