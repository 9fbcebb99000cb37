//! The key rules: which S3 keys a store can hold unaltered.

use std::fmt;

use crate::StoreKind;

/// A rule a key broke.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyRule {
    /// Empty keys, empty segments (`a//b`) and leading `/` cannot be stored.
    EmptySegment,
    /// `.` and `..` segments cannot be stored.
    DotSegment,
    /// Control characters (NUL included) cannot be stored, nor listed in XML.
    ControlChar,
    /// A local filesystem limits each segment to 255 bytes.
    SegmentTooLong,
    /// On a local store, `name#123` is reserved for in-progress uploads.
    ReservedSuffix,
    /// On a local store a name cannot be both a file (`a`) and a directory (`a/b`).
    FileDirectoryClash,
}

impl fmt::Display for KeyRule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::EmptySegment => "keys may not be empty, start with '/' or contain '//'",
            Self::DotSegment => "keys may not contain '.' or '..' path segments",
            Self::ControlChar => "keys may not contain control characters",
            Self::SegmentTooLong => "each '/'-separated segment must be at most 255 bytes on a local store",
            Self::ReservedSuffix => "a segment ending in '#' followed by digits is reserved on a local store",
            Self::FileDirectoryClash => {
                "on a local store a name cannot be both an object and a prefix of other objects (like a and a/b)"
            }
        })
    }
}

/// Checks an object key (no trailing `/`) against the rules of `kind`. An S3 store takes
/// any key S3 takes: empty, `.` and `..` segments are keys like others there.
pub(crate) fn check_object_key(kind: StoreKind, key: &str) -> Result<(), KeyRule> {
    if key.is_empty() {
        return Err(KeyRule::EmptySegment);
    }
    if kind == StoreKind::S3 {
        return Ok(());
    }
    for segment in key.split('/') {
        check_segment(kind, segment)?;
    }
    Ok(())
}

/// Whether `s` holds a control character (Unicode's: C0, DEL and C1), which no key and
/// no namespace path may hold.
pub fn has_control_char(s: &str) -> bool {
    s.chars().any(char::is_control)
}

/// Checks the rules every path segment keeps, of a namespace path or of a key on a store
/// with directories: not empty, not `.` or `..`, no control characters.
pub fn check_path_segment(segment: &str) -> Result<(), KeyRule> {
    if segment.is_empty() {
        return Err(KeyRule::EmptySegment);
    }
    if segment == "." || segment == ".." {
        return Err(KeyRule::DotSegment);
    }
    if has_control_char(segment) {
        return Err(KeyRule::ControlChar);
    }
    Ok(())
}

/// Checks one path segment of a key on a store of `kind`.
pub(crate) fn check_segment(kind: StoreKind, segment: &str) -> Result<(), KeyRule> {
    check_path_segment(segment)?;
    if kind == StoreKind::Local {
        if segment.len() > 255 {
            return Err(KeyRule::SegmentTooLong);
        }
        if let Some((_, suffix)) = segment.rsplit_once('#')
            && !suffix.is_empty()
            && suffix.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(KeyRule::ReservedSuffix);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        use KeyRule::*;
        let cases = [
            ("a/b", None),
            ("a b/ü%#*?", None),
            ("", Some(EmptySegment)),
            ("/a", Some(EmptySegment)),
            ("a//b", Some(EmptySegment)),
            ("a/../b", Some(DotSegment)),
            ("a\0b", Some(ControlChar)),
            ("f#12", Some(ReservedSuffix)),
        ];
        for (key, want) in cases {
            assert_eq!(check_object_key(StoreKind::Local, key).err(), want, "{key:?}");
        }
        assert!(check_object_key(StoreKind::Memory, "f#12").is_ok());
        for key in ["a//b", "/a", "a/../b", "x/./y", "dir/"] {
            assert!(check_object_key(StoreKind::S3, key).is_ok(), "{key:?}");
            assert!(check_object_key(StoreKind::Gcs, key).is_err(), "{key:?}");
        }
        assert_eq!(check_object_key(StoreKind::S3, ""), Err(EmptySegment));
        assert_eq!(
            check_object_key(StoreKind::Local, &"x".repeat(256)),
            Err(SegmentTooLong)
        );
    }
}
