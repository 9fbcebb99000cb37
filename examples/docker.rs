//! The original README's Docker example, against a running gateway (`make docker-up`, or
//! any node whose `/mnt/s3-test`, `/mnt/s3-data` and `/mnt/s3-temp` are mounted, as
//! `docker/init-mounts.sh` does): writes a file into each mount through the one
//! namespace, reads each back, lists the mounts, copies a file from one bucket to another
//! and reads the copy. Set ARUSTIO_S3_ENDPOINT (default http://127.0.0.1:39999) and
//! AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (the gateway's root pair), then
//! `cargo run --example docker`. It exits non-zero on the first step that fails.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;

/// The namespace's `/mnt` directory is the S3 bucket `mnt`; each mount is a prefix in it.
const BUCKET: &str = "mnt";
const FILES: [(&str, &str); 3] = [
    ("s3-test/hello.txt", "Hello from the test bucket\n"),
    ("s3-data/data/records.json", "{\"records\": [1, 2, 3]}\n"),
    ("s3-temp/scratch.txt", "temporary bytes\n"),
];

type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;

fn env(name: &str) -> Result<String> {
    std::env::var(name).map_err(|_| format!("set {name} (see the comment at the top of examples/docker.rs)").into())
}

async fn read(s3: &Client, key: &str) -> Result<Vec<u8>> {
    let got = s3.get_object().bucket(BUCKET).key(key).send().await?;
    Ok(got.body.collect().await?.into_bytes().to_vec())
}

async fn list(s3: &Client, prefix: &str, delimiter: Option<&str>) -> Result<(Vec<String>, Vec<String>)> {
    let page = s3
        .list_objects_v2()
        .bucket(BUCKET)
        .prefix(prefix)
        .set_delimiter(delimiter.map(str::to_owned))
        .send()
        .await?;
    let keys = page
        .contents()
        .iter()
        .filter_map(|o| o.key().map(str::to_owned))
        .collect();
    let dirs = page
        .common_prefixes()
        .iter()
        .filter_map(|p| p.prefix().map(str::to_owned))
        .collect();
    Ok((keys, dirs))
}

#[tokio::main]
async fn main() -> Result<()> {
    let endpoint = std::env::var("ARUSTIO_S3_ENDPOINT").unwrap_or_else(|_| "http://127.0.0.1:39999".into());
    let creds = Credentials::new(
        env("AWS_ACCESS_KEY_ID")?,
        env("AWS_SECRET_ACCESS_KEY")?,
        None,
        None,
        "env",
    );
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&endpoint)
        .region(Region::new("us-east-1"))
        .credentials_provider(creds)
        .force_path_style(true)
        .build();
    let s3 = Client::from_conf(conf);
    println!("Arustio at {endpoint}: three MinIO buckets mounted under /mnt");

    println!("1. the mounts are directories of one bucket, `{BUCKET}`:");
    let (_, dirs) = list(&s3, "", Some("/")).await?;
    for want in ["s3-data/", "s3-temp/", "s3-test/"] {
        if !dirs.iter().any(|d| d == want) {
            return Err(
                format!("/mnt/{want} is not listed (is it mounted? see docker/init-mounts.sh): {dirs:?}").into(),
            );
        }
        println!("   /mnt/{want}");
    }

    println!("2. a file into each mount, each in its own bucket:");
    for (key, text) in FILES {
        s3.put_object()
            .bucket(BUCKET)
            .key(key)
            .body(ByteStream::from_static(text.as_bytes()))
            .send()
            .await?;
        println!("   wrote /mnt/{key} ({} bytes)", text.len());
    }

    println!("3. each read back through the namespace:");
    for (key, text) in FILES {
        let got = read(&s3, key).await?;
        if got != text.as_bytes() {
            return Err(format!("/mnt/{key}: read {} bytes that differ from what was written", got.len()).into());
        }
        println!("   /mnt/{key}: {:?}", String::from_utf8_lossy(&got).trim_end());
    }

    println!("4. the mounts listed:");
    for dir in ["s3-test/", "s3-data/", "s3-temp/"] {
        let (keys, _) = list(&s3, dir, None).await?;
        println!("   /mnt/{dir}: {}", keys.join(", "));
        if keys.is_empty() {
            return Err(format!("/mnt/{dir} lists nothing after a write").into());
        }
    }

    println!("5. a copy across buckets (test-bucket to data-bucket):");
    let (from, to) = ("s3-test/hello.txt", "s3-data/copied/hello.txt");
    s3.copy_object()
        .bucket(BUCKET)
        .key(to)
        .copy_source(format!("{BUCKET}/{from}"))
        .send()
        .await?;
    let copied = read(&s3, to).await?;
    if copied != FILES[0].1.as_bytes() {
        return Err(format!("/mnt/{to} differs from /mnt/{from}").into());
    }
    println!("   /mnt/{from} -> /mnt/{to}: {} bytes, the same", copied.len());

    println!("6. the scratch file removed from the temp bucket:");
    s3.delete_object().bucket(BUCKET).key(FILES[2].0).send().await?;
    let (left, _) = list(&s3, "s3-temp/", None).await?;
    if !left.is_empty() {
        return Err(format!("/mnt/s3-temp/ still lists {left:?}").into());
    }
    println!("   /mnt/s3-temp/ is empty");
    println!("done: every step held");
    Ok(())
}
