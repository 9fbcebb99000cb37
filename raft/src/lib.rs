//! Cluster metadata: the `MetaCmd` state machine (`apply_to_kv`) over a KV store
//! (RocksDB or memory), and the mount table the namespace reads from it.
//!
//! For now one node applies commands directly; the Raft log will sit in front of the
//! same deterministic `apply_to_kv`.

mod apply;
mod meta_cmd;
mod meta_store;
mod rocks;

pub use apply::{ApplyError, apply_to_kv};
pub use meta_cmd::{MetaCmd, RootCredentials};
pub use meta_store::MetaStore;
pub use rocks::RocksKv;
