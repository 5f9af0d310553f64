//! Moving channel funds from the participants' holds into their free balances: a withdrawal's
//! amount, and a channel's whole funds when it is paid out.

use crate::{pallet::*, types::*};
use frame_support::{
	ensure,
	traits::{
		fungible::{
			hold::Unbalanced as UnbalancedHold, Inspect, InspectHold, MutateHold, Unbalanced,
		},
		tokens::{DepositConsequence, Fortitude, Precision, Provenance, Restriction},
	},
};
use sp_runtime::{
	traits::{CheckedAdd, CheckedSub, Zero},
	DispatchError, Saturating, TokenError,
};

impl<T: Config> Pallet<T> {
	/// Pays `amount` of the channel's funds into the free balance of the participant on
	/// `recipient`: first from the hold in its own account, the rest from the other
	/// participant's hold.
	pub(crate) fn pay_from_custody(
		channel: &mut ChannelOf<T>,
		recipient: Side,
		amount: BalanceOf<T>,
	) -> Result<(), DispatchError> {
		let payer = recipient.other();
		let from_own = amount.min(channel.books(recipient).custody);
		let from_other = amount.saturating_sub(from_own);
		ensure!(
			from_other <= channel.books(payer).custody,
			Error::<T>::WithdrawExceedsChannelFunds
		);
		let reason = HoldReason::ChannelFunds.into();
		if !from_own.is_zero() {
			T::Currency::release(
				&reason,
				channel.participant(recipient),
				from_own,
				Precision::Exact,
			)?;
			channel.books_mut(recipient).custody.saturating_reduce(from_own);
		}
		if !from_other.is_zero() {
			T::Currency::transfer_on_hold(
				&reason,
				channel.participant(payer),
				channel.participant(recipient),
				from_other,
				Precision::Exact,
				Restriction::Free,
				// The pallet owns these funds: another hold or freeze on the payer's account must
				// not keep them from their rightful owner.
				Fortitude::Force,
			)?;
			channel.books_mut(payer).custody.saturating_reduce(from_other);
		}
		Ok(())
	}

