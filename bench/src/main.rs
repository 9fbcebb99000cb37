//! `arustio-bench`: an S3 load generator in the manner of MinIO's warp. One workload runs
//! against every target in interleaved rounds, so that machine noise hits all alike, and
//! one table gives each row's figures and its ratio to the first row.

mod report;
mod run;
mod target;
mod watch;
mod workload;

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use clap::{Parser, ValueEnum};
use indicatif::{ProgressBar, ProgressStyle};
use rand::RngCore;

use crate::run::{Budget, Sample};
use crate::target::{Defaults, Target};
use crate::workload::{Mix, Objects, Op, Spec};

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Workload {
    /// GET of whole objects put first (or listed, with --list-existing).
    Get,
    /// PUT of new bodies, over a fixed set of keys per worker.
    Put,
    /// GET of --range-size bytes at random offsets.
    Ranged,
    /// HEAD of objects put first.
    Stat,
    /// ListObjectsV2 of the whole prefix (objects put first), page by page of 1000 keys.
    List,
    /// The operations of --mix, by weight.
    Mixed,
}

/// Runs one S3 workload against several endpoints side by side.
#[derive(Debug, Parser)]
#[command(name = "arustio-bench", version)]
struct Args {
    /// A target: `name=N,url=http://host:port[,access-key=K,secret-key=S,bucket=B,pid=P,prefix=X]`.
    /// Repeat for each; the first is the baseline of the ratios. `pid` is a process to
    /// sample for RSS and CPU time (`--watch-pid` does the same by target name); `prefix`
    /// is the target's own key prefix, as it is (instead of `<--prefix><name>/`).
    #[arg(long = "target", required = true)]
    targets: Vec<String>,
    /// `NAME=PID`: samples PID's RSS and CPU while target NAME runs.
    #[arg(long = "watch-pid")]
    watch_pids: Vec<String>,
    #[arg(long, env = "ARUSTIO_BENCH_ACCESS_KEY")]
    access_key: Option<String>,
    #[arg(long, env = "ARUSTIO_BENCH_SECRET_KEY", hide_env_values = true)]
    secret_key: Option<String>,
    #[arg(long, env = "ARUSTIO_BENCH_BUCKET")]
    bucket: Option<String>,
    #[arg(long, value_enum, default_value = "get")]
    workload: Workload,
    /// The mixed workload's operations by weight (get, put, delete, list, stat, ranged).
    #[arg(long, default_value = "get=45,stat=30,put=15,delete=10")]
    mix: String,
    /// Object size: bytes, or with KiB, MiB or GiB.
    #[arg(long, default_value = "1MiB", value_parser = parse_size)]
    size: u64,
    /// Bytes per ranged GET.
    #[arg(long, default_value = "64KiB", value_parser = parse_size)]
    range_size: u64,
    /// Objects put before reads (and keys each PUT worker cycles over).
    #[arg(long, default_value_t = 32)]
    objects: usize,
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Time per target, over all rounds: `10s`, `500ms`, `2m`.
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// Operations per target, over all rounds (the run also stops at --duration).
    #[arg(long)]
    ops: Option<u64>,
    /// Rounds; each runs every target once, in a rotating order.
    #[arg(long, default_value_t = 3)]
    rounds: u32,
    /// Key prefix of what the run puts, under which each target gets `<name>/` (and of what
    /// --list-existing reads, as it is).
    #[arg(long, default_value = "arustio-bench/")]
    prefix: String,
    /// Read the objects already under --prefix instead of putting some first.
    #[arg(long)]
    list_existing: bool,
    /// Print the raw figures as JSON instead of the table.
    #[arg(long)]
    json: bool,
    /// Per-request timeout.
    #[arg(long, default_value = "120s", value_parser = parse_duration)]
    timeout: Duration,
    /// Leave the objects the run put.
    #[arg(long)]
    keep: bool,
    /// Read every object once before the rounds, untimed (a warm cache, a warm page cache).
    #[arg(long)]
    warmup: bool,
    /// Each round reads every object exactly once, in key order, and ends when all are
    /// read (or at its time): with a cache freed before each round, every read is a miss.
    #[arg(long)]
    each_once: bool,
    /// Make each target's bucket first, if it is not there.
    #[arg(long)]
    create_bucket: bool,
    /// `NAME=COMMAND`: runs COMMAND (with `sh -c`) before each round of target NAME, untimed;
    /// e.g. `cold='arustio cache free /bench-cold -R'` for a cold cache every round.
    #[arg(long = "before-round")]
    before_round: Vec<String>,
    #[arg(long)]
    no_progress: bool,
}

