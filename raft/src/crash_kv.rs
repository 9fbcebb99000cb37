//! [`CrashingKv`] (tests only): a KV store that stops writing after a given number of
//! writes, as a process killed there would, so a test can reopen what was left on disk.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use arustio_storage::{KvError, KvOp, KvPairs, KvStore};

/// Passes reads through; lets `writes` writes (a put, a delete or a whole batch each)
/// through, then refuses every later one without doing it.
#[derive(Debug)]
pub(crate) struct CrashingKv {
    inner: Arc<dyn KvStore>,
    writes_left: AtomicUsize,
}

impl CrashingKv {
    pub(crate) fn new(inner: Arc<dyn KvStore>, writes: usize) -> Self {
        Self {
            inner,
            writes_left: AtomicUsize::new(writes),
        }
    }

    fn one_write(&self) -> Result<(), KvError> {
        self.writes_left
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .map(|_| ())
            .map_err(|_| KvError("simulated crash".into()))
    }
}

impl KvStore for CrashingKv {
    fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, KvError> {
        self.inner.get(key)
    }

    fn put(&self, key: &[u8], value: &[u8]) -> Result<(), KvError> {
        self.one_write()?;
        self.inner.put(key, value)
    }

    fn delete(&self, key: &[u8]) -> Result<(), KvError> {
        self.one_write()?;
        self.inner.delete(key)
    }

    fn write_batch(&self, ops: &[KvOp]) -> Result<(), KvError> {
        self.one_write()?;
        self.inner.write_batch(ops)
    }

    fn scan(&self, prefix: &[u8], after: Option<&[u8]>, limit: usize) -> Result<KvPairs, KvError> {
        self.inner.scan(prefix, after, limit)
    }

    fn sync(&self) -> Result<(), KvError> {
        self.inner.sync()
    }
}

/// Runs `attempt(writes)` with a crash after 0, 1, 2, ... writes, until one finishes; what
/// each attempt left on disk (its first result) must be `before` or `after`, all or nothing.
pub(crate) async fn assert_all_or_nothing<S, F, Fut>(before: &S, after: &S, mut attempt: F)
where
    S: PartialEq + std::fmt::Debug,
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = (S, bool)>,
{
    for writes in 0.. {
        let (left, finished) = attempt(writes).await;
        assert!(
            left == *before || left == *after,
            "a crash after {writes} writes left neither the state before nor the one after: {left:#?}"
        );
        if finished {
            assert_eq!(left, *after, "finished after {writes} writes");
            return;
        }
    }
}
