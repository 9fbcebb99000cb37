//! [`CacheManager`]: each block of a read from memory, then disk, then its owner node,
//! then the store, pinned to the version the caller saw; fills the tiers in the background.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use arustio_backends::{Backend, BackendError, ByteStream, ReadRange};
use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use tokio::sync::{Semaphore, watch};

use crate::fetch::{Claim, Slot};
use crate::mem::MemTier;
use crate::stats::{CacheStats, Counters, Source, SourceMix};
use crate::{BlockAccessor, BlockKey, BlockRequest, BlockSlice, CHUNK_SIZE, CacheError, CacheNode, DiskTier};
use crate::{Members, ObjectId, PeerTransport, owner, path_hash};

/// The cache's settings.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// This node's id (its place on the ring).
    pub node_id: u64,
    /// Bytes of the memory tier.
    pub memory: u64,
    /// The disk tier's directory, if any.
    pub disk_dir: Option<PathBuf>,
    /// Bytes of the disk tier.
    pub disk: u64,
    /// The block size.
    pub block_size: u64,
    /// Blocks fetched ahead of a sequential ranged reader.
    pub readahead_blocks: u64,
    /// How long a peer may take for one block before the store is asked instead.
    pub peer_timeout: Duration,
}

impl Default for CacheConfig {
    fn default() -> Self {
        Self {
            node_id: 1,
            memory: 512 * 1024 * 1024,
            disk_dir: None,
            disk: 0,
            block_size: CHUNK_SIZE,
            readahead_blocks: 4,
            peer_timeout: Duration::from_secs(5),
        }
    }
}

/// How one read may use the cache: set per mount by the namespace.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// Use the cache at all (off: a bypass).
    pub cache: bool,
    /// The store is shared by all nodes, so blocks may be owned by and fetched from peers
    /// (never for node-local stores).
    pub shared: bool,
    /// Where a peer finds the object (the namespace path), for peer fetches.
    pub locator: String,
}

/// A read's bytes and where they come from.
pub struct CachedRead {
    /// The bytes asked for.
    pub stream: ByteStream,
    /// The sources of its blocks, as planned.
    pub sources: SourceMix,
}

impl std::fmt::Debug for CachedRead {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CachedRead")
            .field("sources", &self.sources)
            .finish_non_exhaustive()
    }
}

/// Reads object bytes through the cache; `passthrough()` reads straight from the store.
#[derive(Debug, Default, Clone)]
pub struct CacheManager {
    inner: Option<Arc<Inner>>,
}

/// Bytes of block writes to the disk tier in flight at once; past it, a fill is skipped.
const FILL_BYTES_IN_FLIGHT: usize = 256 * 1024 * 1024;
/// Segments of one read prepared ahead of the one being sent (peer and disk blocks).
const SEGMENTS_AHEAD: usize = 3;

pub(crate) struct Inner {
    pub cfg: CacheConfig,
    pub blocks: BlockAccessor,
    pub mem: MemTier,
    pub disk: Option<Arc<DiskTier>>,
    pub members: OnceLock<(Arc<dyn Members>, Arc<dyn PeerTransport>)>,
    pub counters: Counters,
    pub inflight: Mutex<HashMap<BlockKey, watch::Receiver<Slot>>>,
    pub fill_permits: Arc<Semaphore>,
    /// Where the last ranged read of each object (path, version) ended, for readahead.
    pub next_block: Mutex<HashMap<u128, (u128, u64)>>,
    /// Peers passed over for a while after a failed fetch.
    pub suspects: crate::suspects::Suspects,
}

impl std::fmt::Debug for Inner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Inner").field("cfg", &self.cfg).finish_non_exhaustive()
    }
}

/// One piece of a read's plan.
pub(crate) enum Seg {
    Mem(Bytes, BlockSlice),
    Disk(BlockKey, BlockSlice),
    Peer(CacheNode, BlockSlice),
    Wait(watch::Receiver<Slot>, BlockSlice),
    Store(Vec<(BlockSlice, Claim)>),
}

fn slice_of(block: &Bytes, s: &BlockSlice) -> Bytes {
    let (a, b) = (
        usize::try_from(s.want.start).unwrap_or(0),
        usize::try_from(s.want.end).unwrap_or(0),
    );
    block.slice(a.min(block.len())..b.min(block.len()))
}

impl CacheManager {
    /// A cache that passes every read through to the store.
    pub fn passthrough() -> Self {
        Self { inner: None }
    }

