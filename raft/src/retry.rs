//! [`retry_until`]: the one retry loop of cluster operations, bounded by a deadline.
//!
//! (backon's backoffs are bounded by a count of attempts, not by a time; the cluster's
//! waits are promised in time: a quorum within `QUORUM_WAIT`, a join within 30 s.)

use std::future::Future;
use std::time::Duration;

use tokio::time::Instant;

/// Runs `attempt` until it succeeds, fails with an error `retryable` refuses, or a pause of
/// `every` would pass `within` from now; returns what the last attempt gave.
pub async fn retry_until<T, E, F, Fut>(
    within: Duration,
    every: Duration,
    retryable: impl Fn(&E) -> bool,
    mut attempt: F,
) -> Result<T, E>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, E>>,
{
    let deadline = Instant::now() + within;
    loop {
        match attempt().await {
            Err(e) if retryable(&e) && Instant::now() + every < deadline => tokio::time::sleep(every).await,
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};

    use super::*;

    #[tokio::test]
    async fn retries_within_the_time_and_stops_at_a_final_error() {
        let tries = AtomicU32::new(0);
        let count = || async {
            let n = tries.fetch_add(1, Ordering::SeqCst);
            if n < 3 { Err(n) } else { Ok(n) }
        };
        let every = Duration::from_millis(20);
        assert_eq!(retry_until(Duration::from_secs(5), every, |_| true, count).await, Ok(3));
        tries.store(0, Ordering::SeqCst);
        assert_eq!(
            retry_until(Duration::from_millis(50), every, |_| true, count).await,
            Err(2)
        );
        tries.store(0, Ordering::SeqCst);
        assert_eq!(
            retry_until(Duration::from_secs(5), every, |e| *e != 1, count).await,
            Err(1)
        );
    }
}
