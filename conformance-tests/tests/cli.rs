//! The `arustio fs` CLI against a spawned server: every command, each refusal,
//! persistence, secret masking and admin authentication.

use std::process::Output;

use arustio_conformance_tests::{Gateway, s3_client as s3};
use aws_sdk_s3::primitives::ByteStream;

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// Runs a command that must succeed; returns its stdout.
fn ok(gw: &Gateway, args: &[&str]) -> String {
    let o = gw.cli(args);
    let (out, err) = text(&o);
    assert!(o.status.success(), "arustio {args:?} failed: {err}");
    out
}

/// Runs a command that must fail with one clear line on stderr; returns that line.
fn refused(gw: &Gateway, args: &[&str]) -> String {
    let o = gw.cli(args);
    let (out, err) = text(&o);
    assert!(
        !o.status.success(),
        "arustio {args:?} should have failed; printed {out}"
    );
    let err = err.trim().to_owned();
    assert_eq!(err.lines().count(), 1, "one line, got: {err}");
    assert!(err.starts_with("arustio: "), "{err}");
    assert!(
        !err.contains("Status {") && !err.contains("panicked"),
        "no debug dumps: {err}"
    );
    err
}

#[test]
fn mount_commands_and_refusals() {
    let gw = Gateway::start();
    let dir = tempfile::tempdir().unwrap();
    let lake = dir.path().join("lake");
    std::fs::create_dir_all(&lake).unwrap();
    let lake_uri = format!("local://{}", lake.display());

    assert!(ok(&gw, &["fs", "mount", "/lake", "mem://lake"]).contains("Mounted mem://lake at /lake"));
    ok(&gw, &["fs", "mount", "/data/lake", &lake_uri]);
    ok(&gw, &["fs", "mount", "--readonly", "/archive", "mem://archive"]);
    ok(&gw, &["fs", "mount", "-o", "readonly=true", "/frozen", "mem://lake"]);

    let table = ok(&gw, &["fs", "list"]);
    let header = table.lines().next().unwrap();
    for col in ["Mount Point", "Type", "URI", "Options", "Mode", "Scope"] {
        assert!(header.contains(col), "{header}");
    }
    assert!(
        table
            .lines()
            .any(|l| l.starts_with("/data/lake") && l.contains("Local") && l.contains(" rw ")),
        "{table}"
    );
    assert!(
        table.lines().any(|l| l.starts_with("/archive") && l.contains(" ro ")),
        "{table}"
    );
    let json: serde_json::Value = serde_json::from_str(&ok(&gw, &["fs", "list", "--json"])).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 5);
    let lake_row = json.as_array().unwrap().iter().find(|m| m["path"] == "/lake").unwrap();
    assert!(
        lake_row["capabilities"]["conditional_put"]
            .as_str()
            .unwrap()
            .starts_with("emulated"),
        "{lake_row}"
    );
    assert!(ok(&gw, &["fs", "mount", "/caps", "mem://caps"]).contains("server_side_copy: supported"));
    ok(&gw, &["fs", "unmount", "/caps"]);

    assert!(refused(&gw, &["fs", "mount", "/lake", "mem://other"]).contains("already a mount point"));
    assert!(refused(&gw, &["fs", "mount", "/archive/inner", "mem://x"]).contains("read-only mount /archive"));
    assert!(refused(&gw, &["fs", "mount", "/bad", "ftp://nowhere"]).contains("unknown scheme"));
    assert!(refused(&gw, &["fs", "mount", "/bad", "local://relative/dir"]).contains("absolute"));
    assert!(refused(&gw, &["fs", "mount", "/bad", "local:///does/not/exist"]).contains("not an existing directory"));
    assert!(refused(&gw, &["fs", "mount", "/Bad_Name", "mem://x"]).contains("bucket name"));
    let e = refused(
        &gw,
        &["fs", "mount", "-o", "secret_access_key=hunter2", "/opts", "mem://x"],
    );
    assert!(
        e.contains("valid options are: readonly") && !e.contains("hunter2"),
        "{e}"
    );
    assert!(refused(&gw, &["fs", "mount", "-o", "novalue", "/opts", "mem://x"]).contains("KEY=VALUE"));

    // Shadowing: objects already at the path on the parent's store.
    ok(&gw, &["fs", "mkdir", "-p", "/data/taken"]);
    assert!(refused(&gw, &["fs", "mount", "/data/taken", "mem://t"]).contains("--shadow"));
    ok(&gw, &["fs", "mount", "--shadow", "/data/taken", "mem://t"]);

    // Unmount leaves the store untouched; refused while uploads are in flight.
    std::fs::write(lake.join("kept.txt"), "still here").unwrap();
    ok(&gw, &["fs", "unmount", "/data/lake"]);
    assert_eq!(std::fs::read_to_string(lake.join("kept.txt")).unwrap(), "still here");
    assert!(refused(&gw, &["fs", "unmount", "/data/lake"]).contains("not a mount point"));
    assert!(refused(&gw, &["fs", "unmount", "/"]).contains("root mount"));
}

