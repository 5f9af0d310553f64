//! Rebalancing: requests, circulation plans, own-channel shifts and rounds.

use super::*;
use codec::{Decode, Encode};
use frame_support::BoundedVec;
use paychan_primitives::{PlanEdge, RequestEntry};

pub(super) fn entry(
	channel_id: ChannelId,
	max_send: Balance,
	max_receive: Balance,
) -> RequestEntry<Balance> {
	RequestEntry { channel_id, max_send, max_receive }
}

pub(super) fn request(who: Who, entries: Vec<RequestEntry<Balance>>, max_fee: Balance) {
	assert_ok!(PaymentChannels::request_rebalance(
		who.origin(),
		entries.try_into().unwrap(),
		max_fee,
		System::block_number() + 20,
	));
}

pub(super) fn edge(
	channel_id: ChannelId,
	from: Who,
	amount: Balance,
) -> PlanEdge<AccountId, Balance> {
	PlanEdge { channel_id, from: from.account(), amount }
}

pub(super) fn plan(
	edges: Vec<PlanEdge<AccountId, Balance>>,
) -> BoundedVec<PlanEdge<AccountId, Balance>, PlanBound> {
	edges.try_into().unwrap()
}

pub(super) type PlanBound = <Test as crate::Config>::MaxPlanEdges;

/// A -> B -> C -> A, each channel funded only by its opener (fully depleted on the other side),
/// with requests to move 300 around the cycle. Returns the channel ids (AB, BC, CA).
fn depleted_cycle() -> (ChannelId, ChannelId, ChannelId) {
	let ab = open(Who::Alice, Who::Bob, 1_000, 0);
	let bc = open(Who::Bob, Who::Charlie, 1_000, 0);
	let ca = open(Who::Charlie, Who::Alice, 1_000, 0);
	request(Who::Alice, vec![entry(ab, 300, 0), entry(ca, 0, 300)], 0);
	request(Who::Bob, vec![entry(bc, 300, 0), entry(ab, 0, 300)], 0);
	request(Who::Charlie, vec![entry(ca, 300, 0), entry(bc, 0, 300)], 0);
	(ab, bc, ca)
}

#[test]
fn three_channel_cycle_is_rebalanced_by_one_plan() {
	build_and_execute(|| {
		let issuance = total_issuance();
		let (ab, bc, ca) = depleted_cycle();
		let free_before: Vec<_> = [Who::Alice, Who::Bob, Who::Charlie].map(|w| w.free()).to_vec();

		assert_ok!(PaymentChannels::submit_plan(
			Who::Dave.origin(),
			plan(vec![
				edge(ab, Who::Alice, 300),
				edge(bc, Who::Bob, 300),
				edge(ca, Who::Charlie, 300)
			]),
		));

		for id in [ab, bc, ca] {
			assert_eq!(crate::Pallet::<Test>::settlement_preview(id), Some([700, 300]));
			assert_eq!(channel(id).total(), 1_000, "funds do not leave the channel");
		}
		assert_eq!(channel(ab).books(Side::Opener).rebalanced_out, 300);
		assert_eq!(channel(ab).books(Side::Counterparty).rebalanced_in, 300);
		// Nobody's wealth changed: funds only moved between each participant's own channels.
		let free_after: Vec<_> = [Who::Alice, Who::Bob, Who::Charlie].map(|w| w.free()).to_vec();
		assert_eq!(free_before, free_after);
		// The requests are used up.
		let alice = RebalanceRequests::<Test>::get(Who::Alice.account()).unwrap();
		assert_eq!(alice.entries.to_vec(), vec![entry(ab, 0, 0), entry(ca, 0, 0)]);
		System::assert_has_event(
			Event::<Test>::ChannelRebalanced {
				channel_id: bc,
				from: Who::Bob.account(),
				amount: 300,
			}
			.into(),
		);
		System::assert_last_event(
			Event::<Test>::PlanExecuted { submitter: Who::Dave.account(), edges: 3, volume: 900 }
				.into(),
		);
		assert!(hook_calls().contains(&HookCall::Rebalanced(ca, Who::Charlie.account(), 300)));

		// Closing every channel pays out by the rebalanced books: each participant ends where it
		// started.
		for (id, opener, counterparty) in [
			(ab, Who::Alice, Who::Bob),
			(bc, Who::Bob, Who::Charlie),
			(ca, Who::Charlie, Who::Alice),
		] {
			let settlement = cooperative_close(id, 700, 300);
			assert_ok!(PaymentChannels::cooperative_close(
				opener.origin(),
				settlement.clone(),
				opener.sign(&settlement),
				counterparty.sign(&settlement),
			));
		}
		for who in [Who::Alice, Who::Bob, Who::Charlie] {
			assert_ok!(PaymentChannels::cancel_rebalance_request(who.origin()));
			assert_eq!(who.free(), ENDOWMENT);
		}
		assert_eq!(total_issuance(), issuance);
	});
}

