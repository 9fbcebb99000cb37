//! Namespace paths and the rules for bucket names and keys.
//!
//! A namespace path is kept without its leading `/`: the root is `""`, `/data/lake` is
//! `data/lake`. A bucket is a top-level directory; its key continues the path.

use arustio_backends::{KeyRule, check_path_segment, has_control_char};

use crate::error::{NsError, NsResult};

/// The longest key S3 accepts, in bytes.
pub(crate) const MAX_KEY_LEN: usize = 1024;

/// Normalises an absolute namespace path (`/a/b/`, `/`) to its internal form (`a/b`, ``).
pub fn normalize_path(path: &str) -> NsResult<String> {
    let bad = |reason: &str| NsError::InvalidKey {
        key: path.to_owned(),
        reason: reason.to_owned(),
    };
    let Some(rest) = path.strip_prefix('/') else {
        return Err(bad("a namespace path must start with '/'"));
    };
    let rest = rest.strip_suffix('/').unwrap_or(rest);
    if rest.is_empty() {
        return Ok(String::new());
    }
    for seg in rest.split('/') {
        check_path_segment(seg).map_err(|rule| {
            bad(match rule {
                KeyRule::EmptySegment => "empty path segment ('//')",
                KeyRule::DotSegment => "'.' and '..' segments are not allowed",
                _ => "control characters are not allowed",
            })
        })?;
    }
    Ok(rest.to_owned())
}

/// Normalises a mount point and checks that a top-level one is a valid bucket name,
/// since it will be one.
pub fn check_mount_path(path: &str) -> NsResult<String> {
    let norm = normalize_path(path)?;
    if let Some(top) = norm.split('/').next().filter(|t| !t.is_empty()) {
        let bad = |reason: String| NsError::MountRefused {
            path: path.to_owned(),
            reason: format!(
                "the top-level directory of a mount point becomes a bucket, so it must be a valid bucket name: {reason}"
            ),
        };
        check_bucket_name(top).map_err(|e| bad(e.to_string()))?;
        if top.len() < 3 {
            return Err(bad("3 to 63 characters, as S3's rules".to_owned()));
        }
    }
    Ok(norm)
}

/// Checks S3's bucket naming rules (lowercase letters, digits, `-` and `.`, starting and
/// ending with a letter or digit, not an IP address, at most 63 characters), except that
/// names of 1 or 2 characters are accepted too (`aws s3 mb s3://b`); mount points keep
/// S3's minimum of 3.
pub fn check_bucket_name(name: &str) -> NsResult<()> {
    let bad = |reason: &str| NsError::InvalidBucketName {
        bucket: name.to_owned(),
        reason: reason.to_owned(),
    };
    if !(1..=63).contains(&name.len()) {
        return Err(bad("a bucket name must be 1 to 63 characters long"));
    }
    if !name
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
    {
        return Err(bad(
            "a bucket name may hold only lowercase letters, digits, '-' and '.'",
        ));
    }
    let edge_ok = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !edge_ok(name.as_bytes()[0]) || !edge_ok(name.as_bytes()[name.len() - 1]) {
        return Err(bad("a bucket name must start and end with a letter or digit"));
    }
    if name.contains("..") {
        return Err(bad("a bucket name may not contain '..'"));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err(bad("a bucket name may not look like an IP address"));
    }
    Ok(())
}

/// Checks what every store demands of an S3 object key: at most 1024 bytes, not empty, no
/// control characters (an XML listing cannot carry them). Each store kind adds its own
/// rules (`arustio_backends::KeyRule`): a local store refuses empty, `.` and `..`
/// segments, an S3 store takes them as S3 does.
pub fn check_key(key: &str) -> NsResult<()> {
    let bad = |reason: &str| NsError::InvalidKey {
        key: key.to_owned(),
        reason: reason.to_owned(),
    };
    if key.len() > MAX_KEY_LEN {
        return Err(NsError::KeyTooLong { len: key.len() });
    }
    if key.is_empty() {
        return Err(bad("the key is empty"));
    }
    if has_control_char(key) {
        return Err(bad("keys may not contain control characters (NUL included)"));
    }
    Ok(())
}

/// Joins a bucket and key into a namespace path.
pub(crate) fn join(bucket: &str, key: &str) -> String {
    if key.is_empty() {
        bucket.to_owned()
    } else {
        format!("{bucket}/{key}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize_path("/").unwrap(), "");
        assert_eq!(normalize_path("/data/lake/").unwrap(), "data/lake");
        assert!(normalize_path("data").is_err());
        assert!(normalize_path("/a//b").is_err());
        assert!(normalize_path("/a/../b").is_err());
    }

    #[test]
    fn mount_paths_need_bucket_names_at_the_top() {
        assert_eq!(check_mount_path("/data/Lake_1").unwrap(), "data/Lake_1");
        assert_eq!(check_mount_path("/").unwrap(), "");
        assert!(check_mount_path("/ab").is_err());
        assert!(check_mount_path("/Data/x").is_err());
    }

    #[test]
    fn bucket_names() {
        assert!(check_bucket_name("lake").is_ok());
        assert!(check_bucket_name("b").is_ok());
        for bad in ["", "Lake", "-ab", "a..b", "192.168.1.1", &"a".repeat(64)] {
            assert!(check_bucket_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn keys() {
        assert!(check_key("a/b c/ü").is_ok());
        assert!(check_key("dir/").is_ok());
        for bad in ["", "a\0b", "a\nb"] {
            assert!(check_key(bad).is_err(), "{bad:?}");
        }
        // The store kind decides these (an S3 store takes them).
        for odd in ["/a", "a//b", "a/../b", "./a"] {
            assert!(check_key(odd).is_ok(), "{odd:?}");
        }
        assert!(matches!(check_key(&"k".repeat(1025)), Err(NsError::KeyTooLong { .. })));
    }
}
