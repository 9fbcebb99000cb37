//! [`BlockAccessor`]: which blocks of `CHUNK_SIZE` a read touches, and which bytes of each.

use std::ops::Range;

/// The default block size: 4 MiB.
pub const CHUNK_SIZE: u64 = 4 * 1024 * 1024;

/// One block that a read touches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockSlice {
    /// The block's index.
    pub index: u64,
    /// The block's bytes in the object (the last block may be short).
    pub block: Range<u64>,
    /// The bytes of the block the read wants, relative to the block's start.
    pub want: Range<u64>,
}

/// Cuts objects into blocks of one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockAccessor {
    block_size: u64,
}

impl Default for BlockAccessor {
    fn default() -> Self {
        Self::new(CHUNK_SIZE)
    }
}

impl BlockAccessor {
    /// Blocks of `block_size` bytes (at least 1).
    pub fn new(block_size: u64) -> Self {
        Self {
            block_size: block_size.max(1),
        }
    }

    /// The block size.
    pub fn block_size(&self) -> u64 {
        self.block_size
    }

    /// The bytes of block `index` in an object of `size` bytes.
    pub fn block_range(&self, index: u64, size: u64) -> Range<u64> {
        let start = index.saturating_mul(self.block_size).min(size);
        start..start.saturating_add(self.block_size).min(size)
    }

    /// The number of blocks of an object of `size` bytes.
    pub fn block_count(&self, size: u64) -> u64 {
        size.div_ceil(self.block_size)
    }

    /// The blocks that `range` (or the whole object) of an object of `size` bytes touches,
    /// in order. A range past the end is cut at the end; an empty range touches nothing.
    pub fn plan(&self, size: u64, range: Option<Range<u64>>) -> Vec<BlockSlice> {
        let range = range.unwrap_or(0..size);
        let (start, end) = (range.start.min(size), range.end.min(size));
        if start >= end {
            return Vec::new();
        }
        let first = start / self.block_size;
        let last = (end - 1) / self.block_size;
        (first..=last)
            .map(|index| {
                let block = self.block_range(index, size);
                let want = start.max(block.start) - block.start..end.min(block.end) - block.start;
                BlockSlice { index, block, want }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_whole_objects_with_a_short_last_block() {
        let b = BlockAccessor::new(10);
        let p = b.plan(25, None);
        assert_eq!(p.len(), 3);
        assert_eq!(p[0].block, 0..10);
        assert_eq!(p[2].block, 20..25);
        assert_eq!(p[2].want, 0..5);
        assert_eq!(b.block_count(25), 3);
        assert_eq!(b.block_count(30), 3);
    }

    #[test]
    fn plans_ranges_across_block_edges() {
        let b = BlockAccessor::new(10);
        let p = b.plan(100, Some(8..23));
        let idx: Vec<_> = p.iter().map(|s| s.index).collect();
        assert_eq!(idx, [0, 1, 2]);
        assert_eq!(p[0].want, 8..10);
        assert_eq!(p[1].want, 0..10);
        assert_eq!(p[2].want, 0..3);
        let total: u64 = p.iter().map(|s| s.want.end - s.want.start).sum();
        assert_eq!(total, 15);
        // Exactly one block, ending on its edge.
        assert_eq!(b.plan(100, Some(10..20)).len(), 1);
    }

    #[test]
    fn empty_objects_and_ranges_past_the_end() {
        let b = BlockAccessor::new(10);
        assert!(b.plan(0, None).is_empty());
        assert!(b.plan(25, Some(30..40)).is_empty());
        assert!(b.plan(25, Some(5..5)).is_empty());
        let p = b.plan(25, Some(22..1000));
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].want, 2..5);
        assert_eq!(BlockAccessor::new(0).block_size(), 1);
    }
}
