//! Reading blocks from the store: one ranged GET per run of missing blocks, pinned with
//! `If-Match`, cut into blocks as the bytes stream to the client; single-flight claims so
//! that concurrent misses on a block make one request; background fills of the tiers.

use std::sync::{Arc, PoisonError};
use std::time::Duration;

use arustio_backends::{Backend, BackendError, ByteStream};
use bytes::{Bytes, BytesMut};
use futures::StreamExt;
use tokio::sync::watch;

use crate::manager::Inner;
use crate::stats::Counters;
use crate::{BlockKey, BlockRequest, BlockSlice, CacheNode, ObjectId};

/// A block being fetched: `None` while pending, then `Some(Some(bytes))`, or
/// `Some(None)` if the fetch failed.
pub(crate) type Slot = Option<Option<Bytes>>;

/// How long a reader waits for another reader's fetch of a block before asking the store.
const WAIT_FOR_PEER_READER: Duration = Duration::from_secs(30);

/// The right to fetch one block: others wait for it. Dropped unfulfilled (a failed or
/// abandoned read), the waiters are told to fetch for themselves.
pub(crate) struct Claim {
    key: BlockKey,
    tx: Option<watch::Sender<Slot>>,
    inner: std::sync::Weak<Inner>,
}

impl Claim {
    fn fulfil(mut self, b: &Bytes) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Some(Some(b.clone())));
        }
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let Some(tx) = self.tx.take() {
            let _ = tx.send(Some(None));
        }
        if let Some(inner) = self.inner.upgrade() {
            inner
                .inflight
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .remove(&self.key);
        }
    }
}

/// Waits for another reader's fetch; `None` if it failed or took too long.
pub(crate) async fn wait(mut rx: watch::Receiver<Slot>) -> Option<Bytes> {
    let r = tokio::time::timeout(WAIT_FOR_PEER_READER, rx.wait_for(Option::is_some)).await;
    match r {
        Ok(Ok(v)) => v.clone().flatten(),
        _ => None,
    }
}

/// The whole of a stream, in one buffer.
pub(crate) async fn collect(mut s: ByteStream) -> Result<Bytes, BackendError> {
    let mut buf = BytesMut::new();
    while let Some(chunk) = s.next().await {
        buf.extend_from_slice(&chunk?);
    }
    Ok(buf.freeze())
}

fn short_read(key: &str) -> BackendError {
    BackendError::Io {
        path: key.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the store sent fewer bytes than the object's size",
        ),
    }
}

/// Cuts a run's upstream bytes into blocks and the client's wanted bytes.
struct Chopper {
    inner: Arc<Inner>,
    /// The run's blocks, in order, with their claims (none where another reader has the
    /// block in flight); the front one is being filled.
    blocks: std::collections::VecDeque<(BlockSlice, Option<Claim>)>,
    /// The object's blocks, to key the unclaimed ones.
    object: ObjectId,
    block_size: u64,
    /// The cache nodes, when completed blocks go to their owners too (empty: they stay here).
    ring: Vec<CacheNode>,
    /// The object offset of the next byte from the store.
    off: u64,
    /// The object bytes the client wants.
    want: std::ops::Range<u64>,
    buf: BytesMut,
}

impl Chopper {
    /// Takes one chunk from the store; returns the part of it the client wants.
    fn feed(&mut self, chunk: &Bytes) -> Option<Bytes> {
        let (start, end) = (self.off, self.off + chunk.len() as u64);
        let (a, b) = (start.max(self.want.start), end.min(self.want.end));
        let out = (a < b)
            .then(|| chunk.slice(usize::try_from(a - start).unwrap_or(0)..usize::try_from(b - start).unwrap_or(0)));
        let mut rest = chunk.clone();
        while !rest.is_empty() {
            let Some((slice, _)) = self.blocks.front() else { break };
            let need = usize::try_from(slice.block.end - self.off).unwrap_or(usize::MAX);
            let take = need.min(rest.len());
            if self.buf.is_empty() {
                // Exactly the block's size: a grown buffer would hold up to twice what the
                // memory tier's weigher counts.
                let len = usize::try_from(slice.block.end - slice.block.start).unwrap_or(0);
                self.buf = BytesMut::with_capacity(len);
            }
            self.buf.extend_from_slice(&rest.split_to(take));
            self.off += take as u64;
            if self.off == slice.block.end
                && let Some((slice, claim)) = self.blocks.pop_front()
            {
                let block = std::mem::take(&mut self.buf).freeze();
                // The first block is partial when the store's bytes began inside it (a
                // suffix range): passed on, not held.
                if block.len() as u64 == slice.block.end - slice.block.start {
                    let key = self.object.block(self.block_size, slice.index);
                    if let Some(owner) = self.inner.remote_owner(&self.ring, &key) {
                        self.inner
                            .hand_to_owner(owner, &self.object, slice.index, block.clone());
                    }
                    self.inner.block_done(key, block, claim);
                }
            }
        }
        if self.blocks.is_empty() && !rest.is_empty() {
            // Bytes past the run: the store sent more than asked.
            self.off += rest.len() as u64;
        }
        out
    }
}

