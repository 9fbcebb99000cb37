//! One round: `concurrency` workers run the mix against one target until the round's
//! time or operation budget is spent, while the target's process is sampled.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use rand::SeedableRng;
use rand::rngs::StdRng;

use crate::watch::Watch;
use crate::workload::{self, Objects, Spec};

/// What a round, or several merged, measured.
#[derive(Debug, Clone)]
pub(crate) struct Sample {
    pub ops: u64,
    pub bytes: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    /// Latency of each successful operation, in microseconds.
    pub latency: Histogram<u64>,
    pub elapsed: Duration,
    /// CPU seconds the watched process spent.
    pub cpu_secs: Option<f64>,
    /// The watched process's largest RSS seen, in bytes.
    pub rss_peak: Option<u64>,
}

impl Sample {
    #[cfg(test)]
    pub(crate) fn empty_for_test() -> Self {
        Self::empty()
    }

    fn empty() -> Self {
        Self {
            ops: 0,
            bytes: 0,
            errors: 0,
            first_error: None,
            latency: new_histogram(),
            elapsed: Duration::ZERO,
            cpu_secs: None,
            rss_peak: None,
        }
    }

    /// Adds `other`'s counts to this one.
    pub(crate) fn merge(&mut self, other: &Self) {
        self.ops += other.ops;
        self.bytes += other.bytes;
        self.errors += other.errors;
        if self.first_error.is_none() {
            self.first_error.clone_from(&other.first_error);
        }
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        self.elapsed += other.elapsed;
        self.cpu_secs = match (self.cpu_secs, other.cpu_secs) {
            (Some(a), Some(b)) => Some(a + b),
            (a, b) => a.or(b),
        };
        self.rss_peak = self.rss_peak.max(other.rss_peak);
    }
}

fn new_histogram() -> Histogram<u64> {
    // 1 µs to 10 min, 3 significant digits: fixed bounds, so merging never fails.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant bounds are valid")
}

/// How long a round runs.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Budget {
    pub duration: Duration,
    /// Stop after this many operations, if given (across workers).
    pub ops: Option<u64>,
}

/// Runs one round against `client`.
pub(crate) async fn round(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    spec: &Arc<Spec>,
    objects: &Arc<Objects>,
    concurrency: usize,
    budget: Budget,
    watch_pid: Option<u32>,
) -> Sample {
    let watch = watch_pid.map(Watch::start);
    let started = Instant::now();
    let deadline = started + budget.duration;
    let issued = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let mut workers = Vec::with_capacity(concurrency);
    for worker in 0..concurrency {
        let (client, bucket) = (client.clone(), bucket.to_owned());
        let (spec, objects, issued, stop) = (
            Arc::clone(spec),
            Arc::clone(objects),
            Arc::clone(&issued),
            Arc::clone(&stop),
        );
        workers.push(tokio::spawn(async move {
            let mut rng = StdRng::seed_from_u64(worker as u64 ^ 0x5eed);
            let mut out = Sample::empty();
            loop {
                let seq = issued.fetch_add(1, Ordering::Relaxed);
                if stop.load(Ordering::Relaxed) || Instant::now() >= deadline || budget.ops.is_some_and(|n| seq >= n) {
                    break;
                }
                let op = spec.mix.pick(&mut rng);
                let t = Instant::now();
                let w = workload::Worker {
                    client: &client,
                    bucket: &bucket,
                    spec: &spec,
                    objects: &objects,
                    id: worker,
                };
                match workload::run(&w, op, seq, &mut rng).await {
                    Ok(bytes) => {
                        out.ops += 1;
                        out.bytes += bytes;
                        let micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                        let _ = out.latency.record(micros.max(1));
                    }
                    Err(e) => {
                        out.errors += 1;
                        out.first_error.get_or_insert(format!("{op:?}: {e}"));
                        // A target that fails everything is not hammered for the whole round.
                        if out.errors > 100 && out.ops == 0 {
                            stop.store(true, Ordering::Relaxed);
                        }
                    }
                }
            }
            out
        }));
    }
    let mut total = Sample::empty();
    for w in workers {
        match w.await {
            Ok(s) => total.merge(&s),
            Err(e) => {
                total.errors += 1;
                total.first_error.get_or_insert(format!("a worker failed: {e}"));
            }
        }
    }
    total.elapsed = started.elapsed();
    if let Some(w) = watch {
        let (cpu, rss) = w.stop().await;
        total.cpu_secs = cpu;
        total.rss_peak = rss;
    }
    total
}
