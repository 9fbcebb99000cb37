//! Spawns the real `arustio` binary on free ports with a temp data dir, for tests that
//! drive it with real clients.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub mod cluster;
pub mod fault;
pub mod minio;
pub mod netlab;

/// A running gateway; killed and cleaned up on drop.
pub struct Gateway {
    child: Child,
    /// A command the server runs under (`ip netns exec NS`), or empty.
    wrapper: Vec<String>,
    args: Vec<String>,
    env: Vec<(String, String)>,
    /// The S3 endpoint.
    pub s3_addr: SocketAddr,
    /// The admin API.
    pub grpc_addr: SocketAddr,
    /// Root access key.
    pub access_key: String,
    /// Root secret key.
    pub secret_key: String,
    /// The data dir (removed on drop).
    pub data_dir: tempfile::TempDir,
}

/// A port that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("no free port")
}

/// The `arustio` binary: `$ARUSTIO_BIN`, or beside the test executable's target dir.
pub fn binary() -> PathBuf {
    if let Some(p) = std::env::var_os("ARUSTIO_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("current exe");
    let dir = exe.parent().and_then(Path::parent).expect("target dir");
    let bin = dir.join("arustio");
    assert!(
        bin.exists(),
        "{} not found: run `cargo build -p arustio-gateway` first or set ARUSTIO_BIN",
        bin.display()
    );
    bin
}

/// The `arustio` binary as a command, under `wrapper` (e.g. `ip netns exec NS`) if any.
fn command(wrapper: &[String]) -> Command {
    match wrapper.split_first() {
        Some((first, rest)) => {
            let mut c = Command::new(first);
            c.args(rest).arg(binary());
            c
        }
        None => Command::new(binary()),
    }
}

impl Gateway {
    /// Starts a gateway with fresh state and random root credentials.
    pub fn start() -> Self {
        Self::start_with(&[], &[])
    }

    /// Starts a gateway with extra flags and environment.
    pub fn start_with(args: &[&str], env: &[(&str, &str)]) -> Self {
        let access_key = format!("AK{}", free_port());
        let secret_key = format!("secret-{}-{}", free_port(), std::process::id());
        Self::start_as(args, env, (access_key, secret_key))
    }

    /// Starts a gateway with extra flags and environment, and the given root credentials.
    pub fn start_as(args: &[&str], env: &[(&str, &str)], creds: (String, String)) -> Self {
        let s3_addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let grpc_addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        Self::start_at(Vec::new(), (s3_addr, grpc_addr), args, env, creds)
    }

    /// Starts a gateway under `wrapper` (e.g. `ip netns exec NS`) on the given addresses.
    pub fn start_at(
        wrapper: Vec<String>,
        (s3_addr, grpc_addr): (SocketAddr, SocketAddr),
        args: &[&str],
        env: &[(&str, &str)],
        (access_key, secret_key): (String, String),
    ) -> Self {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let child = Self::spawn(
            &wrapper,
            &data_dir,
            s3_addr,
            grpc_addr,
            &access_key,
            &secret_key,
            &args,
            &env,
        );
        let mut gw = Self {
            child,
            wrapper,
            args,
            env,
            s3_addr,
            grpc_addr,
            access_key,
            secret_key,
            data_dir,
        };
        gw.wait_ready();
        gw
    }

    #[allow(clippy::too_many_arguments)]
    fn spawn(
        wrapper: &[String],
        data_dir: &tempfile::TempDir,
        s3_addr: SocketAddr,
        grpc_addr: SocketAddr,
        access_key: &str,
        secret_key: &str,
        args: &[String],
        env: &[(String, String)],
    ) -> Child {
        let mut cmd = command(wrapper);
        cmd.arg("serve")
            .arg("--data-dir")
            .arg(data_dir.path())
            .arg("--s3-addr")
            .arg(s3_addr.to_string())
            .arg("--grpc-addr")
            .arg(grpc_addr.to_string())
            .args(args)
            .env("ARUSTIO_ACCESS_KEY", access_key)
            .env("ARUSTIO_SECRET_KEY", secret_key)
            .env("ARUSTIO_LOG", "warn")
            // Any free port: gateways run side by side (a test may set its own).
            .env("ARUSTIO_METRICS_ADDR", "127.0.0.1:0")
            .stdin(Stdio::null())
            .stdout(Stdio::null());
        if let Ok(log) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(Self::log_path(data_dir))
        {
            cmd.stderr(log);
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.spawn().expect("spawn arustio")
    }

    fn log_path(data_dir: &tempfile::TempDir) -> PathBuf {
        data_dir.path().with_extension("server.log")
    }

    /// Everything the server wrote to stderr (its log).
    pub fn log(&self) -> String {
        std::fs::read_to_string(Self::log_path(&self.data_dir)).unwrap_or_default()
    }

    /// The admin API URL.
    pub fn admin_url(&self) -> String {
        format!("http://{}", self.grpc_addr)
    }

    /// Runs `arustio ARGS` as an admin client of this gateway, with its credentials and
    /// an empty HOME (no user config).
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cli_as(&self.access_key, &self.secret_key, args)
    }

    /// Runs `arustio ARGS` with the given credentials.
    pub fn cli_as(&self, access_key: &str, secret_key: &str, args: &[&str]) -> std::process::Output {
        let home = self.data_dir.path().with_extension("home");
        let _ = std::fs::create_dir_all(&home);
        // Inside the server's network namespace, if it has one.
        let mut cmd = command(&self.wrapper);
        cmd.args(args)
            .env("ARUSTIO_SERVER", self.admin_url())
            .env("ARUSTIO_ACCESS_KEY", access_key)
            .env("ARUSTIO_SECRET_KEY", secret_key)
            .env("HOME", home)
            .stdin(Stdio::null())
            .output()
            .expect("run arustio cli")
    }

    /// Starts a gateway that must refuse to start; returns its exit code and log.
    pub fn start_expecting_failure(args: &[&str], env: &[(&str, &str)]) -> (Option<i32>, String) {
        let data_dir = tempfile::tempdir().expect("temp dir");
        let (s3_addr, grpc_addr) = (
            ([127, 0, 0, 1], free_port()).into(),
            ([127, 0, 0, 1], free_port()).into(),
        );
        let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
        let env: Vec<(String, String)> = env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        let child = Self::spawn(&[], &data_dir, s3_addr, grpc_addr, "AKX", "secret-x-1234", &args, &env);
        let mut gw = Self {
            child,
            wrapper: Vec::new(),
            args,
            env,
            s3_addr,
            grpc_addr,
            access_key: "AKX".into(),
            secret_key: "secret-x-1234".into(),
            data_dir,
        };
        gw.wait_exit()
    }

    fn wait_exit(&mut self) -> (Option<i32>, String) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return (status.code(), self.log());
            }
            assert!(
                Instant::now() < deadline,
                "arustio started, but it was expected to refuse"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Kills the process and starts it again, expecting the start to fail; returns the
    /// exit code and the log.
    pub fn restart_expecting_failure(&mut self) -> (Option<i32>, String) {
        let _ = std::fs::remove_file(Self::log_path(&self.data_dir));
        self.respawn();
        self.wait_exit()
    }

    /// Kills the process (SIGKILL) and starts it again on the same data dir and ports.
    pub fn restart(&mut self) {
        self.respawn();
        self.wait_ready();
    }

    /// Kills the process (SIGKILL); the data dir stays.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Whether the process is running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    fn respawn(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = Self::spawn(
            &self.wrapper,
            &self.data_dir,
            self.s3_addr,
            self.grpc_addr,
            &self.access_key,
            &self.secret_key,
            &self.args,
            &self.env,
        );
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("arustio exited during start: {status}");
            }
            if TcpStream::connect(self.s3_addr).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("arustio did not listen on {} within 30 s", self.s3_addr);
    }

    /// The endpoint URL.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.s3_addr)
    }

    /// The OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(Self::log_path(&self.data_dir));
        let _ = std::fs::remove_dir_all(self.data_dir.path().with_extension("home"));
    }
}

