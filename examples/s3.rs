//! Mounts an S3 bucket, like the original README's S3 example: set S3_BUCKET, S3_REGION,
//! AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY (and S3_ENDPOINT for an S3-compatible store),
//! then `cargo run --example s3`. It writes, reads, lists and deletes under `arustio-example/`.

use arustio_backends::MountOptions;
use arustio_namespace::{MountEntry, Namespace, PutOptions};
use futures::{StreamExt, TryStreamExt};

fn env(name: &str) -> Result<String, String> {
    std::env::var(name).map_err(|_| format!("set {name} (see the comment at the top of examples/s3.rs)"))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let bucket = env("S3_BUCKET")?;
    let mut options = MountOptions::default();
    options.0.insert(
        "region".into(),
        std::env::var("S3_REGION").unwrap_or_else(|_| "us-east-1".into()),
    );
    options.0.insert("access_key_id".into(), env("AWS_ACCESS_KEY_ID")?);
    options
        .0
        .insert("secret_access_key".into(), env("AWS_SECRET_ACCESS_KEY")?);
    if let Ok(endpoint) = std::env::var("S3_ENDPOINT") {
        options.0.insert("endpoint".into(), endpoint);
    }
    let mount = MountEntry {
        path: "s3".into(),
        uri: format!("s3://{bucket}/arustio-example"),
        options,
        readonly: false,
    };
    let root = MountEntry {
        path: String::new(),
        uri: "mem://root".into(),
        options: MountOptions::default(),
        readonly: false,
    };
    let staging = tempfile::tempdir()?;
    let ns = Namespace::in_memory(vec![root, mount], staging.path().to_owned());

    let body = futures::stream::iter([Ok(bytes::Bytes::from_static(b"Hello S3!"))]).boxed();
    let info = ns.put("s3", "data/file.txt", body, PutOptions::default()).await?;
    println!(
        "wrote /s3/data/file.txt to s3://{bucket}/arustio-example/data/file.txt (ETag {})",
        info.etag
    );
    let h = ns.head("s3", "data/file.txt").await?;
    let parts: Vec<bytes::Bytes> = ns.open(&h, None).await?.try_collect().await?;
    println!("read back: {}", String::from_utf8(parts.concat())?);
    let (entries, _) = ns.fs_list("/s3/data", None, 100).await?;
    for e in &entries {
        println!("ls /s3/data: {} ({} bytes)", e.path, e.size);
    }
    ns.fs_remove("/s3/data/file.txt", false).await?;
    println!("deleted /s3/data/file.txt");
    Ok(())
}
