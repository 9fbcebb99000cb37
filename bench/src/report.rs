//! The table: one row per target with ops/s, MiB/s, latency percentiles, errors, RSS and
//! CPU per GiB of the watched process, and each row's ratio to the first; or the raw
//! figures as JSON.

use std::fmt::Write;

use crate::run::Sample;

const MIB: f64 = 1024.0 * 1024.0;
const GIB: f64 = 1024.0 * MIB;

/// One row's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub(crate) struct Row {
    pub target: String,
    pub ops: u64,
    pub errors: u64,
    pub bytes: u64,
    pub seconds: f64,
    pub ops_per_sec: f64,
    pub mib_per_sec: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub p999_ms: f64,
    pub rss_peak_mib: Option<f64>,
    pub cpu_secs: Option<f64>,
    pub cpu_secs_per_gib: Option<f64>,
    /// ops/s against the first row's.
    pub ratio: f64,
    pub first_error: Option<String>,
}

/// The rows of `samples` (target name, merged sample), in order.
pub(crate) fn rows(samples: &[(String, Sample)]) -> Vec<Row> {
    let mut out: Vec<Row> = samples
        .iter()
        .map(|(name, s)| {
            let secs = s.elapsed.as_secs_f64().max(1e-9);
            let ms = |q: f64| s.latency.value_at_quantile(q) as f64 / 1000.0;
            let gib = s.bytes as f64 / GIB;
            Row {
                target: name.clone(),
                ops: s.ops,
                errors: s.errors,
                bytes: s.bytes,
                seconds: secs,
                ops_per_sec: s.ops as f64 / secs,
                mib_per_sec: s.bytes as f64 / MIB / secs,
                p50_ms: ms(0.5),
                p99_ms: ms(0.99),
                p999_ms: ms(0.999),
                rss_peak_mib: s.rss_peak.map(|b| b as f64 / MIB),
                cpu_secs: s.cpu_secs,
                cpu_secs_per_gib: s.cpu_secs.filter(|_| gib > 0.0).map(|c| c / gib),
                ratio: 1.0,
                first_error: s.first_error.clone(),
            }
        })
        .collect();
    let base = out.first().map_or(0.0, |r| r.ops_per_sec);
    for r in &mut out {
        r.ratio = if base > 0.0 { r.ops_per_sec / base } else { 0.0 };
    }
    out
}

fn opt(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".to_owned(), |v| format!("{v:.digits$}"))
}

/// A markdown table under a title line.
pub(crate) fn markdown(title: &str, rows: &[Row]) -> String {
    let mut s = format!("{title}\n\n");
    s.push_str("| target | ops/s | MiB/s | p50 ms | p99 ms | p999 ms | errors | RSS MiB | CPU s/GiB | ratio |\n");
    s.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            s,
            "| {} | {:.1} | {:.1} | {:.2} | {:.2} | {:.2} | {} | {} | {} | {:.2}x |",
            r.target,
            r.ops_per_sec,
            r.mib_per_sec,
            r.p50_ms,
            r.p99_ms,
            r.p999_ms,
            r.errors,
            opt(r.rss_peak_mib, 0),
            opt(r.cpu_secs_per_gib, 2),
            r.ratio
        );
    }
    for r in rows.iter().filter(|r| r.first_error.is_some()) {
        let _ = writeln!(
            s,
            "\n{}: first error: {}",
            r.target,
            r.first_error.as_deref().unwrap_or_default()
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_are_to_the_first_row() {
        let mut a = crate::run::Sample::empty_for_test();
        a.ops = 100;
        a.elapsed = std::time::Duration::from_secs(1);
        let mut b = a.clone();
        b.ops = 50;
        let rows = rows(&[("direct".into(), a), ("gateway".into(), b)]);
        assert!((rows[1].ratio - 0.5).abs() < 1e-9);
        let table = markdown("t", &rows);
        assert!(
            table.contains("| gateway | 50.0 |") && table.contains("0.50x"),
            "{table}"
        );
    }
}
