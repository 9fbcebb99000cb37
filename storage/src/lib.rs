//! Node-local ordered key-value storage: the [`KvStore`] trait, named [`Keyspace`]s and
//! atomic [`WriteBatch`]es, in memory ([`MemKv`]) and on RocksDB ([`RocksKv`]). The raft
//! crate keeps the replicated state and the Raft log here, the namespace its object records.

mod keyspace;
mod kv;
mod mem;
mod rocks;
mod rocks_open;

pub use keyspace::{Keyspace, WriteBatch};
pub use kv::{KvError, KvOp, KvPairs, KvStore, prefix_end};
pub use mem::MemKv;
pub use rocks::RocksKv;
pub use rocks_open::OpenError;
