//! [`Backend`]: one mounted store, addressed by mount-relative keys.

use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures::stream::{BoxStream, StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::prefix::PrefixStore;
use object_store::{GetOptions, GetRange, GetResultPayload, ObjectStore, ObjectStoreExt};

use crate::KeyRule;
use crate::attrs::{Attrs, from_store_attrs};
use crate::file_stream::local_file_stream;
use crate::keys::check_object_key;
use crate::upstream::{Labels, UpstreamMetrics};
use crate::{BackendError, MountUri, StoreKind};

/// A stream of body bytes.
pub type ByteStream = BoxStream<'static, Result<Bytes, BackendError>>;

/// A byte range `start..end` (end exclusive).
pub type ReadRange = Range<u64>;

/// Which bytes of an object a GET asks for, before its size is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GetSpan {
    /// The whole object.
    All,
    /// From a byte to the end.
    From(u64),
    /// `start..end` (end exclusive; cut at the object's end).
    Bounded(u64, u64),
    /// The last N bytes.
    Suffix(u64),
}

/// Metadata of one object, keyed mount-relative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectMeta {
    /// Mount-relative key.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// Last modification time.
    pub last_modified: DateTime<Utc>,
    /// The store's own version tag, if any.
    pub e_tag: Option<String>,
    /// Attributes the store keeps with the object (see [`Attrs`]), when it keeps any and
    /// they were fetched.
    pub attrs: Option<Attrs>,
}

impl ObjectMeta {
    fn from_store(key: String, meta: object_store::ObjectMeta) -> Self {
        Self {
            key,
            size: meta.size,
            last_modified: meta.last_modified,
            e_tag: meta.e_tag,
            attrs: None,
        }
    }
}

/// The client behind a backend.
#[derive(Debug)]
enum Store {
    /// GCS, Azure, local and memory stores, through `object_store`.
    Os(Arc<dyn ObjectStore>),
    /// S3 and S3-compatible stores, through the AWS SDK's client.
    S3(crate::s3::S3Store),
}

/// One store, as a mount sees it.
#[derive(Debug)]
pub struct Backend {
    uri: MountUri,
    store: Store,
    local_root: Option<PathBuf>,
    /// The URI's prefix with a trailing `/` (or empty): prepended to every key by the S3
    /// client (an `object_store` store is wrapped in a `PrefixStore` instead).
    prefix: String,
    errs: ErrorMapper,
    /// What tells this store apart for the cache (see [`Backend::cache_identity`]).
    identity: String,
    /// The registry's upstream series.
    upstream: UpstreamMetrics,
}

/// Turns a store's errors into ours: a refusal names the store, and remote failures that
/// survived the retries are marked unavailable.
#[derive(Debug, Clone)]
pub(crate) struct ErrorMapper {
    remote: bool,
    store: Arc<str>,
}

impl ErrorMapper {
    pub(crate) fn err(&self, key: &str, e: object_store::Error) -> BackendError {
        match BackendError::from_store(&self.store, key, e) {
            BackendError::Store { key, source } if self.remote && BackendError::is_throttling(&*source) => {
                BackendError::Throttled { key, source }
            }
            BackendError::Store { key, source } if self.remote => BackendError::Unavailable { key, source },
            other => other,
        }
    }
}

impl Backend {
    fn remote(&self) -> bool {
        !self.kind().node_local()
    }

    fn err(&self, key: &str, e: object_store::Error) -> BackendError {
        self.errs.err(key, e)
    }

    /// A backend on an `object_store` store.
    pub(crate) fn new(uri: MountUri, store: Arc<dyn ObjectStore>, local_root: Option<PathBuf>) -> Self {
        let store: Arc<dyn ObjectStore> = match Path::parse(&uri.prefix) {
            Ok(prefix) if !uri.prefix.is_empty() => Arc::new(PrefixStore::new(store, prefix)),
            _ => store,
        };
        Self::with_store(uri, Store::Os(store), local_root)
    }

    /// A backend on the S3 client.
    pub(crate) fn s3(uri: MountUri, store: crate::s3::S3Store) -> Self {
        Self::with_store(uri, Store::S3(store), None)
    }

