//! A server's processes: commands with a clean environment, run as the server's user, spawned
//! so that they die with the test process, waited for until they answer, and stopped with a
//! signal and a wait.

use std::ffi::CString;
use std::fs::File;
use std::io;
use std::net::TcpListener;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, OnceLock};
use std::time::{Duration, Instant};

/// How long a server may take to answer after it was started.
const READY_WITHIN: Duration = Duration::from_secs(60);
/// How long a server may take to stop after its stop signal, before it is killed.
const STOP_WITHIN: Duration = Duration::from_secs(10);
/// How often a server that picked a port someone took in between is started again.
const PORT_ATTEMPTS: u32 = 3;

/// Who runs a server's processes: the test process's user, or, when that is root, the system
/// user of the server's package.
#[derive(Clone, Copy)]
pub(super) struct RunAs {
    ids: Option<(libc::uid_t, libc::gid_t)>,
}

impl RunAs {
    pub(super) fn current_user() -> RunAs {
        RunAs { ids: None }
    }

    /// As root, the user `user` that the Debian package `package` creates; otherwise the
    /// current user.
    pub(super) fn unprivileged(user: &str, package: &str) -> RunAs {
        // SAFETY: no arguments, no side effects.
        if unsafe { libc::geteuid() } != 0 {
            return RunAs::current_user();
        }
        let ids = user_ids(user).unwrap_or_else(|| {
            panic!(
                "the tests run as root, so the {package} server must run as the user `{user}` \
                 that the Debian package `{package}` creates, and there is no such user"
            )
        });
        RunAs { ids: Some(ids) }
    }

    /// Hands `path` over to this user.
    pub(super) fn give(self, path: &Path) {
        if let Some((uid, gid)) = self.ids {
            std::os::unix::fs::chown(path, Some(uid), Some(gid))
                .unwrap_or_else(|e| panic!("cannot chown {}: {e}", path.display()));
        }
    }

    /// `program` as this user, in `dir`, with no environment but `PATH` (and the C locale): no
    /// `PG*` or `MYSQL_*` variable, no option file, changes what it does.
    pub(super) fn command(self, program: &Path, dir: &Path) -> Command {
        let mut command = Command::new(program);
        command.env_clear().env("LC_ALL", "C").current_dir(dir);
        if let Some(path) = std::env::var_os("PATH") {
            command.env("PATH", path);
        }
        command.stdin(Stdio::null());
        if let Some((uid, gid)) = self.ids {
            // std also drops the supplementary groups when root changes the uid.
            command.uid(uid).gid(gid);
        }
        command
    }
}

fn user_ids(name: &str) -> Option<(libc::uid_t, libc::gid_t)> {
    let name = CString::new(name).ok()?;
    // SAFETY: getpwnam_r writes into `entry` and `buffer`, both ours and large enough (it
    // returns ERANGE otherwise); `found` points at `entry` or is null.
    unsafe {
        let mut entry: libc::passwd = std::mem::zeroed();
        let mut buffer = vec![0 as libc::c_char; 16 * 1024];
        let mut found = std::ptr::null_mut();
        let status = libc::getpwnam_r(
            name.as_ptr(),
            &mut entry,
            buffer.as_mut_ptr(),
            buffer.len(),
            &mut found,
        );
        (status == 0 && !found.is_null()).then_some((entry.pw_uid, entry.pw_gid))
    }
}

