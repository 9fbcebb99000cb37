//! Several stores mounted at different paths, like Alluxio: write through one mount,
//! read across them, list the mount table, unmount. The mount table lives in the same
//! metadata state machine `arustio serve` uses. Run with `cargo run --example mount`.

use std::sync::Arc;

use arustio_backends::{MountOptions, Registry};
use arustio_cache::CacheManager;
use arustio_namespace::{MountEntry, MountTable, Namespace, PutOptions};
use arustio_raft::{MetaCmd, MetaStore};
use arustio_storage::{KvStore, MemKv};
use futures::{StreamExt, TryStreamExt};

fn mount(path: &str, uri: String) -> MetaCmd {
    MetaCmd::Mount(MountEntry {
        path: path.into(),
        uri,
        options: MountOptions::default(),
        readonly: false,
    })
}

async fn read(ns: &Namespace, bucket: &str, key: &str) -> Result<String, Box<dyn std::error::Error>> {
    let h = ns.head(bucket, key).await?;
    let parts: Vec<bytes::Bytes> = ns.open(&h, None).await?.try_collect().await?;
    Ok(String::from_utf8(parts.concat())?)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let disk = tempfile::tempdir()?;
    let staging = tempfile::tempdir()?;
    let kv: Arc<dyn KvStore> = Arc::new(MemKv::default());
    let meta = Arc::new(MetaStore::open(Arc::clone(&kv), None)?);
    meta.apply(&mount("", "mem://root".into()))?;
    meta.apply(&mount("mnt/memory", "mem://scratch".into()))?;
    meta.apply(&mount("mnt/local", format!("local://{}", disk.path().display())))?;
    let ns = Namespace::new(
        Arc::clone(&meta) as Arc<dyn MountTable>,
        Arc::new(Registry::new()),
        kv,
        CacheManager::passthrough(),
        staging.path().to_owned(),
    );

    for (bucket, key, text) in [
        ("mnt", "memory/a.txt", "in memory"),
        ("mnt", "local/b.txt", "on local disk"),
    ] {
        let body = futures::stream::iter([Ok(bytes::Bytes::from(text))]).boxed();
        ns.put(bucket, key, body, PutOptions::default()).await?;
        println!("wrote /{bucket}/{key}");
    }
    println!("on disk: {}", std::fs::read_to_string(disk.path().join("b.txt"))?);
    println!("read /mnt/memory/a.txt: {}", read(&ns, "mnt", "memory/a.txt").await?);

    let (entries, _) = ns.fs_list("/mnt", None, 100).await?;
    for e in entries {
        println!(
            "ls /mnt: {}{}",
            e.path,
            if e.is_mount_point { " (mount point)" } else { "" }
        );
    }
    println!("mounts:");
    for m in meta.mounts().iter() {
        println!("  {:<12} {}", m.display_path(), m.uri);
    }
    meta.apply(&MetaCmd::Unmount {
        path: "mnt/memory".into(),
    })?;
    println!("unmounted /mnt/memory; mounts left: {}", meta.mounts().len());
    assert!(ns.head("mnt", "memory/a.txt").await.is_err());
    assert_eq!(read(&ns, "mnt", "local/b.txt").await?, "on local disk");
    Ok(())
}
