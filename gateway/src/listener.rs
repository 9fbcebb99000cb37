//! The S3 listener's guards: a cap on open connections (past it a client gets 503
//! SlowDown and the connection closes), a deadline for a connection's first request and
//! for every request's headers (slowloris; HTTP/1 idle keep-alive ends the same way), HTTP/2
//! keep-alive pings, and backoff when accept fails for want of file descriptors.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::{debug, warn};

/// The most a request's line and headers may take.
pub(crate) const MAX_HEADER_BYTES: usize = 64 << 10;

/// Connections past the cap that are answered 503 at once; beyond these they are closed.
const REFUSING: usize = 64;

/// The listener's limits, from the config.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Open S3 connections at most.
    pub max_connections: usize,
    /// Time a connection has to send a request's headers, counted from the connection's
    /// start or the end of the previous response.
    pub header_timeout: Duration,
}

/// The HTTP/1 and HTTP/2 server settings.
pub(crate) fn http(limits: Limits) -> ConnBuilder<TokioExecutor> {
    let mut b = ConnBuilder::new(TokioExecutor::new());
    b.http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        // A request's line and headers: 64 KiB at most (hyper answers 431 past it and
        // closes); user metadata is 2 KB, a presigned URL a few.
        .max_buf_size(MAX_HEADER_BYTES);
    b.http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(20)))
        .keep_alive_timeout(Duration::from_secs(20))
        .max_concurrent_streams(256)
        .max_header_list_size(u32::try_from(MAX_HEADER_BYTES).unwrap_or(u32::MAX));
    b
}

/// The open connections, counted against the cap.
#[derive(Clone)]
pub(crate) struct Gate {
    open: Arc<Semaphore>,
    refusing: Arc<Semaphore>,
}

/// What to do with an accepted connection.
pub(crate) enum Admit {
    /// Serve it; the permit is its place under the cap.
    Serve(OwnedSemaphorePermit),
    /// Answer 503 SlowDown and close; the permit bounds how many are answered at once.
    Refuse(OwnedSemaphorePermit),
    /// Close it unanswered.
    Drop,
}

impl Gate {
    pub(crate) fn new(limits: Limits) -> Self {
        Self {
            open: Arc::new(Semaphore::new(limits.max_connections.max(1))),
            refusing: Arc::new(Semaphore::new(REFUSING)),
        }
    }

    pub(crate) fn admit(&self) -> Admit {
        if let Ok(p) = Arc::clone(&self.open).try_acquire_owned() {
            return Admit::Serve(p);
        }
        match Arc::clone(&self.refusing).try_acquire_owned() {
            Ok(p) => Admit::Refuse(p),
            Err(_) => Admit::Drop,
        }
    }
}

/// Answers a connection past the cap with 503 SlowDown, then closes it.
pub(crate) async fn refuse<S: AsyncWrite + Unpin>(mut stream: S) {
    let id = uuid::Uuid::new_v4().simple().to_string();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your \
         request rate: this node has too many open connections.</Message><RequestId>{id}</RequestId></Error>"
    );
    let resp = format!(
        "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/xml\r\nContent-Length: {}\r\n\
         x-amz-request-id: {id}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let write = async {
        stream.write_all(resp.as_bytes()).await?;
        stream.shutdown().await
    };
    if tokio::time::timeout(Duration::from_secs(2), write).await.is_err() {
        debug!("a refused client did not take its 503 within 2 s");
    }
}

/// Serves one connection: it must send its first request within the header timeout
/// (hyper's own timer covers the headers of each request after that).
pub(crate) async fn serve<I, S>(
    http: &ConnBuilder<TokioExecutor>,
    io: I,
    service: S,
    limits: Limits,
    graceful: hyper_util::server::graceful::Watcher,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<http::Request<hyper::body::Incoming>, Response = s3s::HttpResponse>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let asked = Arc::new(AtomicBool::new(false));
    let seen = Arc::clone(&asked);
    let service = hyper::service::service_fn(move |req| {
        seen.store(true, Ordering::Relaxed);
        service.call(req)
    });
    let conn = graceful.watch(http.serve_connection(TokioIo::new(io), service).into_owned());
    let mut conn = std::pin::pin!(conn);
    tokio::select! {
        _ = conn.as_mut() => return,
        () = tokio::time::sleep(limits.header_timeout) => {}
    }
    if !asked.load(Ordering::Relaxed) {
        debug!("closing a connection that sent no request within the header timeout");
        return;
    }
    let _ = conn.await;
}

/// How long to wait before accepting again after `e`: out of descriptors or memory, the
/// next accept would fail at once, so back off (doubling to 1 s); anything else is one
/// connection's trouble.
pub(crate) fn backoff(e: &std::io::Error, last: Option<Duration>) -> Option<Duration> {
    let starved = matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    );
    if !starved {
        return None;
    }
    let next = last.map_or(Duration::from_millis(10), |d| (d * 2).min(Duration::from_secs(1)));
    if last.is_none() {
        warn!(error = %e, "accept failed for want of resources; backing off");
    }
    Some(next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_backs_off_only_when_starved() {
        let emfile = std::io::Error::from_raw_os_error(libc::EMFILE);
        let aborted = std::io::Error::from_raw_os_error(libc::ECONNABORTED);
        assert_eq!(backoff(&aborted, None), None);
        let mut wait = None;
        for _ in 0..12 {
            wait = backoff(&emfile, wait);
        }
        assert_eq!(wait, Some(Duration::from_secs(1)));
        assert_eq!(backoff(&emfile, None), Some(Duration::from_millis(10)));
    }

    #[test]
    fn the_gate_refuses_past_the_cap() {
        let gate = Gate::new(Limits {
            max_connections: 2,
            header_timeout: Duration::from_secs(1),
        });
        let held: Vec<Admit> = (0..2).map(|_| gate.admit()).collect();
        assert!(held.iter().all(|a| matches!(a, Admit::Serve(_))));
        assert!(matches!(gate.admit(), Admit::Refuse(_)));
        drop(held);
        assert!(matches!(gate.admit(), Admit::Serve(_)));
    }
}
