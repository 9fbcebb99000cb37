//! The `arustio` binary: `arustio serve` runs a node (the S3 endpoint and the admin API);
//! `arustio fs ...` administers one over gRPC.

mod admin;
mod cache_peers;
mod cli;
mod config;
mod node;
mod s3;
mod secret;
mod serve;

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
    /// Admin API of the node to talk to [default: http://127.0.0.1:50051]
    #[arg(short = 's', long, global = true, env = "ARUSTIO_SERVER")]
    server: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a gateway node: the S3 endpoint and the gRPC admin API.
    #[command(after_help = "Example:\n  arustio serve --data-dir /var/lib/arustio --s3-addr 0.0.0.0:39999")]
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => serve::run(*args).map_err(|e| e.to_string()),
        Command::Fs(cmd) => run_client(cli.server, |mut c| async move { cli::fs::run(cmd, &mut c).await }),
        Command::Cluster(cmd) => run_client(cli.server, |mut c| async move { cli::cluster::run(cmd, &mut c).await }),
        Command::Cache(cmd) => run_client(cli.server, |mut c| async move { cli::cache::run(cmd, &mut c).await }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("arustio: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_client<F, Fut>(server: Option<String>, run: F) -> Result<(), String>
where
    F: FnOnce(cli::Client) -> Fut,
    Fut: std::future::Future<Output = Result<(), cli::CliError>>,
{
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    rt.block_on(async {
        let server = cli::server_url(server);
        let client = cli::connect(&server).await.map_err(|e| e.to_string())?;
        run(client).await.map_err(|e| e.to_string())
    })
}

/// The default data dir, relative to the working directory.
fn default_data_dir() -> PathBuf {
    PathBuf::from("arustio-data")
}
