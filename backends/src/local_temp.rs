//! What a killed write leaves in a local store: `object_store` writes a file under a
//! temporary name, `NAME#N` in the same directory, and renames it into place at the end;
//! a process killed before the rename leaves it behind. Such names are reserved on local
//! stores (no key may end in `#digits`) and never listed, so in a directory only the
//! gateway writes (a node's own root) they are a killed write's, and reclaimed at start.

use std::path::Path;

/// Whether `name` is `object_store`'s temporary name of an upload in progress.
fn is_temp(name: &str) -> bool {
    name.rsplit_once('#')
        .is_some_and(|(base, n)| !base.is_empty() && !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Removes the temporary files under `root`, which only the gateway writes; how many.
pub fn reclaim_temp_files(root: &Path) -> usize {
    let mut removed = 0;
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            if kind.is_dir() {
                dirs.push(entry.path());
            } else if kind.is_file()
                && entry.file_name().to_str().is_some_and(is_temp)
                && std::fs::remove_file(entry.path()).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_temp_names_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("b/sub")).unwrap();
        for f in ["b/obj", "b/obj#1", "b/sub/x#12", "b/a#b", "b/#3", "b/c#"] {
            std::fs::write(dir.path().join(f), b"x").unwrap();
        }
        assert_eq!(reclaim_temp_files(dir.path()), 2);
        let mut left: Vec<String> = ["b/obj", "b/a#b", "b/#3", "b/c#", "b/obj#1", "b/sub/x#12"]
            .iter()
            .filter(|f| dir.path().join(f).exists())
            .map(|f| (*f).to_owned())
            .collect();
        left.sort();
        assert_eq!(left, ["b/#3", "b/a#b", "b/c#", "b/obj"]);
    }
}
