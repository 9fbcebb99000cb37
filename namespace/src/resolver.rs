//! Mount resolution memoised per snapshot of the mount table: a request scans the mounts
//! and clones two `Arc`s, with no URI parsing, option canonicalisation or registry lock.

use std::sync::{Arc, OnceLock, PoisonError, RwLock};

use arustio_backends::{Backend, Registry};

use crate::mount::{MountEntry, Resolved, longest_index};
use crate::{NsError, NsResult};

/// One snapshot of the table, each mount (at its index in `table`) with its store once built.
struct Snapshot {
    table: Arc<Vec<MountEntry>>,
    mounts: Vec<(Arc<MountEntry>, OnceLock<Arc<Backend>>)>,
}

impl Snapshot {
    fn of(table: Arc<Vec<MountEntry>>) -> Self {
        let mounts = table.iter().map(|m| (Arc::new(m.clone()), OnceLock::new())).collect();
        Self { table, mounts }
    }
}

/// The memo; a new table snapshot (a mount or unmount) replaces it whole.
pub(crate) struct Resolver {
    current: RwLock<Arc<Snapshot>>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self {
            current: RwLock::new(Arc::new(Snapshot::of(Arc::default()))),
        }
    }
}

impl Resolver {
    /// The memo for `table`, rebuilt when the table is not the one it was built from.
    fn snapshot(&self, table: Arc<Vec<MountEntry>>) -> Arc<Snapshot> {
        {
            let cur = self.current.read().unwrap_or_else(PoisonError::into_inner);
            if Arc::ptr_eq(&cur.table, &table) {
                return Arc::clone(&cur);
            }
        }
        let mut cur = self.current.write().unwrap_or_else(PoisonError::into_inner);
        if !Arc::ptr_eq(&cur.table, &table) {
            *cur = Arc::new(Snapshot::of(table));
        }
        Arc::clone(&cur)
    }

    /// Resolves a normalised `path` against `table`: the mount whose point is its
    /// longest prefix, that mount's store (built by `registry` on first use) and the key.
    pub(crate) fn resolve(&self, table: Arc<Vec<MountEntry>>, registry: &Registry, path: &str) -> NsResult<Resolved> {
        let snap = self.snapshot(table);
        let i = longest_index(&snap.table, path).ok_or_else(|| NsError::NoMount {
            path: format!("/{path}"),
        })?;
        let (mount, backend) = &snap.mounts[i];
        let backend = match backend.get() {
            Some(b) => Arc::clone(b),
            // Not memoised on failure: the next request reports the error again.
            None => {
                let built = registry.backend(&mount.uri, &mount.options)?;
                Arc::clone(backend.get_or_init(|| built))
            }
        };
        Ok(Resolved {
            key: mount.relative(path).to_owned(),
            mount: Arc::clone(mount),
            backend,
        })
    }
}

#[cfg(test)]
mod tests {
    use arustio_backends::MountOptions;

    use super::*;

    fn m(path: &str, uri: &str) -> MountEntry {
        MountEntry {
            path: path.into(),
            uri: uri.into(),
            options: MountOptions::default(),
            readonly: false,
        }
    }

    #[test]
    fn a_new_table_is_seen_and_one_table_shares_its_stores() {
        let (reg, res) = (Registry::new(), Resolver::default());
        let one = Arc::new(vec![m("", "mem://root"), m("data", "mem://a")]);
        let a = res.resolve(Arc::clone(&one), &reg, "data/x/y").unwrap();
        assert_eq!((a.mount.path.as_str(), a.key.as_str()), ("data", "x/y"));
        let again = res.resolve(Arc::clone(&one), &reg, "data/z").unwrap();
        assert!(Arc::ptr_eq(&a.mount, &again.mount) && Arc::ptr_eq(&a.backend, &again.backend));
        let root = res.resolve(Arc::clone(&one), &reg, "other/k").unwrap();
        assert_eq!((root.mount.path.as_str(), root.key.as_str()), ("", "other/k"));

        // Remounted elsewhere: the next request resolves against the new table.
        let two = Arc::new(vec![m("", "mem://root"), m("data", "mem://b")]);
        let b = res.resolve(Arc::clone(&two), &reg, "data/x/y").unwrap();
        assert_eq!(b.mount.uri, "mem://b");
        assert!(!Arc::ptr_eq(&a.backend, &b.backend));
        let none = res.resolve(Arc::new(vec![m("data", "mem://b")]), &reg, "elsewhere/k");
        assert!(matches!(none, Err(NsError::NoMount { .. })));
    }

    #[test]
    fn a_store_that_cannot_be_built_fails_every_time() {
        let (reg, res) = (Registry::new(), Resolver::default());
        let table = Arc::new(vec![m("bad", "nosuch://x")]);
        for _ in 0..2 {
            assert!(res.resolve(Arc::clone(&table), &reg, "bad/k").is_err());
        }
    }
}
