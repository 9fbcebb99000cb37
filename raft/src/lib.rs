//! Replicated cluster metadata: the `MetaCmd` state machine (`apply_to_kv`) over a KV
//! store (RocksDB or memory), the mount table the namespace reads from it, and the openraft
//! log and state machine that replicate it.

mod apply;
mod cluster;
#[cfg(test)]
mod crash_kv;
mod log_store;
mod meta_cmd;
mod meta_store;
mod network;
mod pb_impl;
mod retry;
mod service;
mod state_machine;
mod status;
mod types;
mod users;

pub use apply::{ApplyError, apply_to_kv};
pub use cluster::{
    ClusterError, ClusterNode, LeaderOp, LeaderReply, LinearizableReadHandle, QUORUM_WAIT, Timings, forward_to,
};
pub use log_store::LogStore;
pub use meta_cmd::{MetaCmd, RootCredentials};
pub use meta_store::MetaStore;
pub use retry::retry_until;
pub use service::RaftService;
pub use state_machine::StateMachine;
pub use status::{ClusterStatus, Member};
pub use types::{LogId, MetaResponse, NodeId, Raft, Refusal, StorageError, TypeConfig};
pub use users::{Access, Grant, User};