fn parse_size(s: &str) -> Result<u64, String> {
    s.trim()
        .parse::<bytesize::ByteSize>()
        .map(|b| b.as_u64())
        .map_err(|e| format!("{s:?} is not a size (4KiB, 1MiB, 1GiB): {e}"))
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s.trim()).map_err(|e| format!("{s:?} is not a duration (500ms, 10s, 2m): {e}"))
}

fn fail(msg: &str) -> ! {
    eprintln!("arustio-bench: {msg}");
    std::process::exit(2)
}

#[tokio::main]
async fn main() {
    let args = Args::parse();
    let defaults = Defaults {
        access_key: args.access_key.clone(),
        secret_key: args.secret_key.clone(),
        bucket: args.bucket.clone(),
    };
    let mut targets: Vec<Target> = args
        .targets
        .iter()
        .map(|t| Target::parse(t, &defaults))
        .collect::<Result<_, _>>()
        .unwrap_or_else(|e| fail(&e.to_string()));
    for w in &args.watch_pids {
        let (name, pid) = w
            .split_once('=')
            .and_then(|(n, p)| Some((n, p.parse::<u32>().ok()?)))
            .unwrap_or_else(|| fail(&format!("--watch-pid {w:?}: expected NAME=PID")));
        let t = targets
            .iter_mut()
            .find(|t| t.name == name)
            .unwrap_or_else(|| fail(&format!("--watch-pid {w:?}: no target named {name:?}")));
        t.watch_pid = Some(pid);
    }
    let mix = match args.workload {
        Workload::Get => Mix::only(Op::Get),
        Workload::Put => Mix::only(Op::Put),
        Workload::Ranged => Mix::only(Op::Ranged),
        Workload::Stat => Mix::only(Op::Stat),
        Workload::List => Mix::only(Op::List),
        Workload::Mixed => Mix::parse(&args.mix).unwrap_or_else(|e| fail(&e)),
    };
    let size = usize::try_from(args.size).unwrap_or_else(|_| fail("--size does not fit in memory"));
    let mut body = vec![0u8; size];
    rand::rng().fill_bytes(&mut body);
    let body = Bytes::from(body);
    // Each target's own prefix, so that targets over one store never share objects.
    let specs: Vec<Arc<Spec>> = targets
        .iter()
        .map(|t| {
            Arc::new(Spec {
                mix: mix.clone(),
                prefix: match &t.prefix {
                    Some(p) => p.clone(),
                    None if args.list_existing => args.prefix.clone(),
                    None => format!("{}{}/", args.prefix, t.name),
                },
                each_once: args.each_once,
                body: body.clone(),
                range: args.range_size,
                put_keys: args.objects,
            })
        })
        .collect();
    let hooks: Vec<(String, String)> = args
        .before_round
        .iter()
        .map(|h| {
            let (n, c) = h
                .split_once('=')
                .unwrap_or_else(|| fail(&format!("--before-round {h:?}: expected NAME=COMMAND")));
            if !targets.iter().any(|t| t.name == n) {
                fail(&format!("--before-round {h:?}: no target named {n:?}"));
            }
            (n.to_owned(), c.to_owned())
        })
        .collect();
    let clients: Vec<aws_sdk_s3::Client> = targets.iter().map(|t| t.client(args.timeout)).collect();
    if args.create_bucket {
        for (t, c) in targets.iter().zip(&clients) {
            if let Err(e) = workload::create_bucket(c, &t.bucket).await {
                fail(&format!("{}: creating bucket {}: {e}", t.name, t.bucket));
            }
        }
    }

    // The objects reads pick from, per target.
    let mut objects = Vec::with_capacity(targets.len());
    for ((t, c), spec) in targets.iter().zip(&clients).zip(&specs) {
        let found = if !spec.mix.reads() {
            Ok(Objects::default())
        } else if args.list_existing {
            workload::existing(c, &t.bucket, &spec.prefix).await
        } else {
            workload::seed(c, &t.bucket, spec, args.objects).await
        };
        let found = found.unwrap_or_else(|e| fail(&format!("{}: preparing objects: {e}", t.name)));
        if args.warmup
            && let Err(e) = workload::warm(c, &t.bucket, &found).await
        {
            fail(&format!("{}: warming up: {e}", t.name));
        }
        objects.push(Arc::new(found));
    }

    let rounds = args.rounds.max(1);
    let budget = Budget {
        duration: args.duration / rounds,
        ops: args.ops.map(|n| (n / u64::from(rounds)).max(1)),
    };
    let bar = if args.no_progress || args.json {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(u64::from(rounds) * targets.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:30} {pos}/{len} rounds×targets {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut merged: Vec<(String, Sample)> = Vec::new();
    for r in 0..rounds as usize {
        for i in 0..targets.len() {
            // A rotating order, so that no target always runs first or last.
            let at = (i + r) % targets.len();
            let t = &targets[at];
            bar.set_message(format!("round {} {}", r + 1, t.name));
            for (_, cmd) in hooks.iter().filter(|(n, _)| *n == t.name) {
                let ran = tokio::process::Command::new("sh").arg("-c").arg(cmd).status().await;
                if !ran.is_ok_and(|s| s.success()) {
                    fail(&format!("--before-round for {}: {cmd:?} failed", t.name));
                }
            }
            let budget = if args.each_once {
                Budget {
                    ops: Some(budget.ops.unwrap_or(u64::MAX).min(objects[at].keys.len() as u64)),
                    ..budget
                }
            } else {
                budget
            };
            let s = run::round(
                &clients[at],
                &t.bucket,
                &specs[at],
                &objects[at],
                args.concurrency,
                budget,
                t.watch_pid,
            )
            .await;
            match merged.iter_mut().find(|(n, _)| *n == t.name) {
                Some((_, m)) => m.merge(&s),
                None => merged.push((t.name.clone(), s)),
            }
            bar.inc(1);
        }
    }
    bar.finish_and_clear();
    merged.sort_by_key(|(n, _)| targets.iter().position(|t| &t.name == n));
    let rows = report::rows(&merged);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&rows).unwrap_or_default());
    } else {
        // Existing objects: their own size (the first target's, on average), not --size.
        let size = match objects.first().filter(|_| args.list_existing) {
            Some(o) if !o.keys.is_empty() => o.keys.iter().map(|(_, n)| n).sum::<u64>() / o.keys.len() as u64,
            _ => args.size,
        };
        let once = if args.each_once {
            " (each object once a round)"
        } else {
            ""
        };
        let title = format!(
            "{:?} of {size} B objects{once}, concurrency {}, {} rounds of up to {:?} per target",
            args.workload, args.concurrency, rounds, budget.duration
        );
        println!("{}", report::markdown(&title, &rows));
    }
    if !args.keep && !args.list_existing {
        for ((t, c), spec) in targets.iter().zip(&clients).zip(&specs) {
            if let Err(e) = workload::clean(c, &t.bucket, &spec.prefix).await {
                eprintln!("arustio-bench: {}: removing what the run put: {e}", t.name);
            }
        }
    }
    if rows.iter().any(|r| r.ops == 0) {
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_durations() {
        assert_eq!(parse_size("4KiB"), Ok(4096));
        assert_eq!(parse_size("64MiB"), Ok(64 << 20));
        assert_eq!(parse_size("512"), Ok(512));
        assert!(parse_size("4 parsecs").is_err());
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
    }
}
