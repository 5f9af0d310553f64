//! Block-keyed queues with a bounded bucket per block that spill into the next blocks.
//!
//! The settlement queue (closing channels by the block after their deadline) and the request
//! expiry queue (declarers by the block after their expiry) both bound what one block's hook
//! does, so both hold a bounded bucket per block. An entry whose first block is full goes into
//! the first of the following blocks with room, at most [`SPILL_BLOCKS`] in all; removing an
//! entry early searches the same blocks. One copy of that rule serves both queues.

use codec::FullCodec;
use frame_support::{storage::StorageMap, traits::Get, BoundedVec};
use sp_runtime::traits::{One, Saturating};

/// How many blocks, from its first, an entry may be queued in.
pub(crate) const SPILL_BLOCKS: u32 = 8;

/// What a queue operation costs beyond the benchmarked case when it spills: the benchmarks queue
/// into (or find an entry in) the first block looked at, and each further block tried is one more
/// read and write.
pub(crate) fn spill_weight<T: frame_system::Config>() -> frame_support::weights::Weight {
	let extra = u64::from(SPILL_BLOCKS - 1);
	T::DbWeight::get().reads_writes(extra, extra)
}

/// The blocks an entry first due at `first` may be queued in, in order.
pub(crate) fn spill_blocks<B: Copy + Saturating + One>(first: B) -> impl Iterator<Item = B> {
	(0..SPILL_BLOCKS).scan(first, |block, _| {
		let this = *block;
		*block = block.saturating_add(One::one());
		Some(this)
	})
}

/// Queues `item` in the first block from `first` whose bucket has room; returns that block, or
/// `None` when all [`SPILL_BLOCKS`] are full.
pub(crate) fn push<Queue, B, V, S>(first: B, item: V) -> Option<B>
where
	Queue: StorageMap<B, BoundedVec<V, S>, Query = BoundedVec<V, S>>,
	B: FullCodec + Copy + Saturating + One,
	V: FullCodec + Clone,
	S: Get<u32>,
{
	spill_blocks(first)
		.find(|&block| Queue::mutate(block, |bucket| bucket.try_push(item.clone()).is_ok()))
}

/// Takes `item` out of the bucket of `block`, dropping the bucket when it empties; returns
/// whether it was there.
pub(crate) fn remove_at<Queue, B, V, S>(block: B, item: &V) -> bool
where
	Queue: StorageMap<B, BoundedVec<V, S>, Query = BoundedVec<V, S>>,
	B: FullCodec + Copy,
	V: FullCodec + PartialEq,
	S: Get<u32>,
{
	Queue::mutate_exists(block, |bucket| {
		let Some(entries) = bucket else { return false };
		let Some(position) = entries.iter().position(|queued| queued == item) else {
			return false;
		};
		entries.remove(position);
		if entries.is_empty() {
			*bucket = None;
		}
		true
	})
}

/// Takes `item` out of whichever block from `first` it was queued in; returns whether it was
/// found.
pub(crate) fn remove<Queue, B, V, S>(first: B, item: &V) -> bool
where
	Queue: StorageMap<B, BoundedVec<V, S>, Query = BoundedVec<V, S>>,
	B: FullCodec + Copy + Saturating + One,
	V: FullCodec + PartialEq,
	S: Get<u32>,
{
	spill_blocks(first).any(|block| remove_at::<Queue, _, _, _>(block, item))
}

/// Whether `item` waits in one of the blocks from `first`.
#[cfg(any(feature = "try-runtime", feature = "fuzzing", test))]
pub(crate) fn contains<Queue, B, V, S>(first: B, item: &V) -> bool
where
	Queue: StorageMap<B, BoundedVec<V, S>, Query = BoundedVec<V, S>>,
	B: FullCodec + Copy + Saturating + One,
	V: FullCodec + PartialEq,
	S: Get<u32>,
{
	spill_blocks(first).any(|block| Queue::get(block).contains(item))
}
