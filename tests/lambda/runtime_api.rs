//! A stand-in of the AWS Lambda Runtime API on 127.0.0.1: it hands out the events it was
//! given on `GET /2018-06-01/runtime/invocation/next`, takes `POST …/{id}/response` and
//! `…/{id}/error`, and once the events run out it stops answering, as a frozen environment
//! does: the last `next` request is read and never answered.

use std::collections::VecDeque;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The ARN every invocation names.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:ap-northeast-1:123456789012:function:orders";

/// One event to hand out.
pub struct Event {
    pub request_id: String,
    pub body: String,
    /// The invocation's timeout, from when it is handed out.
    pub timeout: Duration,
}

impl Event {
    pub fn new(request_id: &str, body: impl Into<String>) -> Event {
        Event {
            request_id: request_id.to_owned(),
            body: body.into(),
            timeout: Duration::from_secs(30),
        }
    }

    pub fn timeout(mut self, timeout: Duration) -> Event {
        self.timeout = timeout;
        self
    }
}

/// What the function posted for an invocation.
#[derive(Clone, Debug)]
pub struct Answer {
    pub request_id: String,
    /// `response` or `error`.
    pub kind: String,
    pub body: String,
    /// When it arrived.
    pub at: SystemTime,
    /// When the invocation was handed out, and the deadline it was given.
    pub handed_out: SystemTime,
    pub deadline: SystemTime,
    /// What the `on_answer` callback said when it arrived (the spans then at the receiver).
    pub seen: Vec<String>,
}

type OnAnswer = Box<dyn Fn(&str) -> Vec<String> + Send + Sync>;

struct State {
    events: VecDeque<Event>,
    handed_out: Vec<(String, SystemTime, SystemTime)>,
    answers: Vec<Answer>,
    /// A `next` came when no event was left: the function is done, and now "frozen".
    frozen: bool,
}

struct Shared {
    state: Mutex<State>,
    changed: Condvar,
    stop: AtomicBool,
    on_answer: OnAnswer,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

pub struct RuntimeApi {
    addr: SocketAddr,
    shared: Arc<Shared>,
    acceptor: Option<JoinHandle<()>>,
}

impl RuntimeApi {
    /// Serves `events` in order; `on_answer(request_id)` runs when an answer arrives, before
    /// the function is told it was accepted.
    pub fn start(
        events: Vec<Event>,
        on_answer: impl Fn(&str) -> Vec<String> + Send + Sync + 'static,
    ) -> RuntimeApi {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local address");
        listener
            .set_nonblocking(true)
            .expect("non-blocking listener");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                events: events.into(),
                handed_out: Vec::new(),
                answers: Vec::new(),
                frozen: false,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            on_answer: Box::new(on_answer),
        });
        let accepting = Arc::clone(&shared);
        let acceptor = std::thread::spawn(move || accept(&listener, &accepting));
        RuntimeApi {
            addr,
            shared,
            acceptor: Some(acceptor),
        }
    }

    /// What `AWS_LAMBDA_RUNTIME_API` is set to.
    pub fn address(&self) -> String {
        self.addr.to_string()
    }

    /// Waits until the function asked for an event after the last one (it is done with every
    /// invocation), at most `timeout`; returns the answers so far.
    pub fn wait_until_frozen(&self, timeout: Duration) -> Result<Vec<Answer>, Vec<Answer>> {
        let deadline = Instant::now() + timeout;
        let mut state = self.shared.lock();
        while !state.frozen {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Err(state.answers.clone());
            }
            state = self
                .shared
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        Ok(state.answers.clone())
    }
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        if let Some(acceptor) = self.acceptor.take() {
            let _ = acceptor.join();
        }
    }
}

fn accept(listener: &TcpListener, shared: &Arc<Shared>) {
    let mut connections = Vec::new();
    while !shared.stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((stream, _)) => {
                let shared = Arc::clone(shared);
                connections.push(std::thread::spawn(move || serve(stream, &shared)));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
    for connection in connections {
        let _ = connection.join();
    }
}

/// One connection, keep-alive: requests until the peer closes or the stand-in stops.
fn serve(stream: TcpStream, shared: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(100)));
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    loop {
        let Some((method, path, body)) = read_request(&mut reader, shared) else {
            return;
        };
        let reply = match (method.as_str(), path.as_str()) {
            ("GET", "/2018-06-01/runtime/invocation/next") => match next_event(shared) {
                Some(reply) => reply,
                None => {
                    // Frozen: never answer; hold the connection until the stand-in stops.
                    while !shared.stop.load(Ordering::Relaxed) {
                        std::thread::sleep(Duration::from_millis(20));
                    }
                    return;
                }
            },
            ("POST", path) => answer(shared, path, body),
            _ => "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"
                .to_owned()
                .into_bytes(),
        };
        if writer.write_all(&reply).is_err() {
            return;
        }
    }
}