    fn with_store(uri: MountUri, store: Store, local_root: Option<PathBuf>) -> Self {
        let prefix = if uri.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", uri.prefix)
        };
        let errs = ErrorMapper {
            remote: !uri.kind.node_local(),
            store: uri.to_string().into(),
        };
        let identity = uri.to_string();
        Self {
            uri,
            store,
            local_root,
            prefix,
            errs,
            identity,
            upstream: UpstreamMetrics::default(),
        }
    }

    pub(crate) fn with_identity(mut self, identity: String) -> Self {
        self.identity = identity;
        self
    }

    pub(crate) fn with_metrics(mut self, upstream: UpstreamMetrics) -> Self {
        self.upstream = upstream;
        self
    }

    /// The labels of this store's `op` series.
    fn labels(&self, op: &'static str) -> Labels {
        [
            ("store", self.id()),
            ("kind", self.kind().label().to_ascii_lowercase()),
            ("op", op.to_owned()),
        ]
    }

    /// The store's identity for the cache: its URI (scheme, bucket, prefix) and, for
    /// remote stores, its endpoint, region and account, so that two servers with a bucket
    /// of the same name never share blocks. The same on every node for one mount.
    pub fn cache_identity(&self) -> String {
        self.identity.clone()
    }

    /// The kind of store.
    pub fn kind(&self) -> StoreKind {
        self.uri.kind
    }

    /// A stable identity of the store: two mounts of the same store share it.
    pub fn id(&self) -> String {
        self.uri.to_string()
    }

    /// Checks that `key` (an object key, no trailing `/`) can be held unaltered.
    pub fn check_key(&self, key: &str) -> Result<(), BackendError> {
        check_object_key(self.kind(), key).map_err(|rule| BackendError::InvalidKey {
            key: key.to_owned(),
            store: self.id(),
            rule,
        })
    }

    fn path(&self, key: &str) -> Result<Path, BackendError> {
        self.check_key(key)?;
        self.located(key)
    }

    /// The store path of a key already checked: `NotFound` when it leads nowhere.
    fn located(&self, key: &str) -> Result<Path, BackendError> {
        if !self.reaches(key)? {
            return Err(BackendError::NotFound { key: key.to_owned() });
        }
        Path::parse(key).map_err(|e| BackendError::Store {
            key: key.to_owned(),
            source: e.into(),
        })
    }

    /// On a local store, whether `key` leads to a path inside the root (not through a
    /// symlink out of it, nor through a file).
    fn reaches(&self, key: &str) -> Result<bool, BackendError> {
        let Some(root) = &self.local_root else { return Ok(true) };
        crate::local_path::reach(root, key)
            .map(|r| r == crate::local_path::Reach::Inside)
            .map_err(|source| BackendError::Io {
                path: root.join(key).display().to_string(),
                source,
            })
    }

    /// [`Self::path`] for a key about to be written: one that leads nowhere is refused.
    fn write_path(&self, key: &str) -> Result<Path, BackendError> {
        self.check_key(key)?;
        self.check_local_clash(key)?;
        self.located(key).map_err(|e| match e {
            BackendError::NotFound { key } => BackendError::Denied { key, store: self.id() },
            other => other,
        })
    }

    /// Checks that the store answers: lists one key. Wrong credentials, a missing bucket
    /// or an unreachable endpoint fail here.
    pub async fn probe(&self) -> Result<(), BackendError> {
        match self.list("", None).next().await {
            None | Some(Ok(_)) => Ok(()),
            Some(Err(e)) => Err(e),
        }
    }

    /// The object-store client, or the S3 client with the store key of `key` (checked).
    fn client(&self, key: &str) -> Result<Client<'_>, BackendError> {
        match &self.store {
            Store::S3(s3) => {
                self.check_key(key)?;
                Ok(Client::S3(s3, format!("{}{key}", self.prefix)))
            }
            Store::Os(os) => Ok(Client::Os(os, self.path(key)?)),
        }
    }

    /// Metadata of the object at `key`.
    pub async fn head(&self, key: &str) -> Result<ObjectMeta, BackendError> {
        self.upstream.observe(self.labels("head"), self.head_inner(key)).await
    }

    async fn head_inner(&self, key: &str) -> Result<ObjectMeta, BackendError> {
        let (store, path) = match self.client(key)? {
            Client::S3(s3, full) => return s3.head(&full, key).await,
            Client::Os(os, path) => (os, path),
        };
        if self.remote() {
            // A HEAD that also returns what the store keeps with the object.
            let opts = GetOptions {
                head: true,
                ..GetOptions::default()
            };
            let r = store.get_opts(&path, opts).await.map_err(|e| self.err(key, e))?;
            let attrs = from_store_attrs(&r.attributes);
            let mut meta = ObjectMeta::from_store(key.to_owned(), r.meta);
            meta.attrs = Some(attrs);
            return Ok(meta);
        }
        let meta = store.head(&path).await.map_err(|e| self.err(key, e))?;
        Ok(ObjectMeta::from_store(key.to_owned(), meta))
    }

    /// Whether keys ending in `/` are objects in the store like any other (S3), rather than
    /// directory markers the gateway records itself.
    pub fn holds_markers(&self) -> bool {
        matches!(self.store, Store::S3(_))
    }

    /// Whether the store keeps object attributes (content type, user metadata) itself.
    pub fn keeps_attrs(&self) -> bool {
        self.remote()
    }

    /// Reads `range` (or all) of the object, failing with `Precondition` unless its
    /// store version is still `pin`.
    pub async fn get(
        &self,
        key: &str,
        range: Option<ReadRange>,
        pin: Option<&str>,
    ) -> Result<(ObjectMeta, ByteStream), BackendError> {
        self.upstream
            .observe(self.labels("get"), self.get_inner(key, range, pin))
            .await
    }

    async fn get_inner(
        &self,
        key: &str,
        range: Option<ReadRange>,
        pin: Option<&str>,
    ) -> Result<(ObjectMeta, ByteStream), BackendError> {
        let (store, path) = match self.client(key)? {
            Client::S3(s3, full) => {
                let range = range.map(|r| format!("bytes={}-{}", r.start, r.end.saturating_sub(1)));
                let got = s3.get(&full, key, range, pin, None).await?;
                return got
                    .map(|(meta, body, _)| (meta, body))
                    .ok_or_else(|| BackendError::Precondition { key: key.to_owned() });
            }
            Client::Os(os, path) => (os, path),
        };
        let opts = GetOptions {
            if_match: pin.map(str::to_owned),
            range: range.map(GetRange::Bounded),
            ..GetOptions::default()
        };
        let result = store.get_opts(&path, opts).await.map_err(|e| self.err(key, e))?;
        let meta = ObjectMeta::from_store(key.to_owned(), result.meta.clone());
        let stream = self.body(key, result.range.clone(), result.payload);
        Ok((meta, stream))
    }

    /// A GET's payload as a stream of our errors.
    fn body(&self, key: &str, range: Range<u64>, payload: GetResultPayload) -> ByteStream {
        match payload {
            GetResultPayload::File(file, path) => local_file_stream(file, &path, range),
            GetResultPayload::Stream(s) => {
                let (errs, key) = (self.errs.clone(), key.to_owned());
                s.map_err(move |e| errs.err(&key, e)).boxed()
            }
        }
    }

    /// Reads `span` of the object (past the end is cut at the end) unless its store
    /// version is still `not_version`: `None` when it is (the store answered 304). With the
    /// bytes, the object's metadata and what the store keeps with it, and the offset the
    /// bytes start at.
    pub async fn get_unless(
        &self,
        key: &str,
        not_version: Option<&str>,
        span: GetSpan,
    ) -> Result<Option<(ObjectMeta, ByteStream, u64)>, BackendError> {
        self.upstream
            .observe(self.labels("get"), self.get_unless_inner(key, not_version, span))
            .await
    }

    async fn get_unless_inner(
        &self,
        key: &str,
        not_version: Option<&str>,
        span: GetSpan,
    ) -> Result<Option<(ObjectMeta, ByteStream, u64)>, BackendError> {
        let (store, path) = match self.client(key)? {
            Client::S3(s3, full) => {
                let range = match span {
                    GetSpan::All | GetSpan::From(0) => None,
                    GetSpan::From(from) => Some(format!("bytes={from}-")),
                    GetSpan::Bounded(from, to) => Some(format!("bytes={from}-{}", to.saturating_sub(1))),
                    GetSpan::Suffix(n) => Some(format!("bytes=-{n}")),
                };
                return s3.get(&full, key, range, None, not_version).await;
            }
            Client::Os(os, path) => (os, path),
        };
        let range = match span {
            GetSpan::All | GetSpan::From(0) => None,
            GetSpan::From(from) => Some(GetRange::Offset(from)),
            GetSpan::Bounded(from, to) => Some(GetRange::Bounded(from..to)),
            GetSpan::Suffix(n) => Some(GetRange::Suffix(n)),
        };
        let opts = GetOptions {
            if_none_match: not_version.map(str::to_owned),
            range,
            ..GetOptions::default()
        };
        let result = match store.get_opts(&path, opts).await {
            Ok(r) => r,
            Err(object_store::Error::NotModified { .. }) => return Ok(None),
            Err(e) => return Err(self.err(key, e)),
        };
        let mut meta = ObjectMeta::from_store(key.to_owned(), result.meta.clone());
        if self.keeps_attrs() {
            meta.attrs = Some(from_store_attrs(&result.attributes));
        }
        let from = result.range.start;
        let stream = self.body(key, result.range.clone(), result.payload);
        Ok(Some((meta, stream, from)))
    }

    /// On a local store, refuses a key whose file would clash with a directory: the key
    /// itself is a directory, or one of its parents is a file.
    fn check_local_clash(&self, key: &str) -> Result<(), BackendError> {
        let Some(root) = &self.local_root else { return Ok(()) };
        let clash = || BackendError::InvalidKey {
            key: key.to_owned(),
            store: self.id(),
            rule: KeyRule::FileDirectoryClash,
        };
        if root.join(key).is_dir() {
            return Err(clash());
        }
        let mut parent = std::path::Path::new(key).parent();
        while let Some(p) = parent.filter(|p| !p.as_os_str().is_empty()) {
            if root.join(p).is_file() {
                return Err(clash());
            }
            parent = p.parent();
        }
        Ok(())
    }

    /// Starts a streamed, all-or-nothing write of `key`.
    pub fn writer(&self, key: &str) -> Result<crate::BackendWriter, BackendError> {
        let store = match &self.store {
            Store::S3(s3) => {
                self.check_key(key)?;
                let full = format!("{}{key}", self.prefix);
                let w = crate::BackendWriter::s3(crate::s3::S3Writer::new(s3.clone(), full, key));
                return Ok(w.observed(self.upstream.clone(), self.labels("put")));
            }
            Store::Os(os) => os,
        };
        let path = self.write_path(key)?;
        let w = crate::BackendWriter::os(crate::writer::OsWriter::new(
            Arc::clone(store),
            key,
            path,
            self.keeps_attrs(),
            self.kind() == StoreKind::Azure,
            self.errs.clone(),
        ));
        Ok(w.observed(self.upstream.clone(), self.labels("put")))
    }

    /// Whether the store itself can make a write conditional (create-only, or only over a
    /// given version), so that the condition holds across nodes. Node-local stores are
    /// written by one node only, whose per-key lock already makes conditions atomic.
    pub fn conditional_put(&self) -> bool {
        match &self.store {
            Store::S3(s3) => s3.conditional(),
            Store::Os(_) => self.remote(),
        }
    }

    /// Whether a write in parts (a body over 8 MiB, a multipart upload's completion) is
    /// conditional in the store too: on S3 the condition goes with CompleteMultipartUpload.
    pub fn conditional_multipart(&self) -> bool {
        matches!(&self.store, Store::S3(s3) if s3.conditional())
    }

    /// Deletes `key`; a missing object is not an error.
    pub async fn delete(&self, key: &str) -> Result<(), BackendError> {
        self.upstream
            .observe(self.labels("delete"), self.delete_inner(key))
            .await
    }

    async fn delete_inner(&self, key: &str) -> Result<(), BackendError> {
        let (store, path) = match self.client(key) {
            Ok(Client::S3(s3, full)) => return s3.delete(&full, key).await,
            Ok(Client::Os(os, path)) => (os, path),
            Err(BackendError::NotFound { .. }) => return Ok(()),
            Err(e) => return Err(e),
        };
        match store.delete(&path).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => Ok(()),
            Err(e) => Err(self.err(key, e)),
        }
    }

    /// Server-side copy within this store.
    pub async fn copy(&self, from: &str, to: &str) -> Result<(), BackendError> {
        self.upstream
            .observe(self.labels("copy"), self.copy_inner(from, to))
            .await
    }

    async fn copy_inner(&self, from: &str, to: &str) -> Result<(), BackendError> {
        let store = match self.client(from)? {
            Client::S3(s3, full) => {
                self.check_key(to)?;
                return s3.copy(&full, &format!("{}{to}", self.prefix), from).await;
            }
            Client::Os(os, _) => os,
        };
        let (src, dst) = (self.path(from)?, self.write_path(to)?);
        store.copy(&src, &dst).await.map_err(|e| self.err(from, e))
    }

    /// Renames within this store (a file rename on a local store).
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), BackendError> {
        self.upstream
            .observe(self.labels("rename"), self.rename_inner(from, to))
            .await
    }

    async fn rename_inner(&self, from: &str, to: &str) -> Result<(), BackendError> {
        let store = match self.client(from)? {
            Client::S3(s3, full) => {
                self.copy(from, to).await?;
                return s3.delete(&full, from).await;
            }
            Client::Os(os, _) => os,
        };
        let (src, dst) = (self.path(from)?, self.write_path(to)?);
        store.rename(&src, &dst).await.map_err(|e| self.err(from, e))
    }

    /// Objects whose key starts with `prefix` and sorts after `offset`, in key order.
    pub fn list(&self, prefix: &str, offset: Option<&str>) -> BoxStream<'static, Result<ObjectMeta, BackendError>> {
        crate::upstream::observe_stream(
            self.upstream.clone(),
            self.labels("list"),
            self.list_inner(prefix, offset),
        )
    }

    fn list_inner(&self, prefix: &str, offset: Option<&str>) -> BoxStream<'static, Result<ObjectMeta, BackendError>> {
        if let Some(root) = &self.local_root {
            return crate::local_list::list_sorted(root.clone(), prefix.to_owned(), offset.map(str::to_owned));
        }
        let store = match &self.store {
            Store::S3(s3) => {
                let start_after = offset.map(|o| format!("{}{o}", self.prefix));
                return s3.list(format!("{}{prefix}", self.prefix), start_after, self.prefix.len());
            }
            Store::Os(os) => os,
        };
        // object_store lists by whole segments: list the parent directory, then filter.
        let full = prefix.to_owned();
        let dir = full.rsplit_once('/').map_or("", |(d, _)| d).to_owned();
        let dir_path = Path::parse(&dir).ok().filter(|_| !dir.is_empty());
        let offset = offset.map(str::to_owned);
        let offset_path = offset.as_deref().and_then(|o| Path::parse(o).ok());
        let stream = match &offset_path {
            Some(o) => store.list_with_offset(dir_path.as_ref(), o),
            None => store.list(dir_path.as_ref()),
        };
        let errs = self.errs.clone();
        stream
            .map_err(move |e| errs.err("", e))
            .try_filter_map(move |meta| {
                let key = meta.location.to_string();
                let keep = key.starts_with(&full) && offset.as_ref().is_none_or(|o| key.as_str() > o.as_str());
                futures::future::ready(Ok(keep.then(|| ObjectMeta::from_store(key, meta))))
            })
            .boxed()
    }
}

/// Where a request goes: the object-store client and the key's path, or the S3 client and
/// the store key.
enum Client<'a> {
    Os(&'a Arc<dyn ObjectStore>, Path),
    S3(&'a crate::s3::S3Store, String),
}
