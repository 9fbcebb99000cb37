//! openraft's own storage test suite on our log store and state machine, over RocksDB.

use std::sync::Arc;

use arustio_raft::{LogStore, MetaStore, StateMachine, StorageError, TypeConfig};
use arustio_storage::RocksKv;
use openraft::testing::{StoreBuilder, Suite};

struct RocksBuilder;

impl StoreBuilder<TypeConfig, LogStore, StateMachine, tempfile::TempDir> for RocksBuilder {
    async fn build(&self) -> Result<(tempfile::TempDir, LogStore, StateMachine), StorageError> {
        let dir = tempfile::tempdir().expect("temp dir");
        let kv = Arc::new(RocksKv::open(dir.path()).expect("rocksdb"));
        let meta = Arc::new(MetaStore::open(kv.clone(), None).expect("meta store"));
        Ok((dir, LogStore::new(kv), StateMachine::new(meta)))
    }
}

#[test]
fn openraft_storage_suite_passes_on_rocksdb() {
    if let Err(e) = Suite::test_all(RocksBuilder) {
        panic!("storage suite: {e}");
    }
}
