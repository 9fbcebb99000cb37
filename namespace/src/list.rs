//! Listings: one sorted stream per contributing store, merged with the mount points.
//!
//! A listing of a bucket (or of the root, for ListBuckets) draws on the mount that holds
//! the bucket and on every mount below it. Each store is listed in key order, page by
//! page, shifted to its place in the namespace, with the regions of deeper mounts cut
//! out; the streams are merged, grouped by the delimiter, and cut at `max_keys`. When a
//! common prefix hides many keys the streams are restarted past it, so a prefix with a
//! million keys costs neither a million reads nor memory.

use std::collections::VecDeque;
use std::sync::Arc;

use arustio_backends::{Backend, ObjectMeta};
use futures::stream::{self, BoxStream, StreamExt, TryStreamExt};

use crate::Namespace;
use crate::error::NsResult;
use crate::info::ObjectInfo;
use crate::mount::MountEntry;
use crate::records::{ObjectRecord, Records};

/// Sorts after every key that starts with a given prefix.
const PAST: char = char::MAX;

/// A listing request, in namespace terms.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// The bucket; `None` lists the namespace root (its directories are the buckets).
    pub bucket: Option<String>,
    /// Only keys starting with this.
    pub prefix: String,
    /// Group keys by this delimiter into common prefixes.
    pub delimiter: Option<String>,
    /// Only keys after this one.
    pub after: Option<String>,
    /// `after` is a common prefix returned earlier: skip everything under it.
    pub after_is_prefix: bool,
    /// At most this many entries (keys plus common prefixes).
    pub max_keys: usize,
}

/// One entry of a listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListEntry {
    /// An object, or a `dir/` marker.
    Object(ObjectInfo),
    /// A common prefix.
    Prefix(String),
}

impl ListEntry {
    /// The key or prefix.
    pub fn key(&self) -> &str {
        match self {
            Self::Object(o) => &o.key,
            Self::Prefix(p) => p,
        }
    }
}

/// One page of a listing.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// Entries in key order.
    pub entries: Vec<ListEntry>,
    /// More entries follow.
    pub truncated: bool,
}

enum Found {
    Object { store: String, meta: ObjectMeta },
    Marker(ObjectRecord),
    MountPoint,
}

struct Item {
    key: String,
    found: Found,
}

type ItemStream = BoxStream<'static, NsResult<Item>>;

/// One store's contribution to a listing.
struct Source {
    /// Its place below the listed base, with a trailing `/` (`""` for the base's own store).
    at: String,
    /// The store key that corresponds to `at`.
    store_base: String,
    backend: Arc<Backend>,
    /// Places of deeper mounts whose regions this source must not show.
    cut: Vec<String>,
}

impl Source {
    fn stream(&self, records: &Records, prefix: &str, offset: Option<&str>) -> Option<ItemStream> {
        let store_prefix = if self.at.starts_with(prefix) {
            self.store_base.clone()
        } else if let Some(rest) = prefix.strip_prefix(&self.at) {
            format!("{}{rest}", self.store_base)
        } else {
            return None;
        };
        let store_offset = match offset {
            None => None,
            Some(o) => match o.strip_prefix(&self.at) {
                Some(rest) => Some(format!("{}{rest}", self.store_base)),
                None if o < self.at.as_str() => None,
                None => return None,
            },
        };
        let store_id = self.backend.id();
        let objects = self
            .backend
            .list(&store_prefix, store_offset.as_deref())
            .map_err(Into::into)
            .map_ok(move |meta| {
                (
                    meta.key.clone(),
                    Found::Object {
                        store: store_id.clone(),
                        meta,
                    },
                )
            })
            .boxed();
        let markers = marker_stream(records.clone(), self.backend.id(), store_prefix, store_offset)
            .map_ok(|(key, rec)| (key, Found::Marker(rec)))
            .boxed();
        let (at, base, cut) = (self.at.clone(), self.store_base.clone(), self.cut.clone());
        let merged = merge_sorted(vec![objects, markers], |(k, _)| k.clone());
        Some(
            merged
                .try_filter_map(move |(store_key, found)| {
                    let rest = store_key.strip_prefix(&base).unwrap_or(&store_key);
                    let key = format!("{at}{rest}");
                    let hidden = key.is_empty()
                        || cut
                            .iter()
                            .any(|c| key.starts_with(c.as_str()) || key == c.trim_end_matches('/'));
                    futures::future::ready(Ok((!hidden).then_some(Item { key, found })))
                })
                .boxed(),
        )
    }
}

