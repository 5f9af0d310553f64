//! Rebalancing: declared requests, circulation plans and own-channel shifts.

use crate::{pallet::*, types::*, weights::WeightInfo};
use alloc::collections::{
	btree_map::{BTreeMap, Entry},
	btree_set::BTreeSet,
};
use codec::Encode;
use frame_support::{
	ensure,
	traits::{fungible::MutateHold, tokens::Precision, Get},
	weights::Weight,
};
use frame_system::pallet_prelude::BlockNumberFor;
use paychan_primitives::ChannelId;
use sp_runtime::{
	traits::{CheckedAdd, One, Saturating, Zero},
	DispatchError, DispatchResult,
};

impl<T: Config> Pallet<T> {
	/// Checks and applies a circulation plan: every edge within the declared bounds of its sender
	/// and receiver, every participant's loss within its remaining max fee, every channel open.
	/// Applies all edges or none. Returns the volume moved.
	pub(crate) fn execute_plan(edges: &[PlanEdgeOf<T>]) -> Result<BalanceOf<T>, DispatchError> {
		ensure!(!edges.is_empty(), Error::<T>::EmptyPlan);
		let now = frame_system::Pallet::<T>::block_number();
		let mut seen = BTreeSet::new();
		let mut channels = BTreeMap::<ChannelId, ChannelOf<T>>::new();
		let mut requests = BTreeMap::<T::AccountId, RebalanceRequestOf<T>>::new();
		// What each participant sends and receives in the whole plan.
		let mut flows = BTreeMap::<T::AccountId, (BalanceOf<T>, BalanceOf<T>)>::new();
		let mut volume = BalanceOf::<T>::zero();

		for edge in edges {
			ensure!(!edge.amount.is_zero(), Error::<T>::ZeroAmount);
			ensure!(seen.insert((edge.channel_id, edge.from.clone())), Error::<T>::DuplicateEdge);
			let channel = match channels.entry(edge.channel_id) {
				Entry::Occupied(entry) => entry.into_mut(),
				Entry::Vacant(entry) => entry.insert(Self::channel(edge.channel_id)?),
			};
			ensure!(channel.is_open(), Error::<T>::ChannelNotOpen);
			let from = channel.side_of(&edge.from).ok_or(Error::<T>::EdgeNotInChannel)?;
			let to = other(from);
			let receiver = channel.participants[to].clone();

			for (who, sending) in [(&edge.from, true), (&receiver, false)] {
				let request = match requests.entry(who.clone()) {
					Entry::Occupied(entry) => entry.into_mut(),
					Entry::Vacant(entry) => {
						let request = RebalanceRequests::<T>::get(who)
							.ok_or(Error::<T>::NoRebalanceRequest)?;
						ensure!(now <= request.expires_at, Error::<T>::RebalanceRequestExpired);
						entry.insert(request)
					}
				};
				let entry = request
					.entries
					.iter_mut()
					.find(|entry| entry.channel_id == edge.channel_id)
					.ok_or(Error::<T>::ChannelNotInRequest)?;
				let remaining = if sending { &mut entry.max_send } else { &mut entry.max_receive };
				ensure!(*remaining >= edge.amount, Error::<T>::ExceedsDeclaredBound);
				*remaining = remaining.saturating_sub(edge.amount);
			}

			let sides = &mut channel.sides;
			sides[from].rebalanced_out =
				sides[from].rebalanced_out.checked_add(&edge.amount).ok_or(Error::<T>::Overflow)?;
			sides[to].rebalanced_in =
				sides[to].rebalanced_in.checked_add(&edge.amount).ok_or(Error::<T>::Overflow)?;
			let sender = flows.entry(edge.from.clone()).or_default();
			sender.0 = sender.0.checked_add(&edge.amount).ok_or(Error::<T>::Overflow)?;
			let receiving = flows.entry(receiver).or_default();
			receiving.1 = receiving.1.checked_add(&edge.amount).ok_or(Error::<T>::Overflow)?;
			volume = volume.checked_add(&edge.amount).ok_or(Error::<T>::Overflow)?;
		}

		// Net change per participant: zero, or a loss (the fee it pays intermediaries) within
		// what is left of its declared max fee.
		for (who, (sent, received)) in &flows {
			let request = requests.get_mut(who).expect("every edge end has a request; qed");
			let fee = sent.saturating_sub(*received);
			let fee_left = request.max_fee.saturating_sub(request.fee_paid);
			ensure!(fee <= fee_left, Error::<T>::FeeAboveMax);
			request.fee_paid.saturating_accrue(fee);
		}

		for (channel_id, channel) in channels {
			Channels::<T>::insert(channel_id, channel);
		}
		for (who, request) in requests {
			RebalanceRequests::<T>::insert(who, request);
		}
		for edge in edges {
			T::OnChannelEvent::on_rebalanced(edge.channel_id, &edge.from, edge.amount);
			Self::deposit_event(Event::ChannelRebalanced {
				channel_id: edge.channel_id,
				from: edge.from.clone(),
				amount: edge.amount,
			});
		}
		Ok(volume)
	}

