//! Settlement: the queue of closing channels by the block after their deadline, the
//! `on_initialize` hook that settles them a bounded number per block, settling by hand, and
//! removing a paid-out channel.

use super::spill_queue;
use crate::{pallet::*, types::*, weights::WeightInfo, LOG_TARGET};
use frame_support::{ensure, traits::Get, weights::Weight};
use frame_system::pallet_prelude::BlockNumberFor;
use paychan_primitives::{ChannelId, LockedSettlement};
use sp_runtime::{
	traits::{One, Saturating},
	DispatchError, DispatchResult,
};

/// How many settlement-queue buckets `on_initialize` looks at per block, at most.
pub(crate) const SETTLEMENT_BUCKETS_PER_BLOCK: u32 = 8;

impl<T: Config> Pallet<T> {
	/// The body of [`Pallet::settle`]: anyone may settle a channel whose challenge period ended.
	pub(crate) fn do_settle(channel_id: ChannelId) -> DispatchResult {
		let channel = Self::channel(channel_id)?;
		let ChannelStatus::Closing { deadline, .. } = channel.status else {
			return Err(Error::<T>::ChannelNotClosing.into());
		};
		ensure!(
			frame_system::Pallet::<T>::block_number() > deadline,
			Error::<T>::ChallengePeriodNotOver
		);
		Self::dequeue_settlement(channel_id, &channel.status);
		Self::settle_channel(channel_id, channel)
	}

	/// Queues a closing channel for automatic settlement after `deadline`, spilling into the
	/// following blocks when that block's queue is full. Returns the block it is queued in.
	pub(crate) fn queue_for_settlement(
		channel_id: ChannelId,
		deadline: BlockNumberFor<T>,
	) -> Result<BlockNumberFor<T>, DispatchError> {
		spill_queue::push::<SettlementQueue<T>, _, _, _>(
			deadline.saturating_add(One::one()),
			channel_id,
		)
		.ok_or_else(|| Error::<T>::SettlementQueueFull.into())
	}

	/// Takes a closing channel that leaves before the hook settles it (settled by hand or closed
	/// cooperatively) out of the settlement queue, so that its slot is free again.
	pub(crate) fn dequeue_settlement(
		channel_id: ChannelId,
		status: &ChannelStatus<T::AccountId, BlockNumberFor<T>>,
	) {
		let ChannelStatus::Closing { queued_in, .. } = status else { return };
		spill_queue::remove_at::<SettlementQueue<T>, _, _, _>(*queued_in, &channel_id);
	}

	/// Pays out a closing channel by the settlement formula and removes it. What its recorded
	/// proofs lock is held back in the senders' accounts for `unlock`.
	pub(crate) fn settle_channel(channel_id: ChannelId, channel: ChannelOf<T>) -> DispatchResult {
		let LockedSettlement { payouts, held } = settlement_of(&channel.sides);
		Self::note_held_locks(channel_id, &channel, held);
		let [opener_payout, counterparty_payout] =
			Self::pay_out_and_remove(channel_id, channel, payouts, held)?;
		Self::deposit_event(Event::ChannelSettled {
			channel_id,
			opener_payout,
			counterparty_payout,
		});
		Ok(())
	}

	/// Pays `payouts` out of the channel's holds, keeps `held[i]` on hold in participant `i`'s
	/// account for its locks, returns the storage deposit and removes the channel. Returns what
	/// each participant actually received.
	pub(crate) fn pay_out_and_remove(
		channel_id: ChannelId,
		channel: ChannelOf<T>,
		payouts: [BalanceOf<T>; 2],
		held: [BalanceOf<T>; 2],
	) -> Result<[BalanceOf<T>; 2], DispatchError> {
		let paid = Self::pay_out(&channel, payouts, held)?;
		let [opener, counterparty] = &channel.participants;
		Self::remove_participant(opener, channel_id, true);
		Self::remove_participant(counterparty, channel_id, channel.counterparty_consented);
		Channels::<T>::remove(channel_id);
		T::OnChannelEvent::on_settled(channel_id, &channel.participants, paid);
		Ok(paid)
	}

	/// Settles expired channels queued up to `now`, at most `MaxSettlementsPerBlock` of them;
	/// whatever is left waits for the next block.
	pub(crate) fn settle_expired_channels(now: BlockNumberFor<T>) -> Weight {
		let max_settlements = T::MaxSettlementsPerBlock::get();
		let mut settled = 0u32;
		let mut skipped = 0u32;
		let mut buckets = 0u32;
		let mut cursor = SettlementCursor::<T>::get().unwrap_or(now);
		while cursor <= now && buckets < SETTLEMENT_BUCKETS_PER_BLOCK {
			buckets += 1;
			let mut queue = SettlementQueue::<T>::take(cursor);
			let mut done = 0usize;
			for &channel_id in queue.iter() {
				if settled >= max_settlements {
					break;
				}
				done += 1;
				let Some(channel) = Channels::<T>::get(channel_id) else {
					// Channels that leave early are taken out of the queue; this only guards.
					skipped += 1;
					continue;
				};
				if !matches!(channel.status, ChannelStatus::Closing { deadline, .. } if deadline < now)
				{
					skipped += 1;
					continue;
				}
				let result = frame_support::storage::with_storage_layer(|| {
					Self::settle_channel(channel_id, channel)
				});
				match result {
					Ok(()) => settled += 1,
					Err(error) => log::error!(
						target: LOG_TARGET,
						"automatic settlement of channel {channel_id} failed: {error:?}",
					),
				}
			}
			if done < queue.len() {
				queue.drain(..done);
				SettlementQueue::<T>::insert(cursor, queue);
				break;
			}
			cursor = cursor.saturating_add(One::one());
		}
		SettlementCursor::<T>::put(cursor);
		T::WeightInfo::settle_expired_channels(settled).saturating_add(
			T::DbWeight::get().reads_writes((buckets + skipped).into(), buckets.into()),
		)
	}
}
