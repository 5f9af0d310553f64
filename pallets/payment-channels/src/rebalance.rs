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
	/// Applies a circulation plan part by part and returns how many edges applied and the volume
	/// they moved.
	///
	/// The edges are grouped by the participants they touch (a sender and its channel's other
	/// participant belong to one group); each group applies all or none. Every participant's
	/// edges are in one group, so its net change (the fee) is judged over the whole plan. A group
	/// that fails leaves nothing behind and is reported; when no group applies, the plan fails
	/// with the first group's error and changes nothing.
	pub(crate) fn execute_plan(
		edges: &[PlanEdgeOf<T>],
	) -> Result<(u32, BalanceOf<T>), DispatchError> {
		ensure!(!edges.is_empty(), Error::<T>::EmptyPlan);
		let mut seen = BTreeSet::new();
		for edge in edges {
			ensure!(seen.insert((edge.channel_id, edge.from.clone())), Error::<T>::DuplicateEdge);
		}
		let mut applied = 0u32;
		let mut volume = BalanceOf::<T>::zero();
		let mut first_error = None;
		for part in Self::plan_parts(edges) {
			let part_edges: alloc::vec::Vec<_> =
				part.iter().map(|&index| edges[index].clone()).collect();
			match frame_support::storage::with_storage_layer(|| {
				Self::execute_plan_part(&part_edges)
			}) {
				Ok(moved) => {
					applied += part_edges.len() as u32;
					volume = volume.saturating_add(moved);
				}
				Err(error) => {
					Self::deposit_event(Event::PlanPartRefused {
						first_channel: part_edges[0].channel_id,
						edges: part_edges.len() as u32,
						error,
					});
					first_error.get_or_insert(error);
				}
			}
		}
		match (applied, first_error) {
			(0, Some(error)) => Err(error),
			_ => Ok((applied, volume)),
		}
	}

	/// The plan's edges grouped by the participants they connect (union-find over accounts), as
	/// lists of edge indices in plan order. An edge whose channel cannot be read is a group of
	/// its own sender, and fails there.
	fn plan_parts(edges: &[PlanEdgeOf<T>]) -> alloc::vec::Vec<alloc::vec::Vec<usize>> {
		let mut index_of = BTreeMap::<T::AccountId, usize>::new();
		let mut parent = alloc::vec::Vec::<usize>::new();
		let mut node = |who: &T::AccountId, parent: &mut alloc::vec::Vec<usize>| {
			*index_of.entry(who.clone()).or_insert_with(|| {
				parent.push(parent.len());
				parent.len() - 1
			})
		};
		fn root(parent: &mut [usize], mut at: usize) -> usize {
			while parent[at] != at {
				parent[at] = parent[parent[at]];
				at = parent[at];
			}
			at
		}
		let mut senders = alloc::vec::Vec::with_capacity(edges.len());
		for edge in edges {
			let sender = node(&edge.from, &mut parent);
			senders.push(sender);
			let receiver = Channels::<T>::get(edge.channel_id).and_then(|channel| {
				channel.side_of(&edge.from).map(|side| channel.participants[other(side)].clone())
			});
			if let Some(receiver) = receiver {
				let receiver = node(&receiver, &mut parent);
				let (a, b) = (root(&mut parent, sender), root(&mut parent, receiver));
				parent[a] = b;
			}
		}
		let mut parts = BTreeMap::<usize, alloc::vec::Vec<usize>>::new();
		for (index, sender) in senders.into_iter().enumerate() {
			parts.entry(root(&mut parent, sender)).or_default().push(index);
		}
		let mut parts: alloc::vec::Vec<_> = parts.into_values().collect();
		parts.sort_by_key(|part| part[0]);
		parts
	}

	/// Checks and applies one group of a plan: every edge within the declared bounds of its
	/// sender and receiver and within its channel's funds, every participant's loss within its
	/// remaining max fee and its share for what it receives, every channel open. Returns the
	/// volume moved. The caller rolls back on error.
	fn execute_plan_part(edges: &[PlanEdgeOf<T>]) -> Result<BalanceOf<T>, DispatchError> {
		let now = frame_system::Pallet::<T>::block_number();
		let mut channels = BTreeMap::<ChannelId, ChannelOf<T>>::new();
		let mut requests = BTreeMap::<T::AccountId, RebalanceRequestOf<T>>::new();
		// What each participant sends and receives in the whole plan.
		let mut flows = BTreeMap::<T::AccountId, (BalanceOf<T>, BalanceOf<T>)>::new();
		let mut volume = BalanceOf::<T>::zero();

		for edge in edges {
			ensure!(!edge.amount.is_zero(), Error::<T>::ZeroAmount);
			let channel = match channels.entry(edge.channel_id) {
				Entry::Occupied(entry) => entry.into_mut(),
				Entry::Vacant(entry) => entry.insert(Self::channel(edge.channel_id)?),
			};
			ensure!(channel.is_open(), Error::<T>::ChannelNotOpen);
			let from = channel.side_of(&edge.from).ok_or(Error::<T>::EdgeNotInChannel)?;
			// No side can give more than the whole channel holds. (What a side holds depends on
			// off-chain payments the chain does not see; the declared bounds, which withdrawals
			// lower, keep plans within it.)
			ensure!(edge.amount <= channel.total(), Error::<T>::ExceedsChannelFunds);
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
		// what is left of its declared max fee and within its share of the max fee for what it
		// receives here. Without the share, a participant that receives nothing could be made
		// to pay its whole max fee.
		for (who, (sent, received)) in &flows {
			let request = requests.get_mut(who).expect("every edge end has a request; qed");
			let fee = sent.saturating_sub(*received);
			if fee.is_zero() {
				continue;
			}
			let fee_left = request.max_fee.saturating_sub(request.fee_paid);
			ensure!(fee <= fee_left, Error::<T>::FeeAboveMax);
			ensure!(fee <= Self::fee_share(request, *received), Error::<T>::FeeAboveMax);
			request.fee_paid.saturating_accrue(fee);
		}

		for (channel_id, mut channel) in channels {
			channel.bump_version();
			Channels::<T>::insert(channel_id, channel);
		}
		for (who, request) in requests {
			Self::note_request_change(&who, Some(&request));
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

	/// The most a declarer may pay in fees for receiving `received`: its max fee in proportion
	/// to its declared receive total, rounded down (and lower still where the product would not
	/// fit in a balance).
	fn fee_share(request: &RebalanceRequestOf<T>, received: BalanceOf<T>) -> BalanceOf<T> {
		if request.declared_receive.is_zero() {
			return Zero::zero();
		}
		if received >= request.declared_receive {
			return request.max_fee;
		}
		request.max_fee.saturating_mul(received) / request.declared_receive
	}

	/// Lowers the rebalance pledges on the side of `channel` that `amount` just left (by a
	/// withdrawal or a shift): the withdrawer's `max_send` and its counterparty's `max_receive`
	/// for the channel. A plan can then move no more than what is left of both, so funds that
	/// left the channel cannot be moved again by a plan at the other side's expense.
	pub(crate) fn consume_pledges(
		channel_id: ChannelId,
		channel: &ChannelOf<T>,
		side: usize,
		amount: BalanceOf<T>,
	) {
		let mut consumed = false;
		for (who, sending) in
			[(&channel.participants[side], true), (&channel.participants[other(side)], false)]
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
				who: channel.participants[side].clone(),
				amount,
			});
		}
	}

	/// Checks a request's entries: the caller is a participant of each channel, each channel is
	/// open and named once, no bound exceeds the channel's funds, and the expiry lies within
	/// `MaxRequestLifetime`. Returns the sum of the `max_receive` bounds.
	pub(crate) fn check_request(
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
		// Each removal may look through the blocks its entry could have spilled to.
		T::WeightInfo::expire_requests(queue.len() as u32)
			.saturating_add(crate::queue_spill_weight::<T>().saturating_mul(queue.len() as u64))
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
