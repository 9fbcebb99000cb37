//! `arustio cache ...`: each node's cache figures; loading and freeing files' blocks.

use arustio_cache::CacheStats;
use arustio_proto::admin::{CacheStatsReply, CacheStatsRequest, ClusterStatusRequest, FileInfo, PathRequest};
use arustio_raft::ClusterStatus;
use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::list::list_all;
use super::{CliError, Client};

/// Commands of `arustio cache`.
#[derive(Debug, clap::Subcommand)]
pub(crate) enum CacheCmd {
    /// Per node and tier: capacity, used, hits, misses, peer hits, fallbacks to the store,
    /// evictions, bytes served from each tier.
    #[command(after_help = "Example:\n  arustio cache stats --json")]
    Stats {
        /// Machine-readable output: a list of per-node objects.
        #[arg(long)]
        json: bool,
    },
    /// Read files through the cache so their blocks are held.
    #[command(after_help = "Example:\n  arustio cache load /lake/events -R")]
    Load {
        /// A file, or a directory with -R.
        path: String,
        /// Every file under the directory.
        #[arg(short = 'R', long)]
        recursive: bool,
    },
    /// Drop files' cached blocks and metadata, on every node.
    #[command(after_help = "Example:\n  arustio cache free /lake/events -R")]
    Free {
        /// A file, or a directory with -R.
        path: String,
        /// Every file under the directory.
        #[arg(short = 'R', long)]
        recursive: bool,
    },
}

/// The files at `path`: itself, or (with `recursive`) every file under it.
async fn files(c: &mut Client, path: &str, recursive: bool) -> Result<Vec<FileInfo>, CliError> {
    let info = c
        .stat(PathRequest {
            path: path.to_owned(),
            consistent: false,
        })
        .await?
        .into_inner();
    if !info.is_dir {
        return Ok(vec![info]);
    }
    if !recursive {
        return Err(CliError::Usage(format!("{path} is a directory (use -R)")));
    }
    let (mut out, mut stack) = (Vec::new(), vec![info.path]);
    while let Some(dir) = stack.pop() {
        for f in list_all(c, &dir).await? {
            if f.is_dir {
                if f.path != dir {
                    stack.push(f.path);
                }
            } else {
                out.push(f);
            }
        }
    }
    Ok(out)
}

fn bar(total: u64) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {wide_msg}") {
        pb.set_style(style);
    }
    pb
}

fn human(n: u64) -> String {
    HumanBytes(n).to_string()
}

fn print_stats(all: &[CacheStats]) {
    println!(
        "{:<5} {:<6} {:>10} {:>10} {:>8} {:>8} {:>10} {:>9}",
        "NODE", "TIER", "CAPACITY", "USED", "BLOCKS", "HITS", "SERVED", "EVICTED"
    );
    for s in all {
        let mut tiers = vec![("memory", &s.memory)];
        if let Some(d) = &s.disk {
            tiers.push(("disk", d));
        }
        for (name, t) in tiers {
            println!(
                "{:<5} {:<6} {:>10} {:>10} {:>8} {:>8} {:>10} {:>9}",
                s.node,
                name,
                human(t.capacity),
                human(t.used),
                t.blocks,
                t.hits,
                human(t.bytes_served),
                t.evictions
            );
        }
        println!(
            "      misses {} ({} from the store), peer hits {} ({}), fallbacks to the store {}, \
             served to peers {}, bypasses {}, corrupt disk blocks {}",
            s.misses,
            human(s.store_bytes),
            s.peer_hits,
            human(s.peer_bytes),
            s.fallbacks,
            s.served_to_peers,
            s.bypasses,
            s.disk_corrupt
        );
    }
}

async fn stats(c: &mut Client, json: bool) -> Result<(), CliError> {
    let figures = |reply: CacheStatsReply| reply.stats.map(crate::cache_pb::stats);
    let mut all: Vec<CacheStats> = Vec::new();
    // Every member, each asked directly; this node alone if the cluster cannot say.
    let members = match c.cluster_status(ClusterStatusRequest { local: true }).await {
        Ok(r) => ClusterStatus::from(r.into_inner()).members,
        Err(_) => Vec::new(),
    };
    if members.len() > 1 {
        for m in members {
            let asked = async {
                let mut peer = c.peer(&m.addr).await?;
                Ok::<_, CliError>(peer.cache_stats(CacheStatsRequest {}).await?.into_inner())
            };
            match asked.await {
                Ok(reply) => all.extend(figures(reply)),
                Err(e) => eprintln!("node {} at {}: {e}", m.id, m.addr),
            }
        }
    } else {
        all.extend(figures(c.cache_stats(CacheStatsRequest {}).await?.into_inner()));
    }
    if json {
        println!(
            "{}",
            serde_json::to_string_pretty(&all).map_err(|e| CliError::Status(e.to_string()))?
        );
    } else if all.is_empty() {
        println!("the cache is off (cache_memory = 0)");
    } else {
        print_stats(&all);
    }
    Ok(())
}

pub(crate) async fn run(cmd: CacheCmd, c: &mut Client) -> Result<(), CliError> {
    match cmd {
        CacheCmd::Stats { json } => stats(c, json).await,
        CacheCmd::Load { path, recursive } => {
            let list = files(c, &path, recursive).await?;
            let pb = bar(list.iter().map(|f| f.size).sum());
            let (mut hits, mut total) = (0usize, 0u64);
            for f in &list {
                pb.set_message(f.path.clone());
                let r = c
                    .cache_load(PathRequest {
                        path: f.path.clone(),
                        consistent: false,
                    })
                    .await?
                    .into_inner();
                hits += usize::from(r.source == "hit");
                total += r.bytes;
                pb.inc(f.size);
            }
            pb.finish_and_clear();
            println!(
                "Loaded {} file(s), {} ({hits} already cached)",
                list.len(),
                human(total)
            );
            Ok(())
        }
        CacheCmd::Free { path, recursive } => {
            let list = files(c, &path, recursive).await?;
            for f in &list {
                c.cache_free(PathRequest {
                    path: f.path.clone(),
                    consistent: false,
                })
                .await?;
            }
            println!("Freed the cached blocks of {} file(s)", list.len());
            Ok(())
        }
    }
}
