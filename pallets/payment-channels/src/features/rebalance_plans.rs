//! Rebalancing plans: a circulation over channels, checked against every participant's request
//! (its declared bounds and fee) and applied part by part.

use crate::{pallet::*, types::*};
use alloc::collections::{
	btree_map::{BTreeMap, Entry},
	btree_set::BTreeSet,
};
use frame_support::{ensure, BoundedVec};
use paychan_primitives::ChannelId;
use sp_runtime::{
	traits::{CheckedAdd, Saturating, Zero},
	DispatchError, DispatchResult,
};

impl<T: Config> Pallet<T> {
	/// The body of [`Pallet::submit_plan`], for a signed `submitter` (anyone).
	pub(crate) fn do_submit_plan(
		submitter: T::AccountId,
		edges: BoundedVec<PlanEdgeOf<T>, T::MaxPlanEdges>,
	) -> DispatchResult {
		let (applied, volume) = Self::execute_plan(&edges)?;
		Self::deposit_event(Event::PlanExecuted { submitter, edges: applied, volume });
		Ok(())
	}

	/// Applies a circulation plan part by part and returns how many edges applied and the volume
	/// they moved.
	///
	/// The edges are grouped by the participants they touch (a sender and its channel's other
	/// participant belong to one group); each group applies all or none. Every participant's
	/// edges are in one group, so its net change (the fee) is judged over the whole plan. A group
	/// that fails leaves nothing behind and is reported; when no group applies, the plan fails
	/// with the first group's error and changes nothing.
	fn execute_plan(edges: &[PlanEdgeOf<T>]) -> Result<(u32, BalanceOf<T>), DispatchError> {
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
				channel.side_of(&edge.from).map(|side| channel.participant(side.other()).clone())
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
			let to = from.other();
			let receiver = channel.participant(to).clone();

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

			let giver = channel.books_mut(from);
			giver.rebalanced_out =
				giver.rebalanced_out.checked_add(&edge.amount).ok_or(Error::<T>::Overflow)?;
			let taker = channel.books_mut(to);
			taker.rebalanced_in =
				taker.rebalanced_in.checked_add(&edge.amount).ok_or(Error::<T>::Overflow)?;
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
}
