//! A MinIO server for the Rust tests: `$MINIO_BIN` (scripts/test.sh builds it) on free
//! ports with a temp data dir, killed when dropped.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::free_port;

/// A running MinIO.
pub struct Minio {
    /// Its S3 address.
    pub addr: SocketAddr,
    /// The root user.
    pub user: String,
    /// The root password.
    pub password: String,
    child: Child,
    _dir: tempfile::TempDir,
}

impl Minio {
    /// Starts MinIO and waits for its S3 port.
    pub fn start() -> Self {
        let bin = std::env::var("MINIO_BIN").expect("MINIO_BIN: the minio binary (scripts/test.sh sets it)");
        let dir = tempfile::tempdir().expect("temp dir");
        let addr: SocketAddr = ([127, 0, 0, 1], free_port()).into();
        let console = format!("127.0.0.1:{}", free_port());
        let (user, password) = ("minio-fault".to_owned(), "minio-fault-secret".to_owned());
        let child = Command::new(bin)
            .args([
                "server",
                "--quiet",
                "--address",
                &addr.to_string(),
                "--console-address",
                &console,
            ])
            .arg(dir.path())
            .env("MINIO_ROOT_USER", &user)
            .env("MINIO_ROOT_PASSWORD", &password)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn minio");
        let deadline = Instant::now() + Duration::from_secs(60);
        while std::net::TcpStream::connect(addr).is_err() {
            assert!(Instant::now() < deadline, "MinIO did not open {addr}");
            std::thread::sleep(Duration::from_millis(100));
        }
        Self {
            addr,
            user,
            password,
            child,
            _dir: dir,
        }
    }

    /// A client of MinIO itself.
    pub fn client(&self) -> aws_sdk_s3::Client {
        use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
        let conf = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .endpoint_url(format!("http://{}", self.addr))
            .region(Region::new("us-east-1"))
            .credentials_provider(Credentials::new(&self.user, &self.password, None, None, "minio"))
            .force_path_style(true)
            .build();
        aws_sdk_s3::Client::from_conf(conf)
    }

    /// Makes `bucket`, trying for a while (MinIO answers 503 while it starts).
    pub async fn create_bucket(&self, bucket: &str) {
        let c = self.client();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match c.create_bucket().bucket(bucket).send().await {
                Ok(_) => return,
                Err(e) => {
                    assert!(Instant::now() < deadline, "MinIO refused the bucket: {e:?}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }
}

impl Drop for Minio {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