#[test]
fn fees_to_intermediaries_stay_within_each_declared_max() {
	build_and_execute(|| {
		let ab = open(Who::Alice, Who::Bob, 1_000, 0);
		let bc = open(Who::Bob, Who::Charlie, 1_000, 0);
		let ca = open(Who::Charlie, Who::Alice, 1_000, 0);
		request(Who::Alice, vec![entry(ab, 105, 0), entry(ca, 0, 100)], 5);
		request(Who::Bob, vec![entry(bc, 105, 0), entry(ab, 0, 105)], 0);
		request(Who::Charlie, vec![entry(ca, 100, 0), entry(bc, 0, 105)], 0);
		// Alice sends 105 and gets 100 back: she pays Charlie a fee of 5, her max, for receiving
		// all she declared.
		assert_ok!(PaymentChannels::submit_plan(
			Who::Eve.origin(),
			plan(vec![
				edge(ab, Who::Alice, 105),
				edge(bc, Who::Bob, 105),
				edge(ca, Who::Charlie, 100)
			]),
		));
		assert_eq!(RebalanceRequests::<Test>::get(Who::Alice.account()).unwrap().fee_paid, 5);
		assert_eq!(crate::Pallet::<Test>::settlement_preview(ca), Some([900, 100]));
	});
}

#[test]
fn plans_that_break_a_rule_are_refused_and_change_nothing() {
	build_and_execute(|| {
		let (ab, bc, ca) = depleted_cycle();
		let submit = |edges| PaymentChannels::submit_plan(Who::Dave.origin(), plan(edges));

		// An unbalanced participant: Alice only sends, and declared no fee.
		assert_noop!(submit(vec![edge(ab, Who::Alice, 100)]), Error::<Test>::FeeAboveMax);
		// An edge over a declared bound.
		assert_noop!(
			submit(vec![
				edge(ab, Who::Alice, 301),
				edge(bc, Who::Bob, 301),
				edge(ca, Who::Charlie, 301)
			]),
			Error::<Test>::ExceedsDeclaredBound
		);
		// A duplicated edge.
		assert_noop!(
			submit(vec![edge(ab, Who::Alice, 100), edge(ab, Who::Alice, 100)]),
			Error::<Test>::DuplicateEdge
		);
		// An edge in the direction nobody declared.
		assert_noop!(submit(vec![edge(ab, Who::Bob, 100)]), Error::<Test>::ExceedsDeclaredBound);
		// Fees over a participant's max: Alice gets back 10 less than she sends.
		assert_noop!(
			submit(vec![
				edge(ab, Who::Alice, 100),
				edge(bc, Who::Bob, 100),
				edge(ca, Who::Charlie, 90)
			]),
			Error::<Test>::FeeAboveMax
		);
		// A sender that is not in the channel, an unknown channel, an empty plan, a zero edge.
		assert_noop!(submit(vec![edge(ab, Who::Charlie, 100)]), Error::<Test>::EdgeNotInChannel);
		assert_noop!(submit(vec![edge(99, Who::Alice, 100)]), Error::<Test>::UnknownChannel);
		assert_noop!(submit(vec![]), Error::<Test>::EmptyPlan);
		assert_noop!(submit(vec![edge(ab, Who::Alice, 0)]), Error::<Test>::ZeroAmount);
		// A participant without a request.
		let da = open(Who::Dave, Who::Alice, 1_000, 0);
		assert_noop!(submit(vec![edge(da, Who::Dave, 100)]), Error::<Test>::NoRebalanceRequest);

		// An edge on a closing channel.
		close(Who::Bob, bc, None);
		assert_noop!(
			submit(vec![
				edge(ab, Who::Alice, 300),
				edge(bc, Who::Bob, 300),
				edge(ca, Who::Charlie, 300)
			]),
			Error::<Test>::ChannelNotOpen
		);
	});
}

