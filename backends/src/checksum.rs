//! S3's checksum algorithms over bytes (`crc32`, `crc32c`, `crc64nvme`, `sha1`, `sha256`),
//! base64 as S3 gives them: the SDK's own implementations, for the S3 writer and for the
//! namespace's multipart checksums alike.

use aws_smithy_checksums::http::HttpChecksum;
use base64::Engine;

/// The names of the algorithms S3 has, as the gateway keeps them.
pub const ALGORITHMS: [&str; 5] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

/// A running checksum of one algorithm.
pub struct Hasher(Box<dyn HttpChecksum>);

impl Hasher {
    /// A hasher for `algorithm`, a name in [`ALGORITHMS`].
    pub fn new(algorithm: &str) -> Option<Self> {
        if !ALGORITHMS.contains(&algorithm) {
            return None;
        }
        let kind: aws_smithy_checksums::ChecksumAlgorithm = algorithm.parse().ok()?;
        Some(Self(kind.into_impl()))
    }

    /// Adds `bytes` to what is hashed.
    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The checksum, base64.
    pub fn finish(self) -> String {
        base64::engine::general_purpose::STANDARD.encode(self.0.finalize())
    }
}

/// The base64 checksum of `bytes` by `algorithm`.
pub fn of(algorithm: &str, bytes: &[u8]) -> Option<String> {
    let mut h = Hasher::new(algorithm)?;
    h.update(bytes);
    Some(h.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // "123456789", the CRC catalogue's check input.
        let b64 = |raw: &[u8]| base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(of("crc32", b"123456789"), Some(b64(&0xcbf4_3926_u32.to_be_bytes())));
        assert_eq!(of("crc32c", b"123456789"), Some(b64(&0xe306_9283_u32.to_be_bytes())));
        assert_eq!(
            of("crc64nvme", b"123456789"),
            Some(b64(&0xae8b_1486_0a79_9888_u64.to_be_bytes()))
        );
        assert_eq!(
            of("sha256", b"").as_deref(),
            Some("47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=")
        );
        assert_eq!(
            of("md5", b""),
            None,
            "the SDK takes md5 for crc32; S3 has no md5 checksum"
        );
    }
}
