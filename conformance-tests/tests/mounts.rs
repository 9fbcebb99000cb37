//! The unified namespace through S3: virtual buckets, nested mounts merged into
//! listings, read-only mounts, files changed behind the gateway, and restarts.

use std::path::Path;

use arustio_conformance_tests::{Gateway, error_code as code, put_error, s3_client as client};
use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;

async fn put(c: &Client, bucket: &str, key: &str, body: &str) {
    c.put_object()
        .bucket(bucket)
        .key(key)
        .content_type("text/x-arustio")
        .body(ByteStream::from(body.as_bytes().to_vec()))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {bucket}/{key}: {e:?}"));
}

async fn get(c: &Client, bucket: &str, key: &str) -> String {
    let out = c
        .get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| panic!("get {bucket}/{key}: {e:?}"));
    String::from_utf8(out.body.collect().await.unwrap().into_bytes().to_vec()).unwrap()
}

async fn list(c: &Client, bucket: &str, prefix: &str, delimiter: Option<&str>) -> (Vec<String>, Vec<String>) {
    let out = c
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .set_delimiter(delimiter.map(str::to_owned))
        .send()
        .await
        .unwrap();
    let keys = out.contents().iter().map(|o| o.key().unwrap().to_owned()).collect();
    let cps = out
        .common_prefixes()
        .iter()
        .map(|p| p.prefix().unwrap().to_owned())
        .collect();
    (keys, cps)
}

/// A gateway with `/lake` on memory, `/data/lake` on a local dir, `/data/ro` read-only.
fn mounted(dir: &Path) -> Gateway {
    let lake = dir.join("lakedir");
    let ro = dir.join("rodir");
    std::fs::create_dir_all(&lake).unwrap();
    std::fs::create_dir_all(ro.join("sub")).unwrap();
    std::fs::write(ro.join("sub/seed.txt"), "seeded").unwrap();
    let config = dir.join("arustio.toml");
    std::fs::write(
        &config,
        format!(
            "[[mounts]]\npath = \"/lake\"\nuri = \"mem://lake\"\n\n\
             [[mounts]]\npath = \"/data/lake\"\nuri = \"local://{}\"\n\n\
             [[mounts]]\npath = \"/data/ro\"\nuri = \"file://{}\"\nreadonly = true\n",
            lake.display(),
            ro.display()
        ),
    )
    .unwrap();
    Gateway::start_with(&["--config", config.to_str().unwrap()], &[])
}

#[tokio::test]
async fn virtual_buckets_and_merged_listings() {
    let dir = tempfile::tempdir().unwrap();
    let gw = mounted(dir.path());
    let c = client(&gw);
    let mut buckets: Vec<_> = c
        .list_buckets()
        .send()
        .await
        .unwrap()
        .buckets()
        .iter()
        .map(|b| b.name().unwrap().to_owned())
        .collect();
    buckets.sort();
    assert_eq!(
        buckets,
        ["data", "lake"],
        "a mount point and the parent of mounts are buckets"
    );

    put(&c, "lake", "in/mem.txt", "memory").await;
    put(&c, "data", "lake/x/y.txt", "on disk").await;
    put(&c, "data", "other.txt", "root mount").await;
    put(&c, "data", "lakehouse/z", "root mount too").await;
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lakedir/x/y.txt")).unwrap(),
        "on disk"
    );
    assert!(gw.data_dir.path().join("root/data/other.txt").exists());
    assert_eq!(get(&c, "data", "lake/x/y.txt").await, "on disk");

    let (keys, cps) = list(&c, "data", "", Some("/")).await;
    assert_eq!(keys, ["other.txt"]);
    assert_eq!(cps, ["lake/", "lakehouse/", "ro/"]);
    let (keys, _) = list(&c, "data", "", None).await;
    assert_eq!(keys, ["lake/x/y.txt", "lakehouse/z", "other.txt", "ro/sub/seed.txt"]);
    let (keys, _) = list(&c, "data", "lake/", None).await;
    assert_eq!(keys, ["lake/x/y.txt"]);
    let (_, cps) = list(&c, "data", "lake/", Some("/")).await;
    assert_eq!(cps, ["lake/x/"]);

    // Copy across mounts (memory -> local) streams the bytes.
    c.copy_object()
        .bucket("data")
        .key("lake/copied")
        .copy_source("lake/in/mem.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("lakedir/copied")).unwrap(),
        "memory"
    );

    assert_eq!(
        put_error(&c, "data", "lake").await,
        "InvalidArgument",
        "a mount point is a directory"
    );
    let e = c.delete_bucket().bucket("lake").send().await.unwrap_err();
    assert_eq!(code(&e.into_service_error()), "InvalidBucketState");
    let e = c.delete_bucket().bucket("data").send().await.unwrap_err();
    assert_eq!(code(&e.into_service_error()), "BucketNotEmpty");
}

