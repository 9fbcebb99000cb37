//! What a node refuses to start with, and how it keeps its secrets out of sight.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use arustio_conformance_tests::Gateway;
use arustio_proto::admin::UnmountRequest;
use arustio_proto::admin::admin_client::AdminClient;
use arustio_proto::auth::Signed;

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

/// Puts the signature headers of the first call it sees on every later call: an attacker
/// who captured one signed call and sends it again, or with a body of their own.
#[derive(Clone)]
struct Replayer {
    inner: tonic::transport::Channel,
    captured: Arc<Mutex<Option<http::HeaderMap>>>,
}

impl tower::Service<http::Request<tonic::body::Body>> for Replayer {
    type Response = http::Response<tonic::body::Body>;
    type Error = tonic::transport::Error;
    type Future = <tonic::transport::Channel as tower::Service<http::Request<tonic::body::Body>>>::Future;

    fn poll_ready(&mut self, cx: &mut std::task::Context<'_>) -> std::task::Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: http::Request<tonic::body::Body>) -> Self::Future {
        let mut captured = self.captured.lock().expect("lock");
        match &*captured {
            None => *captured = Some(req.headers().clone()),
            Some(first) => {
                for (name, value) in first.iter().filter(|(n, _)| n.as_str().starts_with("x-arustio-")) {
                    req.headers_mut().insert(name.clone(), value.clone());
                }
            }
        }
        self.inner.call(req)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_captured_signature_serves_neither_another_body_nor_a_second_time() {
    let gw = Gateway::start();
    for p in ["/keep-a", "/keep-b"] {
        let out = gw.cli(&["fs", "mount", "--no-check", p, "mem://replay"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let (channel, key) = arustio_conformance_tests::cluster::admin_channel(&gw).await;
    let replayer = Replayer {
        inner: channel,
        captured: Arc::default(),
    };
    let mut admin = AdminClient::new(Signed::new(replayer, key));
    let unmount = |path: &str| UnmountRequest {
        path: path.to_owned(),
        force: false,
    };
    admin.unmount(unmount("/keep-a")).await.expect("the signed call itself");
    let forged = admin
        .unmount(unmount("/keep-b"))
        .await
        .expect_err("another body under the captured signature");
    assert_eq!(forged.code(), tonic::Code::Unauthenticated, "{forged:?}");
    let again = admin
        .unmount(unmount("/keep-a"))
        .await
        .expect_err("the same call again");
    assert_eq!(again.code(), tonic::Code::Unauthenticated, "{again:?}");
    assert!(again.message().contains("replayed"), "{again:?}");
    let listed = String::from_utf8_lossy(&gw.cli(&["fs", "list"]).stdout).into_owned();
    assert!(listed.contains("/keep-b"), "the forged unmount did nothing: {listed}");
}
