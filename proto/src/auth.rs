//! How calls are authenticated: every call carries a key id, a unix timestamp and
//! `HMAC-SHA256(secret, "<grpc method path>\n<timestamp>\n<key id>")` in hex, so the
//! secret never crosses the wire. The server accepts a timestamp within five minutes.
//! Admin calls are signed with the root credentials, peer (Raft) calls with the cluster
//! secret.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{SystemTime, UNIX_EPOCH};

use futures::future::BoxFuture;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

const ACCESS_KEY: &str = "x-arustio-access-key";
const TIMESTAMP: &str = "x-arustio-timestamp";
const SIGNATURE: &str = "x-arustio-signature";
/// Largest accepted clock difference, in seconds.
const SKEW_SECS: u64 = 300;

/// A signing key: its public id and its secret.
#[derive(Clone, PartialEq, Eq)]
pub struct Key {
    /// Sent with every call (the root access key, or `cluster`).
    pub id: String,
    /// Never sent.
    pub secret: String,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("id", &self.id)
            .field("secret", &"****")
            .finish()
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

fn mac(secret: &str, path: &str, ts: &str, access_key: &str) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    m.update(format!("{path}\n{ts}\n{access_key}").as_bytes());
    m
}

/// Checks a call's headers against `creds`.
pub fn verify(creds: &Key, path: &str, headers: &http::HeaderMap) -> Result<(), &'static str> {
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(ak), Some(ts), Some(sig)) = (get(ACCESS_KEY), get(TIMESTAMP), get(SIGNATURE)) else {
        return Err("missing credentials: set ARUSTIO_ACCESS_KEY and ARUSTIO_SECRET_KEY");
    };
    if ak != creds.id {
        return Err("unknown access key");
    }
    let t: u64 = ts.parse().map_err(|_| "bad timestamp")?;
    if now_secs().abs_diff(t) > SKEW_SECS {
        return Err("request timestamp is more than 5 minutes off the server's clock");
    }
    let sig = hex::decode(sig).map_err(|_| "bad signature")?;
    mac(&creds.secret, path, ts, ak)
        .verify_slice(&sig)
        .map_err(|_| "signature does not match: wrong secret key")
}

/// Signs a call.
pub fn sign(creds: &Key, path: &str, headers: &mut http::HeaderMap) {
    let ts = now_secs().to_string();
    let sig = hex::encode(mac(&creds.secret, path, &ts, &creds.id).finalize().into_bytes());
    for (k, v) in [
        (ACCESS_KEY, creds.id.as_str()),
        (TIMESTAMP, ts.as_str()),
        (SIGNATURE, sig.as_str()),
    ] {
        if let Ok(v) = http::HeaderValue::from_str(v) {
            headers.insert(k, v);
        }
    }
}

/// Which key a call to this method path must be signed with, or why none will do.
pub type KeyFor = Arc<dyn Fn(&str) -> Result<Key, &'static str> + Send + Sync>;

/// Server side: refuses unauthenticated calls before they reach the service.
#[derive(Clone)]
pub struct AuthLayer(pub KeyFor);

impl<S> tower::Layer<S> for AuthLayer {
    type Service = Authenticated<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Authenticated {
            inner,
            key_for: Arc::clone(&self.0),
        }
    }
}

/// See [`AuthLayer`].
#[derive(Clone)]
pub struct Authenticated<S> {
    inner: S,
    key_for: KeyFor,
}

impl<S, B> tower::Service<http::Request<B>> for Authenticated<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<tonic::body::Body>> + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = http::Response<tonic::body::Body>;
    type Error = S::Error;
    type Future = BoxFuture<'static, Result<Self::Response, Self::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<B>) -> Self::Future {
        let path = req.uri().path();
        match (self.key_for)(path).and_then(|key| verify(&key, path, req.headers())) {
            Ok(()) => Box::pin(self.inner.call(req)),
            Err(msg) => {
                tracing::warn!(method = path, reason = msg, "refused a call");
                let resp = tonic::Status::unauthenticated(msg).into_http();
                Box::pin(async move { Ok(resp) })
            }
        }
    }
}

/// Client side: signs every call on the way out.
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

impl<S, B> tower::Service<http::Request<B>> for Signed<S>
where
    S: tower::Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<B>) -> Self::Future {
        let path = req.uri().path().to_owned();
        sign(&self.creds, &path, req.headers_mut());
        self.inner.call(req)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signatures_verify_only_with_the_secret() {
        let creds = Key {
            id: "AK".into(),
            secret: "s3cret-key".into(),
        };
        let mut h = http::HeaderMap::new();
        sign(&creds, "/arustio.admin.v1.Admin/Mount", &mut h);
        assert!(verify(&creds, "/arustio.admin.v1.Admin/Mount", &h).is_ok());
        assert!(
            verify(&creds, "/arustio.admin.v1.Admin/Unmount", &h).is_err(),
            "bound to the method"
        );
        let other = Key {
            id: "AK".into(),
            secret: "other".into(),
        };
        assert!(verify(&other, "/arustio.admin.v1.Admin/Mount", &h).is_err());
        assert!(verify(&creds, "/x", &http::HeaderMap::new()).is_err());
        assert!(!format!("{h:?}").contains("s3cret-key"));
    }
}