	/// Pays a closing channel's funds out, `payouts[i]` to participant `i`, keeps `held[i]` on
	/// hold in participant `i`'s account (what its pending locks hold back, for `unlock`), and
	/// returns the storage deposit to the opener. Returns what each participant received.
	///
	/// A participant whose account does not exist and whose payout is below the existential
	/// deposit cannot receive it; that dust stays with the other participant, so the channel is
	/// always paid out in full.
	///
	/// This is the hot path of settlement, so it works one level below `release` and
	/// `transfer_on_hold`. In the worst case (a sender's locks held back partly out of the
	/// other's hold, one side paid partly out of the other's hold, plus the deposit) those would
	/// take five hold operations, each repeating the others' checks and writing an account twice.
	/// Here each account's free balance is raised once and each of its holds changed once, from
	/// what it was to what it ends with. The books balance by construction (what leaves the
	/// holds, both custodies and the deposit, is what enters the free balances and the lock
	/// holds, checked below), so total issuance does not move: the same primitives and the same
	/// guarantee as `release`. The Balances events are the ones `transfer_on_hold` and `release`
	/// would have emitted, through the same `done_*` hooks, so wallets and indexers see no
	/// difference.
	pub(crate) fn pay_out(
		channel: &ChannelOf<T>,
		payouts: [BalanceOf<T>; 2],
		held: [BalanceOf<T>; 2],
	) -> Result<[BalanceOf<T>; 2], DispatchError> {
		let before = channel.sides.each_ref().map(|books| books.custody);
		let out = payouts[0]
			.checked_add(&payouts[1])
			.and_then(|out| out.checked_add(&held[0]))
			.and_then(|out| out.checked_add(&held[1]));
		ensure!(out == Some(channel.total()), Error::<T>::PayoutMismatch);

		// A sender's held amount must sit in its own account: what its custody lacks comes over
		// from the other's (`brought`). `custody` is then each account's channel funds with the
		// held amounts set aside: what the payouts come out of.
		let mut custody = before;
		let mut brought = [BalanceOf::<T>::zero(); 2];
		for sender in Side::BOTH {
			let (i, other) = (sender.index(), sender.other().index());
			brought[i] = held[i].saturating_sub(custody[i]);
			custody[other] =
				custody[other].checked_sub(&brought[i]).ok_or(TokenError::FundsUnavailable)?;
			custody[i] = custody[i].saturating_add(brought[i]).saturating_sub(held[i]);
		}

		let mut paid = payouts;
		for recipient in Side::BOTH {
			let (i, payer) = (recipient.index(), recipient.other().index());
			// What the recipient is owed beyond what sits in its own account.
			let shortfall = paid[i].saturating_sub(custody[i]);
			if !shortfall.is_zero()
				&& T::Currency::can_deposit(
					channel.participant(recipient),
					shortfall,
					Provenance::Extant,
				) != DepositConsequence::Success
			{
				log::debug!(
					target: crate::LOG_TARGET,
					"payout dust {shortfall:?} cannot reach a non-existent account; it stays with the payer",
				);
				paid[i].saturating_reduce(shortfall);
				paid[payer].saturating_accrue(shortfall);
			}
		}

		let funds_reason = HoldReason::ChannelFunds.into();
		let record_reason = HoldReason::ChannelRecord.into();
		for side in Side::BOTH {
			let (i, who) = (side.index(), channel.participant(side));
			// The checks `transfer_on_hold` makes of a destination before it moves funds there.
			if !brought[i].is_zero() {
				ensure!(
					T::Currency::can_deposit(who, brought[i], Provenance::Extant)
						== DepositConsequence::Success,
					TokenError::CannotCreate
				);
				ensure!(
					T::Currency::hold_available(&funds_reason, who),
					TokenError::CannotCreateHold
				);
			}
		}
		for side in Side::BOTH {
			let (i, who) = (side.index(), channel.participant(side));
			let deposit = if side == Side::Opener { channel.storage_deposit } else { Zero::zero() };
			let credit = paid[i].checked_add(&deposit).ok_or(Error::<T>::Overflow)?;
			// The free balance is raised before the holds are lowered, so the account's total
			// never dips below what it will end with.
			if !credit.is_zero() {
				T::Currency::increase_balance(who, credit, Precision::Exact)?;
			}
			// The channel-funds hold goes from what the account had in the channel to what its
			// locks keep there.
			if held[i] > before[i] {
				T::Currency::increase_balance_on_hold(
					&funds_reason,
					who,
					held[i].saturating_sub(before[i]),
					Precision::Exact,
				)?;
			} else if before[i] > held[i] {
				T::Currency::decrease_balance_on_hold(
					&funds_reason,
					who,
					before[i].saturating_sub(held[i]),
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

		for sender in Side::BOTH {
			if !brought[sender.index()].is_zero() {
				T::Currency::done_transfer_on_hold(
					&funds_reason,
					channel.participant(sender.other()),
					channel.participant(sender),
					brought[sender.index()],
				);
			}
		}
		for recipient in Side::BOTH {
			let i = recipient.index();
			let from_other = paid[i].saturating_sub(custody[i]);
			if !from_other.is_zero() {
				T::Currency::done_transfer_on_hold(
					&funds_reason,
					channel.participant(recipient.other()),
					channel.participant(recipient),
					from_other,
				);
			}
		}
		for side in Side::BOTH {
			let from_own = paid[side.index()].min(custody[side.index()]);
			if !from_own.is_zero() {
				T::Currency::done_release(&funds_reason, channel.participant(side), from_own);
			}
		}
		if !channel.storage_deposit.is_zero() {
			T::Currency::done_release(
				&record_reason,
				channel.participant(Side::Opener),
				channel.storage_deposit,
			);
		}
		Ok(paid)
	}
}