    /// A cache with the tiers `cfg` names; the disk tier is opened (and its blocks found
    /// again) here.
    pub async fn open(cfg: CacheConfig) -> Result<Self, CacheError> {
        let disk = match &cfg.disk_dir {
            Some(dir) if cfg.disk > 0 => Some(Arc::new(DiskTier::open(dir.clone(), cfg.disk).await?)),
            _ => None,
        };
        let inner = Inner {
            blocks: BlockAccessor::new(cfg.block_size),
            mem: MemTier::new(cfg.memory),
            disk,
            members: OnceLock::new(),
            counters: Counters::default(),
            inflight: Mutex::default(),
            fill_permits: Arc::new(Semaphore::new(FILL_BYTES_IN_FLIGHT / (1024 * 1024))),
            next_block: Mutex::default(),
            suspects: crate::suspects::Suspects::default(),
            cfg,
        };
        Ok(Self {
            inner: Some(Arc::new(inner)),
        })
    }

    /// Connects the cache to the cluster: who the cache nodes are, and how to reach them.
    pub fn attach(&self, members: Arc<dyn Members>, transport: Arc<dyn PeerTransport>) {
        if let Some(inner) = &self.inner {
            let _ = inner.members.set((members, transport));
        }
    }

    /// Whether this is a real cache (not a pass-through).
    pub fn enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Reads `range` (or all) of `object` from `backend`, pinned to `object.version`: a
    /// changed object fails with `Precondition` (or `NotFound`) rather than mix versions.
    pub async fn read(
        &self,
        backend: &Arc<Backend>,
        object: &ObjectId,
        range: Option<ReadRange>,
        opts: &ReadOptions,
    ) -> Result<CachedRead, BackendError> {
        match self.inner.as_ref().filter(|_| opts.cache) {
            Some(inner) => Arc::clone(inner).read(backend, object, range, opts).await,
            None => {
                if let Some(inner) = &self.inner {
                    Counters::add(&inner.counters.bypasses, 1);
                }
                let (_, stream) = backend.get(&object.key, range, Some(&object.version)).await?;
                let mut sources = SourceMix::default();
                sources.add(Source::Bypass);
                Ok(CachedRead { stream, sources })
            }
        }
    }

    /// Reads `object` through the cache in the background, so its blocks are held (a
    /// write on a `cache_on_write` mount); a failure is only logged.
    pub fn warm(&self, backend: &Arc<Backend>, object: ObjectId, opts: ReadOptions) {
        let Some(inner) = self.inner.clone() else { return };
        let backend = Arc::clone(backend);
        tokio::spawn(async move {
            let drained = match inner.read(&backend, &object, None, &opts).await {
                Ok(r) => r.stream.try_for_each(|_| futures::future::ready(Ok(()))).await,
                Err(e) => Err(e),
            };
            if let Err(e) = drained {
                tracing::debug!(key = %object.key, error = %e, "cache_on_write: reading the new version back failed");
            }
        });
    }

    /// Whether blocks of a read may come from other nodes (a shared store and a ring of
    /// more than one cache node): then a node that has not seen the object asks its
    /// version first, since a peer may hold its blocks.
    pub fn has_peers(&self, shared: bool) -> bool {
        self.inner.as_ref().is_some_and(|i| !i.ring(shared).is_empty())
    }

    /// What another cache node last saw of (`store`, `key`): its version and metadata
    /// (opaque), from whichever peer answers first within a second; `None` if none does.
    pub async fn peer_lookup(&self, store: &str, key: &str) -> Option<(String, Vec<u8>)> {
        let inner = self.inner.as_ref()?;
        let (members, transport) = inner.members.get()?;
        let me = inner.cfg.node_id;
        let asks = members.cache_nodes().into_iter().filter(|n| n.id != me).map(|node| {
            let transport = Arc::clone(transport);
            Box::pin(async move {
                match tokio::time::timeout(Duration::from_secs(1), transport.lookup(&node, store, key)).await {
                    Ok(Ok(Some(found))) => Some(found),
                    _ => None,
                }
            })
        });
        let mut pending: futures::stream::FuturesUnordered<_> = asks.collect();
        while let Some(answer) = pending.next().await {
            if answer.is_some() {
                return answer;
            }
        }
        None
    }

    /// Whether this node's tiers hold the block of `object` at byte `offset` (after a
    /// restart, the disk tier holds blocks of versions this node has not been asked about).
    pub async fn holds(&self, object: &ObjectId, offset: u64) -> bool {
        let Some(inner) = &self.inner else { return false };
        let bs = inner.blocks.block_size();
        let key = object.block(bs, offset / bs);
        inner.mem.get(&key).await.is_some() || inner.disk.as_ref().is_some_and(|d| d.contains(&key))
    }

