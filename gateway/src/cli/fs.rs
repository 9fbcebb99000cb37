//! `arustio fs`: mounts and file operations, modelled on `alluxio fs`.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use arustio_proto::admin::{
    FileInfo, ListMountsRequest, MkdirRequest, MountInfo, MountRequest, PathRequest, RemoveRequest, RenameRequest,
    UnmountRequest,
};
use clap::Subcommand;
use futures::StreamExt;

use super::copy::{copy_from_local, copy_to_local};
use super::list::list_all;
use super::table::print_table;
use super::{CliError, Client};

/// File-system commands.
#[derive(Debug, Subcommand)]
pub(crate) enum FsCmd {
    /// Mount a store at a namespace path; S3 clients see it at once.
    #[command(
        after_help = "Examples:\n  arustio fs mount /lake mem://lake\n  arustio fs mount --readonly /data/archive local:///srv/archive\n  arustio fs mount -o endpoint=http://127.0.0.1:9000 /s3data s3://bucket/prefix\n\nFor s3:// URIs, credentials missing from -o are taken from AWS_ACCESS_KEY_ID,\nAWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION and S3_ENDPOINT in this shell."
    )]
    Mount {
        /// Store option, repeatable: -o key=value
        #[arg(short = 'o', value_name = "KEY=VALUE")]
        options: Vec<String>,
        /// Refuse every write under the mount.
        #[arg(long)]
        readonly: bool,
        /// Mount even if objects exist at the path on the parent's store (they are hidden).
        #[arg(long)]
        shadow: bool,
        /// Do not check that the store answers before mounting.
        #[arg(long)]
        no_check: bool,
        /// Mount point, e.g. /data/lake
        path: String,
        /// Store URI: local:///abs/dir, file:///abs/dir, mem://NAME, s3://BUCKET[/PREFIX] or s3a://...
        uri: String,
    },
    /// Remove a mount; the store is untouched.
    #[command(after_help = "Example:\n  arustio fs unmount /lake")]
    Unmount {
        /// Abort multipart uploads in flight under the mount.
        #[arg(long)]
        force: bool,
        path: String,
    },
    /// Show the mount table (secrets masked).
    #[command(after_help = "Example:\n  arustio fs list --json")]
    List {
        /// Machine-readable output.
        #[arg(long)]
        json: bool,
    },
    /// List a directory, mount points merged in.
    #[command(after_help = "Example:\n  arustio fs ls -l /data")]
    Ls {
        /// Type, size, modified time and mount of each entry.
        #[arg(short = 'l')]
        long: bool,
        /// Recurse into directories.
        #[arg(short = 'R')]
        recursive: bool,
        #[arg(default_value = "/")]
        path: String,
        /// Read after every write committed cluster-wide before the call.
        #[arg(long)]
        consistent: bool,
    },
    /// Show a file or directory.
    #[command(after_help = "Example:\n  arustio fs stat /data/lake/part-0.parquet")]
    Stat {
        path: String,
        /// Read after every write committed cluster-wide before the call.
        #[arg(long)]
        consistent: bool,
    },
    /// Make a directory.
    #[command(after_help = "Example:\n  arustio fs mkdir -p /data/lake/2026/11")]
    Mkdir {
        /// Make parents as needed; an existing directory is no error.
        #[arg(short = 'p')]
        parents: bool,
        path: String,
    },
    /// Remove a file, or a directory with -r.
    #[command(after_help = "Example:\n  arustio fs rm -r /data/tmp")]
    Rm {
        #[arg(short = 'r')]
        recursive: bool,
        path: String,
    },
    /// Move a file or directory (a rename within a store, copy then delete across stores).
    #[command(after_help = "Example:\n  arustio fs mv /data/in/a.csv /lake/a.csv")]
    Mv { src: String, dst: String },
    /// Print a file.
    #[command(after_help = "Example:\n  arustio fs cat /data/README.txt")]
    Cat {
        path: String,
        /// Read after every write committed cluster-wide before the call.
        #[arg(long)]
        consistent: bool,
    },
    /// Upload local files.
    #[command(after_help = "Example:\n  arustio fs copy-from-local -r ./logs /data/logs")]
    CopyFromLocal {
        #[arg(short = 'r')]
        recursive: bool,
        local: PathBuf,
        remote: String,
    },
    /// Download files.
    #[command(after_help = "Example:\n  arustio fs copy-to-local /data/logs/app.log ./app.log")]
    CopyToLocal {
        #[arg(short = 'r')]
        recursive: bool,
        remote: String,
        local: PathBuf,
    },
}

