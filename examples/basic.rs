//! In-memory basics: mkdir, write, read, ls, stat, delete on a namespace whose root is a
//! memory store. Run with `cargo run --example basic`.

use arustio_backends::MountOptions;
use arustio_namespace::{MountEntry, Namespace, PutOptions};
use futures::{StreamExt, TryStreamExt};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = MountEntry {
        path: String::new(),
        uri: "mem://root".into(),
        options: MountOptions::default(),
        readonly: false,
    };
    let staging = tempfile::tempdir()?;
    let ns = Namespace::in_memory(vec![root], staging.path().to_owned());

    ns.fs_mkdir("/test/docs", true).await?;
    println!("mkdir -p /test/docs");

    let body = futures::stream::iter([Ok(bytes::Bytes::from_static(b"Hello, Arustio!\n"))]).boxed();
    let info = ns.put("test", "docs/hello.txt", body, PutOptions::default()).await?;
    println!("wrote /test/docs/hello.txt (ETag {})", info.etag);

    let handle = ns.head("test", "docs/hello.txt").await?;
    let bytes: Vec<bytes::Bytes> = ns.open(&handle, None).await?.try_collect().await?;
    print!("read: {}", String::from_utf8(bytes.concat())?);

    let (entries, _) = ns.fs_list("/test/docs", None, 100).await?;
    for e in &entries {
        println!("ls: {} ({} bytes)", e.path, e.size);
    }
    let st = ns.fs_stat("/test/docs/hello.txt").await?;
    println!(
        "stat: {} is a {} of {} bytes on mount {}",
        st.path,
        if st.is_dir { "dir" } else { "file" },
        st.size,
        st.mount
    );

    ns.fs_remove("/test/docs/hello.txt", false).await?;
    let gone = ns.fs_stat("/test/docs/hello.txt").await.is_err();
    println!("deleted: {gone}");
    assert!(gone);
    Ok(())
}