    /// The block size (of a real cache).
    pub fn block_size(&self) -> Option<u64> {
        self.inner.as_ref().map(|i| i.blocks.block_size())
    }

    /// `range` (or all) of the object, already being fetched from the store in `upstream`
    /// (a cold GET: the store's response gave the version), which carries the object's
    /// bytes from offset `from` to the end of the last block the range touches
    /// ([`CacheManager::block_size`]; the whole object without a cache); cut into blocks for
    /// the tiers as they pass (a first block begun inside is passed on, not held).
    pub fn read_fetched(
        &self,
        backend: &Arc<Backend>,
        object: &ObjectId,
        range: Option<ReadRange>,
        (upstream, from): (ByteStream, u64),
        opts: &ReadOptions,
    ) -> CachedRead {
        let mut sources = SourceMix::default();
        let Some(inner) = &self.inner else {
            sources.add(Source::Bypass);
            return CachedRead {
                stream: upstream,
                sources,
            };
        };
        sources.add(Source::Miss);
        let span = range.as_ref().map(|r| (r.start, r.end));
        let plan = inner.blocks.plan(object.size, range);
        if let (Some(span), Some(last)) = (span, plan.last()) {
            inner.maybe_read_ahead(backend, object, span, last.index, opts);
        }
        let bs = inner.blocks.block_size();
        let run = plan
            .into_iter()
            .map(|s| {
                let claim = inner.claim(object.block(bs, s.index)).ok();
                (s, claim)
            })
            .collect();
        CachedRead {
            stream: Arc::clone(inner).chop(object, run, upstream, from, inner.ring(opts.shared)),
            sources,
        }
    }

    /// A block another node read from the store for this node, its owner: held if it is
    /// whole and cut the way this node cuts.
    pub fn accept_block(&self, req: &BlockRequest, data: Bytes) {
        let Some(inner) = self.inner.as_ref().filter(|i| i.blocks.block_size() == req.block_size) else {
            return;
        };
        let r = inner.blocks.block_range(req.index, req.object.size);
        if data.len() as u64 == r.end - r.start && r.end > r.start {
            Counters::add(&inner.counters.received, 1);
            inner.fill(req.object.block(req.block_size, req.index), data);
        }
    }

    /// The whole block `req` names, for a peer that asked this node (its owner): from the
    /// tiers, else from the store (and then held).
    pub async fn serve_block(&self, backend: &Arc<Backend>, req: &BlockRequest) -> Result<Bytes, BackendError> {
        // Without a cache, or cut another way: straight from the store, not through the tiers.
        let Some(inner) = self.inner.as_ref().filter(|i| i.blocks.block_size() == req.block_size) else {
            let r = BlockAccessor::new(req.block_size).block_range(req.index, req.object.size);
            let (_, s) = backend.get(&req.object.key, Some(r), Some(&req.object.version)).await?;
            return crate::fetch::collect(s).await;
        };
        Counters::add(&inner.counters.served_to_peers, 1);
        Arc::clone(inner).local_block(backend, &req.object, req.index).await
    }

    /// Drops what this node holds of the object at (`store`, `key`), every version.
    pub fn drop_local(&self, store: &str, key: &str) {
        if let Some(inner) = &self.inner {
            let path = path_hash(store, key);
            inner.mem.remove_path(path);
            if let Some(disk) = inner.disk.clone() {
                tokio::spawn(async move {
                    disk.remove_path(path).await;
                });
            }
        }
    }

    /// After a write or delete of `key` on `backend`: tells every other cache node to
    /// forget the object's metadata (in the background; a node that misses it still checks
    /// the version on a strict mount, and its metadata expires on a ttl one). The old
    /// version's blocks stay until evicted: their keys name that version, so nothing asks
    /// for them again.
    pub fn invalidate(&self, backend: &Backend, key: &str) {
        self.broadcast(backend.cache_identity(), key.to_owned(), false);
    }

    /// `cache free`: drops the object's blocks, every version, here and on every other
    /// cache node.
    pub fn free(&self, store: &str, key: &str) {
        self.drop_local(store, key);
        self.broadcast(store.to_owned(), key.to_owned(), true);
    }

