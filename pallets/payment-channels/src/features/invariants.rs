//! The pallet's invariants: what `try_state` checks after every block (and the tests and fuzz
//! targets after every call), and what `integrity_test` checks of the runtime's configuration.

use super::{settlement::SETTLEMENT_BUCKETS_PER_BLOCK, spill_queue};
use crate::{pallet::*, weights::WeightInfo};
use frame_support::traits::Get;
use sp_runtime::traits::Zero;

impl<T: Config> Pallet<T> {
	/// The body of `integrity_test`: the configuration's bounds are consistent, and the hooks'
	/// worst case fits in a block.
	pub(crate) fn do_integrity_test() {
		assert!(
			T::MinChallengePeriod::get() <= T::MaxChallengePeriod::get(),
			"MinChallengePeriod must not exceed MaxChallengePeriod"
		);
		assert!(!T::MinChallengePeriod::get().is_zero(), "a challenge period must be positive");
		assert!(!T::MinDeposit::get().is_zero(), "MinDeposit must be positive");
		assert!(T::MaxClosingsPerBlock::get() > 0, "MaxClosingsPerBlock must be positive");
		assert!(!T::RebalancePeriod::get().is_zero(), "RebalancePeriod must be positive");
		assert!(T::MaxPlanEdges::get() > 0, "MaxPlanEdges must be positive");
		// The hooks' worst case fits in a block: every settlement, every queue entry looked at
		// and skipped in the buckets visited, every request expiry with its spill, and a round.
		let buckets = u64::from(SETTLEMENT_BUCKETS_PER_BLOCK);
		let skipped = buckets * u64::from(T::MaxClosingsPerBlock::get());
		let expiries = T::MaxRequestExpiriesPerBlock::get();
		let worst = T::WeightInfo::settle_expired_channels(T::MaxSettlementsPerBlock::get())
			.saturating_add(T::DbWeight::get().reads_writes(buckets + skipped, buckets))
			.saturating_add(T::WeightInfo::expire_requests(expiries))
			.saturating_add(spill_queue::spill_weight::<T>().saturating_mul(expiries.into()))
			.saturating_add(T::WeightInfo::open_round());
		let max_block = <T as frame_system::Config>::BlockWeights::get().max_block;
		assert!(
			worst.all_lte(max_block),
			"the hooks' worst case {worst:?} exceeds the block's {max_block:?}"
		);
	}