#[test]
fn plan_with_an_expired_request_is_refused() {
	build_and_execute(|| {
		let (ab, bc, ca) = depleted_cycle();
		// Past the expiry, before the hook has removed the requests.
		System::set_block_number(System::block_number() + 21);
		assert_noop!(
			PaymentChannels::submit_plan(
				Who::Dave.origin(),
				plan(vec![
					edge(ab, Who::Alice, 300),
					edge(bc, Who::Bob, 300),
					edge(ca, Who::Charlie, 300)
				]),
			),
			Error::<Test>::RebalanceRequestExpired
		);
	});
}

#[test]
fn plan_over_the_size_bound_cannot_even_be_submitted() {
	build_and_execute(|| {
		let bound = <PlanBound as frame_support::traits::Get<u32>>::get() as usize;
		let edges: Vec<_> = (0..=bound as u64).map(|id| edge(id, Who::Alice, 1)).collect();
		assert!(BoundedVec::<_, PlanBound>::try_from(edges.clone()).is_err());
		// A call encoded with one edge too many does not decode: the transaction is invalid.
		let valid = RuntimeCall::PaymentChannels(crate::Call::submit_plan {
			edges: plan(edges[..bound].to_vec()),
		})
		.encode();
		let mut too_long = valid[..2].to_vec(); // pallet index, call index
		too_long.extend(edges.encode());
		assert!(RuntimeCall::decode(&mut &valid[..]).is_ok());
		assert!(RuntimeCall::decode(&mut &too_long[..]).is_err());
	});
}

#[test]
fn over_committed_pledge_cannot_make_the_counterparty_lose() {
	build_and_execute(|| {
		// Alice (500 in AB) pledges to send 300 in a cycle A -> B -> C -> A.
		let ab = open(Who::Alice, Who::Bob, 500, 0);
		let bc = open(Who::Bob, Who::Charlie, 1_000, 0);
		let ca = open(Who::Charlie, Who::Alice, 1_000, 0);
		request(Who::Alice, vec![entry(ab, 300, 0), entry(ca, 0, 300)], 0);
		request(Who::Charlie, vec![entry(ca, 300, 0), entry(bc, 0, 300)], 0);
		// Bob saw Alice's 500 and the payment she then made him: 300. Following the client
		// rule, he declares to receive in AB only what Alice can still cover: 200.
		let from_alice = balance_proof(Who::Alice, ab, 1, 300);
		request(Who::Bob, vec![entry(bc, 300, 0), entry(ab, 0, 200)], 0);

		// A solver (or Alice) tries to move the whole pledge: refused, nothing moves.
		assert_noop!(
			PaymentChannels::submit_plan(
				Who::Alice.origin(),
				plan(vec![
					edge(ab, Who::Alice, 300),
					edge(bc, Who::Bob, 300),
					edge(ca, Who::Charlie, 300)
				]),
			),
			Error::<Test>::ExceedsDeclaredBound
		);
		// What Alice can cover moves.
		assert_ok!(PaymentChannels::submit_plan(
			Who::Alice.origin(),
			plan(vec![
				edge(ab, Who::Alice, 200),
				edge(bc, Who::Bob, 200),
				edge(ca, Who::Charlie, 200)
			]),
		));
		// Alice closes AB without showing her payment; Bob disputes with it. He gets the 300 she
		// paid him plus the 200 the plan moved to his side: everything, and nothing is clamped.
		let deadline = close(Who::Alice, ab, None);
		assert_ok!(PaymentChannels::update_balance_proof(Who::Bob.origin(), ab, from_alice));
		assert_eq!(crate::Pallet::<Test>::settlement_preview(ab), Some([0, 500]));
		run_to_block(deadline + 1);
		assert_eq!(Who::Bob.free(), ENDOWMENT - 1_000 - RECORD_DEPOSIT - REQUEST_DEPOSIT + 500);
	});
}

