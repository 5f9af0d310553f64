//! Moving channel funds between holds and free balances, and the invariants that tie the
//! channels' books to the currency's holds.

use crate::{pallet::*, types::*};
use frame_support::{
	ensure,
	traits::{
		fungible::{hold::Unbalanced as UnbalancedHold, Inspect, MutateHold, Unbalanced},
		tokens::{DepositConsequence, Fortitude, Precision, Provenance, Restriction},
	},
};
use sp_runtime::{
	traits::{CheckedAdd, Zero},
	DispatchError, Saturating,
};

impl<T: Config> Pallet<T> {
	/// Pays `amount` of the channel's funds into the free balance of the participant on
	/// `recipient`: first from the hold in its own account, the rest from the other
	/// participant's hold.
	pub(crate) fn pay_from_custody(
		channel: &mut ChannelOf<T>,
		recipient: usize,
		amount: BalanceOf<T>,
	) -> Result<(), DispatchError> {
		let payer = other(recipient);
		let from_own = amount.min(channel.sides[recipient].custody);
		let from_other = amount.saturating_sub(from_own);
		ensure!(
			from_other <= channel.sides[payer].custody,
			Error::<T>::WithdrawExceedsChannelFunds
		);
		let reason = HoldReason::ChannelFunds.into();
		if !from_own.is_zero() {
			T::Currency::release(
				&reason,
				&channel.participants[recipient],
				from_own,
				Precision::Exact,
			)?;
			channel.sides[recipient].custody.saturating_reduce(from_own);
		}
		if !from_other.is_zero() {
			T::Currency::transfer_on_hold(
				&reason,
				&channel.participants[payer],
				&channel.participants[recipient],
				from_other,
				Precision::Exact,
				Restriction::Free,
				// The pallet owns these funds: another hold or freeze on the payer's account must
				// not keep them from their rightful owner.
				Fortitude::Force,
			)?;
			channel.sides[payer].custody.saturating_reduce(from_other);
		}
		Ok(())
	}

	/// Pays a closing channel's funds out, `payouts[i]` to participant `i`, and returns the
	/// storage deposit to the opener. Returns what each participant received.
	///
	/// A participant whose account does not exist and whose payout is below the existential
	/// deposit cannot receive it; that dust stays with the other participant, so the channel is
	/// always paid out in full.
	///
	/// This is the hot path of settlement, so it works one level below `release` and
	/// `transfer_on_hold`. In the worst case (both sides funded, one side paid partly out of
	/// the other's hold, plus the deposit) those would take four hold operations, each
	/// repeating the others' checks and writing an account twice: eight account writes. Here
	/// each account's free balance is raised once and each of its holds lowered once: five. The
	/// books balance by construction (what leaves the holds, both custodies and the deposit, is
	/// what enters the free balances, checked below), so total issuance does not move: the same
	/// primitives and the same guarantee as `release`. The Balances events are the ones
	/// `release` and `transfer_on_hold` would have emitted, through the same `done_*` hooks, so
	/// wallets and indexers see no difference.
	pub(crate) fn pay_out(
		channel: &ChannelOf<T>,
		payouts: [BalanceOf<T>; 2],
	) -> Result<[BalanceOf<T>; 2], DispatchError> {
		let custody = [channel.sides[OPENER].custody, channel.sides[COUNTERPARTY].custody];
		ensure!(
			payouts[OPENER].checked_add(&payouts[COUNTERPARTY]) == Some(channel.total()),
			Error::<T>::PayoutMismatch
		);
		let mut paid = payouts;
		for recipient in [OPENER, COUNTERPARTY] {
			// What the recipient is owed beyond what sits in its own account.
			let shortfall = paid[recipient].saturating_sub(custody[recipient]);
			if !shortfall.is_zero()
				&& T::Currency::can_deposit(
					&channel.participants[recipient],
					shortfall,
					Provenance::Extant,
				) != DepositConsequence::Success
			{
				log::debug!(
					target: crate::LOG_TARGET,
					"payout dust {shortfall:?} cannot reach a non-existent account; it stays with the payer",
				);
				paid[recipient].saturating_reduce(shortfall);
				paid[other(recipient)].saturating_accrue(shortfall);
			}
		}

		let funds_reason = HoldReason::ChannelFunds.into();
		let record_reason = HoldReason::ChannelRecord.into();
		for side in [OPENER, COUNTERPARTY] {
			let who = &channel.participants[side];
			let deposit = if side == OPENER { channel.storage_deposit } else { Zero::zero() };
			let credit = paid[side].checked_add(&deposit).ok_or(Error::<T>::Overflow)?;
			// The free balance is raised before the holds are lowered, so the account's total
			// never dips below what it will end with.
			if !credit.is_zero() {
				T::Currency::increase_balance(who, credit, Precision::Exact)?;
			}
			if !custody[side].is_zero() {
				T::Currency::decrease_balance_on_hold(
					&funds_reason,
					who,
					custody[side],
					Precision::Exact,
				)?;
			}
			if !deposit.is_zero() {
				T::Currency::decrease_balance_on_hold(
					&record_reason,
					who,
					deposit,
					Precision::Exact,
				)?;
			}
		}

		for recipient in [OPENER, COUNTERPARTY] {
			let from_other = paid[recipient].saturating_sub(custody[recipient]);
			if !from_other.is_zero() {
				T::Currency::done_transfer_on_hold(
					&funds_reason,
					&channel.participants[other(recipient)],
					&channel.participants[recipient],
					from_other,
				);
			}
		}
		for side in [OPENER, COUNTERPARTY] {
			let from_own = paid[side].min(custody[side]);
			if !from_own.is_zero() {
				T::Currency::done_release(&funds_reason, &channel.participants[side], from_own);
			}
		}
		if !channel.storage_deposit.is_zero() {
			T::Currency::done_release(
				&record_reason,
				&channel.participants[OPENER],
				channel.storage_deposit,
			);
		}
		Ok(paid)
	}

	/// The invariants that must hold after every block and every operation:
	///
	/// - every channel's funds equal its deposits less its withdrawals, its rebalancing moves
	///   cancel out, and its settlement pays out exactly its funds;
	/// - each account's `ChannelFunds` hold equals its custody summed over its channels, and its
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
		use alloc::collections::btree_map::BTreeMap;
		use frame_support::traits::fungible::InspectHold;
		use frame_support::traits::Get;
		use sp_runtime::traits::CheckedSub;

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
			let [to_opener, to_counterparty] = channel.settlement();
			ensure!(
				to_opener.saturating_add(to_counterparty) == channel.total(),
				"a channel's settlement does not pay out exactly its funds"
			);
			for (side, who) in channel.participants.iter().enumerate() {
				ensure!(
					ParticipantChannels::<T>::contains_key(who, channel_id),
					"a participant's channel is missing from the index"
				);
				custody_of
					.entry(who.clone())
					.or_default()
					.saturating_accrue(channel.sides[side].custody);
				participant_of.insert(who.clone());
				if side == OPENER || channel.counterparty_consented {
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
			let mut queued = false;
			let mut block = request.expires_at;
			for _ in 0..crate::SETTLEMENT_QUEUE_SPILL {
				block = block.saturating_add(sp_runtime::traits::One::one());
				queued |= RequestExpiries::<T>::get(block).contains(&who);
			}
			ensure!(queued, "an open request is missing from the expiry queue");
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
				cursor
					<= frame_system::Pallet::<T>::block_number()
						.saturating_add(sp_runtime::traits::One::one()),
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
