//! The `arustio` binary: `arustio serve` runs a node (the S3 endpoint and the admin API);
//! `arustio fs ...` administers one over gRPC.

mod admin;
mod cache_pb;
mod cache_peers;
mod cli;
mod config;
#[cfg(test)]
mod config_ref;
mod listener;
mod metrics;
mod mounts;
mod node;
mod s3;
mod seal;
mod secret;
mod serve;
mod serve_error;
mod tls;
mod uploads;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Arustio: one S3 namespace over many stores.
#[derive(Debug, Parser)]
#[command(
    name = "arustio",
    version,
    about,
    after_help = "Example:\n  arustio serve\n  arustio fs list"
)]
struct Cli {
    /// Admin API of the node to talk to [default: http://127.0.0.1:50051, or https:// with --tls-ca]
    #[arg(short = 's', long, global = true, env = "ARUSTIO_SERVER")]
    server: Option<String>,
    /// The CA (PEM) that certificates are verified against: the admin API's (with an
    /// https:// server), or, for `serve`, the peers'
    #[arg(long, global = true, value_name = "FILE", env = "ARUSTIO_TLS_CA")]
    tls_ca: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a gateway node: the S3 endpoint and the gRPC admin API.
    #[command(
        after_help = "Example:\n  arustio serve --data-dir /var/lib/arustio --s3-addr 0.0.0.0:39999 --tls-cert node.pem --tls-key node-key.pem"
    )]
    Serve(Box<serve::ServeArgs>),
    /// Mounts and files in the namespace (like `alluxio fs`).
    #[command(
        subcommand,
        after_help = "Example:\n  arustio -s http://127.0.0.1:50051 fs mount /data/lake local:///srv/lake"
    )]
    Fs(cli::fs::FsCmd),
    /// The cluster: status, adding and removing nodes.
    #[command(subcommand, after_help = "Example:\n  arustio cluster status")]
    Cluster(cli::cluster::ClusterCmd),
    /// The block cache: figures per node and tier, loading and freeing files' blocks.
    #[command(
        subcommand,
        after_help = "Example:\n  arustio cache stats\n  arustio cache load /lake/events -R"
    )]
    Cache(cli::cache::CacheCmd),
    /// Users of the S3 endpoint and their grants on buckets and prefixes.
    #[command(
        subcommand,
        after_help = "Example:\n  arustio user add analyst\n  arustio user grant analyst lake/events/ read"
    )]
    User(cli::user::UserCmd),
    /// Whether a node is live (or ready), asked of its metrics port: exits 0 when it is.
    #[command(after_help = "Example:\n  arustio health --ready --addr 127.0.0.1:39998")]
    Health(cli::health::HealthArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // One crypto provider for every TLS config in the process (rustls, tonic, hyper-rustls).
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let target = (cli.server, cli.tls_ca);
    let result = match cli.command {
        Command::Serve(mut args) => {
            args.tls_ca = target.1;
            serve::run(*args).map_err(|e| e.to_string())
        }
        Command::Fs(cmd) => run_client(target, |mut c| async move { cli::fs::run(cmd, &mut c).await }),
        Command::Cluster(cmd) => run_client(target, |mut c| async move { cli::cluster::run(cmd, &mut c).await }),
        Command::Cache(cmd) => run_client(target, |mut c| async move { cli::cache::run(cmd, &mut c).await }),
        Command::User(cmd) => run_client(target, |mut c| async move { cli::user::run(cmd, &mut c).await }),
        Command::Health(args) => cli::health::run(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arustio: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a client command against the admin API at `server`, verifying its certificate
/// against `tls_ca` over https.
fn run_client<F, Fut>((server, tls_ca): (Option<String>, Option<PathBuf>), run: F) -> Result<(), String>
where
    F: FnOnce(cli::Client) -> Fut,
    Fut: std::future::Future<Output = Result<(), cli::CliError>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let (server, tls_ca) = cli::server_url(server, tls_ca);
        let client = cli::connect(&server, tls_ca.as_deref())
            .await
            .map_err(|e| e.to_string())?;
        run(client).await.map_err(|e| e.to_string())
    })
}

/// The default data dir, relative to the working directory.
fn default_data_dir() -> PathBuf {
    PathBuf::from("arustio-data")
}