#[test]
fn request_rebalance_holds_a_deposit_and_replaces_the_previous_request() {
	build_and_execute(|| {
		let ab = open(Who::Alice, Who::Bob, 1_000, 0);
		let free = Who::Alice.free();
		request(Who::Alice, vec![entry(ab, 300, 0)], 7);
		assert_eq!(Who::Alice.free(), free - REQUEST_DEPOSIT);
		assert_eq!(RebalanceRequests::<Test>::count(), 1);
		let digest = RequestsDigest::<Test>::get();
		System::assert_last_event(
			Event::<Test>::RebalanceRequested {
				who: Who::Alice.account(),
				entries: vec![entry(ab, 300, 0)].try_into().unwrap(),
				max_fee: 7,
				expires_at: System::block_number() + 20,
			}
			.into(),
		);

		request(Who::Alice, vec![entry(ab, 100, 50)], 0);
		System::assert_has_event(
			Event::<Test>::RebalanceRequestRemoved {
				who: Who::Alice.account(),
				reason: RequestRemoval::Replaced,
			}
			.into(),
		);
		assert_eq!(Who::Alice.free(), free - REQUEST_DEPOSIT, "one deposit per declarer");
		assert_ne!(RequestsDigest::<Test>::get(), digest, "every change moves the digest");
		assert_eq!(RebalanceRequests::<Test>::count(), 1);

		assert_ok!(PaymentChannels::cancel_rebalance_request(Who::Alice.origin()));
		assert_eq!(Who::Alice.free(), free);
		assert_noop!(
			PaymentChannels::cancel_rebalance_request(Who::Alice.origin()),
			Error::<Test>::NoRebalanceRequest
		);
	});
}

#[test]
fn bad_requests_are_refused() {
	build_and_execute(|| {
		let ab = open(Who::Alice, Who::Bob, 1_000, 0);
		let cd = open(Who::Charlie, Who::Dave, 1_000, 0);
		let now = System::block_number();
		let ask = |who: Who, entries: Vec<RequestEntry<Balance>>, expires_at| {
			PaymentChannels::request_rebalance(
				who.origin(),
				entries.try_into().unwrap(),
				0,
				expires_at,
			)
		};
		assert_noop!(
			ask(Who::Alice, vec![entry(ab, 1, 0)], now),
			Error::<Test>::RequestExpiryOutOfBounds
		);
		assert_noop!(
			ask(Who::Alice, vec![entry(ab, 1, 0)], now + MAX_REQUEST_LIFETIME + 1),
			Error::<Test>::RequestExpiryOutOfBounds
		);
		assert_noop!(ask(Who::Alice, vec![], now + 5), Error::<Test>::EmptyRequest);
		assert_noop!(
			ask(Who::Alice, vec![entry(ab, 1, 0), entry(ab, 0, 1)], now + 5),
			Error::<Test>::DuplicateEntry
		);
		assert_noop!(
			ask(Who::Alice, vec![entry(cd, 1, 0)], now + 5),
			Error::<Test>::NotParticipant
		);
		assert_noop!(ask(Who::Alice, vec![entry(ab, 0, 0)], now + 5), Error::<Test>::ZeroAmount);
		close(Who::Charlie, cd, None);
		assert_noop!(
			ask(Who::Charlie, vec![entry(cd, 1, 0)], now + 5),
			Error::<Test>::ChannelNotOpen
		);
	});
}

