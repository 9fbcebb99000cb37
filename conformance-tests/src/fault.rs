//! A fault proxy between a gateway and its store (no toxiproxy here): a TCP proxy on
//! 127.0.0.1 whose fault can be changed while it runs. It passes bytes through, or
//! refuses connections (the store down), holds back a response's first byte, stops a
//! response after some bytes (a stall) or resets the connection there, or answers
//! requests itself with an S3 error for a while.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What the proxy does to the next connections.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Bytes go through both ways.
    Pass,
    /// Connections are closed at once: the store is down.
    Down,
    /// Each response's first byte waits this long.
    SlowFirstByte(Duration),
    /// Responses stop after this many bytes; the connection stays open, silent.
    StallAfter(usize),
    /// Connections are reset after this many response bytes.
    ResetAfter(usize),
    /// The next `count` requests are answered `status` with S3 error `code`; the ones
    /// after go through (`u64::MAX`: all of them).
    Answer {
        /// HTTP status.
        status: u16,
        /// S3 error code.
        code: &'static str,
        /// How many requests.
        count: u64,
    },
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    /// Where the gateway connects.
    pub addr: SocketAddr,
    fault: Arc<Mutex<Fault>>,
    answered: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// A proxy to `upstream`, passing bytes through until told otherwise.
    pub fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the fault proxy");
        let addr = listener.local_addr().expect("proxy address");
        listener.set_nonblocking(true).expect("nonblocking listener");
        let fault = Arc::new(Mutex::new(Fault::Pass));
        let answered = Arc::new(AtomicU64::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let (f, a, s) = (Arc::clone(&fault), Arc::clone(&answered), Arc::clone(&stop));
        std::thread::spawn(move || accept_loop(&listener, upstream, &f, &a, &s));
        Self {
            addr,
            fault,
            answered,
            stop,
        }
    }

    /// The endpoint URL of the proxy.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Sets the fault for connections from now on (and for requests on open ones).
    pub fn set(&self, fault: Fault) {
        *self.fault.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = fault;
    }

    /// How many requests the proxy answered itself (with `Fault::Answer`).
    pub fn answered(&self) -> u64 {
        self.answered.load(Ordering::Relaxed)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn accept_loop(
    listener: &TcpListener,
    upstream: SocketAddr,
    fault: &Arc<Mutex<Fault>>,
    answered: &Arc<AtomicU64>,
    stop: &AtomicBool,
) {
    while !stop.load(Ordering::Relaxed) {
        match listener.accept() {
            Ok((client, _)) => {
                let _ = client.set_nonblocking(false);
                let current = fault.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
                if current == Fault::Down {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let (f, a) = (Arc::clone(fault), Arc::clone(answered));
                std::thread::spawn(move || serve(client, upstream, &f, &a));
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::sleep(Duration::from_millis(5)),
            Err(_) => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Reads one request's head (to the blank line) and its body (Content-Length), as bytes.
fn read_request(client: &mut TcpStream) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut byte = [0u8; 1];
    while !buf.ends_with(b"\r\n\r\n") {
        if client.read(&mut byte).ok()? == 0 {
            return None;
        }
        buf.push(byte[0]);
        if buf.len() > 1 << 20 {
            return None;
        }
    }
    let head = String::from_utf8_lossy(&buf).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = vec![0u8; len];
    client.read_exact(&mut body).ok()?;
    buf.extend(body);
    Some(buf)
}

fn error_response(status: u16, code: &str, head: bool) -> Vec<u8> {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected</Message><RequestId>fault</RequestId></Error>"
    );
    // The answer to a HEAD has the headers of the body it does not carry.
    format!(
        "HTTP/1.1 {status} Injected\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{}",
        body.len(),
        if head { "" } else { body.as_str() }
    )
    .into_bytes()
}

/// Serves one client connection, one request at a time, each to a fresh upstream
/// connection (the fault applies per request), answering or passing as the fault says.
fn serve(mut client: TcpStream, upstream: SocketAddr, fault: &Mutex<Fault>, answered: &AtomicU64) {
    while let Some(request) = read_request(&mut client) {
        let current = fault.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        match current {
            Fault::Down => return,
            Fault::Answer { status, code, count } if answered.load(Ordering::Relaxed) < count => {
                answered.fetch_add(1, Ordering::Relaxed);
                let head = request.starts_with(b"HEAD ");
                if client.write_all(&error_response(status, code, head)).is_err() {
                    return;
                }
            }
            other => {
                if !pass(&mut client, upstream, &request, &other) {
                    return;
                }
            }
        }
    }
}

/// Sends `request` upstream and its response back under `fault`; false when the client
/// connection is done.
fn pass(client: &mut TcpStream, upstream: SocketAddr, request: &[u8], fault: &Fault) -> bool {
    let Ok(mut up) = TcpStream::connect(upstream) else {
        return false;
    };
    if up.write_all(request).is_err() {
        return false;
    }
    let _ = up.set_read_timeout(Some(Duration::from_secs(30)));
    let mut sent = 0usize;
    let mut buf = [0u8; 16 << 10];
    let mut first = true;
    // The upstream answers with `Connection: keep-alive` or not; read until the response's
    // end as Content-Length gives it.
    let mut want: Option<usize> = None;
    let mut seen: Vec<u8> = Vec::new();
    loop {
        let n = match up.read(&mut buf) {
            Ok(0) | Err(_) => return false,
            Ok(n) => n,
        };
        if first {
            if let Fault::SlowFirstByte(d) = fault {
                std::thread::sleep(*d);
            }
            first = false;
        }
        if want.is_none() {
            seen.extend_from_slice(&buf[..n]);
            if let Some(end) = seen.windows(4).position(|w| w == b"\r\n\r\n") {
                let head_len = end + 4;
                let head = String::from_utf8_lossy(&seen[..end]).to_ascii_lowercase();
                let len = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length:"))
                    .and_then(|v| v.trim().parse::<usize>().ok())
                    .unwrap_or(0);
                want = Some(head_len + len);
            }
        }
        let chunk = &buf[..n];
        let chunk = match fault {
            Fault::StallAfter(limit) | Fault::ResetAfter(limit) if sent + chunk.len() > *limit => {
                let keep = limit.saturating_sub(sent);
                let _ = client.write_all(&chunk[..keep]);
                if matches!(fault, Fault::ResetAfter(_)) {
                    reset(client);
                } else {
                    // Silent: hold the connection open until the other side gives up.
                    std::thread::sleep(Duration::from_secs(120));
                }
                return false;
            }
            _ => chunk,
        };
        if client.write_all(chunk).is_err() {
            return false;
        }
        sent += chunk.len();
        if want.is_some_and(|w| sent >= w) {
            return true;
        }
    }
}

/// Makes the close of `stream` (when it is dropped) a TCP reset (SO_LINGER 0), not a
/// clean end.
fn reset(stream: &TcpStream) {
    let _ = socket2::SockRef::from(stream).set_linger(Some(Duration::ZERO));
}
