//! The test servers themselves (tests/support/servers.rs): each kind answers on 127.0.0.1 at
//! its URL's port, from a directory of its own, and leaves nothing behind — not when dropped,
//! not when the test process exits with a shared server, not when the test process is killed.

mod support;

use std::io::{BufRead as _, BufReader};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use support::servers::{self, Server};

/// Set in a child test process to the name of the `child_*` test it should run.
const CHILD: &str = "MACKEREL_TRACE_SERVERS_CHILD";

fn listening(port: u16) -> bool {
    TcpStream::connect(("127.0.0.1", port)).is_ok()
}

fn stops_listening_within(port: u16, limit: Duration) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if !listening(port) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A started server answers where its URL says, from its own directory; dropped, it is gone.
fn check_then_drop(server: Server, url_prefix: &str, url_suffix: &str) {
    assert_eq!(server.host, "127.0.0.1");
    let address = format!("127.0.0.1:{}", server.port);
    assert!(server.url.starts_with(url_prefix), "{}", server.url);
    assert!(
        server.url.ends_with(&format!("{address}{url_suffix}")),
        "{}",
        server.url
    );
    assert!(listening(server.port));
    let dir = server.dir().to_path_buf();
    assert!(dir.starts_with(std::env::temp_dir()), "{}", dir.display());
    assert!(dir.is_dir());
    let port = server.port;
    drop(server);
    assert!(!dir.exists(), "{} is left", dir.display());
    assert!(!listening(port), "still listening on {address}");
}

#[test]
fn postgres_answers_with_its_user_and_database_and_is_gone_once_dropped() {
    let Some(server) = servers::postgres() else {
        return;
    };
    check_then_drop(server, "postgres://mackerel:", "/mackerel");
}

#[test]
fn mariadb_answers_with_its_user_and_database_and_is_gone_once_dropped() {
    let Some(server) = servers::mariadb() else {
        return;
    };
    check_then_drop(server, "mysql://mackerel:", "/mackerel");
}

#[test]
fn redis_answers_ping_and_is_gone_once_dropped() {
    let Some(server) = servers::redis() else {
        return;
    };
    check_then_drop(server, "redis://", "/0");
}

#[test]
fn a_shared_server_is_one_per_process() {
    let (Some(first), Some(second)) = (servers::shared_redis(), servers::shared_redis()) else {
        return;
    };
    assert!(std::ptr::eq(first, second));
    assert!(listening(first.port));
}

/// A child test process, killed if a test panics before it ends.
struct ChildTest {
    process: Child,
    stdout: BufReader<ChildStdout>,
}

impl ChildTest {
    /// Runs the test `name` of this binary, which prints `server PORT DIR`; returns the port
    /// and the directory.
    fn start(name: &str) -> (ChildTest, u16, String) {
        let mut process = Command::new(std::env::current_exe().unwrap())
            .args([name, "--exact", "--nocapture", "--test-threads=1"])
            .env(CHILD, name)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = BufReader::new(process.stdout.take().unwrap());
        let mut child = ChildTest { process, stdout };
        let mut line = String::new();
        // The harness prints `test NAME ... ` first, on the same line.
        let reported = loop {
            line.clear();
            if child.stdout.read_line(&mut line).unwrap() == 0 {
                panic!("the child test did not report its server");
            }
            if let Some((_, reported)) = line.trim_end().split_once("server ") {
                break reported.to_owned();
            }
        };
        let (port, dir) = reported.split_once(' ').unwrap();
        (child, port.parse().unwrap(), dir.to_owned())
    }

    /// Reads the rest of its output (so that it never writes to a closed pipe) and waits.
    fn wait(mut self) -> bool {
        std::io::copy(&mut self.stdout, &mut std::io::sink()).unwrap();
        self.process.wait().unwrap().success()
    }

    /// SIGKILL: no destructor, no exit handler runs.
    fn kill(mut self) {
        self.process.kill().unwrap();
        self.process.wait().unwrap();
    }
}

impl Drop for ChildTest {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn is_child(name: &str) -> bool {
    std::env::var(CHILD).is_ok_and(|v| v == name)
}

#[test]
fn child_starts_a_shared_server_and_returns() {
    if !is_child("child_starts_a_shared_server_and_returns") {
        return;
    }
    let server = servers::shared_postgres().expect("checked by the parent");
    println!("server {} {}", server.port, server.dir().display());
}

#[test]
fn a_shared_server_is_stopped_and_removed_when_the_test_process_exits() {
    if std::env::var_os(CHILD).is_some() || servers::shared_postgres().is_none() {
        return;
    }
    let (child, port, dir) = ChildTest::start("child_starts_a_shared_server_and_returns");
    assert!(child.wait());
    // Exit stopped it, waited for it and removed its directory before the process ended.
    assert!(!listening(port), "still listening on {port}");
    assert!(!Path::new(&dir).exists(), "{dir} is left");
}

#[test]
fn child_starts_a_server_and_waits_to_be_killed() {
    if !is_child("child_starts_a_server_and_waits_to_be_killed") {
        return;
    }
    let server = servers::postgres().expect("checked by the parent");
    println!("server {} {}", server.port, server.dir().display());
    std::thread::sleep(Duration::from_secs(60));
}

#[test]
fn a_killed_test_process_takes_its_servers_with_it() {
    if std::env::var_os(CHILD).is_some() || servers::shared_postgres().is_none() {
        return;
    }
    let (child, port, dir) = ChildTest::start("child_starts_a_server_and_waits_to_be_killed");
    assert!(listening(port));
    child.kill();
    assert!(
        stops_listening_within(port, Duration::from_secs(10)),
        "PostgreSQL outlived its killed test process on port {port}"
    );
    assert!(Path::new(&dir).exists());
    // Its directory is removed by the next test process that starts a server.
    let (next, _, _) = ChildTest::start("child_starts_a_shared_server_and_returns");
    assert!(next.wait());
    assert!(!Path::new(&dir).exists(), "{dir} is left");
}
