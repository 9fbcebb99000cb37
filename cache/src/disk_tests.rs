//! Tests of the disk tier: size bound, restart, corrupt and torn files, removal.

use std::time::{Duration, UNIX_EPOCH};

use super::*;

const LEN: usize = 1000;

fn key(path: u128, version: u128, index: u64) -> BlockKey {
    BlockKey { path, version, index }
}

fn data(seed: u64, len: usize) -> Bytes {
    (0..len as u64)
        .map(|i| (i * 31 + seed * 7) as u8)
        .collect::<Vec<u8>>()
        .into()
}

async fn put_all(tier: &DiskTier, keys: &[BlockKey]) {
    for k in keys {
        tier.put(*k, data(k.index, LEN)).await.unwrap();
    }
}

/// Whether get() gives the block's bytes as `put_all` wrote them.
async fn intact(tier: &DiskTier, k: &BlockKey) -> bool {
    tier.get(k).await == Some(data(k.index, LEN))
}

/// Whether the block is out of the index and its file gone.
fn gone(tier: &DiskTier, k: &BlockKey) -> bool {
    !tier.contains(k) && !tier.block_path(k).exists()
}

fn tmp_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for (name, path) in read_dir_names(dir).unwrap() {
        if path.is_dir() {
            out.extend(tmp_files(&path));
        } else if name.ends_with(TMP_SUFFIX) {
            out.push(path);
        }
    }
    out
}

#[tokio::test]
async fn put_then_get() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    let tier = DiskTier::open(root.clone(), 1 << 20).await.unwrap();
    let k = key((0xab << 120) | 1, 2, 3);
    put_all(&tier, &[k]).await;
    assert!(tier.contains(&k));
    assert!(intact(&tier, &k).await);
    assert!(root.join(format!("ab/{:032x}/{:032x}-3", k.path, 2)).is_file());
    let missing = key(k.path, k.version, 4);
    assert!(!tier.contains(&missing));
    assert_eq!(tier.get(&missing).await, None);

    // A key already held is not rewritten; a block bigger than the tier is not stored; empty is fine.
    tier.put(k, data(99, LEN)).await.unwrap();
    assert!(intact(&tier, &k).await);
    let (big, empty) = (key(9, 9, 9), key(9, 9, 0));
    tier.put(big, data(3, (1 << 20) + 1)).await.unwrap();
    assert!(!tier.contains(&big));
    tier.put(empty, Bytes::new()).await.unwrap();
    assert_eq!(tier.get(&empty).await, Some(Bytes::new()));

    // Concurrent puts of one key leave one intact block and no temp files.
    let raced = key(5, 5, 5);
    let puts = (0..8).map(|_| tier.put(raced, data(5, 64 * 1024)));
    assert!(futures::future::join_all(puts).await.iter().all(Result::is_ok));
    assert_eq!(tier.get(&raced).await, Some(data(5, 64 * 1024)));
    assert!(tmp_files(&root).is_empty());
    let s = tier.stats();
    assert_eq!((s.blocks, s.used), (3, (LEN + 64 * 1024) as u64));
    assert_eq!((s.corrupt, s.write_errors, s.evictions), (0, 0, 0));
}

#[tokio::test]
async fn size_bound_evicts_least_recently_used() {
    let dir = tempfile::tempdir().unwrap();
    let tier = DiskTier::open(dir.path().to_path_buf(), 10 * LEN as u64).await.unwrap();
    let keys: Vec<BlockKey> = (0..26).map(|i| key(7, 1, i)).collect();
    for k in &keys[..25] {
        put_all(&tier, &[*k]).await;
        assert!(tier.stats().used <= tier.stats().capacity);
    }
    let s = tier.stats();
    assert_eq!((s.used, s.blocks, s.evictions), (10 * LEN as u64, 10, 15));
    assert!(keys[..15].iter().all(|k| gone(&tier, k)));
    for k in &keys[15..25] {
        assert!(intact(&tier, k).await, "{k}");
    }
    // Block 15 is the oldest; a hit makes 16 the next to go instead.
    assert!(tier.get(&keys[15]).await.is_some());
    put_all(&tier, &keys[25..]).await;
    assert!(tier.contains(&keys[15]));
    assert!(gone(&tier, &keys[16]));
    assert_eq!(tier.stats().evictions, 16);
}

#[tokio::test]
async fn blocks_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("cache");
    // Paths spread over several top directories.
    let keys: Vec<BlockKey> = (0..10u64).map(|i| key(((i as u128) << 124) | 42, 3, i)).collect();
    put_all(&DiskTier::open(root.clone(), 100 * LEN as u64).await.unwrap(), &keys).await;

    let tier = DiskTier::open(root.clone(), 100 * LEN as u64).await.unwrap();
    let s = tier.stats();
    assert_eq!((s.blocks, s.used, s.evictions), (10, 10 * LEN as u64, 0));
    for k in &keys {
        assert!(intact(&tier, k).await, "{k}");
    }
    // Distinct mtimes (a filesystem's clock may be too coarse to order the puts), then a hit on block 0.
    for (i, k) in keys.iter().enumerate() {
        let file = File::options().write(true).open(tier.block_path(k)).unwrap();
        file.set_modified(UNIX_EPOCH + Duration::from_secs(3600 * (i as u64 + 1)))
            .unwrap();
    }
    assert!(tier.get(&keys[0]).await.is_some());
    drop(tier);

    // Reopening smaller keeps the most recently used: block 0, then the newest.
    let tier = DiskTier::open(root, 4 * LEN as u64).await.unwrap();
    let s = tier.stats();
    assert_eq!((s.blocks, s.used, s.evictions), (4, 4 * LEN as u64, 6));
    for k in keys[..1].iter().chain(&keys[7..]) {
        assert!(intact(&tier, k).await, "{k}");
    }
    assert!(keys[1..7].iter().all(|k| gone(&tier, k)));
}

