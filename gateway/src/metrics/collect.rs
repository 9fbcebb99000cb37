//! Series read at each scrape from figures the node keeps anyway: the block cache's
//! counters, this node's Raft metrics, and the process's memory and descriptors.

use std::fmt::Error;
use std::sync::{Arc, Mutex, OnceLock};

use arustio_cache::{CacheStats, TierStats};
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

use super::NodeParts;

type Labels<'a> = Vec<(&'static str, &'a str)>;

/// One family of constant series: `name`, of `kind`, one value per label set.
fn family(
    enc: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    kind: MetricType,
    series: &[(Labels<'_>, u64)],
) -> Result<(), Error> {
    if series.is_empty() {
        return Ok(());
    }
    let mut m = enc.encode_descriptor(name, help, None, kind)?;
    for (labels, v) in series {
        let e = m.encode_family(labels)?;
        match kind {
            MetricType::Counter => ConstCounter::new(*v).encode(e)?,
            _ => ConstGauge::new(i64::try_from(*v).unwrap_or(i64::MAX)).encode(e)?,
        }
    }
    Ok(())
}

fn counter(enc: &mut DescriptorEncoder, name: &str, help: &str, series: &[(Labels<'_>, u64)]) -> Result<(), Error> {
    family(enc, name, help, MetricType::Counter, series)
}

fn gauge(enc: &mut DescriptorEncoder, name: &str, help: &str, series: &[(Labels<'_>, u64)]) -> Result<(), Error> {
    family(enc, name, help, MetricType::Gauge, series)
}

/// The cache's figures as of the scrape (none when the cache is off).
#[derive(Debug, Default)]
pub(super) struct CacheSnapshot(Mutex<Option<CacheStats>>);

impl CacheSnapshot {
    pub(super) fn set(&self, stats: Option<CacheStats>) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = stats;
    }
}

impl Collector for CacheSnapshot {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), Error> {
        let Some(s) = self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone() else {
            return Ok(());
        };
        let mut tiers: Vec<(&str, &TierStats)> = vec![("memory", &s.memory)];
        tiers.extend(s.disk.as_ref().map(|d| ("disk", d)));
        let per_tier = |f: fn(&TierStats) -> u64| -> Vec<(Labels<'_>, u64)> {
            tiers.iter().map(|(t, s)| (vec![("tier", *t)], f(s))).collect()
        };
        let one = |v: u64| vec![(Vec::new(), v)];
        counter(
            &mut enc,
            "arustio_cache_hits",
            "Blocks served from a tier of this node",
            &per_tier(|t| t.hits),
        )?;
        counter(
            &mut enc,
            "arustio_cache_peer_hits",
            "Blocks fetched from their owner node",
            &one(s.peer_hits),
        )?;
        counter(
            &mut enc,
            "arustio_cache_misses",
            "Blocks read from the store",
            &one(s.misses),
        )?;
        counter(
            &mut enc,
            "arustio_cache_fallbacks",
            "Blocks read from the store because a tier or a peer failed",
            &one(s.fallbacks),
        )?;
        counter(
            &mut enc,
            "arustio_cache_bypasses",
            "Reads that bypassed the cache",
            &one(s.bypasses),
        )?;
        counter(
            &mut enc,
            "arustio_cache_evictions",
            "Blocks evicted to stay within a tier's capacity",
            &per_tier(|t| t.evictions),
        )?;
        let mut served = per_tier(|t| t.bytes_served);
        served.push((vec![("tier", "peer")], s.peer_bytes));
        served.push((vec![("tier", "store")], s.store_bytes));
        counter(
            &mut enc,
            "arustio_cache_served_bytes",
            "Block bytes read, by where they came from",
            &served,
        )?;
        gauge(
            &mut enc,
            "arustio_cache_capacity_bytes",
            "Bytes a tier may hold",
            &per_tier(|t| t.capacity),
        )?;
        gauge(
            &mut enc,
            "arustio_cache_used_bytes",
            "Bytes a tier holds",
            &per_tier(|t| t.used),
        )?;
        gauge(
            &mut enc,
            "arustio_cache_blocks",
            "Blocks a tier holds",
            &per_tier(|t| t.blocks),
        )?;
        counter(
            &mut enc,
            "arustio_cache_served_to_peers",
            "Blocks this node served to peers",
            &one(s.served_to_peers),
        )?;
        counter(
            &mut enc,
            "arustio_cache_disk_corrupt",
            "Disk blocks found corrupt and dropped",
            &one(s.disk_corrupt),
        )?;
        counter(
            &mut enc,
            "arustio_cache_disk_write_errors",
            "Disk tier writes that failed",
            &one(s.disk_write_errors),
        )?;
        gauge(
            &mut enc,
            "arustio_cache_ring_nodes",
            "Cache nodes on this node's ring",
            &one(s.ring.len() as u64),
        )
    }
}

/// This node's Raft figures, from its metrics.
#[derive(Debug)]
pub(super) struct RaftCollector(pub(super) Arc<OnceLock<NodeParts>>);

impl std::fmt::Debug for NodeParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("NodeParts")
    }
}

impl Collector for RaftCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), Error> {
        let Some(parts) = self.0.get() else { return Ok(()) };
        let s = parts.cluster.local_status();
        let one = |v: u64| vec![(Vec::new(), v)];
        gauge(&mut enc, "arustio_raft_term", "The current Raft term", &one(s.term))?;
        gauge(
            &mut enc,
            "arustio_raft_leader",
            "The leader's node id (0: none known)",
            &one(s.leader.unwrap_or(0)),
        )?;
        gauge(
            &mut enc,
            "arustio_raft_is_leader",
            "1 on the leader",
            &one(u64::from(s.leader == Some(s.node))),
        )?;
        gauge(
            &mut enc,
            "arustio_raft_last_log_index",
            "The index of the last log entry",
            &one(s.last_log_index.unwrap_or(0)),
        )?;
        gauge(
            &mut enc,
            "arustio_raft_commit_index",
            "The index of the last entry known committed",
            &one(parts.cluster.committed_index().unwrap_or(0)),
        )?;
        gauge(
            &mut enc,
            "arustio_raft_applied_index",
            "The index of the last applied entry",
            &one(s.last_applied.unwrap_or(0)),
        )?;
        gauge(
            &mut enc,
            "arustio_raft_members",
            "Members of the cluster (voters and learners)",
            &one(s.members.len() as u64),
        )?;
        let ids: Vec<String> = s.members.iter().map(|m| m.id.to_string()).collect();
        let lag: Vec<(Labels<'_>, u64)> = s
            .members
            .iter()
            .zip(&ids)
            .filter(|(m, _)| m.id != s.node)
            .filter_map(|(m, id)| Some((vec![("peer", id.as_str())], m.lag?)))
            .collect();
        gauge(
            &mut enc,
            "arustio_raft_replication_lag",
            "Entries a peer's log is behind the leader's (on the leader only)",
            &lag,
        )
    }
}

/// The process: resident memory and open file descriptors, from `/proc/self`.
#[derive(Debug)]
pub(super) struct ProcessCollector;

/// Resident memory in bytes, from `/proc/self/status`.
fn rss_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

fn open_fds() -> Option<u64> {
    Some(std::fs::read_dir("/proc/self/fd").ok()?.count() as u64)
}

fn max_fds() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

impl Collector for ProcessCollector {
    fn encode(&self, mut enc: DescriptorEncoder) -> Result<(), Error> {
        let one = |v: Option<u64>| v.map(|v| vec![(Vec::new(), v)]).unwrap_or_default();
        gauge(
            &mut enc,
            "process_resident_memory_bytes",
            "Resident memory size in bytes",
            &one(rss_bytes()),
        )?;
        gauge(&mut enc, "process_open_fds", "Open file descriptors", &one(open_fds()))?;
        gauge(
            &mut enc,
            "process_max_fds",
            "The limit on open file descriptors",
            &one(max_fds()),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_process_figures_are_read() {
        assert!(rss_bytes().is_some_and(|b| b > 1 << 20));
        assert!(open_fds().is_some_and(|n| n >= 3));
        assert!(max_fds().is_some_and(|n| n > 0));
    }

    #[test]
    fn cache_series_are_per_tier() {
        let snap = CacheSnapshot::default();
        let mut stats = CacheStats::default();
        stats.memory.hits = 7;
        stats.memory.capacity = 1 << 20;
        stats.misses = 3;
        snap.set(Some(stats));
        let mut reg = prometheus_client::registry::Registry::default();
        reg.register_collector(Box::new(snap));
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &reg).unwrap();
        assert!(text.contains("arustio_cache_hits_total{tier=\"memory\"} 7"), "{text}");
        assert!(text.contains("arustio_cache_misses_total 3"), "{text}");
        assert!(
            text.contains("arustio_cache_capacity_bytes{tier=\"memory\"} 1048576"),
            "{text}"
        );
        assert!(!text.contains("tier=\"disk\""), "no disk tier configured: {text}");
    }
}
