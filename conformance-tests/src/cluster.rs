//! A cluster of real `arustio serve` processes on 127.0.0.1, and a signed admin client.

use std::time::{Duration, Instant};

use arustio_proto::admin::admin_client::AdminClient;
use arustio_proto::auth::{Key, Signed};
use tonic::transport::Channel;

use crate::{Gateway, free_port};

/// An admin client of one node, signing with the root credentials.
pub type Admin = AdminClient<Signed<Channel>>;

/// Nodes `1..=n`; `nodes[i]` has node id `i + 1`.
pub struct Cluster {
    /// The nodes, in id order.
    pub nodes: Vec<Gateway>,
    /// The cluster secret they share.
    pub secret: String,
}

impl Cluster {
    /// Starts node 1 as a new cluster, then the others with `--join` to it.
    pub fn start(n: usize) -> Self {
        let secret = format!("cluster-secret-{}", free_port());
        let creds = (format!("AKCL{}", free_port()), format!("secret-{}", free_port()));
        let env = [
            ("ARUSTIO_CLUSTER_SECRET", secret.as_str()),
            ("ARUSTIO_LOG", "warn,openraft=error"),
        ];
        let first = Gateway::start_as(&["--node-id", "1"], &env, creds.clone());
        let join = first.admin_url();
        let mut nodes = vec![first];
        for id in 2..=n {
            let id = id.to_string();
            nodes.push(Gateway::start_as(
                &["--node-id", &id, "--join", &join],
                &env,
                creds.clone(),
            ));
        }
        Self { nodes, secret }
    }

    /// `arustio cluster status --json` asked of node index `i`.
    pub fn status(&self, i: usize) -> serde_json::Value {
        let out = self.nodes[i].cli(&["cluster", "status", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        serde_json::from_slice(&out.stdout).expect("status JSON")
    }

    /// The leader's index, as node `i` sees it.
    pub fn leader_seen_by(&self, i: usize) -> Option<usize> {
        let id = self.status(i)["leader"].as_u64()?;
        usize::try_from(id).ok().map(|id| id - 1)
    }

    /// Waits until node `i` reports a leader other than `not`; returns it.
    pub fn wait_for_leader(&self, i: usize, not: Option<usize>, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            if let Some(l) = self.leader_seen_by(i).filter(|l| Some(*l) != not) {
                return l;
            }
            assert!(Instant::now() < deadline, "no new leader within {within:?}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// `fs list --json` paths on node `i` (a linearizable read).
    pub fn mounts(&self, i: usize) -> Vec<String> {
        let out = self.nodes[i].cli(&["fs", "list", "--json"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("list JSON");
        v.as_array()
            .expect("array")
            .iter()
            .filter_map(|m| m["path"].as_str().map(str::to_owned))
            .collect()
    }
}

/// A signed admin client of `gw`.
pub async fn admin(gw: &Gateway) -> Admin {
    let (channel, key) = admin_channel(gw).await;
    AdminClient::new(Signed::new(channel, key))
}

/// A connection to the node's admin API and the root key its calls are signed with, for a
/// client built around the channel.
pub async fn admin_channel(gw: &Gateway) -> (Channel, Key) {
    let channel = tonic::transport::Endpoint::from_shared(gw.admin_url())
        .expect("url")
        .tcp_nodelay(true)
        .connect()
        .await
        .expect("connect to the admin API");
    let key = Key {
        id: gw.access_key.clone(),
        secret: gw.secret_key.clone(),
    };
    (channel, key)
}

/// Mounts `mem://NAME` at `/PATH` through `c`, without the store check.
pub async fn mount_mem(c: &mut Admin, path: &str, name: &str) -> Result<(), tonic::Status> {
    let req = arustio_proto::admin::MountRequest {
        path: path.to_owned(),
        uri: format!("mem://{name}"),
        no_check: true,
        ..Default::default()
    };
    c.mount(req).await.map(|_| ())
}

impl Cluster {
    /// Starts `lab`'s nodes, each in its own network namespace, on its own address.
    pub fn start_in(lab: &crate::netlab::NetLab, n: usize) -> Self {
        let secret = format!("cluster-secret-{}", free_port());
        let creds = (format!("AKNS{}", free_port()), format!("secret-{}", free_port()));
        // The lab's addresses are not loopback: plaintext on them must be asked for.
        let env = [
            ("ARUSTIO_CLUSTER_SECRET", secret.as_str()),
            ("ARUSTIO_LOG", "warn,openraft=error"),
            ("ARUSTIO_INSECURE", "1"),
        ];
        let addrs = |i: usize| {
            let ip: std::net::IpAddr = lab.addr(i).parse().expect("lab address");
            ((ip, 9000).into(), (ip, 50051).into())
        };
        let join = format!("http://{}:50051", lab.addr(0));
        let mut nodes = Vec::new();
        for i in 0..n {
            let id = (i + 1).to_string();
            let mut args = vec!["--node-id", id.as_str()];
            if i > 0 {
                args.extend(["--join", join.as_str()]);
            }
            nodes.push(Gateway::start_at(lab.wrapper(i), addrs(i), &args, &env, creds.clone()));
        }
        Self { nodes, secret }
    }
}
