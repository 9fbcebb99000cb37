//! The checksums of a multipart upload: `COMPOSITE` (the checksum of the parts' checksums,
//! `<base64>-N`) or `FULL_OBJECT` (of the whole body, CRCs only). The algorithms themselves
//! are the backends crate's ([`arustio_backends::checksum`]).

use serde::{Deserialize, Serialize};

pub use arustio_backends::checksum::{ALGORITHMS, Hasher};

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
    use base64::Engine;
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

    use base64::Engine;

    fn sum(alg: &str, bytes: &[u8]) -> String {
        arustio_backends::checksum::of(alg, bytes).unwrap()
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