    /// Tells the other cache nodes that (`store`, `key`) changed, or (`blocks`) is freed.
    fn broadcast(&self, store: String, key: String, blocks: bool) {
        let Some(inner) = &self.inner else { return };
        let Some((members, transport)) = inner.members.get() else {
            return;
        };
        let me = inner.cfg.node_id;
        let (members, transport) = (Arc::clone(members), Arc::clone(transport));
        tokio::spawn(async move {
            for node in members.cache_nodes().into_iter().filter(|n| n.id != me) {
                let call = transport.invalidate(&node, &store, &key, blocks);
                match tokio::time::timeout(Duration::from_secs(3), call).await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => tracing::debug!(node = node.id, error = %e, "peer invalidation failed"),
                    Err(_) => tracing::debug!(node = node.id, "peer invalidation timed out"),
                }
            }
        });
    }

    /// This node's figures.
    pub async fn stats(&self) -> Option<CacheStats> {
        let inner = self.inner.as_ref()?;
        let mem = inner.mem.usage().await;
        let disk = inner.disk.as_ref().map(|d| d.stats());
        let mut stats = inner
            .counters
            .snapshot(inner.cfg.node_id, inner.blocks.block_size(), mem, disk);
        if let Some((members, _)) = inner.members.get() {
            stats.ring = members.cache_nodes().iter().map(|n| n.id).collect();
            stats.ring.sort_unstable();
        }
        Some(stats)
    }
}

impl Inner {
    /// The cache nodes, when blocks of a read may come from peers (a shared store and
    /// more than one node).
    pub(crate) fn ring(&self, shared: bool) -> Vec<CacheNode> {
        match self.members.get() {
            Some((members, _)) if shared => {
                let nodes = members.cache_nodes();
                if nodes.len() > 1 { nodes } else { Vec::new() }
            }
            _ => Vec::new(),
        }
    }

    /// The other node that owns `key` on `ring`, if not this one and not passed over
    /// after a failed fetch (then the block is read as if this node owned it).
    pub(crate) fn remote_owner(&self, ring: &[CacheNode], key: &BlockKey) -> Option<CacheNode> {
        owner(ring, key)
            .filter(|n| n.id != self.cfg.node_id && !self.suspects.is_suspect(n.id))
            .cloned()
    }

    async fn read(
        self: Arc<Self>,
        backend: &Arc<Backend>,
        object: &ObjectId,
        range: Option<ReadRange>,
        opts: &ReadOptions,
    ) -> Result<CachedRead, BackendError> {
        let bs = self.blocks.block_size();
        let span = range.as_ref().map(|r| (r.start, r.end));
        let plan = self.blocks.plan(object.size, range);
        let mut sources = SourceMix::default();
        let mut segs: Vec<Seg> = Vec::with_capacity(plan.len());
        let ring = self.ring(opts.shared);
        for s in plan.iter().cloned() {
            let key = object.block(bs, s.index);
            if let Some(b) = self.mem.get(&key).await {
                sources.add(Source::Hit);
                segs.push(Seg::Mem(b, s));
            } else if self.disk.as_ref().is_some_and(|d| d.contains(&key)) {
                sources.add(Source::Hit);
                segs.push(Seg::Disk(key, s));
            } else if let Some(node) = self.remote_owner(&ring, &key) {
                sources.add(Source::Peer);
                segs.push(Seg::Peer(node, s));
            } else {
                sources.add(Source::Miss);
                match self.claim(key) {
                    Err(rx) => segs.push(Seg::Wait(rx, s)),
                    Ok(claim) => match segs.last_mut() {
                        Some(Seg::Store(run)) if run.last().is_some_and(|(p, _)| p.index + 1 == s.index) => {
                            run.push((s, claim));
                        }
                        _ => segs.push(Seg::Store(vec![(s, claim)])),
                    },
                }
            }
        }
        if let (Some(span), Some(last)) = (span, plan.last()) {
            self.maybe_read_ahead(backend, object, span, last.index, opts);
        }
        // The first store request goes out now, wherever it falls in the read, so that a
        // changed object is an error before the response starts (not a body cut short
        // after the blocks held before it).
        let mut first = None;
        let at = segs.iter().position(|s| matches!(s, Seg::Store(_)));
        if let Some(Seg::Store(run)) = at.and_then(|i| segs.get_mut(i)) {
            let run = std::mem::take(run);
            first = Some(Arc::clone(&self).open_run(backend, object, run).await?);
        }
        let (backend, object, locator) = (Arc::clone(backend), object.clone(), opts.locator.clone());
        let me = Arc::clone(&self);
        let rest = futures::stream::iter(segs.into_iter().enumerate())
            .map(move |(i, seg)| {
                let (me, backend, object, locator) =
                    (Arc::clone(&me), Arc::clone(&backend), object.clone(), locator.clone());
                let first = if Some(i) == at { first.take() } else { None };
                async move {
                    match first {
                        Some(stream) => Ok(stream),
                        None => me.segment(&backend, &object, &locator, seg).await,
                    }
                }
            })
            .buffered(SEGMENTS_AHEAD)
            .try_flatten();
        Ok(CachedRead {
            stream: rest.boxed(),
            sources,
        })
    }

