//! The listening side: an accept thread, a thread per connection, and a shutdown that wakes and
//! joins them all.

use std::collections::{HashMap, VecDeque};
use std::io::BufReader;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::Duration;

use super::http;
use super::received::ReceivedRequest;
use super::reply::{Action, Reply};

/// A running server on 127.0.0.1; dropping it stops every thread it started.
pub(super) struct Server {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

/// What the test thread and the connection threads share.
struct Shared {
    state: Mutex<State>,
    /// Signalled on every recorded request and on shutdown.
    changed: Condvar,
}

#[derive(Default)]
struct State {
    script: VecDeque<Reply>,
    requests: Vec<ReceivedRequest>,
    /// A handle on every open connection, so shutdown can close them and wake their threads.
    open: HashMap<u64, TcpStream>,
    next_connection: u64,
    workers: Vec<JoinHandle<()>>,
    shutdown: bool,
}

impl Server {
    /// Binds a free port on 127.0.0.1 and starts accepting.
    pub(super) fn start(script: VecDeque<Reply>) -> std::io::Result<Server> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                script,
                ..State::default()
            }),
            changed: Condvar::new(),
        });
        let acceptor = thread::Builder::new()
            .name(format!("otlp-receiver-{}", addr.port()))
            .spawn({
                let shared = Arc::clone(&shared);
                move || accept_connections(listener, &shared)
            })?;
        Ok(Server {
            addr,
            shared,
            acceptor: Some(acceptor),
        })
    }

    pub(super) fn addr(&self) -> SocketAddr {
        self.addr
    }

    pub(super) fn push_reply(&self, reply: Reply) {
        self.shared.lock().script.push_back(reply);
    }

    /// Waits up to `timeout` until `ready` holds for the requests recorded so far, then hands
    /// them to `read` (at once, with `Duration::ZERO`).
    pub(super) fn with_requests<T>(
        &self,
        timeout: Duration,
        ready: impl Fn(&[ReceivedRequest]) -> bool,
        read: impl FnOnce(&[ReceivedRequest]) -> T,
    ) -> T {
        read(
            &self
                .shared
                .wait_until(timeout, |state| ready(&state.requests))
                .requests,
        )
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        {
            let mut state = self.shared.lock();
            state.shutdown = true;
            // Wakes connection threads blocked reading; hanging and delayed ones wait on `changed`.
            for stream in state.open.values() {
                let _ = stream.shutdown(Shutdown::Both);
            }
        }
        self.shared.changed.notify_all();
        // The acceptor is blocked in accept(): one connection of our own makes it look at the flag.
        let woken = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1)).is_ok();
        if let Some(acceptor) = self.acceptor.take() {
            if woken {
                let _ = acceptor.join();
            }
        }
        let workers = std::mem::take(&mut self.shared.lock().workers);
        for worker in workers {
            let _ = worker.join();
        }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn wait_until(
        &self,
        timeout: Duration,
        done: impl Fn(&State) -> bool,
    ) -> MutexGuard<'_, State> {
        self.changed
            .wait_timeout_while(self.lock(), timeout, |state| !done(state))
            .unwrap_or_else(PoisonError::into_inner)
            .0
    }

    /// Sleeps for `delay` (forever when `None`); false when the server shut down meanwhile.
    fn sleep(&self, delay: Option<Duration>) -> bool {
        let state = match delay {
            Some(delay) => self.wait_until(delay, |state| state.shutdown),
            None => self
                .changed
                .wait_while(self.lock(), |state| !state.shutdown)
                .unwrap_or_else(PoisonError::into_inner),
        };
        !state.shutdown
    }

    fn record(&self, request: ReceivedRequest) {
        self.lock().requests.push(request);
        self.changed.notify_all();
    }
}

fn accept_connections(listener: TcpListener, shared: &Arc<Shared>) {
    for stream in listener.incoming() {
        // Registration and the shutdown check share the lock with drop, so no connection is
        // registered after drop has shut the open ones down.
        let mut state = shared.lock();
        if state.shutdown {
            return;
        }
        let Ok(stream) = stream else {
            drop(state);
            thread::sleep(Duration::from_millis(10));
            continue;
        };
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let id = state.next_connection;
        state.next_connection += 1;
        state.open.insert(id, handle);
        state.workers.retain(|worker| !worker.is_finished());
        let worker = thread::Builder::new()
            .name(format!("otlp-receiver-conn-{id}"))
            .spawn({
                let shared = Arc::clone(shared);
                move || {
                    serve_connection(stream, id, &shared);
                    shared.lock().open.remove(&id);
                }
            });
        match worker {
            Ok(worker) => state.workers.push(worker),
            Err(_) => drop(state.open.remove(&id)),
        }
    }
}

/// Answers requests on one connection until the client closes it, the script closes it, or the
/// receiver is dropped.
fn serve_connection(stream: TcpStream, id: u64, shared: &Shared) {
    let Ok(read_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(read_half);
    let mut writer = stream;
    loop {
        let raw = match http::read_request(&mut reader, &mut writer) {
            Ok(Some(raw)) => raw,
            Ok(None) => return,
            Err(_) => {
                let _ = http::write_response(&mut writer, 400, &[], b"", true);
                return;
            }
        };
        let close_after = raw.close;
        let reply = shared.lock().script.pop_front().unwrap_or_else(Reply::ok);
        let received = ReceivedRequest::decode(raw, id, reply.status_code());
        if !shared.sleep(Some(reply.delay)) {
            return;
        }
        // Recorded before answering, so a client that has its answer also finds it recorded.
        shared.record(received);
        match reply.action {
            Action::Answer {
                status,
                headers,
                body,
            } => {
                let written =
                    http::write_response(&mut writer, status, &headers, &body, close_after);
                if written.is_err() || close_after {
                    return;
                }
            }
            Action::Close => {
                let _ = writer.shutdown(Shutdown::Both);
                return;
            }
            Action::Hang => {
                shared.sleep(None);
                return;
            }
        }
    }
}
