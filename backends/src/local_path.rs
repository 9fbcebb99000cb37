//! Keeps a local store's keys inside its root: a key whose path runs through a symlink to
//! somewhere outside the root, or through a file (`file/child`), names no object.

use std::io::ErrorKind;
use std::path::Path;

/// Where a key's path leads, seen from the root.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Reach {
    /// Inside the root (whether or not the file exists yet).
    Inside,
    /// Outside the root through a symlink, or through a file: no object can be there.
    Nowhere,
}

/// Resolves the longest existing part of `root/key` (`root` being a real path) and checks
/// that it lies inside `root`. A symlink swapped in after this check is not caught; the
/// check keeps keys from naming paths outside, it is not a sandbox.
pub(crate) fn reach(root: &Path, key: &str) -> std::io::Result<Reach> {
    let mut path = root.join(key);
    loop {
        match std::fs::canonicalize(&path) {
            Ok(real) => {
                return Ok(if real.starts_with(root) {
                    Reach::Inside
                } else {
                    Reach::Nowhere
                });
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) if e.kind() == ErrorKind::NotADirectory => return Ok(Reach::Nowhere),
            Err(e) => return Err(e),
        }
        // A dangling symlink is NotFound too: it must not be written through.
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.file_type().is_symlink()) {
            return Ok(Reach::Nowhere);
        }
        match path.parent() {
            Some(parent) if parent.starts_with(root) && parent != path => path = parent.to_owned(),
            _ => return Ok(Reach::Inside),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_reach_only_inside_the_root() {
        let base = tempfile::tempdir().unwrap();
        let root = base.path().join("root");
        std::fs::create_dir_all(root.join("d")).unwrap();
        std::fs::write(root.join("d/f"), b"x").unwrap();
        std::os::unix::fs::symlink(base.path(), root.join("up")).unwrap();
        std::os::unix::fs::symlink(root.join("d"), root.join("alias")).unwrap();
        std::os::unix::fs::symlink(base.path().join("nothing"), root.join("dangling")).unwrap();
        let root = std::fs::canonicalize(&root).unwrap();
        for (key, want) in [
            ("d/f", Reach::Inside),
            ("d/new/deeper", Reach::Inside),
            ("alias/f", Reach::Inside),
            ("up/root/d/f", Reach::Inside),
            ("up/x", Reach::Nowhere),
            ("up", Reach::Nowhere),
            ("d/f/child", Reach::Nowhere),
            ("dangling", Reach::Nowhere),
            ("dangling/x", Reach::Nowhere),
        ] {
            assert_eq!(reach(&root, key).unwrap(), want, "{key}");
        }
    }
}
