//! Samples a process (a gateway, MinIO) while a round runs: CPU time from `/proc/PID/stat`
//! and the largest RSS seen in `/proc/PID/status`, every 50 ms.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Clock ticks per second of `/proc/PID/stat` times (`USER_HZ`, 100 on Linux).
const TICKS: f64 = 100.0;

pub(crate) struct Watch {
    cpu_at_start: Option<u64>,
    pid: u32,
    stop: oneshot::Sender<()>,
    sampler: JoinHandle<Option<u64>>,
}

/// utime + stime of `pid`, in ticks.
fn cpu_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name, which is in parentheses and may hold spaces.
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the line; here, after `pid (comm)`, 11 and 12.
    Some(fields.get(11)?.parse::<u64>().ok()? + fields.get(12)?.parse::<u64>().ok()?)
}

/// VmRSS of `pid`, in bytes.
fn rss(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

impl Watch {
    pub(crate) fn start(pid: u32) -> Self {
        let (stop, mut stopped) = oneshot::channel();
        let sampler = tokio::spawn(async move {
            let mut peak = rss(pid);
            loop {
                tokio::select! {
                    _ = &mut stopped => return peak,
                    () = tokio::time::sleep(Duration::from_millis(50)) => peak = peak.max(rss(pid)),
                }
            }
        });
        Self {
            cpu_at_start: cpu_ticks(pid),
            pid,
            stop,
            sampler,
        }
    }

    /// CPU seconds since the start, and the peak RSS.
    pub(crate) async fn stop(self) -> (Option<f64>, Option<u64>) {
        let _ = self.stop.send(());
        let peak = self.sampler.await.ok().flatten();
        let cpu = match (self.cpu_at_start, cpu_ticks(self.pid)) {
            (Some(a), Some(b)) => Some(b.saturating_sub(a) as f64 / TICKS),
            _ => None,
        };
        (cpu, peak)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn samples_this_process() {
        let w = Watch::start(std::process::id());
        let mut x = 0u64;
        for i in 0..5_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        assert!(x != 1);
        let (cpu, rss) = w.stop().await;
        assert!(cpu.is_some() && rss.is_some_and(|r| r > 0));
    }
}