/// Feeds the rest of a run to its chopper, completing its blocks.
async fn drain(mut upstream: ByteStream, mut chopper: Chopper) {
    while !chopper.blocks.is_empty() {
        match upstream.next().await {
            Some(Ok(chunk)) => {
                chopper.feed(&chunk);
            }
            Some(Err(e)) => {
                tracing::debug!(error = %e, "reading the rest of a block failed");
                return;
            }
            None => return,
        }
    }
}

impl Inner {
    /// Claims block `key` for fetching, or returns the receiver of whoever has it.
    pub(crate) fn claim(self: &Arc<Self>, key: BlockKey) -> Result<Claim, watch::Receiver<Slot>> {
        let mut map = self.inflight.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(rx) = map.get(&key) {
            return Err(rx.clone());
        }
        let (tx, rx) = watch::channel(None);
        map.insert(key, rx);
        Ok(Claim {
            key,
            tx: Some(tx),
            inner: Arc::downgrade(self),
        })
    }

    /// A completed block from the store: its waiters get it, the tiers hold it.
    fn block_done(&self, key: BlockKey, block: Bytes, claim: Option<Claim>) {
        Counters::add(&self.counters.misses, 1);
        Counters::add(&self.counters.store_bytes, block.len() as u64);
        if let Some(claim) = claim {
            claim.fulfil(&block);
        }
        self.fill(key, block);
    }

    /// Room for `len` more bytes of background work (disk writes, blocks handed to their
    /// owners); `None`, counted, when too much is in flight.
    fn background_permit(&self, len: usize) -> Option<tokio::sync::OwnedSemaphorePermit> {
        let mib = u32::try_from(len.div_ceil(1024 * 1024)).unwrap_or(u32::MAX).max(1);
        let permit = Arc::clone(&self.fill_permits).try_acquire_many_owned(mib).ok();
        if permit.is_none() {
            Counters::add(&self.counters.fills_dropped, 1);
        }
        permit
    }