    /// The bytes of one planned segment.
    async fn segment(
        self: Arc<Self>,
        backend: &Arc<Backend>,
        object: &ObjectId,
        locator: &str,
        seg: Seg,
    ) -> Result<ByteStream, BackendError> {
        let once = |b: Bytes| futures::stream::once(async move { Ok(b) }).boxed();
        let bs = self.blocks.block_size();
        match seg {
            Seg::Mem(b, s) => {
                Counters::add(&self.counters.mem_hits, 1);
                Counters::add(&self.counters.mem_bytes, b.len() as u64);
                Ok(once(slice_of(&b, &s)))
            }
            Seg::Disk(key, s) => {
                let disk = self.disk.as_ref().map(Arc::clone);
                if let Some(b) = match disk {
                    Some(d) => d.get(&key).await,
                    None => None,
                }
                .filter(|b| b.len() as u64 == s.block.end - s.block.start)
                {
                    Counters::add(&self.counters.disk_hits, 1);
                    Counters::add(&self.counters.disk_bytes, b.len() as u64);
                    self.fill_mem(key, b.clone());
                    return Ok(once(slice_of(&b, &s)));
                }
                Counters::add(&self.counters.fallbacks, 1);
                let b = self.local_block(backend, object, s.index).await?;
                Ok(once(slice_of(&b, &s)))
            }
            Seg::Peer(node, s) => {
                let key = object.block(bs, s.index);
                match self.peer_block(&node, object, locator, &s).await {
                    Ok(b) => {
                        Counters::add(&self.counters.peer_hits, 1);
                        Counters::add(&self.counters.peer_bytes, b.len() as u64);
                        self.fill_mem(key, b.clone());
                        Ok(once(slice_of(&b, &s)))
                    }
                    Err(e) => {
                        tracing::debug!(node = node.id, error = %e, "peer block fetch failed; reading the store");
                        Counters::add(&self.counters.fallbacks, 1);
                        let b = self.local_block(backend, object, s.index).await?;
                        Ok(once(slice_of(&b, &s)))
                    }
                }
            }
            Seg::Wait(rx, s) => {
                if let Some(b) = crate::fetch::wait(rx).await {
                    Counters::add(&self.counters.coalesced, 1);
                    return Ok(once(slice_of(&b, &s)));
                }
                let b = self.local_block(backend, object, s.index).await?;
                Ok(once(slice_of(&b, &s)))
            }
            Seg::Store(run) => self.open_run(backend, object, run).await,
        }
    }

    async fn peer_block(
        &self,
        node: &CacheNode,
        object: &ObjectId,
        locator: &str,
        s: &BlockSlice,
    ) -> Result<Bytes, CacheError> {
        let got = self.fetch_peer_block(node, object, locator, s).await;
        if got.is_err() {
            self.suspects.suspect(node.id);
        }
        got
    }

    async fn fetch_peer_block(
        &self,
        node: &CacheNode,
        object: &ObjectId,
        locator: &str,
        s: &BlockSlice,
    ) -> Result<Bytes, CacheError> {
        let (_, transport) = self.members.get().ok_or_else(|| CacheError::Peer {
            node: node.id,
            reason: "no transport".into(),
        })?;
        let req = BlockRequest {
            locator: locator.to_owned(),
            object: object.clone(),
            block_size: self.blocks.block_size(),
            index: s.index,
        };
        let b = tokio::time::timeout(self.cfg.peer_timeout, transport.get_block(node, &req))
            .await
            .map_err(|_| CacheError::Peer {
                node: node.id,
                reason: format!("no block within {:?}", self.cfg.peer_timeout),
            })??;
        let want = s.block.end - s.block.start;
        if b.len() as u64 != want {
            return Err(CacheError::Peer {
                node: node.id,
                reason: format!("sent {} bytes of a {want}-byte block", b.len()),
            });
        }
        Ok(b)
    }

    /// Holds a block in memory, in the background.
    pub(crate) fn fill_mem(&self, key: BlockKey, b: Bytes) {
        let mem = self.mem.clone();
        tokio::spawn(async move { mem.insert(key, b).await });
    }
}