/// An aws-sdk-s3 client for `gw`, path style, signing with `secret`.
pub fn s3_client_with_secret(gw: &Gateway, secret: &str) -> aws_sdk_s3::Client {
    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
    let conf = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(gw.endpoint())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(&gw.access_key, secret, None, None, "test"))
        .force_path_style(true)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// An aws-sdk-s3 client for `gw` with its root credentials.
pub fn s3_client(gw: &Gateway) -> aws_sdk_s3::Client {
    s3_client_with_secret(gw, &gw.secret_key)
}

/// The S3 error code of a failed call.
pub fn error_code<E: aws_sdk_s3::error::ProvideErrorMetadata>(e: &E) -> String {
    e.code().unwrap_or("<none>").to_owned()
}

/// The hex MD5 of `b`.
pub fn md5_hex(b: &[u8]) -> String {
    use md5::Digest;
    hex::encode(md5::Md5::digest(b))
}

/// The whole body of `bucket/key`.
pub async fn get_bytes(c: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    let out = c.get_object().bucket(bucket).key(key).send().await.expect("get");
    out.body.collect().await.expect("body").into_bytes().to_vec()
}

/// The S3 error code of a PUT of one byte that must fail.
pub async fn put_error(c: &aws_sdk_s3::Client, bucket: &str, key: &str) -> String {
    let put = c
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(aws_sdk_s3::primitives::ByteStream::from_static(b"x"));
    let e = put.send().await.expect_err("the PUT should have failed");
    error_code(&e.into_service_error())
}