/// The markers of one store, a page at a time.
fn marker_stream(
    records: Records,
    store: String,
    prefix: String,
    after: Option<String>,
) -> BoxStream<'static, NsResult<(String, ObjectRecord)>> {
    let state = (after, VecDeque::new(), false);
    stream::try_unfold(
        state,
        move |(after, mut buf, done): (Option<String>, VecDeque<_>, bool)| {
            let (records, store, prefix) = (records.clone(), store.clone(), prefix.clone());
            async move {
                if buf.is_empty() && !done {
                    let page = records.markers(&store, &prefix, after.as_deref())?;
                    let done = page.len() < 1000;
                    buf.extend(page);
                    let after = buf.back().map(|(k, _): &(String, ObjectRecord)| k.clone()).or(after);
                    return Ok(buf.pop_front().map(|x| (x, (after, buf, done))));
                }
                Ok(buf.pop_front().map(|x| (x, (after, buf, done))))
            }
        },
    )
    .boxed()
}

/// Merges streams that are each sorted by `key` into one sorted stream.
fn merge_sorted<T: Send + 'static>(
    streams: Vec<BoxStream<'static, NsResult<T>>>,
    key: fn(&T) -> String,
) -> BoxStream<'static, NsResult<T>> {
    let heads: Vec<Option<T>> = streams.iter().map(|_| None).collect();
    let live = vec![true; streams.len()];
    stream::try_unfold(
        (streams, heads, live),
        move |(mut streams, mut heads, mut live)| async move {
            for i in 0..streams.len() {
                if heads[i].is_none() && live[i] {
                    match streams[i].next().await {
                        Some(item) => heads[i] = Some(item?),
                        None => live[i] = false,
                    }
                }
            }
            let min = (0..heads.len())
                .filter(|&i| heads[i].is_some())
                .min_by_key(|&i| heads[i].as_ref().map(key));
            let item = min.and_then(|i| heads[i].take());
            // A key two streams both hold (a marker the gateway recorded and the store's
            // own `dir/` object) is listed once, as the first stream has it.
            if let Some(item) = &item {
                let k = key(item);
                for h in &mut heads {
                    if h.as_ref().is_some_and(|other| key(other) == k) {
                        *h = None;
                    }
                }
            }
            Ok(item.map(|item| (item, (streams, heads, live))))
        },
    )
    .boxed()
}

impl Namespace {
    /// The sources of a listing under `base` (`""` for the root, else a bucket).
    fn sources(&self, base: &str) -> NsResult<(Vec<Source>, Vec<String>)> {
        let mounts = self.mounts.mounts();
        let below = |m: &MountEntry| {
            if base.is_empty() {
                !m.path.is_empty()
            } else {
                m.path.starts_with(&format!("{base}/"))
            }
        };
        let mut places: Vec<String> = mounts
            .iter()
            .filter(|m| below(m))
            .map(|m| {
                format!(
                    "{}/",
                    if base.is_empty() {
                        &m.path[..]
                    } else {
                        &m.path[base.len() + 1..]
                    }
                )
            })
            .collect();
        places.sort();
        let cut_under = |at: &str| {
            places
                .iter()
                .filter(|p| p.len() > at.len() && p.starts_with(at))
                .cloned()
                .collect::<Vec<_>>()
        };
        let mut sources = Vec::new();
        if let Some(owner) = crate::mount::longest_mount(&mounts, base) {
            let rel = owner.relative(base);
            let store_base = if rel.is_empty() {
                String::new()
            } else {
                format!("{rel}/")
            };
            let backend = self.registry.backend(&owner.uri, &owner.options)?;
            sources.push(Source {
                at: String::new(),
                store_base,
                backend,
                cut: cut_under(""),
            });
        }
        for m in mounts.iter().filter(|m| below(m)) {
            let at = format!(
                "{}/",
                if base.is_empty() {
                    &m.path[..]
                } else {
                    &m.path[base.len() + 1..]
                }
            );
            let backend = self.registry.backend(&m.uri, &m.options)?;
            sources.push(Source {
                cut: cut_under(&at),
                at,
                store_base: String::new(),
                backend,
            });
        }
        Ok((sources, places))
    }

