//! What a node refuses to start with, and how it keeps its secrets out of sight.

use std::time::{Duration, Instant};

use arustio_conformance_tests::Gateway;

#[test]
fn a_weak_cluster_secret_is_refused_at_start() {
    for weak in ["", "short", "aaaaaaaaaaaaaaaaaaaaaaaa", "abababababababababab"] {
        let (code, log) = Gateway::start_expecting_failure(&["--cluster-secret", weak], &[]);
        assert_ne!(code, Some(0), "{weak:?} was accepted");
        assert!(log.contains("cluster secret is too weak"), "{weak:?}: {log}");
        assert!(
            weak.is_empty() || !log.contains(weak),
            "the secret is not echoed: {log}"
        );
    }
    let (code, log) = Gateway::start_expecting_failure(&[], &[("ARUSTIO_CLUSTER_SECRET", "")]);
    assert_ne!(code, Some(0));
    assert!(log.contains("cluster secret is too weak"), "{log}");
}

#[test]
fn the_cluster_secret_can_come_from_a_file_and_stays_out_of_ps() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("cluster.secret");
    let secret = format!(
        "file-secret-{}-{}",
        std::process::id(),
        arustio_conformance_tests::free_port()
    );
    std::fs::write(&file, format!("{secret}\n")).expect("write secret");
    let path = file.to_str().expect("utf-8 path");
    let creds = ("AKFILE".to_owned(), "file-root-secret-1".to_owned());
    let first = Gateway::start_as(&["--node-id", "1", "--cluster-secret-file", path], &[], creds.clone());
    let join = first.admin_url();
    let second = Gateway::start_as(
        &["--node-id", "2", "--join", &join, "--cluster-secret-file", path],
        &[],
        creds,
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let out = second.cli(&["cluster", "status", "--json"]);
        let status: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
        if status["members"].as_array().map(Vec::len) == Some(2) {
            break;
        }
        assert!(Instant::now() < deadline, "the second node did not join: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
    for gw in [&first, &second] {
        let cmdline = std::fs::read(format!("/proc/{}/cmdline", gw.pid())).expect("cmdline");
        assert!(!String::from_utf8_lossy(&cmdline).contains(&secret));
    }
    // A node given the secret both ways is told to pick one.
    let (code, log) = Gateway::start_expecting_failure(
        &["--cluster-secret-file", path],
        &[("ARUSTIO_CLUSTER_SECRET", "another-long-cluster-secret-1")],
    );
    assert_ne!(code, Some(0));
    assert!(log.contains("not both"), "{log}");
    let (code, log) = Gateway::start_expecting_failure(&["--cluster-secret-file", "/nonexistent/secret"], &[]);
    assert_ne!(code, Some(0));
    assert!(log.contains("/nonexistent/secret"), "{log}");
}
