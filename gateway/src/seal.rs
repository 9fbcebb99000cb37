//! Users' secrets at rest: SigV4 needs each secret itself (the server computes the same
//! HMAC as the client), so it cannot be stored as a hash. It is sealed instead, with
//! ChaCha20-Poly1305 under a key derived from the cluster secret, which every node
//! holds and which is never in the metadata: a copy of RocksDB (or of a snapshot, or
//! the Raft log) alone does not give the secrets away. A node without a cluster secret
//! keeps a random key in a file of its own data dir (mode 0600): that protects a copy of
//! `meta/` only, not of the whole data dir.

use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit};
use hmac::{Hmac, Mac};
use rand::Rng;

/// The file a node without a cluster secret keeps its sealing key in.
const KEY_FILE: &str = "user-seal.key";
/// What the cluster secret is stretched with, so the sealing key is used for nothing else.
const LABEL: &[u8] = b"arustio user secrets v1";
/// Sealed values start with this, so another format can follow.
const VERSION: &str = "v1:";

/// Seals and opens users' secrets.
pub(crate) struct Sealer {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer")
    }
}

impl Sealer {
    fn with_key(key: [u8; 32]) -> Self {
        Self {
            cipher: ChaCha20Poly1305::new(&key.into()),
        }
    }

    /// The sealer of a cluster: its key is derived from the cluster secret.
    pub(crate) fn from_cluster_secret(secret: &str) -> Self {
        let mut mac = <Hmac<sha2::Sha256> as hmac::KeyInit>::new_from_slice(secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        mac.update(LABEL);
        Self::with_key(mac.finalize().into_bytes().into())
    }

    /// The sealer of a node alone: a random key kept under `data_dir`, made on first use.
    pub(crate) fn from_node_key(data_dir: &Path) -> std::io::Result<Self> {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt;
        let path = data_dir.join(KEY_FILE);
        match std::fs::read(&path) {
            Ok(raw) => {
                let key: [u8; 32] = B64
                    .decode(raw.trim_ascii())
                    .ok()
                    .and_then(|k| k.try_into().ok())
                    .ok_or_else(|| std::io::Error::other(format!("{} is not a sealing key", path.display())))?;
                Ok(Self::with_key(key))
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let key: [u8; 32] = rand::rng().random();
                let mut f = std::fs::OpenOptions::new()
                    .write(true)
                    .create_new(true)
                    .mode(0o600)
                    .open(&path)?;
                f.write_all(B64.encode(key).as_bytes())?;
                f.sync_all()?;
                Ok(Self::with_key(key))
            }
            Err(e) => Err(e),
        }
    }

    /// `secret`, sealed: `v1:` and the base64 of a random nonce and the ciphertext.
    pub(crate) fn seal(&self, secret: &str) -> String {
        let nonce: [u8; 12] = rand::rng().random();
        let sealed = self
            .cipher
            .encrypt(&nonce.into(), secret.as_bytes())
            .unwrap_or_else(|_| unreachable!("sealing a short secret cannot fail"));
        format!("{VERSION}{}", B64.encode([nonce.as_slice(), &sealed].concat()))
    }

    /// The secret `sealed` holds; `None` when it was sealed under another key or damaged.
    pub(crate) fn open(&self, sealed: &str) -> Option<String> {
        let raw = B64.decode(sealed.strip_prefix(VERSION)?).ok()?;
        if raw.len() < 12 {
            return None;
        }
        let (nonce, body) = raw.split_at(12);
        let nonce: [u8; 12] = nonce.try_into().ok()?;
        let plain = self.cipher.decrypt(&nonce.into(), body).ok()?;
        String::from_utf8(plain).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_secret_opens_with_the_same_key_only() {
        let a = Sealer::from_cluster_secret("cluster-secret-one-abcdef");
        let sealed = a.seal("s3cret-value");
        assert!(!sealed.contains("s3cret"), "{sealed}");
        assert_ne!(a.seal("s3cret-value"), sealed, "a fresh nonce each time");
        assert_eq!(a.open(&sealed).as_deref(), Some("s3cret-value"));
        let same = Sealer::from_cluster_secret("cluster-secret-one-abcdef");
        assert_eq!(
            same.open(&sealed).as_deref(),
            Some("s3cret-value"),
            "every node of the cluster"
        );
        let other = Sealer::from_cluster_secret("cluster-secret-two-abcdef");
        assert_eq!(other.open(&sealed), None);
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert_eq!(a.open(&tampered), None);
        assert_eq!(a.open("plain"), None);
    }

    #[test]
    fn a_node_key_is_made_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let sealed = Sealer::from_node_key(dir.path()).unwrap().seal("x-secret");
        let again = Sealer::from_node_key(dir.path()).unwrap();
        assert_eq!(again.open(&sealed).as_deref(), Some("x-secret"));
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join(KEY_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
