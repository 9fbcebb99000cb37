//! [`ClusterNode`]: this node's Raft, and what only the leader can do (writes, membership
//! changes, read indexes), forwarded to the leader from any node.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use arustio_proto::auth::Key;
use arustio_proto::dial::Dial;
use arustio_storage::KvStore;
use openraft::error::{ClientWriteError, RaftError};
use openraft::{BasicNode, ChangeMembers};

use crate::network::{NetworkFactory, peer_client};
use crate::pb_impl::{FromPb, IntoPb};
use crate::retry::retry_until;
use crate::status::ClusterStatus;
use crate::types::{NodeId, Raft, Refusal};
use crate::{LogStore, MetaCmd, MetaStore, StateMachine};

/// How long a write or a membership change may wait for a quorum.
pub const QUORUM_WAIT: Duration = Duration::from_secs(5);

/// The pause before an operation that found no leader tries again.
const RETRY_EVERY: Duration = Duration::from_millis(200);

/// Why a cluster operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClusterError {
    /// No quorum answered in time: this node, or its leader, is cut off from a majority.
    #[error("no quorum: {0}")]
    NoQuorum(String),
    /// The state machine refused the command.
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// The leader (or the node asked) could not be reached.
    #[error("cannot reach {addr}: {reason}")]
    Unreachable {
        /// Its address (HOST:PORT).
        addr: String,
        /// Why, in a few words.
        reason: String,
    },
    /// A request that makes no sense (unknown node, ...).
    #[error("{0}")]
    Invalid(String),
    /// Anything else openraft reported.
    #[error("raft: {0}")]
    Raft(String),
}

/// An operation only the leader does.
#[derive(Debug, Clone)]
pub enum LeaderOp {
    /// Commits a command.
    Write(MetaCmd),
    /// Adds a node to the membership (as a learner first).
    AddNode {
        /// The node id.
        id: NodeId,
        /// Its address (HOST:PORT).
        addr: String,
        /// Whether it votes (else it is a learner).
        voter: bool,
    },
    /// Removes a node from the membership.
    RemoveNode {
        /// The node id.
        id: NodeId,
    },
    /// The leader's commit index, once it has confirmed it still leads.
    ReadIndex,
    /// The cluster as the leader sees it.
    Status,
}

/// The leader's answer to a [`LeaderOp`].
#[derive(Debug, Clone)]
pub enum LeaderReply {
    /// Done.
    Done,
    /// The read index: what a strict read waits to have applied.
    ReadIndex(Option<u64>),
    /// The status.
    Status(ClusterStatus),
}

/// Timings of the Raft: LAN defaults, so a failover takes well under a second.
#[derive(Debug, Clone)]
pub struct Timings {
    /// Between two heartbeats of the leader, in milliseconds.
    pub heartbeat_ms: u64,
    /// The shortest election timeout, in milliseconds.
    pub election_min_ms: u64,
    /// The longest election timeout, in milliseconds.
    pub election_max_ms: u64,
    /// A snapshot is built after this many entries; older entries are then purged.
    pub snapshot_every: u64,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            heartbeat_ms: 50,
            election_min_ms: 200,
            election_max_ms: 400,
            snapshot_every: 500,
        }
    }
}

fn raft_err(e: impl std::fmt::Display) -> ClusterError {
    ClusterError::Raft(e.to_string())
}

/// Where the leader is, as one node knows it.
pub(crate) enum Leader {
    Here,
    /// At this gRPC address.
    At(String),
    /// Not known, and why.
    Unknown(String),
}

/// This node's place in the cluster.
pub struct ClusterNode {
    pub(crate) id: NodeId,
    pub(crate) raft: Raft,
    key: Key,
    /// How peers are dialed: plain, or TLS verified against the cluster's CA.
    dial: Dial,
    /// One membership change at a time (openraft refuses a second while one is in flight).
    membership: tokio::sync::Mutex<()>,
    /// The log store's last committed index plus one (0: none).
    committed: Arc<std::sync::atomic::AtomicU64>,
}