/// Runs one `fs` command.
pub(crate) async fn run(cmd: FsCmd, c: &mut Client) -> Result<(), CliError> {
    match cmd {
        FsCmd::Mount {
            options,
            readonly,
            shadow,
            no_check,
            path,
            uri,
        } => {
            let mut opts = std::collections::HashMap::new();
            for o in options {
                let (k, v) = o
                    .split_once('=')
                    .ok_or_else(|| CliError::Usage(format!("option {o:?} is not KEY=VALUE")))?;
                opts.insert(k.trim().to_owned(), v.to_owned());
            }
            // Credentials missing from -o come from this shell; the server says if the URI is bad.
            if let Ok(u) = arustio_backends::MountUri::parse(&uri) {
                for line in arustio_backends::fill_from_env(u.kind, &mut opts, |v| std::env::var(v).ok()) {
                    println!("{line}");
                }
            }
            let req = MountRequest {
                path,
                uri,
                options: opts,
                readonly,
                shadow,
                no_check,
            };
            let m = c.mount(req).await?.into_inner();
            println!(
                "Mounted {} at {} ({}, {})",
                m.uri,
                m.path,
                m.kind,
                if m.readonly { "read-only" } else { "read-write" }
            );
            let mut caps: Vec<_> = m.capabilities.iter().collect();
            caps.sort();
            for (op, how) in caps {
                println!("  {op}: {how}");
            }
        }
        FsCmd::Unmount { force, path } => {
            let r = c
                .unmount(UnmountRequest {
                    path: path.clone(),
                    force,
                })
                .await?
                .into_inner();
            if r.aborted_uploads > 0 {
                println!("Aborted {} multipart upload(s)", r.aborted_uploads);
            }
            println!("Unmounted {path}");
        }
        FsCmd::List { json } => {
            let mounts = c.list_mounts(ListMountsRequest {}).await?.into_inner().mounts;
            print_mounts(&mounts, json);
        }
        FsCmd::Ls {
            long,
            recursive,
            path,
            consistent,
        } => {
            if consistent {
                let path = path.clone();
                c.stat(PathRequest { path, consistent }).await?;
            }
            ls(c, &path, long, recursive).await?;
        }
        FsCmd::Stat { path, consistent } => {
            let f = c.stat(PathRequest { path, consistent }).await?.into_inner();
            println!("Path: {}", f.path);
            println!("Type: {}", kind(&f));
            println!("Size: {}", f.size);
            println!("Modified: {}", modified(&f));
            println!("Mount: {}", f.mount);
            if !f.etag.is_empty() {
                println!("ETag: {}", f.etag);
            }
            if !f.content_type.is_empty() {
                println!("Content-Type: {}", f.content_type);
            }
        }
        FsCmd::Mkdir { parents, path } => {
            c.mkdir(MkdirRequest { path, parents }).await?;
        }
        FsCmd::Rm { recursive, path } => {
            let r = c
                .remove(RemoveRequest {
                    path: path.clone(),
                    recursive,
                })
                .await?
                .into_inner();
            println!("Removed {path} ({} object(s))", r.removed);
        }
        FsCmd::Mv { src, dst } => {
            let f = c.rename(RenameRequest { src: src.clone(), dst }).await?.into_inner();
            println!("Moved {src} to {}", f.path);
        }
        FsCmd::Cat { path, consistent } => {
            let mut s = c.read(PathRequest { path, consistent }).await?.into_inner();
            let mut out = std::io::stdout().lock();
            while let Some(chunk) = s.next().await {
                out.write_all(&chunk?.data)
                    .map_err(|e| CliError::io(Path::new("stdout"), e))?;
            }
        }
        FsCmd::CopyFromLocal {
            recursive,
            local,
            remote,
        } => copy_from_local(c, &local, &remote, recursive).await?,
        FsCmd::CopyToLocal {
            recursive,
            remote,
            local,
        } => copy_to_local(c, &remote, &local, recursive).await?,
    }
    Ok(())
}

fn kind(f: &FileInfo) -> &'static str {
    match (f.is_mount_point, f.is_dir) {
        (true, _) => "mount",
        (false, true) => "dir",
        (false, false) => "file",
    }
}

fn modified(f: &FileInfo) -> String {
    if f.modified_ms <= 0 {
        return "-".to_owned();
    }
    chrono::DateTime::from_timestamp_millis(f.modified_ms)
        .map_or_else(|| "-".to_owned(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string())
}

fn print_mounts(mounts: &[MountInfo], json: bool) {
    if json {
        let rows: Vec<_> = mounts
            .iter()
            .map(|m| {
                serde_json::json!({"path": m.path, "type": m.kind, "uri": m.uri, "options": m.options,
                    "mode": if m.readonly { "ro" } else { "rw" }, "node_local": m.node_local,
                    "capabilities": m.capabilities})
            })
            .collect();
        println!("{}", serde_json::Value::Array(rows));
        return;
    }
    let rows: Vec<[String; 6]> = mounts
        .iter()
        .map(|m| {
            [
                m.path.clone(),
                m.kind.clone(),
                m.uri.clone(),
                m.options.clone(),
                if m.readonly { "ro" } else { "rw" }.to_owned(),
                // Each node serves its own directory or memory for these.
                if m.node_local { "node-local" } else { "shared" }.to_owned(),
            ]
        })
        .collect();
    print_table(["Mount Point", "Type", "URI", "Options", "Mode", "Scope"], &rows);
}

fn name(f: &FileInfo) -> String {
    let n = f.path.rsplit('/').next().unwrap_or_default();
    if f.is_dir { format!("{n}/") } else { n.to_owned() }
}

async fn ls(c: &mut Client, path: &str, long: bool, recursive: bool) -> Result<(), CliError> {
    let mut queue = vec![path.to_owned()];
    let mut first = true;
    while let Some(dir) = queue.pop() {
        let entries = list_all(c, &dir).await?;
        if recursive {
            if !first {
                println!();
            }
            println!("{dir}:");
        }
        first = false;
        if long {
            let rows: Vec<[String; 5]> = entries
                .iter()
                .map(|f| {
                    [
                        kind(f).to_owned(),
                        f.size.to_string(),
                        modified(f),
                        f.mount.clone(),
                        name(f),
                    ]
                })
                .collect();
            print_table(["Type", "Size", "Modified", "Mount", "Name"], &rows);
        } else {
            for f in &entries {
                println!("{}", name(f));
            }
        }
        if recursive {
            queue.extend(
                entries
                    .iter()
                    .rev()
                    .filter(|f| f.is_dir && f.path != dir)
                    .map(|f| f.path.clone()),
            );
        }
    }
    Ok(())
}
