//! Redis: `redis-server` with no configuration file, on 127.0.0.1, nothing saved to disk,
//! ready when it answers `PING` with `+PONG`.

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use super::process::{self, Process, RunAs};
use super::scratch::Scratch;
use super::{Kind, Server};

pub(super) fn start() -> Option<Server> {
    let Some(program) = process::find_program("redis-server", &["/usr/bin", "/usr/sbin"]) else {
        return super::not_installed(Kind::Redis, "no redis-server binary");
    };
    // Redis runs as root without complaint; its directory is ours.
    let run_as = RunAs::current_user();
    let scratch = Scratch::new("redis", run_as);
    let dir = scratch.path();
    let (process, port) = Process::start_on_free_port(
        Kind::Redis.name(),
        &dir.join("redis.log"),
        libc::SIGTERM,
        |port| {
            let mut server = run_as.command(&program, dir);
            server
                .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
                .args(["--save", "", "--appendonly", "no", "--daemonize", "no"])
                .arg("--dir")
                .arg(dir);
            server
        },
        answers_ping,
    );
    let url = format!("redis://127.0.0.1:{port}/0");
    Some(Server::new(Kind::Redis, process, port, url, scratch))
}

fn answers_ping(port: u16) -> Result<(), String> {
    let address = SocketAddr::from(([127, 0, 0, 1], port));
    let timeout = Duration::from_secs(2);
    let mut stream = TcpStream::connect_timeout(&address, timeout).map_err(|e| e.to_string())?;
    stream
        .set_read_timeout(Some(timeout))
        .map_err(|e| e.to_string())?;
    stream
        .write_all(b"*1\r\n$4\r\nPING\r\n")
        .map_err(|e| e.to_string())?;
    let mut answer = [0; 7];
    stream.read_exact(&mut answer).map_err(|e| e.to_string())?;
    if &answer == b"+PONG\r\n" {
        Ok(())
    } else {
        Err(format!(
            "PING answered {:?}",
            String::from_utf8_lossy(&answer)
        ))
    }
}