	/// Checks a request's entries: the caller is a participant of each channel, each channel is
	/// open and named once, and the expiry lies within `MaxRequestLifetime`.
	pub(crate) fn check_request(
		who: &T::AccountId,
		entries: &[RequestEntryOf<T>],
		expires_at: BlockNumberFor<T>,
	) -> DispatchResult {
		let now = frame_system::Pallet::<T>::block_number();
		ensure!(
			expires_at > now && expires_at <= now.saturating_add(T::MaxRequestLifetime::get()),
			Error::<T>::RequestExpiryOutOfBounds
		);
		ensure!(!entries.is_empty(), Error::<T>::EmptyRequest);
		let mut seen = BTreeSet::new();
		for entry in entries {
			ensure!(seen.insert(entry.channel_id), Error::<T>::DuplicateEntry);
			ensure!(
				!(entry.max_send.is_zero() && entry.max_receive.is_zero()),
				Error::<T>::ZeroAmount
			);
			let channel = Self::channel(entry.channel_id)?;
			channel.side_of(who).ok_or(Error::<T>::NotParticipant)?;
			ensure!(channel.is_open(), Error::<T>::ChannelNotOpen);
		}
		Ok(())
	}

	/// Removes `who`'s request, takes it off the expiry queue and returns its deposit.
	pub(crate) fn remove_request(who: &T::AccountId) -> Option<RebalanceRequestOf<T>> {
		let request = RebalanceRequests::<T>::take(who)?;
		// Keep the expiry queues free of stale entries, so that cancelling and re-requesting
		// cannot fill them up for others. The entry is in one of the buckets it could spill to.
		let mut block = request.expires_at.saturating_add(One::one());
		for _ in 0..crate::SETTLEMENT_QUEUE_SPILL {
			let removed = RequestExpiries::<T>::mutate_exists(block, |queue| {
				let Some(entries) = queue else { return false };
				let Some(position) = entries.iter().position(|queued| queued == who) else {
					return false;
				};
				entries.remove(position);
				if entries.is_empty() {
					*queue = None;
				}
				true
			});
			if removed {
				break;
			}
			block = block.saturating_add(One::one());
		}
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
	pub(crate) fn queue_request_expiry(
		who: &T::AccountId,
		expires_at: BlockNumberFor<T>,
	) -> DispatchResult {
		let mut block = expires_at.saturating_add(One::one());
		for _ in 0..crate::SETTLEMENT_QUEUE_SPILL {
			if RequestExpiries::<T>::mutate(block, |queue| queue.try_push(who.clone()).is_ok()) {
				return Ok(());
			}
			block = block.saturating_add(One::one());
		}
		Err(Error::<T>::ExpiryQueueFull.into())
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
		T::WeightInfo::expire_requests(queue.len() as u32)
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