    fn merged(&self, sources: &[Source], places: &[String], req: &ListRequest, offset: Option<&str>) -> ItemStream {
        let mut streams: Vec<ItemStream> = sources
            .iter()
            .filter_map(|s| s.stream(&self.records, &req.prefix, offset))
            .collect();
        if req.delimiter.is_some() {
            let mount_points: Vec<NsResult<Item>> = places
                .iter()
                .filter(|p| p.starts_with(&req.prefix) && offset.is_none_or(|o| p.as_str() > o))
                .map(|p| {
                    Ok(Item {
                        key: p.clone(),
                        found: Found::MountPoint,
                    })
                })
                .collect();
            streams.push(stream::iter(mount_points).boxed());
        }
        merge_sorted(streams, |i| i.key.clone())
    }

    /// One page of a listing.
    pub async fn list(&self, req: &ListRequest) -> NsResult<ListPage> {
        if req.max_keys == 0 {
            return Ok(ListPage::default());
        }
        let base = req.bucket.clone().unwrap_or_default();
        let (sources, places) = self.sources(&base)?;
        let mut offset = req
            .after
            .clone()
            .map(|a| if req.after_is_prefix { format!("{a}{PAST}") } else { a });
        let mut items = self.merged(&sources, &places, req, offset.as_deref());
        let mut page = ListPage::default();
        let mut last_prefix: Option<String> = None;
        while let Some(item) = items.next().await {
            let item = item?;
            if !item.key.starts_with(&req.prefix) {
                continue;
            }
            let group = req.delimiter.as_deref().filter(|d| !d.is_empty()).and_then(|d| {
                let rest = &item.key[req.prefix.len()..];
                rest.find(d).map(|i| format!("{}{}", req.prefix, &rest[..i + d.len()]))
            });
            let entry = match (group, item.found) {
                (Some(cp), _) => {
                    if last_prefix.as_deref() == Some(cp.as_str()) {
                        // Many keys under one prefix: restart every stream past it.
                        offset = Some(format!("{cp}{PAST}"));
                        items = self.merged(&sources, &places, req, offset.as_deref());
                        continue;
                    }
                    last_prefix = Some(cp.clone());
                    ListEntry::Prefix(cp)
                }
                (None, Found::MountPoint) => continue,
                (None, Found::Marker(rec)) => ListEntry::Object(ObjectInfo::from_marker(item.key, rec)),
                (None, Found::Object { store, meta }) => {
                    let rec = self.records.get(&store, &meta.key)?;
                    ListEntry::Object(ObjectInfo::from_store(item.key, &store, &meta, rec))
                }
            };
            if page.entries.len() == req.max_keys {
                page.truncated = true;
                break;
            }
            page.entries.push(entry);
        }
        Ok(page)
    }
}

#[cfg(test)]
mod tests {
    use futures::StreamExt;

    use super::*;
    use crate::PutOptions;

    #[tokio::test]
    async fn markers_page_past_one_scan() {
        let dir = tempfile::tempdir().unwrap();
        let ns = Namespace::for_tests(dir.path());
        ns.create_bucket("bkt").await.unwrap();
        for i in 0..1203 {
            ns.put(
                "bkt",
                &format!("d{i:05}/"),
                futures::stream::empty().boxed(),
                PutOptions::default(),
            )
            .await
            .unwrap();
        }
        let mut seen = 0;
        let mut after = None;
        loop {
            let req = ListRequest {
                bucket: Some("bkt".into()),
                after: after.clone(),
                max_keys: 500,
                ..ListRequest::default()
            };
            let page = ns.list(&req).await.unwrap();
            seen += page.entries.len();
            after = page.entries.last().map(|e| e.key().to_owned());
            if !page.truncated {
                break;
            }
        }
        assert_eq!(seen, 1203);
        let all = ListRequest {
            bucket: Some("bkt".into()),
            max_keys: 5000,
            ..ListRequest::default()
        };
        assert_eq!(
            ns.list(&all).await.unwrap().entries.len(),
            1203,
            "one listing across scan pages"
        );
    }
}