	/// The invariants that must hold after every block and every operation:
	///
	/// - every channel's funds equal its deposits less its withdrawals, its rebalancing moves
	///   cancel out, and its settlement pays out and holds back for locks exactly its funds;
	/// - every pending lock set belongs to a settled channel, still holds something and has a
	///   lock left to unlock;
	/// - each account's `ChannelFunds` hold equals its custody summed over its channels plus
	///   what its pending lock sets hold, and its
	///   `ChannelRecord` hold equals the storage deposits of the channels it opened
	///   (conservation: the sum of all channels' funds equals the pallet's holds);
	/// - the participant index matches the channels, each account's count matches the channels
	///   it opened or consented to, and ids are below the counter;
	/// - every closing channel waits in the settlement-queue block it names, which is after its
	///   deadline, and every queued id names a closing channel queued there;
	/// - every open rebalance request has its deposit on hold, has paid no more fees than its
	///   max, and waits in an expiry queue block after its expiry;
	/// - the settlement cursor is not past the next block.
	#[cfg(any(feature = "try-runtime", feature = "fuzzing", test))]
	pub fn do_try_state() -> Result<(), sp_runtime::TryRuntimeError> {
		use crate::types::*;
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::ensure;
		use frame_support::traits::fungible::InspectHold;
		use paychan_primitives::LockedSettlement;
		use sp_runtime::traits::CheckedSub;
		use sp_runtime::{traits::One, Saturating};

		let next_id = NextChannelId::<T>::get();
		let mut custody_of = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		let mut record_deposit_of = BTreeMap::<T::AccountId, BalanceOf<T>>::new();
		let mut count_of = BTreeMap::<T::AccountId, u32>::new();
		let mut participant_of = alloc::collections::btree_set::BTreeSet::<T::AccountId>::new();

		for (channel_id, channel) in Channels::<T>::iter() {
			ensure!(channel_id < next_id, "a channel id is not below NextChannelId");
			let [opener, counterparty] = &channel.participants;
			ensure!(opener != counterparty, "a channel's participants are the same account");
			let [a, b] = &channel.sides;
			let deposited = a.deposited.saturating_add(b.deposited);
			let withdrawn = a.withdrawn.saturating_add(b.withdrawn);
			ensure!(
				deposited.checked_sub(&withdrawn) == Some(channel.total()),
				"a channel's funds differ from its deposits less its withdrawals"
			);
			ensure!(
				a.rebalanced_in.saturating_add(b.rebalanced_in)
					== a.rebalanced_out.saturating_add(b.rebalanced_out),
				"a channel's rebalancing moves do not cancel out"
			);
			let LockedSettlement { payouts: [to_opener, to_counterparty], held } =
				settlement_of(&channel.sides);
			ensure!(
				to_opener
					.saturating_add(to_counterparty)
					.saturating_add(held[0])
					.saturating_add(held[1])
					== channel.total(),
				"a channel's settlement does not pay out and hold back exactly its funds"
			);
			for side in Side::BOTH {
				let who = channel.participant(side);
				ensure!(
					ParticipantChannels::<T>::contains_key(who, channel_id),
					"a participant's channel is missing from the index"
				);
				custody_of
					.entry(who.clone())
					.or_default()
					.saturating_accrue(channel.books(side).custody);
				participant_of.insert(who.clone());
				if side == Side::Opener || channel.counterparty_consented {
					*count_of.entry(who.clone()).or_default() += 1;
				}
			}
			if let ChannelStatus::Closing { deadline, queued_in, .. } = &channel.status {
				ensure!(queued_in > deadline, "a closing channel is queued before its deadline");
				ensure!(
					SettlementQueue::<T>::get(queued_in).contains(&channel_id),
					"a closing channel is missing from the settlement queue block it names"
				);
			}
			record_deposit_of
				.entry(opener.clone())
				.or_default()
				.saturating_accrue(channel.storage_deposit);
		}

		for (channel_id, sender, set) in PendingLocks::<T>::iter() {
			ensure!(
				!Channels::<T>::contains_key(channel_id),
				"a channel that has not settled has pending locks"
			);
			ensure!(sender != set.receiver, "a lock set's sender is its receiver");
			ensure!(!set.held.is_zero(), "a lock set with nothing held was not removed");
			ensure!(
				set.resolved.count_ones() < paychan_primitives::locks::MAX_LOCKS,
				"a lock set with every lock resolved was not removed"
			);
			// Held in the sender's account as channel funds, beside its open channels' custody.
			custody_of.entry(sender).or_default().saturating_accrue(set.held);
		}
		for (who, custody) in &custody_of {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ChannelFunds.into(), who) == *custody,
				"an account's channel-funds hold differs from its custody in its channels"
			);
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::ChannelRecord.into(), who)
					== record_deposit_of.get(who).copied().unwrap_or_default(),
				"an account's record hold differs from the deposits of the channels it opened"
			);
		}
		for (who, request) in RebalanceRequests::<T>::iter() {
			ensure!(
				T::Currency::balance_on_hold(&HoldReason::RequestRecord.into(), &who)
					== request.deposit,
				"a declarer's request hold differs from its request's deposit"
			);
			ensure!(request.fee_paid <= request.max_fee, "a declarer paid more fees than its max");
			let first = request.expires_at.saturating_add(One::one());
			ensure!(
				spill_queue::contains::<RequestExpiries<T>, _, _, _>(first, &who),
				"an open request is missing from the expiry queue"
			);
		}
		ensure!(
			RebalanceRequests::<T>::iter_keys().count() as u32 == RebalanceRequests::<T>::count(),
			"the request counter differs from the requests"
		);
		for (block, queue) in SettlementQueue::<T>::iter() {
			for channel_id in queue {
				let queued_here = Channels::<T>::get(channel_id).is_some_and(|channel| {
					matches!(channel.status, ChannelStatus::Closing { queued_in, .. } if queued_in == block)
				});
				ensure!(
					queued_here,
					"the settlement queue names a channel that is not closing there"
				);
			}
		}
		if let Some(cursor) = SettlementCursor::<T>::get() {
			ensure!(
				cursor <= frame_system::Pallet::<T>::block_number().saturating_add(One::one()),
				"the settlement cursor is past the next block"
			);
		}
		for (who, channel_id, ()) in ParticipantChannels::<T>::iter() {
			ensure!(
				Channels::<T>::contains_key(channel_id),
				"the participant index names a channel that does not exist"
			);
			ensure!(participant_of.contains(&who), "the participant index names a non-participant");
		}
		for (who, count) in ChannelCount::<T>::iter() {
			ensure!(
				count_of.get(&who) == Some(&count),
				"an account's channel count differs from its channels"
			);
		}
		ensure!(
			count_of.values().all(|count| *count <= T::MaxChannelsPerAccount::get()),
			"an account is in more channels than MaxChannelsPerAccount"
		);
		Ok(())
	}
}
