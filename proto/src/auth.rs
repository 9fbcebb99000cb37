//! How calls are authenticated. Every call carries a key id, a unix timestamp, a random
//! nonce, the SHA-256 of its body, and
//! `HMAC-SHA256(secret, "<method path>\n<timestamp>\n<nonce>\n<key id>\n<body sha256>")` in
//! hex, so the secret never crosses the wire and a signature holds only for the message it
//! came with. The server accepts a timestamp within five minutes and each signature once
//! ([`Replays`]). Admin calls are signed with the root credentials, peer (Raft, cache)
//! calls with the cluster secret. A client-streaming call ([`STREAMED`]) is signed with
//! `UNSIGNED-STREAM` for its body: its header still holds once only, and TLS keeps the
//! stream whole.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest as _, Sha256};

pub use crate::auth_layer::{AuthLayer, Authenticated, KeyFor, Signed};

const ACCESS_KEY: &str = "x-arustio-access-key";
const TIMESTAMP: &str = "x-arustio-timestamp";
const NONCE: &str = "x-arustio-nonce";
const BODY_SHA256: &str = "x-arustio-content-sha256";
const SIGNATURE: &str = "x-arustio-signature";
/// Largest accepted clock difference, in seconds.
const SKEW_SECS: u64 = 300;
/// The body digest of a client-streaming call.
pub const UNSIGNED_STREAM: &str = "UNSIGNED-STREAM";
/// Methods whose request is a stream, too long to hold and hash before it is served.
pub const STREAMED: &[&str] = &["/arustio.admin.v1.Admin/Write"];
/// Largest request body held to check its digest (a Raft snapshot, a cache block).
pub const MAX_SIGNED_BODY: usize = 320 << 20;

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

/// The SHA-256 of a body, in hex.
pub fn body_digest(body: &[u8]) -> String {
    hex::encode(Sha256::digest(body))
}

/// What a signature covers.
struct Covered<'a> {
    path: &'a str,
    ts: &'a str,
    nonce: &'a str,
    key_id: &'a str,
    digest: &'a str,
}

fn mac(secret: &str, s: &Covered<'_>) -> Hmac<Sha256> {
    let mut m = <Hmac<Sha256> as KeyInit>::new_from_slice(secret.as_bytes()).expect("HMAC takes keys of any size");
    m.update(format!("{}\n{}\n{}\n{}\n{}", s.path, s.ts, s.nonce, s.key_id, s.digest).as_bytes());
    m
}

/// Signatures seen within the window: a second use is a replay.
#[derive(Debug, Default)]
pub struct Replays {
    seen: Mutex<HashMap<Vec<u8>, u64>>,
}

impl Replays {
    /// Records `sig` (dated `ts`); false when it was seen before. Entries older than the
    /// window are dropped as the map grows, so it holds one window of calls at most.
    fn first_use(&self, sig: &[u8], ts: u64) -> bool {
        let mut seen = self.seen.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if seen.len() >= 4096 && seen.len().is_power_of_two() {
            let oldest = now_secs().saturating_sub(2 * SKEW_SECS);
            seen.retain(|_, t| *t >= oldest);
        }
        seen.insert(sig.to_vec(), ts).is_none()
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.seen.lock().map(|s| s.len()).unwrap_or_default()
    }
}

/// What the body of a call whose headers verified must be.
#[derive(Debug, PartialEq, Eq)]
pub enum BodyCheck {
    /// A body whose SHA-256 is this (hex).
    Sha256(String),
    /// A client stream (a [`STREAMED`] method only).
    Stream,
}

/// Checks a call's headers against `creds`, refusing a replayed signature; returns what
/// its body must hash to. Nothing of the body has been read yet.
pub fn verify(
    creds: &Key,
    path: &str,
    headers: &http::HeaderMap,
    replays: &Replays,
) -> Result<BodyCheck, &'static str> {
    let get = |name| headers.get(name).and_then(|v| v.to_str().ok());
    let (Some(ak), Some(ts), Some(nonce), Some(digest), Some(sig)) = (
        get(ACCESS_KEY),
        get(TIMESTAMP),
        get(NONCE),
        get(BODY_SHA256),
        get(SIGNATURE),
    ) else {
        return Err("missing credentials: set ARUSTIO_ACCESS_KEY and ARUSTIO_SECRET_KEY");
    };
    if ak != creds.id {
        return Err("unknown access key");
    }
    let t: u64 = ts.parse().map_err(|_| "bad timestamp")?;
    if now_secs().abs_diff(t) > SKEW_SECS {
        return Err("request timestamp is more than 5 minutes off the server's clock");
    }
    let check = if digest == UNSIGNED_STREAM {
        if !STREAMED.contains(&path) {
            return Err("the body of this call must be signed");
        }
        BodyCheck::Stream
    } else if digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit()) {
        BodyCheck::Sha256(digest.to_ascii_lowercase())
    } else {
        return Err("bad body digest");
    };
    let sig = hex::decode(sig).map_err(|_| "bad signature")?;
    let signed = Covered {
        path,
        ts,
        nonce,
        key_id: ak,
        digest,
    };
    mac(&creds.secret, &signed)
        .verify_slice(&sig)
        .map_err(|_| "signature does not match: wrong secret key")?;
    if !replays.first_use(&sig, t) {
        return Err("this signature was used before: a replayed call");
    }
    Ok(check)
}

