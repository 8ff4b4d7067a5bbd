//! A server's temporary directory, `$TMPDIR/mackerel-trace-server-KIND-PID-N`: its data, its
//! unix socket and its log, owned by the user the server runs as, removed when done. The
//! directories of test processes that died without removing theirs go on the next run.

use std::fs;
use std::io;
use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

use super::process::RunAs;

const PREFIX: &str = "mackerel-trace-server-";

pub(super) struct Scratch {
    path: PathBuf,
    run_as: RunAs,
    created: Instant,
}

impl Scratch {
    /// A fresh directory for a server of `kind`, readable only by `run_as`.
    pub(super) fn new(kind: &str, run_as: RunAs) -> Scratch {
        static SWEEP: Once = Once::new();
        SWEEP.call_once(remove_abandoned);
        static NEXT: AtomicU32 = AtomicU32::new(0);
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!("{PREFIX}{kind}-{}-{n}", std::process::id()));
        fs::create_dir(&path)
            .and_then(|()| fs::set_permissions(&path, fs::Permissions::from_mode(0o700)))
            .unwrap_or_else(|e| panic!("cannot create {}: {e}", path.display()));
        let scratch = Scratch {
            path,
            run_as,
            created: Instant::now(),
        };
        run_as.give(&scratch.path);
        scratch
    }

    pub(super) fn path(&self) -> &Path {
        &self.path
    }

    /// How long ago the directory was made: how long the server took to start.
    pub(super) fn age(&self) -> Duration {
        self.created.elapsed()
    }

    /// Writes the file `name` for the server to read; returns its path.
    pub(super) fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.path.join(name);
        fs::write(&path, contents)
            .unwrap_or_else(|e| panic!("cannot write {}: {e}", path.display()));
        self.run_as.give(&path);
        path
    }

    /// Removes the directory and everything in it. Idempotent.
    pub(super) fn remove(&self) {
        match fs::remove_dir_all(&self.path) {
            Err(e) if e.kind() != io::ErrorKind::NotFound => {
                eprintln!("cannot remove {}: {e}", self.path.display());
            }
            _ => {}
        }
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.remove();
    }
}

/// Removes the directories of test processes that no longer exist (killed before they could).
fn remove_abandoned() {
    let Ok(entries) = fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(PREFIX)) else {
            continue;
        };
        let pid = rest
            .split('-')
            .nth(1)
            .and_then(|p| p.parse::<libc::pid_t>().ok());
        if pid.is_some_and(|pid| !is_running(pid)) {
            let _ = fs::remove_dir_all(entry.path());
        }
    }
}

fn is_running(pid: libc::pid_t) -> bool {
    // SAFETY: signal 0 only checks that the process exists.
    let alive = unsafe { libc::kill(pid, 0) } == 0;
    alive || io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}
