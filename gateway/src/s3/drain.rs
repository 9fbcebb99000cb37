//! A request body shared between the S3 service and the connection: it reads what is left
//! after an early error response, so that a kept-alive connection never parses the rest of
//! a refused upload as the next request, and it ends a body that stalls (a client that
//! stops sending mid-upload) with RequestTimeout.

use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;

/// At most this much of a refused body is read and dropped; past it the connection is closed.
const DRAIN_LIMIT: usize = 1 << 20;
const DRAIN_TIME: Duration = Duration::from_secs(2);

/// A request body shared between the S3 service and the connection, which drains it after
/// the service answered without reading it all. It knows when a frame last came.
#[derive(Clone)]
pub(super) struct SharedBody(Arc<Shared>);

struct Shared {
    body: Mutex<Incoming>,
    /// Armed while a read waits for the client; fires after `stall_limit`.
    stall: Mutex<Option<Pin<Box<tokio::time::Sleep>>>>,
    stall_limit: Duration,
    /// Set when the stall limit ended the body.
    stalled: std::sync::atomic::AtomicBool,
    since: Instant,
    /// Milliseconds from `since` to the last frame read.
    last_frame_ms: AtomicU64,
    /// Body bytes read.
    received: AtomicU64,
}

impl SharedBody {
    /// `stall_limit`: how long a read may wait for the client's next bytes.
    pub(super) fn new(body: Incoming, stall_limit: Duration) -> Self {
        Self(Arc::new(Shared {
            body: Mutex::new(body),
            stall: Mutex::new(None),
            stall_limit,
            stalled: std::sync::atomic::AtomicBool::new(false),
            since: Instant::now(),
            last_frame_ms: AtomicU64::new(0),
            received: AtomicU64::new(0),
        }))
    }

    fn elapsed_ms(&self) -> u64 {
        u64::try_from(self.0.since.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn poll_inner(&self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        let polled = match self.0.body.lock() {
            Ok(mut body) => Pin::new(&mut *body).poll_frame(cx),
            Err(_) => Poll::Ready(None),
        };
        let mut stall = self.0.stall.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if polled.is_pending() {
            // Only time spent waiting on the client counts, not time the service spends
            // elsewhere between reads.
            let limit = self.0.stall_limit;
            let timer = stall.get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
            if timer.as_mut().poll(cx).is_ready() {
                *stall = None;
                self.0.stalled.store(true, Ordering::Relaxed);
                return Poll::Ready(Some(Err(stalled(limit))));
            }
            return Poll::Pending;
        }
        *stall = None;
        if let Poll::Ready(Some(Ok(frame))) = &polled {
            self.0.last_frame_ms.store(self.elapsed_ms(), Ordering::Relaxed);
            let n = frame.data_ref().map_or(0, Bytes::len);
            self.0.received.fetch_add(n as u64, Ordering::Relaxed);
        }
        polled.map(|frame| frame.map(|r| r.map_err(Into::into)))
    }

    /// S3's answer when the body stalled past its limit: whatever error the stall became
    /// on its way through the layers, the client is told RequestTimeout.
    pub(super) fn stall_response(&self) -> Option<s3s::HttpResponse> {
        if !self.0.stalled.load(Ordering::Relaxed) {
            return None;
        }
        let msg = format!(
            "Your socket connection to the server was not read from or written to within the timeout period ({} s)",
            self.0.stall_limit.as_secs()
        );
        Some(super::error::response(s3s::S3ErrorCode::RequestTimeout, &msg))
    }

    /// The body bytes read so far.
    pub(super) fn received(&self) -> u64 {
        self.0.received.load(Ordering::Relaxed)
    }

    /// How long since a frame of the body was last read (or since the request came).
    pub(super) fn idle(&self) -> Duration {
        let last = self.0.last_frame_ms.load(Ordering::Relaxed);
        Duration::from_millis(self.elapsed_ms().saturating_sub(last))
    }

    /// Reads the rest of the body, up to a limit in bytes and time. True when it ended, so
    /// the connection can be kept.
    pub(super) async fn drain(&self) -> bool {
        let read_all = async {
            let mut left = DRAIN_LIMIT;
            loop {
                match std::future::poll_fn(|cx| self.poll_inner(cx)).await {
                    None => return true,
                    Some(Err(_)) => return false,
                    Some(Ok(frame)) => {
                        let n = frame.data_ref().map_or(0, Bytes::len);
                        match left.checked_sub(n) {
                            Some(rest) => left = rest,
                            None => return false,
                        }
                    }
                }
            }
        };
        self.is_end_stream() || tokio::time::timeout(DRAIN_TIME, read_all).await.unwrap_or(false)
    }
}

/// A body's failure: the connection's, or a stall.
pub(super) type BodyError = Box<dyn std::error::Error + Send + Sync>;

/// The error a stalled body ends with (see [`SharedBody::stall_response`]).
fn stalled(limit: Duration) -> BodyError {
    format!("the client sent no bytes of the body for {} s", limit.as_secs()).into()
}

impl Body for SharedBody {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.poll_inner(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.0.body.lock().map_or(true, |body| body.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        self.0
            .body
            .lock()
            .map_or_else(|_| SizeHint::default(), |body| body.size_hint())
    }
}
