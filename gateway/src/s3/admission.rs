//! How many S3 requests are served at once: across the node, and on one connection (an
//! HTTP/2 client can open many streams). Past either cap a request is answered 503
//! SlowDown at once, never queued; a request holds its place until its response body has
//! gone out (a long GET counts for as long as it streams).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// The caps, as the config gives them.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Caps {
    /// Requests in flight on the node.
    pub node: usize,
    /// Requests in flight on one connection.
    pub connection: usize,
}

/// The places: the node's, shared, and this connection's.
#[derive(Clone)]
pub(super) struct Admission {
    node: Arc<Semaphore>,
    connection: Arc<Semaphore>,
    caps: Caps,
}

/// A request's two places, given back when dropped.
pub(super) struct Admitted {
    _node: OwnedSemaphorePermit,
    _connection: OwnedSemaphorePermit,
}

impl Admission {
    pub(super) fn new(caps: Caps) -> Self {
        Self {
            node: Arc::new(Semaphore::new(caps.node.max(1))),
            connection: Arc::new(Semaphore::new(caps.connection.max(1))),
            caps,
        }
    }

    /// The same node-wide places, with a connection's own.
    pub(super) fn for_connection(&self) -> Self {
        Self {
            node: Arc::clone(&self.node),
            connection: Arc::new(Semaphore::new(self.caps.connection.max(1))),
            caps: self.caps,
        }
    }

    /// Places for one more request, if both caps allow it.
    pub(super) fn admit(&self) -> Option<Admitted> {
        let connection = Arc::clone(&self.connection).try_acquire_owned().ok()?;
        let node = Arc::clone(&self.node).try_acquire_owned().ok()?;
        Some(Admitted {
            _node: node,
            _connection: connection,
        })
    }
}

/// A response body that holds its request's places until it ends (or is dropped).
pub(super) struct Held {
    inner: s3s::Body,
    places: Option<Admitted>,
}

impl Held {
    pub(super) fn new(inner: s3s::Body, places: Admitted) -> Self {
        Self {
            inner,
            places: Some(places),
        }
    }
}

impl Body for Held {
    type Data = Bytes;
    type Error = s3s::StdError;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            self.places = None;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cap_holds_and_places_come_back() {
        let a = Admission::new(Caps { node: 3, connection: 2 });
        let one = a.admit().unwrap();
        let _two = a.admit().unwrap();
        assert!(a.admit().is_none(), "the connection's cap");
        let b = a.for_connection();
        let _three = b.admit().unwrap();
        assert!(b.admit().is_none(), "the node's cap, shared");
        drop(one);
        assert!(b.admit().is_some());
    }
}