/// Signs a call whose body hashes to `digest` (or is [`UNSIGNED_STREAM`]).
pub fn sign(creds: &Key, path: &str, digest: &str, headers: &mut http::HeaderMap) {
    let ts = now_secs().to_string();
    let nonce = hex::encode(rand::random::<[u8; 16]>());
    let signed = Covered {
        path,
        ts: &ts,
        nonce: &nonce,
        key_id: &creds.id,
        digest,
    };
    let sig = hex::encode(mac(&creds.secret, &signed).finalize().into_bytes());
    for (k, v) in [
        (ACCESS_KEY, creds.id.as_str()),
        (TIMESTAMP, ts.as_str()),
        (NONCE, nonce.as_str()),
        (BODY_SHA256, digest),
        (SIGNATURE, sig.as_str()),
    ] {
        if let Ok(v) = http::HeaderValue::from_str(v) {
            headers.insert(k, v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNT: &str = "/arustio.admin.v1.Admin/Mount";

    fn creds() -> Key {
        Key {
            id: "AK".into(),
            secret: "s3cret-key".into(),
        }
    }

    #[test]
    fn signatures_verify_only_with_the_secret_the_method_and_the_body() {
        let creds = creds();
        let digest = body_digest(b"mount /a");
        let signed = || {
            let mut h = http::HeaderMap::new();
            sign(&creds, MOUNT, &digest, &mut h);
            h
        };
        let h = signed();
        assert_eq!(
            verify(&creds, MOUNT, &h, &Replays::default()),
            Ok(BodyCheck::Sha256(digest.clone()))
        );
        assert!(verify(&creds, "/arustio.admin.v1.Admin/Unmount", &h, &Replays::default()).is_err());
        let other = Key {
            id: "AK".into(),
            secret: "other".into(),
        };
        assert!(verify(&other, MOUNT, &h, &Replays::default()).is_err());
        let mut forged = signed();
        forged.insert(
            BODY_SHA256,
            http::HeaderValue::from_str(&body_digest(b"mount /b")).unwrap(),
        );
        assert!(
            verify(&creds, MOUNT, &forged, &Replays::default()).is_err(),
            "bound to the body"
        );
        assert!(verify(&creds, "/x", &http::HeaderMap::new(), &Replays::default()).is_err());
        assert!(!format!("{h:?}").contains("s3cret-key"));
    }

    #[test]
    fn a_signature_is_accepted_once() {
        let (creds, replays) = (creds(), Replays::default());
        let digest = body_digest(b"");
        let mut first = http::HeaderMap::new();
        sign(&creds, MOUNT, &digest, &mut first);
        let mut second = http::HeaderMap::new();
        sign(&creds, MOUNT, &digest, &mut second);
        assert!(verify(&creds, MOUNT, &first, &replays).is_ok());
        assert_eq!(
            verify(&creds, MOUNT, &first, &replays),
            Err("this signature was used before: a replayed call")
        );
        assert!(
            verify(&creds, MOUNT, &second, &replays).is_ok(),
            "the same call signed again is new"
        );
        assert_eq!(replays.len(), 2);
    }

    #[test]
    fn only_streamed_methods_may_leave_the_body_unsigned() {
        let creds = creds();
        let mut h = http::HeaderMap::new();
        sign(&creds, MOUNT, UNSIGNED_STREAM, &mut h);
        assert!(verify(&creds, MOUNT, &h, &Replays::default()).is_err());
        let write = STREAMED[0];
        sign(&creds, write, UNSIGNED_STREAM, &mut h);
        assert_eq!(verify(&creds, write, &h, &Replays::default()), Ok(BodyCheck::Stream));
    }
}