#[tokio::test]
async fn read_only_mounts_refuse_writes() {
    let dir = tempfile::tempdir().unwrap();
    let gw = mounted(dir.path());
    let c = client(&gw);
    assert_eq!(get(&c, "data", "ro/sub/seed.txt").await, "seeded");
    assert_eq!(put_error(&c, "data", "ro/new").await, "AccessDenied");
    let e = c
        .delete_object()
        .bucket("data")
        .key("ro/sub/seed.txt")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "AccessDenied");
    let e = c
        .create_multipart_upload()
        .bucket("data")
        .key("ro/mp")
        .send()
        .await
        .unwrap_err();
    assert_eq!(code(&e.into_service_error()), "AccessDenied");
    assert!(dir.path().join("rodir/sub/seed.txt").exists());
}

#[tokio::test]
async fn files_changed_behind_the_gateway_never_get_stale_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let gw = mounted(dir.path());
    let c = client(&gw);
    put(&c, "data", "lake/doc.txt", "version one").await;
    let h = c.head_object().bucket("data").key("lake/doc.txt").send().await.unwrap();
    assert_eq!(h.content_type(), Some("text/x-arustio"));
    let md5_etag = h.e_tag().unwrap().to_owned();

    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        dir.path().join("lakedir/doc.txt"),
        "changed outside, longer than before",
    )
    .unwrap();
    let h = c.head_object().bucket("data").key("lake/doc.txt").send().await.unwrap();
    assert_ne!(h.e_tag().unwrap(), md5_etag);
    assert!(h.e_tag().unwrap().ends_with("-1\""), "derived ETag: {:?}", h.e_tag());
    assert_ne!(
        h.content_type(),
        Some("text/x-arustio"),
        "the old record must not be served"
    );
    assert_eq!(
        get(&c, "data", "lake/doc.txt").await,
        "changed outside, longer than before"
    );
    let again = c.head_object().bucket("data").key("lake/doc.txt").send().await.unwrap();
    assert_eq!(again.e_tag(), h.e_tag(), "derived ETags are stable");

    std::fs::remove_file(dir.path().join("lakedir/doc.txt")).unwrap();
    let e = c
        .head_object()
        .bucket("data")
        .key("lake/doc.txt")
        .send()
        .await
        .unwrap_err();
    assert!(e.raw_response().is_some_and(|r| r.status().as_u16() == 404));
}

#[tokio::test]
async fn odd_files_written_into_a_store_do_not_break_listings() {
    use std::os::unix::ffi::OsStrExt;
    let dir = tempfile::tempdir().unwrap();
    let gw = mounted(dir.path());
    let c = client(&gw);
    let lake = dir.path().join("lakedir");
    std::fs::write(lake.join("good.txt"), "fine").unwrap();
    std::fs::write(lake.join("upload#12"), "looks like a staging file").unwrap();
    std::fs::write(lake.join(std::ffi::OsStr::from_bytes(b"not-utf8-\xff")), "odd").unwrap();
    std::fs::write(lake.join("tab\there"), "control char").unwrap();
    std::fs::write(lake.join("zz.txt"), "after the odd ones").unwrap();
    let (keys, _) = list(&c, "data", "lake/", None).await;
    assert_eq!(keys, ["lake/good.txt", "lake/zz.txt"]);
    assert_eq!(put_error(&c, "data", "lake/f#3").await, "InvalidArgument");
    // A file cannot also be a directory on a local store: a clean 400, not a 500.
    put(&c, "data", "lake/dir/file", "x").await;
    for clash in ["lake/dir", "lake/dir/file/below"] {
        assert_eq!(put_error(&c, "data", clash).await, "InvalidArgument", "{clash}");
    }
}

#[tokio::test]
async fn state_survives_a_kill_and_restart() {
    let dir = tempfile::tempdir().unwrap();
    let mut gw = mounted(dir.path());
    let c = client(&gw);
    c.create_bucket().bucket("keep").send().await.unwrap();
    put(&c, "keep", "dir/", "").await;
    put(&c, "keep", "a.txt", "kept").await;
    put(&c, "data", "lake/b.txt", "kept too").await;
    gw.restart();
    let c = client(&gw);
    assert_eq!(get(&c, "keep", "a.txt").await, "kept");
    assert_eq!(get(&c, "data", "lake/b.txt").await, "kept too");
    let h = c.head_object().bucket("keep").key("a.txt").send().await.unwrap();
    assert_eq!(h.content_type(), Some("text/x-arustio"));
    let (keys, _) = list(&c, "keep", "", None).await;
    assert_eq!(keys, ["a.txt", "dir/"]);
}

