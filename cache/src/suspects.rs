//! Peers passed over for a while after a failed block fetch (an error, or no block within
//! the peer timeout): their blocks come from the store meanwhile, so a peer that is cut
//! off costs a read one timeout, not one per block.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// How long a peer that failed a fetch is passed over.
pub(crate) const SUSPECT_FOR: Duration = Duration::from_secs(10);

/// The peers passed over, each until a time.
#[derive(Debug, Default)]
pub(crate) struct Suspects(Mutex<HashMap<u64, Instant>>);

impl Suspects {
    /// Whether `node` is passed over now.
    pub(crate) fn is_suspect(&self, node: u64) -> bool {
        self.is_suspect_at(node, Instant::now())
    }

    fn is_suspect_at(&self, node: u64, now: Instant) -> bool {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        match map.get(&node) {
            Some(until) if *until > now => true,
            Some(_) => {
                map.remove(&node);
                false
            }
            None => false,
        }
    }

    /// Passes `node` over for [`SUSPECT_FOR`] from now.
    pub(crate) fn suspect(&self, node: u64) {
        let mut map = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if map.insert(node, Instant::now() + SUSPECT_FOR).is_none() {
            tracing::warn!(
                node,
                for_secs = SUSPECT_FOR.as_secs(),
                "a cache peer failed a fetch: its blocks come from the store for a while"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_suspect_is_passed_over_for_a_while_only() {
        let s = Suspects::default();
        assert!(!s.is_suspect(3));
        s.suspect(3);
        assert!(s.is_suspect(3));
        assert!(!s.is_suspect(2));
        assert!(!s.is_suspect_at(3, Instant::now() + SUSPECT_FOR + Duration::from_millis(1)));
        assert!(!s.is_suspect(3), "forgotten once its time passed");
    }
}