#[test]
fn hooks_expire_requests_and_open_rounds() {
	build_and_execute(|| {
		let ab = open(Who::Alice, Who::Bob, 1_000, 0);
		let free = Who::Alice.free();
		request(Who::Alice, vec![entry(ab, 300, 0)], 0);
		let expires_at = System::block_number() + 20;
		request(Who::Bob, vec![entry(ab, 0, 300)], 0);

		run_to_block(REBALANCE_PERIOD);
		System::assert_has_event(
			Event::<Test>::RoundOpened {
				round: 1,
				open_requests: 2,
				requests_digest: RequestsDigest::<Test>::get(),
			}
			.into(),
		);
		// Bob replaces his request with a longer one: the old expiry must not remove it.
		assert_ok!(PaymentChannels::request_rebalance(
			Who::Bob.origin(),
			vec![entry(ab, 0, 300)].try_into().unwrap(),
			0,
			expires_at + 10,
		));

		run_to_block(expires_at);
		assert!(
			RebalanceRequests::<Test>::contains_key(Who::Alice.account()),
			"usable up to its expiry"
		);
		run_to_block(expires_at + 1);
		assert!(!RebalanceRequests::<Test>::contains_key(Who::Alice.account()));
		assert_eq!(Who::Alice.free(), free, "the deposit is back");
		System::assert_has_event(
			Event::<Test>::RebalanceRequestRemoved {
				who: Who::Alice.account(),
				reason: RequestRemoval::Expired,
			}
			.into(),
		);
		assert!(RebalanceRequests::<Test>::contains_key(Who::Bob.account()));
		run_to_block(expires_at + 11);
		assert_eq!(RebalanceRequests::<Test>::count(), 0);
		let rounds = (expires_at + 11) / REBALANCE_PERIOD;
		assert_eq!(CurrentRound::<Test>::get() as u64, rounds);
	});
}

#[test]
fn shift_moves_funds_between_own_channels_in_one_step() {
	build_and_execute(|| {
		let issuance = total_issuance();
		let ab = open(Who::Alice, Who::Bob, 1_000, 0);
		let ac = open(Who::Alice, Who::Charlie, 100, 0);
		let free = Who::Alice.free();
		let proof = withdraw_proof(ab, Who::Alice, 400, 20);
		assert_ok!(PaymentChannels::shift(
			Who::Alice.origin(),
			proof.clone(),
			Who::Bob.sign(&proof),
			ac
		));

		assert_eq!(channel(ab).total(), 600);
		assert_eq!(channel(ab).books(Side::Opener).withdrawn, 400);
		assert_eq!(channel(ac).total(), 500);
		assert_eq!(channel(ac).books(Side::Opener).deposited, 500);
		assert_eq!(Who::Alice.free(), free, "nothing passes through the free balance for good");
		assert_eq!(held_funds(Who::Alice), 1_100);
		System::assert_last_event(
			Event::<Test>::FundsShifted {
				who: Who::Alice.account(),
				from_channel: ab,
				to_channel: ac,
				amount: 400,
			}
			.into(),
		);
		assert_eq!(total_issuance(), issuance);

		// The proof is spent, a shift needs two channels, and both must be the caller's.
		assert_noop!(
			PaymentChannels::shift(Who::Alice.origin(), proof.clone(), Who::Bob.sign(&proof), ac),
			Error::<Test>::WithdrawProofStale
		);
		let next = withdraw_proof(ab, Who::Alice, 500, 20);
		assert_noop!(
			PaymentChannels::shift(Who::Alice.origin(), next.clone(), Who::Bob.sign(&next), ab),
			Error::<Test>::ShiftToSameChannel
		);
		let cd = open(Who::Charlie, Who::Dave, 100, 0);
		assert_noop!(
			PaymentChannels::shift(Who::Alice.origin(), next.clone(), Who::Bob.sign(&next), cd),
			Error::<Test>::NotParticipant
		);
	});
}