#[tokio::test]
async fn unfinished_uploads_expire() {
    let gw = Gateway::start_with(&[], &[("ARUSTIO_MULTIPART_EXPIRY_SECS", "1")]);
    let c = client(&gw);
    c.create_bucket().bucket("exp").send().await.unwrap();
    let up = c.create_multipart_upload().bucket("exp").key("k").send().await.unwrap();
    c.upload_part()
        .bucket("exp")
        .key("k")
        .upload_id(up.upload_id().unwrap())
        .part_number(1)
        .body(ByteStream::from_static(b"p"))
        .send()
        .await
        .unwrap();
    let staging = gw.data_dir.path().join("multipart");
    assert_eq!(std::fs::read_dir(&staging).unwrap().count(), 1);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    while std::fs::read_dir(&staging).unwrap().count() > 0 {
        assert!(std::time::Instant::now() < deadline, "upload did not expire");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    assert!(
        c.list_multipart_uploads()
            .bucket("exp")
            .send()
            .await
            .unwrap()
            .uploads()
            .is_empty()
    );
    assert!(c.head_object().bucket("exp").key("k").send().await.is_err());
}

#[test]
fn config_mounts_are_declarative() {
    let dir = tempfile::tempdir().unwrap();
    let mut gw = mounted(dir.path());
    let cli = |gw: &Gateway, args: &[&str]| {
        let o = gw.cli(args);
        assert!(o.status.success(), "{args:?}: {}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8_lossy(&o.stdout).into_owned()
    };
    // Unmounted at runtime, a config mount comes back at the next start; a restart with
    // the same config changes nothing.
    cli(&gw, &["fs", "unmount", "/lake"]);
    gw.restart();
    let table = cli(&gw, &["fs", "list"]);
    assert!(table.lines().any(|l| l.starts_with("/lake ")), "{table}");
    assert_eq!(table.lines().count(), 5, "{table}");
    // A runtime mount at a config path with another store stops the start, naming both.
    cli(&gw, &["fs", "unmount", "/lake"]);
    cli(&gw, &["fs", "mount", "/lake", "mem://elsewhere"]);
    let (code, log) = gw.restart_expecting_failure();
    assert_ne!(code, Some(0));
    assert!(log.contains("mem://lake") && log.contains("mem://elsewhere"), "{log}");
}

/// A node whose metadata database is damaged refuses to start, with one line naming the
/// database and what to do, instead of starting without the mounts after the damage.
#[test]
fn a_damaged_metadata_database_stops_the_start() {
    let mut gw = Gateway::start();
    let o = gw.cli(&["fs", "mount", "/runtime", "mem://runtime-lake"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    gw.kill();
    // One byte of the mount's record in the write-ahead log, as a bad disk sector would.
    let meta = gw.data_dir.path().join("meta");
    let wal = std::fs::read_dir(&meta)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|x| x == "log"))
        .expect("a write-ahead log");
    let mut bytes = std::fs::read(&wal).unwrap();
    let at = bytes
        .windows(18)
        .position(|w| w == b"mem://runtime-lake")
        .expect("the mount in the log");
    bytes[at + 6] ^= 0x5a;
    std::fs::write(&wal, bytes).unwrap();

    let (code, log) = gw.restart_expecting_failure();
    assert_eq!(code, Some(1), "{log}");
    let line = log.lines().find(|l| l.starts_with("arustio: ")).unwrap_or_default();
    let meta = meta.canonicalize().unwrap().display().to_string();
    assert!(
        line.contains(&meta) && line.contains("is corrupt") && line.contains("backup"),
        "{log}"
    );
}

#[test]
fn a_config_mount_is_checked_as_an_admin_mount_is() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("arustio.toml");
    std::fs::write(
        &config,
        "[[mounts]]\npath = \"/data/ro\"\nuri = \"mem://ro\"\nreadonly = true\n\n\
         [[mounts]]\npath = \"/data/ro/inner\"\nuri = \"mem://inner\"\n",
    )
    .unwrap();
    let (code, log) = Gateway::start_expecting_failure(&["--config", config.to_str().unwrap()], &[]);
    assert_eq!(code, Some(1), "{log}");
    let line = log.lines().find(|l| l.starts_with("arustio: ")).unwrap_or_default();
    assert!(
        line.contains("/data/ro/inner") && line.contains("inside the read-only mount /data/ro"),
        "{log}"
    );
}
