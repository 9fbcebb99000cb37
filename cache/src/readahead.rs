//! Readahead: a ranged reader that continues where its last read of an object ended gets
//! the next blocks fetched in the background.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError};

use arustio_backends::Backend;
use futures::TryStreamExt;

use crate::manager::{Inner, ReadOptions};
use crate::stats::Counters;
use crate::{BlockSlice, ObjectId};

impl Inner {
    fn lock_next(&self) -> std::sync::MutexGuard<'_, HashMap<u128, (u128, u64)>> {
        self.next_block.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A ranged read that starts where the last one of the object ended (a sequential
    /// reader) gets the blocks after its last one fetched ahead (those this node owns, not
    /// yet held or in flight).
    pub(crate) fn maybe_read_ahead(
        self: &Arc<Self>,
        backend: &Arc<Backend>,
        object: &ObjectId,
        (start, end): (u64, u64),
        last: u64,
        opts: &ReadOptions,
    ) {
        let n = self.cfg.readahead_blocks;
        if n == 0 {
            return;
        }
        let bs = self.blocks.block_size();
        let k0 = object.block(bs, 0);
        let sequential = {
            let mut map = self.lock_next();
            if map.len() > 10_000 {
                map.clear();
            }
            let prev = map.insert(k0.path, (k0.version, end));
            prev.is_some_and(|(v, prev_end)| v == k0.version && prev_end == start)
        };
        if !sequential {
            return;
        }
        let count = self.blocks.block_count(object.size);
        let me = Arc::clone(self);
        let (backend, object, shared) = (Arc::clone(backend), object.clone(), opts.shared);
        tokio::spawn(async move {
            let mut run = Vec::new();
            let ring = me.ring(shared);
            for index in (last + 1)..(last + 1 + n).min(count) {
                let key = object.block(bs, index);
                if me.disk.as_ref().is_some_and(|d| d.contains(&key)) || me.remote_owner(&ring, &key).is_some() {
                    break;
                }
                if me.mem.get(&key).await.is_some() {
                    continue;
                }
                let Ok(claim) = me.claim(key) else { break };
                let block = me.blocks.block_range(index, object.size);
                let len = block.end - block.start;
                run.push((
                    BlockSlice {
                        index,
                        block,
                        want: 0..len,
                    },
                    claim,
                ));
            }
            if run.is_empty() {
                return;
            }
            Counters::add(&me.counters.readahead_blocks, run.len() as u64);
            if let Ok(s) = Arc::clone(&me).open_run(&backend, &object, run).await {
                // Drained here: the blocks land in the tiers as the run completes them.
                let _ = s.try_for_each(|_| futures::future::ready(Ok(()))).await;
            }
        });
    }
}