#[tokio::test]
async fn unmount_with_uploads_in_flight_needs_force() {
    let gw = Gateway::start();
    ok(&gw, &["fs", "mount", "/upl", "mem://up"]);
    let c = s3(&gw);
    let up = c
        .create_multipart_upload()
        .bucket("upl")
        .key("big")
        .send()
        .await
        .unwrap();
    let id = up.upload_id().unwrap();
    c.upload_part()
        .bucket("upl")
        .key("big")
        .upload_id(id)
        .part_number(1)
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .unwrap();
    assert!(refused(&gw, &["fs", "unmount", "/upl"]).contains("1 multipart upload(s) in flight"));
    assert!(ok(&gw, &["fs", "unmount", "--force", "/upl"]).contains("Aborted 1"));
    assert!(
        c.list_multipart_uploads().bucket("upl").send().await.is_err(),
        "the bucket went with the mount"
    );
}

#[tokio::test]
async fn file_commands_share_one_namespace_with_s3() {
    let gw = Gateway::start();
    let work = tempfile::tempdir().unwrap();
    ok(&gw, &["fs", "mount", "/mem", "mem://m"]);
    ok(&gw, &["fs", "mkdir", "/data"]);
    assert!(refused(&gw, &["fs", "mkdir", "/data"]).contains("exists"));
    assert!(refused(&gw, &["fs", "mkdir", "/data/a/b"]).contains("use -p"));
    ok(&gw, &["fs", "mkdir", "-p", "/data/a/b"]);

    // copy-from-local is readable over S3, and the reverse.
    let big: Vec<u8> = (0..9_000_000u32).map(|i| (i % 251) as u8).collect();
    let local = work.path().join("big.bin");
    std::fs::write(&local, &big).unwrap();
    ok(
        &gw,
        &["fs", "copy-from-local", local.to_str().unwrap(), "/data/a/big.bin"],
    );
    let c = s3(&gw);
    let got = c
        .get_object()
        .bucket("data")
        .key("a/big.bin")
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap();
    assert_eq!(got.into_bytes().as_ref(), &big[..]);
    c.put_object()
        .bucket("data")
        .key("a/from-s3.txt")
        .body(ByteStream::from_static(b"via s3\n"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok(&gw, &["fs", "cat", "/data/a/from-s3.txt"]), "via s3\n");
    let back = work.path().join("back.bin");
    ok(&gw, &["fs", "copy-to-local", "/data/a/big.bin", back.to_str().unwrap()]);
    assert_eq!(std::fs::read(&back).unwrap(), big);

    let ls = ok(&gw, &["fs", "ls", "/data/a"]);
    assert_eq!(ls.lines().collect::<Vec<_>>(), ["b/", "big.bin", "from-s3.txt"]);
    let ll = ok(&gw, &["fs", "ls", "-l", "/"]);
    assert!(
        ll.lines().any(|l| l.starts_with("mount") && l.ends_with("mem/")),
        "{ll}"
    );
    assert!(ll.lines().any(|l| l.starts_with("dir") && l.ends_with("data/")), "{ll}");
    let lr = ok(&gw, &["fs", "ls", "-R", "/data"]);
    assert!(lr.contains("/data/a/b:"), "{lr}");
    let stat = ok(&gw, &["fs", "stat", "/data/a/big.bin"]);
    assert!(
        stat.contains("Type: file") && stat.contains("Size: 9000000") && stat.contains("Mount: /"),
        "{stat}"
    );
    assert!(refused(&gw, &["fs", "stat", "/data/nope"]).contains("no such file or directory"));

    // mv within a store and across stores.
    ok(&gw, &["fs", "mv", "/data/a/from-s3.txt", "/data/moved.txt"]);
    ok(&gw, &["fs", "mv", "/data/moved.txt", "/mem/moved.txt"]);
    assert_eq!(ok(&gw, &["fs", "cat", "/mem/moved.txt"]), "via s3\n");
    assert!(refused(&gw, &["fs", "cat", "/data/moved.txt"]).contains("no such file"));
    ok(&gw, &["fs", "mv", "/data/a", "/mem/a"]);
    assert_eq!(
        ok(&gw, &["fs", "ls", "/mem/a"]).lines().collect::<Vec<_>>(),
        ["b/", "big.bin"]
    );

    // Recursive copies both ways.
    let tree = work.path().join("tree");
    std::fs::create_dir_all(tree.join("x/y")).unwrap();
    std::fs::write(tree.join("x/y/leaf.txt"), "leaf").unwrap();
    std::fs::write(tree.join("top.txt"), "top").unwrap();
    assert!(refused(&gw, &["fs", "copy-from-local", tree.to_str().unwrap(), "/mem/tree"]).contains("use -r"));
    ok(
        &gw,
        &["fs", "copy-from-local", "-r", tree.to_str().unwrap(), "/mem/tree"],
    );
    let down = work.path().join("down");
    ok(&gw, &["fs", "copy-to-local", "-r", "/mem/tree", down.to_str().unwrap()]);
    assert_eq!(std::fs::read_to_string(down.join("x/y/leaf.txt")).unwrap(), "leaf");

    // rm needs -r for directories and never removes a mount point.
    assert!(refused(&gw, &["fs", "rm", "/mem/tree"]).contains("use -r"));
    ok(&gw, &["fs", "rm", "-r", "/mem/tree"]);
    assert!(refused(&gw, &["fs", "rm", "-r", "/mem"]).contains("mount point"));
    ok(&gw, &["fs", "rm", "/mem/moved.txt"]);

    // A failed copy leaves no partial file on either side.
    let missing = work.path().join("never.bin");
    refused(
        &gw,
        &["fs", "copy-to-local", "/data/none.bin", missing.to_str().unwrap()],
    );
    assert!(
        std::fs::read_dir(work.path())
            .unwrap()
            .all(|e| !e.unwrap().file_name().to_string_lossy().contains("never"))
    );
    ok(&gw, &["fs", "mount", "--readonly", "/rox", "mem://ro"]);
    assert!(refused(&gw, &["fs", "copy-from-local", local.to_str().unwrap(), "/rox/big.bin"]).contains("read-only"));
    assert!(refused(&gw, &["fs", "stat", "/rox/big.bin"]).contains("no such file"));
}

#[tokio::test]
async fn read_only_mounts_refuse_s3_writes() {
    let gw = Gateway::start();
    ok(&gw, &["fs", "mount", "--readonly", "/frozen", "mem://frozen"]);
    // The same store at a second path is the same data.
    ok(&gw, &["fs", "mount", "/thaw", "mem://frozen"]);
    s3(&gw)
        .put_object()
        .bucket("thaw")
        .key("k")
        .body(ByteStream::from_static(b"shared"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok(&gw, &["fs", "cat", "/frozen/k"]), "shared");
    assert_eq!(
        arustio_conformance_tests::put_error(&s3(&gw), "frozen", "k").await,
        "AccessDenied"
    );
}

#[test]
fn mounts_survive_restart_and_kill() {
    let mut gw = Gateway::start();
    let dir = tempfile::tempdir().unwrap();
    ok(
        &gw,
        &["fs", "mount", "/keep", &format!("local://{}", dir.path().display())],
    );
    ok(&gw, &["fs", "mount", "--readonly", "/data/ro", "mem://ro"]);
    gw.restart(); // SIGKILL right after the commands returned
    let table = ok(&gw, &["fs", "list"]);
    assert!(table.lines().any(|l| l.starts_with("/keep")), "{table}");
    assert!(
        table.lines().any(|l| l.starts_with("/data/ro") && l.contains(" ro ")),
        "{table}"
    );
}

#[test]
fn admin_calls_need_the_root_credentials_and_secrets_stay_hidden() {
    let gw = Gateway::start_with(&[], &[("ARUSTIO_LOG", "debug")]);
    let wrong = gw.cli_as(&gw.access_key, "not-the-secret", &["fs", "list"]);
    let (_, err) = text(&wrong);
    assert!(
        !wrong.status.success() && err.contains("refused") && err.contains("wrong secret key"),
        "{err}"
    );
    let unknown = gw.cli_as("NOBODY", &gw.secret_key, &["fs", "list"]);
    assert!(text(&unknown).1.contains("unknown access key"));
    let o = std::process::Command::new(arustio_conformance_tests::binary())
        .args(["fs", "list"])
        .env("ARUSTIO_SERVER", gw.admin_url())
        .env_remove("ARUSTIO_ACCESS_KEY")
        .env_remove("ARUSTIO_SECRET_KEY")
        .env("HOME", "/nonexistent")
        .output()
        .unwrap();
    assert!(!o.status.success() && text(&o).1.contains("no admin credentials"));
    // A raw gRPC call with no signature at all is refused by the server too.
    let raw = std::process::Command::new("curl")
        .args([
            "-s",
            "-o",
            "/dev/null",
            "-D",
            "-",
            "--http2-prior-knowledge",
            "-X",
            "POST",
        ])
        .args([
            "-H",
            "content-type: application/grpc",
            "--data-binary",
            "",
            &format!("{}/arustio.admin.v1.Admin/ListMounts", gw.admin_url()),
        ])
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&raw.stdout).to_lowercase();
    assert!(headers.contains("grpc-status: 16"), "unauthenticated: {headers}");

    let e = refused(
        &gw,
        &["fs", "mount", "-o", "secret_access_key=hunter2", "/opts", "mem://x"],
    );
    let out = ok(&gw, &["fs", "list"]) + &ok(&gw, &["fs", "list", "--json"]) + &ok(&gw, &["fs", "ls", "-l", "/"]) + &e;
    for haystack in [out, gw.log()] {
        assert!(!haystack.contains(&gw.secret_key), "the root secret leaked");
        assert!(!haystack.contains("hunter2"), "a mount secret leaked");
    }
    for cmd in [
        &["--help"][..],
        &["fs", "--help"],
        &["serve", "--help"],
        &["fs", "mount", "--help"],
        &["fs", "copy-to-local", "--help"],
    ] {
        assert!(ok(&gw, cmd).contains("Example"), "{cmd:?} --help has an example");
    }
}
