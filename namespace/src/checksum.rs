//! S3's checksum algorithms (`crc32`, `crc32c`, `crc64nvme`, `sha1`, `sha256`) over bytes,
//! and the checksums of a multipart upload: `COMPOSITE` (the checksum of the parts'
//! checksums, `<base64>-N`) or `FULL_OBJECT` (of the whole body, CRCs only).

use base64::Engine;
use crc_fast::{CrcAlgorithm, Digest as Crc};
use md5::Digest;
use serde::{Deserialize, Serialize};

/// The names of the algorithms S3 has.
pub const ALGORITHMS: [&str; 5] = ["crc32", "crc32c", "crc64nvme", "sha1", "sha256"];

/// A running checksum of one algorithm.
pub(crate) enum Hasher {
    Crc32(Crc),
    Crc64(Crc),
    Sha1(sha1::Sha1),
    Sha256(sha2::Sha256),
}

impl Hasher {
    /// A hasher for `algorithm` (a name in [`ALGORITHMS`]).
    pub(crate) fn new(algorithm: &str) -> Option<Self> {
        Some(match algorithm {
            "crc32" => Self::Crc32(Crc::new(CrcAlgorithm::Crc32IsoHdlc)),
            "crc32c" => Self::Crc32(Crc::new(CrcAlgorithm::Crc32Iscsi)),
            "crc64nvme" => Self::Crc64(Crc::new(CrcAlgorithm::Crc64Nvme)),
            "sha1" => Self::Sha1(sha1::Sha1::new()),
            "sha256" => Self::Sha256(sha2::Sha256::new()),
            _ => return None,
        })
    }

    pub(crate) fn update(&mut self, bytes: &[u8]) {
        match self {
            Self::Crc32(c) | Self::Crc64(c) => c.update(bytes),
            Self::Sha1(h) => h.update(bytes),
            Self::Sha256(h) => h.update(bytes),
        }
    }

    /// The checksum, base64, as S3 gives it.
    pub(crate) fn finish(self) -> String {
        let raw: Vec<u8> = match self {
            // A CRC-32 is the low 4 bytes, big-endian.
            Self::Crc32(c) => c.finalize().to_be_bytes()[4..].to_vec(),
            Self::Crc64(c) => c.finalize().to_be_bytes().to_vec(),
            Self::Sha1(h) => h.finalize().to_vec(),
            Self::Sha256(h) => h.finalize().to_vec(),
        };
        base64::engine::general_purpose::STANDARD.encode(raw)
    }
}

/// The checksum a multipart upload was created with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadChecksum {
    /// The algorithm, a name in [`ALGORITHMS`].
    pub algorithm: String,
    /// `FULL_OBJECT` (a checksum of the whole body) rather than `COMPOSITE`.
    pub full_object: bool,
}

impl UploadChecksum {
    /// S3's rules: CRC64NVME is only `FULL_OBJECT`, the SHAs only `COMPOSITE`; the CRC-32s
    /// are either, `COMPOSITE` unless asked. `Err` names the rule broken.
    pub fn new(algorithm: &str, checksum_type: Option<&str>) -> Result<Self, String> {
        let algorithm = algorithm.to_ascii_lowercase();
        if !ALGORITHMS.contains(&algorithm.as_str()) {
            return Err(format!("unsupported checksum algorithm {algorithm}"));
        }
        let full_object = match checksum_type {
            None => algorithm == "crc64nvme",
            Some("FULL_OBJECT") => true,
            Some("COMPOSITE") => false,
            Some(other) => return Err(format!("unknown checksum type {other}")),
        };
        if full_object && algorithm.starts_with("sha") {
            return Err(format!("the {algorithm} checksum type FULL_OBJECT is not supported"));
        }
        if !full_object && algorithm == "crc64nvme" {
            return Err("the crc64nvme checksum type COMPOSITE is not supported".to_owned());
        }
        Ok(Self { algorithm, full_object })
    }

    /// `COMPOSITE` or `FULL_OBJECT`.
    pub fn type_name(&self) -> &'static str {
        if self.full_object { "FULL_OBJECT" } else { "COMPOSITE" }
    }
}

/// The `COMPOSITE` checksum of parts with the base64 checksums `parts`: the checksum of
/// their bytes concatenated, then `-N`. `None` when a part's checksum is not base64.
pub(crate) fn composite(algorithm: &str, parts: &[&str]) -> Option<String> {
    let mut h = Hasher::new(algorithm)?;
    for p in parts {
        h.update(&base64::engine::general_purpose::STANDARD.decode(p).ok()?);
    }
    Some(format!("{}-{}", h.finish(), parts.len()))
}

/// `COMPOSITE` or `FULL_OBJECT`, for a kept checksum value.
pub fn type_of(value: &str) -> &'static str {
    if value.contains('-') {
        "COMPOSITE"
    } else {
        "FULL_OBJECT"
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sum(alg: &str, bytes: &[u8]) -> String {
        let mut h = Hasher::new(alg).unwrap();
        h.update(bytes);
        h.finish()
    }

    #[test]
    fn known_values() {
        // "123456789", the CRC catalogue's check input.
        let b64 = |raw: &[u8]| base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(sum("crc32", b"123456789"), b64(&0xcbf4_3926_u32.to_be_bytes()));
        assert_eq!(sum("crc32c", b"123456789"), b64(&0xe306_9283_u32.to_be_bytes()));
        assert_eq!(
            sum("crc64nvme", b"123456789"),
            b64(&0xae8b_1486_0a79_9888_u64.to_be_bytes())
        );
        assert_eq!(sum("sha256", b""), "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
    }

    #[test]
    fn composite_is_the_checksum_of_the_part_checksums() {
        let (a, b) = (sum("sha256", b"part one"), sum("sha256", b"part two"));
        let mut raw = base64::engine::general_purpose::STANDARD.decode(&a).unwrap();
        raw.extend(base64::engine::general_purpose::STANDARD.decode(&b).unwrap());
        assert_eq!(
            composite("sha256", &[&a, &b]).unwrap(),
            format!("{}-2", sum("sha256", &raw))
        );
        assert_eq!(type_of("abc=-2"), "COMPOSITE");
    }

    #[test]
    fn the_type_rules_of_s3() {
        assert!(UploadChecksum::new("CRC64NVME", None).unwrap().full_object);
        assert!(!UploadChecksum::new("crc32", None).unwrap().full_object);
        assert!(UploadChecksum::new("crc32c", Some("FULL_OBJECT")).unwrap().full_object);
        assert!(UploadChecksum::new("sha1", Some("FULL_OBJECT")).is_err());
        assert!(UploadChecksum::new("crc64nvme", Some("COMPOSITE")).is_err());
        assert!(UploadChecksum::new("md5", None).is_err());
    }
}
