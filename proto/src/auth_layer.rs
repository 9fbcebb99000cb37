//! The tower services that sign calls on the way out and check them on the way in (see
//! [`crate::auth`]): a unary call's body is held (up to [`MAX_SIGNED_BODY`]) and hashed.

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::future::BoxFuture;
use http_body_util::{BodyExt, Full, Limited};

use crate::auth::{BodyCheck, Key, MAX_SIGNED_BODY, Replays, STREAMED, UNSIGNED_STREAM, body_digest, sign, verify};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Which key a call to this method path must be signed with, or why none will do.
pub type KeyFor = Arc<dyn Fn(&str) -> Result<Key, &'static str> + Send + Sync>;

/// Server side: refuses unauthenticated calls before they reach the service, and
/// replayed ones.
#[derive(Clone)]
pub struct AuthLayer {
    key_for: KeyFor,
    replays: Arc<Replays>,
}

impl AuthLayer {
    /// Checks each call against the key `key_for` names for its method.
    pub fn new(key_for: KeyFor) -> Self {
        Self {
            key_for,
            replays: Arc::default(),
        }
    }
}

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticated {
            inner,
            key_for: Arc::clone(&self.key_for),
            replays: Arc::clone(&self.replays),
        }
    }
}

/// See [`AuthLayer`].
#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    key_for: KeyFor,
    replays: Arc<Replays>,
}

fn refusal(path: &str, msg: &'static str) -> http::Response<tonic::body::Body> {
    tracing::warn!(method = path, reason = msg, "refused a call");
    tonic::Status::unauthenticated(msg).into_http()
}

impl<S, B> tower::Service<http::Request<B>> for Authenticated<S>
where
    S: tower::Service<http::Request<tonic::body::Body>, Response = http::Response<tonic::body::Body>>
        + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = req.uri().path().to_owned();
        let check = match (self.key_for)(&path).and_then(|key| verify(&key, &path, req.headers(), &self.replays)) {
            Ok(check) => check,
            Err(msg) => {
                let resp = refusal(&path, msg);
                return Box::pin(async move { Ok(resp) });
            }
        };
        // The clone that was made ready serves this call.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (parts, body) = req.into_parts();
            let body = match check {
                BodyCheck::Stream => tonic::body::Body::new(body),
                BodyCheck::Sha256(want) => {
                    let Ok(held) = Limited::new(body, MAX_SIGNED_BODY).collect().await else {
                        return Ok(refusal(&path, "the body broke off or is too large"));
                    };
                    let bytes = held.to_bytes();
                    if body_digest(&bytes) != want {
                        return Ok(refusal(&path, "the body is not the one signed"));
                    }
                    tonic::body::Body::new(Full::new(bytes))
                }
            };
            inner.call(http::Request::from_parts(parts, body)).await
        })
    }
}

/// Client side: signs every call on the way out, a unary call over its body.
#[derive(Clone)]
pub struct Signed<S> {
    inner: S,
    creds: Arc<Key>,
}

impl<S> Signed<S> {
    /// Wraps a channel.
    pub fn new(inner: S, creds: Key) -> Self {
        Self {
            inner,
            creds: Arc::new(creds),
        }
    }
}

impl<S> tower::Service<http::Request<tonic::body::Body>> for Signed<S>
where
    S: tower::Service<http::Request<tonic::body::Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
{
    type Response = S::Response;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<S::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, req: http::Request<tonic::body::Body>) -> Self::Future {
        let creds = Arc::clone(&self.creds);
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (mut parts, body) = req.into_parts();
            let path = parts.uri.path().to_owned();
            let body = if STREAMED.contains(&path.as_str()) {
                sign(&creds, &path, UNSIGNED_STREAM, &mut parts.headers);
                body
            } else {
                let bytes = body.collect().await?.to_bytes();
                sign(&creds, &path, &body_digest(&bytes), &mut parts.headers);
                tonic::body::Body::new(Full::new(bytes))
            };
            inner
                .call(http::Request::from_parts(parts, body))
                .await
                .map_err(Into::into)
        })
    }
}