    /// Sends a block this node read to its owner, in the background (bounded with the
    /// disk writes; past the bound it is skipped and counted).
    fn hand_to_owner(self: &Arc<Self>, owner: CacheNode, object: &ObjectId, index: u64, block: Bytes) {
        let Some((_, transport)) = self.members.get() else {
            return;
        };
        let Some(permit) = self.background_permit(block.len()) else {
            return;
        };
        let req = BlockRequest {
            locator: String::new(),
            object: object.clone(),
            block_size: self.blocks.block_size(),
            index,
        };
        let transport = Arc::clone(transport);
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let sent = tokio::time::timeout(Duration::from_secs(10), transport.put_block(&owner, &req, block)).await;
            if matches!(sent, Ok(Ok(()))) {
                Counters::add(&me.counters.handed, 1);
            } else {
                tracing::debug!(node = owner.id, "handing a block to its owner failed");
            }
            drop(permit);
        });
    }

    /// Holds a block in memory and on disk, in the background; a client never waits.
    pub(crate) fn fill(&self, key: BlockKey, block: Bytes) {
        self.fill_mem(key, block.clone());
        let Some(disk) = self.disk.clone() else { return };
        let Some(permit) = self.background_permit(block.len()) else {
            return;
        };
        tokio::spawn(async move {
            if let Err(e) = disk.put(key, block).await {
                tracing::warn!(error = %e, "disk cache write failed");
            }
            drop(permit);
        });
    }

    /// One GET of the run's blocks, pinned to the version; the returned stream gives the
    /// wanted bytes and fills the blocks as they complete.
    pub(crate) async fn open_run(
        self: Arc<Self>,
        backend: &Arc<Backend>,
        object: &ObjectId,
        run: Vec<(BlockSlice, Claim)>,
    ) -> Result<ByteStream, BackendError> {
        let (Some((first, _)), Some((last, _))) = (run.first(), run.last()) else {
            return Ok(futures::stream::empty().boxed());
        };
        let range = first.block.start..last.block.end;
        let (_, upstream) = backend
            .get(&object.key, Some(range.clone()), Some(&object.version))
            .await?;
        let run = run.into_iter().map(|(s, c)| (s, Some(c))).collect();
        Ok(self.chop(object, run, upstream, range.start, Vec::new()))
    }

    /// Cuts `upstream`, the bytes of `run`'s blocks in order from object offset `from`
    /// (the first block's start, or inside it), into the wanted bytes and whole blocks for
    /// the tiers.
    pub(crate) fn chop(
        self: Arc<Self>,
        object: &ObjectId,
        run: Vec<(BlockSlice, Option<Claim>)>,
        upstream: ByteStream,
        from: u64,
        ring: Vec<CacheNode>,
    ) -> ByteStream {
        let (Some((first, _)), Some((last, _))) = (run.first(), run.last()) else {
            return futures::stream::empty().boxed();
        };
        let want = first.block.start + first.want.start..last.block.start + last.want.end;
        let off = from.clamp(first.block.start, first.block.end);
        let block_size = self.blocks.block_size();
        let chopper = Chopper {
            inner: self,
            blocks: run.into(),
            object: object.clone(),
            block_size,
            ring,
            off,
            want,
            buf: BytesMut::new(),
        };
        let key = object.key.clone();
        let s = futures::stream::unfold(Some((upstream, chopper)), move |state| {
            let key = key.clone();
            async move {
                let (mut upstream, mut chopper) = state?;
                loop {
                    match upstream.next().await {
                        Some(Ok(chunk)) => {
                            let out = chopper.feed(&chunk);
                            if chopper.off >= chopper.want.end && !chopper.blocks.is_empty() {
                                // The client has its bytes; the rest of the last block is
                                // read in the background so that the block is held whole.
                                tokio::spawn(drain(upstream, chopper));
                                return out.map(|o| (Ok(o), None));
                            }
                            if let Some(out) = out {
                                return Some((Ok(out), Some((upstream, chopper))));
                            }
                        }
                        Some(Err(e)) => return Some((Err(e), None)),
                        None if chopper.blocks.is_empty() => return None,
                        None => return Some((Err(short_read(&key)), None)),
                    }
                }
            }
        });
        s.boxed()
    }

    /// One whole block for this node: memory, disk, another reader's fetch, else the store.
    pub(crate) async fn local_block(
        self: Arc<Self>,
        backend: &Arc<Backend>,
        object: &ObjectId,
        index: u64,
    ) -> Result<Bytes, BackendError> {
        let key = object.block(self.blocks.block_size(), index);
        if let Some(b) = self.mem.get(&key).await {
            Counters::add(&self.counters.mem_hits, 1);
            Counters::add(&self.counters.mem_bytes, b.len() as u64);
            return Ok(b);
        }
        if let Some(d) = &self.disk
            && let Some(b) = d.get(&key).await
        {
            Counters::add(&self.counters.disk_hits, 1);
            Counters::add(&self.counters.disk_bytes, b.len() as u64);
            self.fill_mem(key, b.clone());
            return Ok(b);
        }
        let claim = match self.claim(key) {
            Ok(c) => c,
            Err(rx) => {
                if let Some(b) = wait(rx).await {
                    Counters::add(&self.counters.coalesced, 1);
                    return Ok(b);
                }
                // The other fetch failed: ours, without a claim.
                let r = self.blocks.block_range(index, object.size);
                let (_, s) = backend.get(&object.key, Some(r), Some(&object.version)).await?;
                return collect(s).await;
            }
        };
        let block = self.blocks.block_range(index, object.size);
        let len = block.end - block.start;
        let run = vec![(
            BlockSlice {
                index,
                block,
                want: 0..len,
            },
            claim,
        )];
        let b = collect(Arc::clone(&self).open_run(backend, object, run).await?).await?;
        if b.len() as u64 != len {
            return Err(short_read(&object.key));
        }
        Ok(b)
    }
}