impl std::fmt::Debug for ClusterNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterNode")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl ClusterNode {
    /// Starts this node's Raft over its KV store. `key` signs peer calls (the cluster secret);
    /// peers are dialed as `dial` says.
    pub async fn start(
        id: NodeId,
        kv: Arc<dyn KvStore>,
        meta: Arc<MetaStore>,
        key: Key,
        dial: Dial,
        timings: &Timings,
    ) -> Result<Arc<Self>, ClusterError> {
        let config = openraft::Config {
            cluster_name: "arustio".into(),
            heartbeat_interval: timings.heartbeat_ms,
            election_timeout_min: timings.election_min_ms,
            election_timeout_max: timings.election_max_ms,
            snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(timings.snapshot_every),
            max_in_snapshot_log_to_keep: 100,
            purge_batch_size: 64,
            ..Default::default()
        };
        let config = Arc::new(config.validate().map_err(raft_err)?);
        let log = LogStore::new(kv);
        let committed = log.committed_index();
        let raft = Raft::new(
            id,
            config,
            NetworkFactory::new(key.clone(), dial.clone()),
            log,
            StateMachine::new(meta),
        )
        .await
        .map_err(raft_err)?;
        Ok(Arc::new(Self {
            id,
            raft,
            key,
            dial,
            membership: tokio::sync::Mutex::new(()),
            committed,
        }))
    }

    /// This node's id.
    pub fn id(&self) -> NodeId {
        self.id
    }

    /// The index of the last entry this node knows to be committed.
    pub fn committed_index(&self) -> Option<u64> {
        self.committed.load(std::sync::atomic::Ordering::Relaxed).checked_sub(1)
    }

    /// The Raft handle.
    pub fn raft(&self) -> &Raft {
        &self.raft
    }

    /// How this node dials its peers.
    pub fn dial(&self) -> &Dial {
        &self.dial
    }

    /// Whether this node has ever been part of a cluster (its own, or one it joined).
    pub async fn is_initialized(&self) -> Result<bool, ClusterError> {
        self.raft.is_initialized().await.map_err(raft_err)
    }

    /// Makes a cluster of this one node, reachable by peers at `addr`.
    pub async fn initialize(&self, addr: &str) -> Result<(), ClusterError> {
        let members = BTreeMap::from([(self.id, BasicNode::new(addr))]);
        self.raft.initialize(members).await.map_err(raft_err)
    }

    /// Waits until this node has a leader and has applied the log up to where the leader was
    /// when it was asked (a joining node waits for the cluster's state).
    pub async fn wait_until_caught_up(&self, timeout: Duration) -> Result<(), ClusterError> {
        self.linearizable_read_within(timeout).await
    }

    /// Applies `cmd` through the leader; waits for its commit.
    pub async fn write(&self, cmd: MetaCmd) -> Result<(), ClusterError> {
        self.leader_op(LeaderOp::Write(cmd)).await.map(|_| ())
    }

    /// Waits until this node has applied everything committed when the call began.
    pub async fn linearizable_read(&self) -> Result<(), ClusterError> {
        self.linearizable_read_within(QUORUM_WAIT).await
    }

    async fn linearizable_read_within(&self, timeout: Duration) -> Result<(), ClusterError> {
        let deadline = tokio::time::Instant::now() + timeout;
        let read_index = || async {
            match self.leader_op(LeaderOp::ReadIndex).await? {
                LeaderReply::ReadIndex(i) => Ok(i),
                _ => Err(ClusterError::Raft("unexpected reply to a read index".into())),
            }
        };
        let retryable = |e: &ClusterError| !matches!(e, ClusterError::Refused(_) | ClusterError::Raft(_));
        let index = retry_until(timeout, RETRY_EVERY, retryable, read_index).await?;
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        self.raft
            .wait(Some(left.max(Duration::from_millis(100))))
            .applied_index_at_least(index, "read index")
            .await
            .map_err(|e| ClusterError::NoQuorum(format!("this node did not catch up: {e}")))?;
        Ok(())
    }

    /// Where the leader is, as this node knows it now.
    pub(crate) fn leader(&self) -> Leader {
        let metrics = self.raft.metrics().borrow().clone();
        match metrics.current_leader {
            Some(l) if l == self.id => Leader::Here,
            Some(l) => match metrics.membership_config.membership().get_node(&l) {
                Some(node) => Leader::At(node.addr.clone()),
                None => Leader::Unknown(format!("leader {l} is not a member")),
            },
            None => Leader::Unknown("no leader: this node cannot reach a majority of the cluster".into()),
        }
    }

    /// Runs `op` on the leader: here, or forwarded.
    pub async fn leader_op(&self, op: LeaderOp) -> Result<LeaderReply, ClusterError> {
        let once = || async {
            match self.leader() {
                Leader::Here => self.on_leader(op.clone()).await,
                Leader::At(addr) => self.forward(&addr, &op).await,
                Leader::Unknown(why) => Err(ClusterError::NoQuorum(why)),
            }
        };
        // The leader changed under us, or there is none yet: try again, in time.
        let retryable = |e: &ClusterError| matches!(e, ClusterError::NoQuorum(_) | ClusterError::Unreachable { .. });
        retry_until(QUORUM_WAIT, RETRY_EVERY, retryable, once).await
    }

    /// Sends `op` to the node at `addr`, which runs it on its leader.
    pub async fn forward(&self, addr: &str, op: &LeaderOp) -> Result<LeaderReply, ClusterError> {
        forward_to(addr, &self.key, &self.dial, op).await
    }

    /// Runs `op` here, as the leader.
    pub async fn on_leader(&self, op: LeaderOp) -> Result<LeaderReply, ClusterError> {
        let waited = |what: &str| ClusterError::NoQuorum(format!("{what} was not committed within {QUORUM_WAIT:?}"));
        match op {
            LeaderOp::Write(cmd) => {
                let written = tokio::time::timeout(QUORUM_WAIT, self.raft.client_write(cmd))
                    .await
                    .map_err(|_| waited("the write"))?;
                match written {
                    Ok(resp) => resp.data.map(|()| LeaderReply::Done).map_err(ClusterError::from),
                    Err(RaftError::APIError(ClientWriteError::ForwardToLeader(f))) => Err(ClusterError::NoQuorum(
                        format!("leadership moved to {:?} during the write", f.leader_id),
                    )),
                    Err(e) => Err(raft_err(e)),
                }
            }
            LeaderOp::AddNode { id, addr, voter } => {
                let _one_at_a_time = self.membership.lock().await;
                let learner = self.raft.add_learner(id, BasicNode::new(addr), true);
                tokio::time::timeout(QUORUM_WAIT * 6, learner)
                    .await
                    .map_err(|_| waited("the new learner"))?
                    .map_err(raft_err)?;
                if voter {
                    self.change_membership(ChangeMembers::AddVoterIds(BTreeSet::from([id])))
                        .await?;
                }
                Ok(LeaderReply::Done)
            }
            LeaderOp::RemoveNode { id } => {
                let _one_at_a_time = self.membership.lock().await;
                let membership = self.raft.metrics().borrow().membership_config.clone();
                if membership.membership().get_node(&id).is_none() {
                    return Err(ClusterError::Invalid(format!("node {id} is not a member")));
                }
                let voters: BTreeSet<NodeId> = membership.membership().voter_ids().collect();
                if voters.contains(&id) {
                    self.change_membership(ChangeMembers::RemoveVoters(BTreeSet::from([id])))
                        .await?;
                }
                self.change_membership(ChangeMembers::RemoveNodes(BTreeSet::from([id])))
                    .await?;
                // Its blocks leave the ring with it, and its S3 endpoint is forgotten.
                let cmd = MetaCmd::RemoveNode { id };
                match tokio::time::timeout(QUORUM_WAIT, self.raft.client_write(cmd)).await {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(node = id, error = %e, "removed, but its cache node and S3 endpoint entries stay")
                    }
                    Err(_) => tracing::warn!(node = id, "removed, but writing RemoveNode timed out"),
                }
                Ok(LeaderReply::Done)
            }
            LeaderOp::ReadIndex => {
                let log = tokio::time::timeout(QUORUM_WAIT, self.raft.ensure_linearizable())
                    .await
                    .map_err(|_| waited("the read index"))?
                    .map_err(|e| ClusterError::NoQuorum(e.to_string()))?;
                Ok(LeaderReply::ReadIndex(log.map(|l| l.index)))
            }
            LeaderOp::Status => Ok(LeaderReply::Status(self.local_status())),
        }
    }

    async fn change_membership(&self, change: ChangeMembers<NodeId, BasicNode>) -> Result<(), ClusterError> {
        tokio::time::timeout(QUORUM_WAIT, self.raft.change_membership(change, false))
            .await
            .map_err(|_| {
                ClusterError::NoQuorum(format!(
                    "the membership change was not committed within {QUORUM_WAIT:?}"
                ))
            })?
            .map_err(raft_err)?;
        Ok(())
    }

    /// Shuts the Raft down.
    pub async fn shutdown(&self) {
        let _ = self.raft.shutdown().await;
    }
}

