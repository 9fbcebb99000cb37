//! `fs copy-from-local` and `fs copy-to-local`: files streamed in 1 MiB messages, with a
//! progress bar on a terminal, and no partial file left on either side when a copy fails.

use std::path::Path;

use arustio_proto::admin::{PathRequest, WriteRequest};
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::list::list_all;
use super::{CliError, Client};

const CHUNK: usize = 1024 * 1024;

fn progress(len: u64) -> ProgressBar {
    let pb = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} {wide_msg}") {
        pb.set_style(style);
    }
    pb
}

async fn upload_file(c: &mut Client, local: &Path, remote: &str) -> Result<(), CliError> {
    let mut file = tokio::fs::File::open(local).await.map_err(|e| CliError::io(local, e))?;
    let len = file.metadata().await.map_err(|e| CliError::io(local, e))?.len();
    let pb = progress(len);
    pb.set_message(remote.to_owned());
    let (tx, rx) = tokio::sync::mpsc::channel::<WriteRequest>(2);
    let send = tx.send(WriteRequest {
        path: remote.to_owned(),
        data: Vec::new(),
    });
    send.await
        .map_err(|_| CliError::Status("upload stream closed".to_owned()))?;
    let call = c.write(tokio_stream::wrappers::ReceiverStream::new(rx));
    let pb2 = pb.clone();
    let feed = async move {
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = file.read(&mut buf).await.map_err(|e| CliError::io(local, e))?;
            if n == 0 {
                return Ok::<(), CliError>(());
            }
            pb2.inc(n as u64);
            if tx
                .send(WriteRequest {
                    path: String::new(),
                    data: buf[..n].to_vec(),
                })
                .await
                .is_err()
            {
                return Ok(()); // the server ended the call; its status says why
            }
        }
    };
    let (res, fed) = tokio::join!(call, feed);
    fed?;
    res?;
    pb.finish_and_clear();
    Ok(())
}

pub(super) async fn copy_from_local(
    c: &mut Client,
    local: &Path,
    remote: &str,
    recursive: bool,
) -> Result<(), CliError> {
    let md = tokio::fs::metadata(local).await.map_err(|e| CliError::io(local, e))?;
    if !md.is_dir() {
        upload_file(c, local, remote).await?;
        println!("Copied {} to {remote}", local.display());
        return Ok(());
    }
    if !recursive {
        return Err(CliError::Usage(format!("{} is a directory (use -r)", local.display())));
    }
    let mut stack = vec![(local.to_path_buf(), remote.trim_end_matches('/').to_owned())];
    let mut n = 0;
    while let Some((dir, rdir)) = stack.pop() {
        let mut rd = tokio::fs::read_dir(&dir).await.map_err(|e| CliError::io(&dir, e))?;
        while let Some(entry) = rd.next_entry().await.map_err(|e| CliError::io(&dir, e))? {
            let name = entry.file_name().to_string_lossy().into_owned();
            let p = entry.path();
            if p.is_dir() {
                stack.push((p, format!("{rdir}/{name}")));
            } else {
                upload_file(c, &p, &format!("{rdir}/{name}")).await?;
                n += 1;
            }
        }
    }
    println!("Copied {n} file(s) from {} to {remote}", local.display());
    Ok(())
}

async fn download_file(c: &mut Client, remote: &str, local: &Path) -> Result<(), CliError> {
    let info = c
        .stat(PathRequest {
            path: remote.to_owned(),
            consistent: false,
        })
        .await?
        .into_inner();
    let dir = local
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let tmp = dir.join(format!(
        ".{}.arustio-partial",
        local.file_name().map(|n| n.to_string_lossy()).unwrap_or_default()
    ));
    let result = async {
        let mut s = c
            .read(PathRequest {
                path: remote.to_owned(),
                consistent: false,
            })
            .await?
            .into_inner();
        let mut f = tokio::fs::File::create(&tmp).await.map_err(|e| CliError::io(&tmp, e))?;
        let pb = progress(info.size);
        pb.set_message(remote.to_owned());
        let mut got = 0u64;
        while let Some(chunk) = s.next().await {
            let data = chunk?.data;
            got += data.len() as u64;
            pb.inc(data.len() as u64);
            f.write_all(&data).await.map_err(|e| CliError::io(&tmp, e))?;
        }
        f.flush().await.map_err(|e| CliError::io(&tmp, e))?;
        pb.finish_and_clear();
        if got != info.size {
            return Err(CliError::Status(format!("{remote}: got {got} of {} bytes", info.size)));
        }
        tokio::fs::rename(&tmp, local).await.map_err(|e| CliError::io(local, e))
    }
    .await;
    if result.is_err() {
        let _ = tokio::fs::remove_file(&tmp).await;
    }
    result
}

pub(super) async fn copy_to_local(c: &mut Client, remote: &str, local: &Path, recursive: bool) -> Result<(), CliError> {
    let info = c
        .stat(PathRequest {
            path: remote.to_owned(),
            consistent: false,
        })
        .await?
        .into_inner();
    if !info.is_dir {
        let target = if local.is_dir() {
            local.join(remote.rsplit('/').next().unwrap_or("file"))
        } else {
            local.to_path_buf()
        };
        download_file(c, remote, &target).await?;
        println!("Copied {remote} to {}", target.display());
        return Ok(());
    }
    if !recursive {
        return Err(CliError::Usage(format!("{remote} is a directory (use -r)")));
    }
    let mut stack = vec![(info.path.clone(), local.to_path_buf())];
    let mut n = 0;
    while let Some((rdir, ldir)) = stack.pop() {
        tokio::fs::create_dir_all(&ldir)
            .await
            .map_err(|e| CliError::io(&ldir, e))?;
        for f in list_all(c, &rdir).await? {
            let target = ldir.join(f.path.rsplit('/').next().unwrap_or_default());
            if f.is_dir {
                stack.push((f.path, target));
            } else {
                download_file(c, &f.path, &target).await?;
                n += 1;
            }
        }
    }
    println!("Copied {n} file(s) from {remote} to {}", local.display());
    Ok(())
}
