//! Rebalance requests: what each declarer is willing to move (its pledges), their expiry, the
//! running digest solvers check against, pledges lowered by withdrawals, and the rounds that
//! invite solvers.

use super::spill_queue;
use crate::{pallet::*, types::*, weights::WeightInfo};
use alloc::collections::btree_set::BTreeSet;
use codec::Encode;
use frame_support::{
	ensure,
	traits::{fungible::MutateHold, tokens::Precision, Get},
	weights::Weight,
	BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use paychan_primitives::ChannelId;
use sp_runtime::{
	traits::{CheckedAdd, One, Saturating, Zero},
	DispatchError, DispatchResult,
};

impl<T: Config> Pallet<T> {
	/// The body of [`Pallet::request_rebalance`], for a signed declarer `who`.
	pub(crate) fn do_request_rebalance(
		who: T::AccountId,
		entries: BoundedVec<RequestEntryOf<T>, T::MaxRequestEntries>,
		max_fee: BalanceOf<T>,
		expires_at: BlockNumberFor<T>,
	) -> DispatchResult {
		let declared_receive = Self::check_request(&who, &entries, expires_at)?;
		if Self::remove_request(&who).is_some() {
			Self::deposit_event(Event::RebalanceRequestRemoved {
				who: who.clone(),
				reason: RequestRemoval::Replaced,
			});
		}
		Self::queue_request_expiry(&who, expires_at)?;
		let deposit = T::RequestDeposit::get();
		T::Currency::hold(&HoldReason::RequestRecord.into(), &who, deposit)?;
		let request = RebalanceRequest {
			entries: entries.clone(),
			max_fee,
			declared_receive,
			fee_paid: Zero::zero(),
			expires_at,
			deposit,
		};
		Self::note_request_change(&who, Some(&request));
		RebalanceRequests::<T>::insert(&who, request);
		Self::deposit_event(Event::RebalanceRequested { who, entries, max_fee, expires_at });
		Ok(())
	}

	/// The body of [`Pallet::cancel_rebalance_request`], for a signed declarer `who`.
	pub(crate) fn do_cancel_rebalance_request(who: T::AccountId) -> DispatchResult {
		Self::remove_request(&who).ok_or(Error::<T>::NoRebalanceRequest)?;
		Self::deposit_event(Event::RebalanceRequestRemoved {
			who,
			reason: RequestRemoval::Cancelled,
		});
		Ok(())
	}

	/// Lowers the rebalance pledges on the side of `channel` that `amount` just left (by a
	/// withdrawal or a shift): the withdrawer's `max_send` and its counterparty's `max_receive`
	/// for the channel. A plan can then move no more than what is left of both, so funds that
	/// left the channel cannot be moved again by a plan at the other side's expense.
	pub(crate) fn consume_pledges(
		channel_id: ChannelId,
		channel: &ChannelOf<T>,
		side: Side,
		amount: BalanceOf<T>,
	) {
		let mut consumed = false;
		for (who, sending) in
			[(channel.participant(side), true), (channel.participant(side.other()), false)]
		{
			RebalanceRequests::<T>::mutate(who, |request| {
				let Some(request) = request else { return };
				let Some(entry) =
					request.entries.iter_mut().find(|entry| entry.channel_id == channel_id)
				else {
					return;
				};
				let pledge = if sending { &mut entry.max_send } else { &mut entry.max_receive };
				if pledge.is_zero() {
					return;
				}
				pledge.saturating_reduce(amount);
				consumed = true;
				Self::note_request_change(who, Some(request));
			});
		}
		if consumed {
			Self::deposit_event(Event::PledgesConsumed {
				channel_id,
				who: channel.participant(side).clone(),
				amount,
			});
		}
	}

	/// Checks a request's entries: the caller is a participant of each channel, each channel is
	/// open and named once, no bound exceeds the channel's funds, and the expiry lies within
	/// `MaxRequestLifetime`. Returns the sum of the `max_receive` bounds.
	fn check_request(
		who: &T::AccountId,
		entries: &[RequestEntryOf<T>],
		expires_at: BlockNumberFor<T>,
	) -> Result<BalanceOf<T>, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(
			expires_at > now && expires_at <= now.saturating_add(T::MaxRequestLifetime::get()),
			Error::<T>::RequestExpiryOutOfBounds
		);
		ensure!(!entries.is_empty(), Error::<T>::EmptyRequest);
		let mut seen = BTreeSet::new();
		let mut declared_receive = BalanceOf::<T>::zero();
		for entry in entries {
			ensure!(seen.insert(entry.channel_id), Error::<T>::DuplicateEntry);
			ensure!(
				!(entry.max_send.is_zero() && entry.max_receive.is_zero()),
				Error::<T>::ZeroAmount
			);
			let channel = Self::channel(entry.channel_id)?;
			channel.side_of(who).ok_or(Error::<T>::NotParticipant)?;
			ensure!(channel.is_open(), Error::<T>::ChannelNotOpen);
			ensure!(
				entry.max_send <= channel.total() && entry.max_receive <= channel.total(),
				Error::<T>::ExceedsChannelFunds
			);
			declared_receive =
				declared_receive.checked_add(&entry.max_receive).ok_or(Error::<T>::Overflow)?;
		}
		Ok(declared_receive)
	}

	/// Removes `who`'s request, takes it off the expiry queue and returns its deposit.
	fn remove_request(who: &T::AccountId) -> Option<RebalanceRequestOf<T>> {
		let request = RebalanceRequests::<T>::take(who)?;
		// Keep the expiry queues free of stale entries, so that cancelling and re-requesting
		// cannot fill them up for others.
		spill_queue::remove::<RequestExpiries<T>, _, _, _>(
			request.expires_at.saturating_add(One::one()),
			who,
		);
		// The deposit was held when the request was stored, so it is there to release.
		let released = T::Currency::release(
			&HoldReason::RequestRecord.into(),
			who,
			request.deposit,
			Precision::BestEffort,
		);
		debug_assert_eq!(released.ok(), Some(request.deposit));
		Self::note_request_change(who, None);
		Some(request)
	}

	/// Folds a change of `who`'s request into [`RequestsDigest`].
	pub(crate) fn note_request_change(who: &T::AccountId, request: Option<&RebalanceRequestOf<T>>) {
		RequestsDigest::<T>::mutate(|digest| {
			*digest = sp_io::hashing::blake2_256(&(*digest, who, request).encode());
		});
	}

	/// Queues `who`'s request to be removed by `on_initialize` once `expires_at` has passed,
	/// spilling into later blocks when that block's queue is full.
	fn queue_request_expiry(who: &T::AccountId, expires_at: BlockNumberFor<T>) -> DispatchResult {
		spill_queue::push::<RequestExpiries<T>, _, _, _>(
			expires_at.saturating_add(One::one()),
			who.clone(),
		)
		.map(|_| ())
		.ok_or_else(|| Error::<T>::ExpiryQueueFull.into())
	}

	/// Removes the requests queued to expire at `now` whose expiry has indeed passed. Bounded by
	/// `MaxRequestExpiriesPerBlock`.
	pub(crate) fn expire_requests(now: BlockNumberFor<T>) -> Weight {
		let queue = RequestExpiries::<T>::get(now);
		for who in &queue {
			let is_expired =
				RebalanceRequests::<T>::get(who).is_some_and(|request| request.expires_at < now);
			if is_expired && Self::remove_request(who).is_some() {
				Self::deposit_event(Event::RebalanceRequestRemoved {
					who: who.clone(),
					reason: RequestRemoval::Expired,
				});
			}
		}
		// Whatever is left (requests replaced meanwhile by later ones) is not due here.
		RequestExpiries::<T>::remove(now);
		// Each removal may look through the blocks its entry could have spilled to.
		T::WeightInfo::expire_requests(queue.len() as u32)
			.saturating_add(spill_queue::spill_weight::<T>().saturating_mul(queue.len() as u64))
	}

	/// Opens a rebalancing round every `RebalancePeriod` blocks.
	pub(crate) fn open_round_if_due(now: BlockNumberFor<T>) -> Weight {
		if !(now % T::RebalancePeriod::get()).is_zero() {
			return Weight::zero();
		}
		let round = CurrentRound::<T>::mutate(|round| {
			*round = round.saturating_add(1);
			*round
		});
		Self::deposit_event(Event::RoundOpened {
			round,
			open_requests: RebalanceRequests::<T>::count(),
			requests_digest: RequestsDigest::<T>::get(),
		});
		T::WeightInfo::open_round()
	}
}