#[tokio::test]
async fn corrupt_files_are_dropped_and_temp_files_removed() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let tier = DiskTier::open(root.clone(), 1 << 20).await.unwrap();
    let [flipped, cut, bad_magic, good] = [0, 1, 2, 3].map(|i| key(1, 1, i));
    put_all(&tier, &[flipped, cut, bad_magic, good]).await;
    let spoil = |k: &BlockKey, at: usize| {
        let mut bytes = std::fs::read(tier.block_path(k)).unwrap();
        bytes[at] ^= 0x01;
        std::fs::write(tier.block_path(k), bytes).unwrap();
    };
    spoil(&flipped, HEADER_LEN + 10);
    spoil(&bad_magic, 0);
    let file = File::options().write(true).open(tier.block_path(&cut)).unwrap();
    file.set_len((HEADER_LEN + LEN / 2) as u64).unwrap();

    for (n, k) in [flipped, cut, bad_magic].iter().enumerate() {
        assert_eq!(tier.get(k).await, None, "{k}");
        assert!(gone(&tier, k), "{k}");
        assert_eq!(tier.stats().corrupt, n as u64 + 1);
    }
    assert!(intact(&tier, &good).await);
    assert_eq!((tier.stats().blocks, tier.stats().used), (1, LEN as u64));

    // A crash's leftovers: a temp file, and a block file too short for its header.
    let tmp = tier
        .block_path(&good)
        .with_file_name(format!("{:032x}-9.1-2{TMP_SUFFIX}", 1));
    std::fs::write(&tmp, b"torn").unwrap();
    let stub = tier.block_path(&key(1, 1, 8));
    std::fs::write(&stub, b"ARBLK").unwrap();
    drop(tier);
    let tier = DiskTier::open(root.clone(), 1 << 20).await.unwrap();
    assert!(!tmp.exists() && !stub.exists());
    assert!(tmp_files(&root).is_empty());
    assert_eq!((tier.stats().blocks, tier.stats().corrupt), (1, 1));
    assert!(intact(&tier, &good).await);
}

#[tokio::test]
async fn remove_path_drops_one_object_only() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    let tier = DiskTier::open(root.clone(), 1 << 20).await.unwrap();
    // `sibling` shares `a`'s top directory.
    let (a, sibling, other) = ((0xcd << 120) | 1, (0xcd << 120) | 2, 3);
    let doomed: Vec<BlockKey> = (0..6).map(|i| key(a, 1 + i as u128 / 3, i % 3)).collect();
    let kept: Vec<BlockKey> = (0..4).map(|i| key(if i < 2 { sibling } else { other }, 1, i)).collect();
    put_all(&tier, &doomed).await;
    put_all(&tier, &kept).await;
    assert_eq!(tier.remove_path(a).await, 6);
    for k in &doomed {
        assert_eq!(tier.get(k).await, None, "{k}");
        assert!(gone(&tier, k), "{k}");
    }
    assert!(!path_dir(&root, a).exists());
    for k in &kept {
        assert!(intact(&tier, k).await, "{k}");
    }
    let s = tier.stats();
    assert_eq!((s.blocks, s.used, s.evictions), (4, 4 * LEN as u64, 0));
    assert_eq!(tier.remove_path(a).await, 0);
    drop(tier);

    let tier = DiskTier::open(root.clone(), 1 << 20).await.unwrap();
    assert_eq!(tier.stats().blocks, 4);
    assert_eq!(tier.clear().await, 4);
    assert_eq!((tier.stats().blocks, tier.stats().used), (0, 0));
    assert!(kept.iter().all(|k| gone(&tier, k)));
    drop(tier);
    assert_eq!(DiskTier::open(root, 1 << 20).await.unwrap().stats().blocks, 0);
}

#[tokio::test]
async fn write_error_is_counted() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().to_path_buf();
    // A file where the block's directory must go: every write there fails.
    std::fs::write(root.join("ee"), b"not a directory").unwrap();
    let tier = DiskTier::open(root.clone(), 1 << 20).await.unwrap();
    let k = key(0xee << 120, 1, 0);
    assert!(matches!(tier.put(k, data(0, LEN)).await, Err(CacheError::Io { .. })));
    assert!(!tier.contains(&k));
    assert_eq!((tier.stats().write_errors, tier.stats().blocks), (1, 0));
    assert!(tmp_files(&root).is_empty());
    put_all(&tier, &[key(1, 1, 0)]).await;
    assert_eq!(tier.stats().blocks, 1);
}
