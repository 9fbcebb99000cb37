//! The `arustio` binary: `arustio serve` runs the S3 endpoint and the admin API.

mod admin;
mod config;
mod s3;
mod serve;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Arustio: one S3 namespace over many stores.
#[derive(Debug, Parser)]
#[command(name = "arustio", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a gateway node: the S3 endpoint and the gRPC admin API.
    ///
    /// Example: `arustio serve --data-dir /var/lib/arustio --s3-addr 0.0.0.0:39999`
    Serve(serve::ServeArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => match serve::run(args) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("arustio: {e}");
                ExitCode::FAILURE
            }
        },
    }
}

/// The default data dir, relative to the working directory.
fn default_data_dir() -> PathBuf {
    PathBuf::from("arustio-data")
}