/// Sends `op` to the node at `addr` (which forwards it to its leader), signed with `key`,
/// dialed as `dial` says.
pub async fn forward_to(addr: &str, key: &Key, dial: &Dial, op: &LeaderOp) -> Result<LeaderReply, ClusterError> {
    let unreachable = |reason: String| ClusterError::Unreachable {
        addr: addr.to_owned(),
        reason,
    };
    let mut client = peer_client(addr, key, dial, QUORUM_WAIT * 8).map_err(unreachable)?;
    let reply = client.leader(op.clone().into_pb()).await.map_err(|s| {
        if s.code() == tonic::Code::Unauthenticated {
            ClusterError::Invalid(format!(
                "{addr} refused this node: {} (is the cluster secret the same?)",
                s.message()
            ))
        } else {
            unreachable(s.message().to_owned())
        }
    })?;
    Result::<LeaderReply, ClusterError>::from_pb(reply.into_inner()).map_err(|e| unreachable(e.to_string()))?
}

/// Strict reads: [`LinearizableReadHandle::ensure`] returns once this node has applied every
/// write committed before the call (a read index from the leader, built on openraft's
/// `ensure_linearizable`), so what it reads next is at least that fresh.
#[derive(Debug, Clone)]
pub struct LinearizableReadHandle(Arc<ClusterNode>);

impl LinearizableReadHandle {
    /// The read handle of `node`.
    pub fn new(node: Arc<ClusterNode>) -> Self {
        Self(node)
    }

    /// Waits until this node has applied every write committed before the call.
    pub async fn ensure(&self) -> Result<(), ClusterError> {
        self.0.linearizable_read().await
    }
}
