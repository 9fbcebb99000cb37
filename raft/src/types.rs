//! The Raft types, declared once.

use std::io::Cursor;

use serde::{Deserialize, Serialize};

use crate::MetaCmd;

/// A node's id in the cluster.
pub type NodeId = u64;

/// What applying a [`MetaCmd`] gives the client: done, or refused (the same on every node).
pub type MetaResponse = Result<(), Refusal>;

/// A command the state machine refused, deterministically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// A mount already exists at the path.
    #[error("/{path} is already a mount point")]
    AlreadyMounted {
        /// The path.
        path: String,
    },
    /// No mount at the path.
    #[error("/{path} is not a mount point")]
    NotMounted {
        /// The path.
        path: String,
    },
    /// A change to the users that does not apply (a name or key taken, no such user or
    /// grant).
    #[error("{0}")]
    Users(String),
}

openraft::declare_raft_types!(
    /// The cluster metadata's Raft: `MetaCmd`s in, `MetaResponse`s out.
    pub TypeConfig:
        D = MetaCmd,
        R = MetaResponse,
        NodeId = NodeId,
        Node = openraft::BasicNode,
        Entry = openraft::Entry<TypeConfig>,
        SnapshotData = Cursor<Vec<u8>>,
        AsyncRuntime = openraft::TokioRuntime,
);

/// The Raft handle.
pub type Raft = openraft::Raft<TypeConfig>;
/// A storage error of this Raft.
pub type StorageError = openraft::StorageError<NodeId>;
/// A log id of this Raft.
pub type LogId = openraft::LogId<NodeId>;
