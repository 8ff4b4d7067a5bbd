//! PostgreSQL: `initdb` with the user `mackerel` and its password, `postgres` on 127.0.0.1
//! with its socket in the scratch directory, then the database `mackerel` created over TCP with
//! that password (which checks both).

use std::path::{Path, PathBuf};

use super::process::{self, Process, RunAs};
use super::scratch::Scratch;
use super::{Kind, Server};

/// Where Debian's packages put each version's binaries: `/usr/lib/postgresql/15/bin`.
const DEBIAN_VERSIONS: &str = "/usr/lib/postgresql";
const PROGRAMS: [&str; 4] = ["initdb", "postgres", "pg_isready", "psql"];

pub(super) fn start() -> Option<Server> {
    let Some(bin) = bin_dir() else {
        return super::not_installed(
            Kind::Postgres,
            "no initdb, postgres, pg_isready and psql under /usr/lib/postgresql/*/bin or on PATH",
        );
    };
    let run_as = RunAs::unprivileged("postgres", "postgresql");
    let scratch = Scratch::new("postgres", run_as);
    let dir = scratch.path();
    let password = super::password();
    let password_file = scratch.file("password", &password);
    let mut initdb = run_as.command(&bin.join("initdb"), dir);
    initdb
        .arg("--pgdata")
        .arg(dir.join("data"))
        .args([
            "--username=mackerel",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
        ])
        .arg(format!("--pwfile={}", password_file.display()))
        // A throwaway cluster: no fsync, no instructions on how to start it.
        .args([
            "--encoding=UTF8",
            "--locale=C",
            "--no-sync",
            "--no-instructions",
        ]);
    process::run(initdb, "initdb");

    let (process, port) = Process::start_on_free_port(
        Kind::Postgres.name(),
        &dir.join("postgres.log"),
        // Immediate shutdown: it stops its backends and removes its shared memory at once.
        libc::SIGQUIT,
        |port| {
            let mut postgres = run_as.command(&bin.join("postgres"), dir);
            postgres
                .arg("-D")
                .arg(dir.join("data"))
                .arg("-p")
                .arg(port.to_string())
                .arg("-c")
                .arg("listen_addresses=127.0.0.1")
                .arg("-c")
                .arg(format!("unix_socket_directories={}", dir.display()))
                // Dynamic shared memory in the data directory, not /dev/shm.
                .args(["-c", "dynamic_shared_memory_type=mmap"])
                .args(["-c", "fsync=off", "-c", "synchronous_commit=off"])
                .args(["-c", "full_page_writes=off"]);
            postgres
        },
        |port| is_ready(&bin, dir, port),
    );

    let mut create = RunAs::current_user().command(&bin.join("psql"), dir);
    create
        .env("PGPASSWORD", &password)
        .args(["--no-psqlrc", "--quiet", "--set=ON_ERROR_STOP=1"])
        .args([
            "--host=127.0.0.1",
            "--username=mackerel",
            "--dbname=postgres",
        ])
        .arg(format!("--port={port}"))
        .args(["--command", "CREATE DATABASE mackerel"]);
    process::run(create, "psql: CREATE DATABASE mackerel");

    let url = format!("postgres://mackerel:{password}@127.0.0.1:{port}/mackerel");
    Some(Server::new(Kind::Postgres, process, port, url, scratch))
}

/// `pg_isready`: accepting connections on the port (exit 0), rather than starting (1) or silent (2).
fn is_ready(bin: &Path, dir: &Path, port: u16) -> Result<(), String> {
    let mut probe = RunAs::current_user().command(&bin.join("pg_isready"), dir);
    probe
        .args(["--host=127.0.0.1", "--timeout=2"])
        .arg(format!("--port={port}"));
    let output = probe.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "pg_isready: {}",
            String::from_utf8_lossy(&output.stdout).trim()
        ))
    }
}

/// The newest version's binaries under `/usr/lib/postgresql`, or the ones on `PATH`.
fn bin_dir() -> Option<PathBuf> {
    let has_programs = |dir: &Path| PROGRAMS.iter().all(|p| dir.join(p).is_file());
    let newest_debian = std::fs::read_dir(DEBIAN_VERSIONS)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version: u32 = entry
                .file_name()
                .to_str()?
                .split('.')
                .next()?
                .parse()
                .ok()?;
            Some((version, entry.path().join("bin")))
        })
        .filter(|(_, bin)| has_programs(bin))
        .max_by_key(|(version, _)| *version)
        .map(|(_, bin)| bin);
    newest_debian.or_else(|| {
        let on_path = process::find_program("initdb", &[])?;
        let bin = on_path.parent()?.to_path_buf();
        has_programs(&bin).then_some(bin)
    })
}