fn next_event(shared: &Shared) -> Option<Vec<u8>> {
    let mut state = shared.lock();
    let Some(event) = state.events.pop_front() else {
        state.frozen = true;
        shared.changed.notify_all();
        return None;
    };
    let now = SystemTime::now();
    let deadline = now + event.timeout;
    let deadline_ms = deadline
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    state
        .handed_out
        .push((event.request_id.clone(), now, deadline));
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nLambda-Runtime-Aws-Request-Id: {}\r\nLambda-Runtime-Deadline-Ms: {deadline_ms}\r\nLambda-Runtime-Invoked-Function-Arn: {FUNCTION_ARN}\r\nContent-Length: {}\r\n\r\n",
        event.request_id,
        event.body.len()
    );
    let mut reply = head.into_bytes();
    reply.extend_from_slice(event.body.as_bytes());
    Some(reply)
}

/// `POST /2018-06-01/runtime/invocation/{id}/response` or `…/error`.
fn answer(shared: &Shared, path: &str, body: Vec<u8>) -> Vec<u8> {
    let at = SystemTime::now();
    let rest = path.strip_prefix("/2018-06-01/runtime/invocation/");
    let Some((request_id, kind)) = rest.and_then(|rest| rest.split_once('/')) else {
        return b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n".to_vec();
    };
    let seen = (shared.on_answer)(request_id);
    let mut state = shared.lock();
    let (handed_out, deadline) = state
        .handed_out
        .iter()
        .find(|(id, _, _)| id == request_id)
        .map_or((at, at), |(_, handed_out, deadline)| {
            (*handed_out, *deadline)
        });
    state.answers.push(Answer {
        request_id: request_id.to_owned(),
        kind: kind.to_owned(),
        body: String::from_utf8_lossy(&body).into_owned(),
        at,
        handed_out,
        deadline,
        seen,
    });
    shared.changed.notify_all();
    let status = br#"{"status":"OK"}"#;
    let mut reply = format!(
        "HTTP/1.1 202 Accepted\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        status.len()
    )
    .into_bytes();
    reply.extend_from_slice(status);
    reply
}

/// Reads one request (`Content-Length` or chunked body); `None` when the connection closes or
/// the stand-in stops.
fn read_request(
    reader: &mut BufReader<TcpStream>,
    shared: &Shared,
) -> Option<(String, String, Vec<u8>)> {
    // The request line: waiting here is waiting for the next request on a kept-alive connection.
    let mut line = String::new();
    while line.trim().is_empty() {
        line.clear();
        read_line(reader, &mut line, shared)?;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_owned();
    let path = parts.next()?.to_owned();
    let mut head = Vec::new();
    loop {
        let mut header = String::new();
        read_line(reader, &mut header, shared)?;
        if header.trim().is_empty() {
            break;
        }
        head.push(header.trim().to_owned());
    }
    let header = |name: &str| {
        head.iter().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.trim()
                .eq_ignore_ascii_case(name)
                .then(|| value.trim().to_owned())
        })
    };
    let body = if header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        read_chunked(reader, shared)?
    } else {
        let length: usize = header("content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        read_exact(reader, length, shared)?
    };
    Some((method, path, body))
}

fn read_chunked(reader: &mut BufReader<TcpStream>, shared: &Shared) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        read_line(reader, &mut size, shared)?;
        let size = usize::from_str_radix(size.trim().split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            // Trailers, then the empty line.
            loop {
                let mut trailer = String::new();
                read_line(reader, &mut trailer, shared)?;
                if trailer.trim().is_empty() {
                    return Some(body);
                }
            }
        }
        body.extend(read_exact(reader, size, shared)?);
        let mut end = String::new();
        read_line(reader, &mut end, shared)?;
    }
}

/// Appends one line to `line`, through read timeouts (what was read before one is kept).
fn read_line(reader: &mut BufReader<TcpStream>, line: &mut String, shared: &Shared) -> Option<()> {
    loop {
        match reader.read_line(line) {
            Ok(0) => return None,
            Ok(_) => return Some(()),
            Err(err) if is_timeout(&err) && !shared.stop.load(Ordering::Relaxed) => continue,
            Err(_) => return None,
        }
    }
}

fn read_exact(
    reader: &mut BufReader<TcpStream>,
    length: usize,
    shared: &Shared,
) -> Option<Vec<u8>> {
    let mut body = vec![0; length];
    let mut filled = 0;
    while filled < length {
        match reader.read(&mut body[filled..]) {
            Ok(0) => return None,
            Ok(n) => filled += n,
            Err(err) if is_timeout(&err) && !shared.stop.load(Ordering::Relaxed) => continue,
            Err(_) => return None,
        }
    }
    Some(body)
}

fn is_timeout(err: &std::io::Error) -> bool {
    matches!(
        err.kind(),
        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
    )
}