/// Runs a set-up command (`initdb`, `mariadb-install-db`) to its end; panics with its output
/// when it fails.
pub(super) fn run(mut command: Command, what: &str) {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {what}: {e}"));
    assert!(
        output.status.success(),
        "{what} failed ({}):\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// A running server process; dropping it stops it.
pub(super) struct Process {
    child: Option<Child>,
    stop_signal: libc::c_int,
}

impl Process {
    /// Starts a server on a free port of 127.0.0.1 with its output in `log`, and waits until
    /// `probe` says it answers there. A port taken by someone else in between (the server
    /// exits saying so) means another port.
    pub(super) fn start_on_free_port(
        name: &str,
        log: &Path,
        stop_signal: libc::c_int,
        command: impl Fn(u16) -> Command,
        probe: impl Fn(u16) -> Result<(), String>,
    ) -> (Process, u16) {
        for attempt in 1..=PORT_ATTEMPTS {
            let port = free_port();
            let mut process = Process::spawn(command(port), log, stop_signal)
                .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
            match process.wait_until_ready(|| probe(port)) {
                Ok(()) => return (process, port),
                Err(Unready::Exited(_)) if attempt < PORT_ATTEMPTS && lost_port(log) => {}
                Err(Unready::Exited(status)) => {
                    panic!("{name} exited ({status}) on port {port}{}", tail(log))
                }
                Err(Unready::Silent(answer)) => panic!(
                    "{name} did not answer on 127.0.0.1:{port} within {} s: {answer}{}",
                    READY_WITHIN.as_secs(),
                    tail(log)
                ),
            }
        }
        unreachable!("the last attempt returns or panics")
    }

    fn spawn(mut command: Command, log: &Path, stop_signal: libc::c_int) -> io::Result<Process> {
        let out = File::create(log)?;
        command.stdout(out.try_clone()?).stderr(out);
        #[cfg(target_os = "linux")]
        die_with_test_process(&mut command, stop_signal);
        let child = spawn_from_lasting_thread(command)?;
        Ok(Process {
            child: Some(child),
            stop_signal,
        })
    }

    fn wait_until_ready(&mut self, probe: impl Fn() -> Result<(), String>) -> Result<(), Unready> {
        let child = self.child.as_mut().expect("a started process");
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return Err(Unready::Exited(status));
            }
            match probe() {
                Ok(()) => return Ok(()),
                Err(answer) if Instant::now() >= deadline => return Err(Unready::Silent(answer)),
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// Sends the stop signal, waits (killing it after `STOP_WITHIN`). Idempotent.
    pub(super) fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        if matches!(child.try_wait(), Ok(None)) {
            let pid = libc::pid_t::try_from(child.id()).expect("a pid");
            // SAFETY: our child, not yet waited for, so the pid is still its own.
            unsafe { libc::kill(pid, self.stop_signal) };
            let deadline = Instant::now() + STOP_WITHIN;
            while matches!(child.try_wait(), Ok(None)) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Unready {
    Exited(ExitStatus),
    /// Still running, and this is what the last probe got.
    Silent(String),
}

/// A port of 127.0.0.1 that was free a moment ago.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .map(|address| address.port())
        .expect("an ephemeral port on 127.0.0.1")
}

/// Whether the server's log says its port was taken (each server says "already in use").
fn lost_port(log: &Path) -> bool {
    std::fs::read_to_string(log).is_ok_and(|text| text.contains("already in use"))
}

/// The last lines of a server's log, for a panic message.
pub(super) fn tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let last = lines[lines.len().saturating_sub(30)..].join("\n");
    format!("\n--- the end of {}:\n{last}", log.display())
}

/// Has the kernel send `signal` to the server when the test process ends, however it ends.
#[cfg(target_os = "linux")]
fn die_with_test_process(command: &mut Command, signal: libc::c_int) {
    let test_process = libc::pid_t::try_from(std::process::id()).expect("a pid");
    let signal = libc::c_ulong::try_from(signal).expect("a signal number");
    // SAFETY: between fork and exec, only async-signal-safe calls, no allocation.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, signal) != 0 {
                return Err(io::Error::last_os_error());
            }
            // Had the test process died before prctl, no signal would ever come.
            if libc::getppid() != test_process {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Spawns `command` from a thread that lives as long as the test process: the kernel's
/// parent-death signal follows the thread that forked, and a test's own thread ends with the
/// test while a shared server must live on.
fn spawn_from_lasting_thread(command: Command) -> io::Result<Child> {
    type Request = (Command, mpsc::Sender<io::Result<Child>>);
    static SPAWNER: OnceLock<mpsc::Sender<Request>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (requests, received) = mpsc::channel::<Request>();
        std::thread::Builder::new()
            .name("test-server-spawner".to_owned())
            .spawn(move || {
                for (mut command, reply) in received {
                    let _ = reply.send(command.spawn());
                }
            })
            .expect("a thread to start test servers from");
        requests
    });
    let (reply, answer) = mpsc::channel();
    spawner
        .send((command, reply))
        .expect("the spawner thread lives until exit");
    answer.recv().expect("the spawner thread answers")
}

/// The path of `program` on `PATH` or in one of `more_dirs`.
pub(super) fn find_program(program: &str, more_dirs: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(more_dirs.iter().map(PathBuf::from))
        .map(|dir| dir.join(program))
        .find(|candidate| candidate.is_file())
}
