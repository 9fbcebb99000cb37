//! `arustio health`: asks a node's metrics port whether it is live (or ready), for a
//! container's HEALTHCHECK, which has no HTTP client of its own.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Flags of `arustio health`.
#[derive(Debug, clap::Args)]
pub(crate) struct HealthArgs {
    /// The node's metrics address; 0.0.0.0 is asked at 127.0.0.1
    #[arg(long, env = "ARUSTIO_METRICS_ADDR", default_value = "127.0.0.1:39998")]
    addr: SocketAddr,
    /// Ask /health/ready (a leader known, the S3 port open) rather than /health/live
    #[arg(long)]
    ready: bool,
}

/// Exits 0 when the node answers 200.
pub(crate) fn run(args: &HealthArgs) -> Result<(), String> {
    let mut addr = args.addr;
    if addr.ip().is_unspecified() {
        addr.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
    }
    let path = if args.ready { "/health/ready" } else { "/health/live" };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let asked = rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), ask(addr, path)).await });
    let (status, body) = asked
        .map_err(|_| format!("http://{addr}{path}: no answer within 5 s"))?
        .map_err(|e| format!("http://{addr}{path}: {e}"))?;
    if status == 200 {
        println!("{}", body.trim());
        Ok(())
    } else {
        Err(format!("http://{addr}{path}: {status} {}", body.trim()))
    }
}

async fn ask(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut conn = tokio::net::TcpStream::connect(addr).await?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    conn.write_all(req.as_bytes()).await?;
    let mut raw = Vec::new();
    conn.take(64 << 10).read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("not an HTTP answer"))?;
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b).to_owned();
    Ok((status, body))
}
