//! MariaDB: `mariadb-install-db` creates the system tables and, from an extra SQL file, the
//! user `mackerel` and its database; `mariadbd` serves them on 127.0.0.1 with its socket and
//! temporary files in the scratch directory. No option file is read (`--no-defaults`).

use std::path::{Path, PathBuf};

use super::process::{self, Process, RunAs};
use super::scratch::Scratch;
use super::{Kind, Server};

const SBIN: [&str; 2] = ["/usr/sbin", "/usr/bin"];

struct Programs {
    server: PathBuf,
    install_db: PathBuf,
    admin: PathBuf,
}

pub(super) fn start() -> Option<Server> {
    let programs = match programs() {
        Ok(programs) => programs,
        Err(missing) => return super::not_installed(Kind::Mariadb, &missing),
    };
    let run_as = RunAs::unprivileged("mysql", "mariadb-server");
    let scratch = Scratch::new("mariadb", run_as);
    let dir = scratch.path();
    let password = super::password();
    // Bootstrap mode starts without the grant tables: FLUSH PRIVILEGES loads them, so that
    // CREATE USER works.
    let setup = scratch.file(
        "setup.sql",
        &format!(
            "FLUSH PRIVILEGES;\n\
             CREATE DATABASE mackerel;\n\
             CREATE USER 'mackerel'@'%' IDENTIFIED BY '{password}';\n\
             GRANT ALL PRIVILEGES ON mackerel.* TO 'mackerel'@'%';\n"
        ),
    );
    let mut install = run_as.command(&programs.install_db, dir);
    install
        .arg("--no-defaults")
        .arg(format!("--datadir={}", dir.join("data").display()))
        .arg(format!("--extra-file={}", setup.display()))
        .args(["--auth-root-authentication-method=normal", "--skip-test-db"])
        .arg("--skip-name-resolve");
    process::run(install, "mariadb-install-db");

    let (process, port) = Process::start_on_free_port(
        Kind::Mariadb.name(),
        &dir.join("mariadbd.log"),
        // Its data is thrown away: no need for the second or so of a clean shutdown.
        libc::SIGKILL,
        |port| {
            let mut server = run_as.command(&programs.server, dir);
            server
                .arg("--no-defaults")
                .arg(format!("--datadir={}", dir.join("data").display()))
                .arg(format!("--socket={}", dir.join("mariadbd.sock").display()))
                .arg(format!("--pid-file={}", dir.join("mariadbd.pid").display()))
                .arg(format!("--tmpdir={}", dir.display()))
                .arg(format!("--port={port}"))
                .args(["--bind-address=127.0.0.1", "--skip-networking=0"])
                .args(["--skip-name-resolve", "--skip-log-bin"])
                .args([
                    "--innodb-buffer-pool-size=32M",
                    "--innodb-flush-log-at-trx-commit=0",
                ])
                .arg("--character-set-server=utf8mb4");
            server
        },
        |port| answers(&programs.admin, dir, port, &password),
    );

    let url = format!("mysql://mackerel:{password}@127.0.0.1:{port}/mackerel");
    Some(Server::new(Kind::Mariadb, process, port, url, scratch))
}

/// `mariadb-admin status` as `mackerel` over TCP: the server answers and the user logs in
/// (`ping` would succeed on a refused login too).
fn answers(admin: &Path, dir: &Path, port: u16, password: &str) -> Result<(), String> {
    let mut probe = RunAs::current_user().command(admin, dir);
    probe
        .args(["--no-defaults", "--protocol=TCP", "--host=127.0.0.1"])
        .arg(format!("--port={port}"))
        .args(["--user=mackerel", "--connect-timeout=2"])
        .arg(format!("--password={password}"))
        .arg("status");
    let output = probe.output().map_err(|e| e.to_string())?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!(
            "mariadb-admin: {}",
            String::from_utf8_lossy(&output.stderr).trim()
        ))
    }
}

fn programs() -> Result<Programs, String> {
    let find = |name: &'static str| process::find_program(name, &SBIN).ok_or(name);
    match (
        find("mariadbd"),
        find("mariadb-install-db"),
        find("mariadb-admin"),
    ) {
        (Ok(server), Ok(install_db), Ok(admin)) => Ok(Programs {
            server,
            install_db,
            admin,
        }),
        (server, install_db, admin) => {
            let missing: Vec<&str> = [server.err(), install_db.err(), admin.err()]
                .into_iter()
                .flatten()
                .collect();
            Err(format!("no {} binary", missing.join(", ")))
        }
    }
}
