//! One regression test per finding of the attacker's review (issue #16), named after what the
//! attacker tried. Each failed on the code before the fix; each asserts the specific error (or
//! the safe outcome) and that nothing else changed.

use super::rebalancing::{edge, entry, plan, request};
use super::*;

/// Alice (1000) opens to Bob and pays him 60 ten times; returns the channel and her proofs.
fn alice_pays_bob_600() -> (ChannelId, Vec<SignedBalanceProofOf<Test>>) {
	let channel_id = open(Who::Alice, Who::Bob, 1_000, 0);
	let proofs =
		(1..=10).map(|n| balance_proof(Who::Alice, channel_id, n, 60 * n as Balance)).collect();
	(channel_id, proofs)
}

// Finding 1: a party could erase its own payments with a proof of a higher nonce.

#[test]
fn payer_cannot_erase_its_payments_with_a_higher_nonce_and_a_lower_total() {
	build_and_execute(|| {
		let (channel_id, proofs) = alice_pays_bob_600();
		// Alice closes, then signs (nonce 11, 0) and (u64::MAX, 0) and submits them through a
		// third account before Bob disputes.
		let deadline = close(Who::Alice, channel_id, None);
		for nonce in [11, u64::MAX] {
			assert_noop!(
				PaymentChannels::update_balance_proof(
					Who::Eve.origin(),
					channel_id,
					balance_proof(Who::Alice, channel_id, nonce, 0),
				),
				Error::<Test>::StaleBalanceProof
			);
		}
		// A made-up proof that pays Bob one planck does count, against Alice alone...
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Alice.origin(),
			channel_id,
			balance_proof(Who::Alice, channel_id, u64::MAX, 1),
		));
		// ...and does not shut out Bob's newest proof, whatever its nonce.
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Bob.origin(),
			channel_id,
			proofs[9].clone()
		));
		run_to_block(deadline + 1);
		assert_eq!(Who::Bob.free(), ENDOWMENT + 600);
		assert_eq!(Who::Alice.free(), ENDOWMENT - 600);
	});
}

#[test]
fn non_closer_cannot_undo_the_proof_the_closer_presented() {
	build_and_execute(|| {
		let (channel_id, proofs) = alice_pays_bob_600();
		// Bob closes with Alice's newest proof; Alice answers with a newer nonce and less.
		let deadline = close(Who::Bob, channel_id, Some(proofs[9].clone()));
		assert_noop!(
			PaymentChannels::update_balance_proof(
				Who::Alice.origin(),
				channel_id,
				balance_proof(Who::Alice, channel_id, 11, 60),
			),
			Error::<Test>::StaleBalanceProof
		);
		run_to_block(deadline + 1);
		assert_eq!(Who::Bob.free(), ENDOWMENT + 600);
	});
}

// Finding 2: a plan could move funds that a withdrawal or a shift had already taken out.

/// X: Alice 300 + Bob 300, Y: Bob 700 -> Charlie, Z: Charlie 300 -> Alice, and requests to move
/// 300 round Alice -> Bob -> Charlie -> Alice. Bob is entitled to 1000 over X and Y.
fn pledged_cycle() -> (ChannelId, ChannelId, ChannelId) {
	let x = open(Who::Alice, Who::Bob, 300, 300);
	let y = open(Who::Bob, Who::Charlie, 700, 0);
	let z = open(Who::Charlie, Who::Alice, 300, 0);
	request(Who::Alice, vec![entry(x, 300, 0), entry(z, 0, 300)], 0);
	request(Who::Bob, vec![entry(y, 300, 0), entry(x, 0, 300)], 0);
	request(Who::Charlie, vec![entry(z, 300, 0), entry(y, 0, 300)], 0);
	(x, y, z)
}

fn bobs_entitlement(x: ChannelId, y: ChannelId) -> Balance {
	let preview = |id| crate::Pallet::<Test>::settlement_preview(id).unwrap();
	preview(x)[Side::Counterparty.index()] + preview(y)[Side::Opener.index()]
}

fn cycle_plan(
	x: ChannelId,
	y: ChannelId,
	z: ChannelId,
) -> frame_support::BoundedVec<
	paychan_primitives::PlanEdge<AccountId, Balance>,
	super::rebalancing::PlanBound,
> {
	plan(vec![edge(x, Who::Alice, 300), edge(y, Who::Bob, 300), edge(z, Who::Charlie, 300)])
}

#[test]
fn withdrawal_after_a_pledge_cannot_let_a_plan_take_the_difference_from_the_honest_side() {
	build_and_execute(|| {
		let (x, y, z) = pledged_cycle();
		assert_eq!(bobs_entitlement(x, y), 1_000);
		// Alice takes her 300 out of X with Bob's honest consent (it is hers).
		let proof = withdraw_proof(x, Who::Alice, 300, System::block_number() + 5);
		assert_ok!(PaymentChannels::withdraw(
			Who::Alice.origin(),
			proof.clone(),
			Who::Bob.sign(&proof)
		));
		System::assert_has_event(
			Event::<Test>::PledgesConsumed {
				channel_id: x,
				who: Who::Alice.account(),
				amount: 300,
			}
			.into(),
		);
		// The plan that would have moved her 300 a second time no longer fits the pledges.
		assert_noop!(
			PaymentChannels::submit_plan(Who::Charlie.origin(), cycle_plan(x, y, z)),
			Error::<Test>::ExceedsDeclaredBound
		);
		assert_eq!(bobs_entitlement(x, y), 1_000);
	});
}

#[test]
fn shift_after_a_pledge_cannot_let_a_plan_take_the_difference_from_the_honest_side() {
	build_and_execute(|| {
		let (x, y, z) = pledged_cycle();
		// Alice shifts her 300 from X into Z instead of withdrawing it.
		let proof = withdraw_proof(x, Who::Alice, 300, System::block_number() + 5);
		assert_ok!(PaymentChannels::shift(
			Who::Alice.origin(),
			proof.clone(),
			Who::Bob.sign(&proof),
			z
		));
		assert_noop!(
			PaymentChannels::submit_plan(Who::Charlie.origin(), cycle_plan(x, y, z)),
			Error::<Test>::ExceedsDeclaredBound
		);
		assert_eq!(bobs_entitlement(x, y), 1_000);
	});
}

#[test]
fn no_plan_or_request_moves_more_than_the_channel_holds() {
	build_and_execute(|| {
		let ab = open(Who::Alice, Who::Bob, 600, 0);
		assert_noop!(
			PaymentChannels::request_rebalance(
				Who::Alice.origin(),
				vec![entry(ab, 601, 0)].try_into().unwrap(),
				0,
				System::block_number() + 5,
			),
			Error::<Test>::ExceedsChannelFunds
		);
		request(Who::Alice, vec![entry(ab, 600, 0)], 0);
		request(Who::Bob, vec![entry(ab, 0, 600)], 0);
		// Alice takes 500 out: both pledges on her side fall by 500.
		let proof = withdraw_proof(ab, Who::Alice, 500, System::block_number() + 5);
		assert_ok!(PaymentChannels::withdraw(
			Who::Alice.origin(),
			proof.clone(),
			Who::Bob.sign(&proof)
		));
		assert_eq!(channel(ab).total(), 100);
		let bound =
			|who: Who| RebalanceRequests::<Test>::get(who.account()).unwrap().entries[0].clone();
		assert_eq!((bound(Who::Alice).max_send, bound(Who::Bob).max_receive), (100, 100));
		assert_noop!(
			PaymentChannels::submit_plan(Who::Eve.origin(), plan(vec![edge(ab, Who::Alice, 101)])),
			Error::<Test>::ExceedsChannelFunds
		);
	});
}

// Finding 3: a signed cooperative close never went stale.

#[test]
fn cooperative_close_signed_before_a_recorded_dispute_is_stale() {
	build_and_execute(|| {
		let (channel_id, proofs) = alice_pays_bob_600();
		// They agreed on a split when Alice had paid 60; she paid 540 more afterwards.
		let old_split = cooperative_close(channel_id, 940, 60);
		let signatures = (Who::Alice.sign(&old_split), Who::Bob.sign(&old_split));
		// Alice closes stale, Bob disputes with her newest proof.
		close(Who::Alice, channel_id, None);
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Bob.origin(),
			channel_id,
			proofs[9].clone()
		));
		assert_noop!(
			PaymentChannels::cooperative_close(
				Who::Alice.origin(),
				old_split,
				signatures.0,
				signatures.1
			),
			Error::<Test>::StaleCooperativeClose
		);
	});
}

#[test]
fn cooperative_close_goes_stale_with_every_change_of_the_channel_and_expires() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 1_000, 0);
		let split = cooperative_close(channel_id, 1_000, 0);
		let submit = |split: &CooperativeCloseOf<Test>| {
			PaymentChannels::cooperative_close(
				Who::Alice.origin(),
				split.clone(),
				Who::Alice.sign(split),
				Who::Bob.sign(split),
			)
		};
		assert_ok!(PaymentChannels::deposit(Who::Bob.origin(), channel_id, 100));
		assert_noop!(submit(&split), Error::<Test>::StaleCooperativeClose);

		// A split that accounts for fewer of Bob's proofs than the chain recorded is stale too.
		let mut behind = cooperative_close(channel_id, 1_000, 100);
		behind.nonces[Side::Counterparty.index()] = 0;
		Channels::<Test>::mutate(channel_id, |c| {
			c.as_mut().unwrap().books_mut(Side::Counterparty).nonce = 3
		});
		assert_noop!(submit(&behind), Error::<Test>::StaleCooperativeClose);
		Channels::<Test>::mutate(channel_id, |c| {
			c.as_mut().unwrap().books_mut(Side::Counterparty).nonce = 0
		});

		let current = cooperative_close(channel_id, 1_000, 100);
		System::set_block_number(current.expires_at + 1);
		assert_noop!(submit(&current), Error::<Test>::CooperativeCloseExpired);
		let renewed = cooperative_close(channel_id, 1_000, 100);
		assert_ok!(submit(&renewed));
	});
}

// Finding 4: a participant could be made to pay its whole max fee while receiving nothing.

#[test]
fn a_fee_is_only_taken_in_proportion_to_what_the_payer_receives() {
	build_and_execute(|| {
		let ab = open(Who::Alice, Who::Bob, 1_000, 0);
		let ca = open(Who::Charlie, Who::Alice, 1_000, 0);
		request(Who::Alice, vec![entry(ab, 10, 0), entry(ca, 0, 100)], 10);
		// Bob asks only to receive, and submits a plan in which Alice pays him 10 for nothing.
		request(Who::Bob, vec![entry(ab, 0, 10)], 0);
		assert_noop!(
			PaymentChannels::submit_plan(Who::Bob.origin(), plan(vec![edge(ab, Who::Alice, 10)])),
			Error::<Test>::FeeAboveMax
		);
	});
}

// Finding 5: settlement saturated when both cumulative totals were huge.

#[test]
fn huge_totals_on_both_sides_net_out_before_they_are_added() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 500, 500);
		// Both signed absurd totals; only the difference (Bob paid Alice 10 more) counts.
		let deadline = close(
			Who::Alice,
			channel_id,
			Some(balance_proof(Who::Bob, channel_id, 1, Balance::MAX)),
		);
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Bob.origin(),
			channel_id,
			balance_proof(Who::Alice, channel_id, 1, Balance::MAX - 10),
		));
		assert_eq!(crate::Pallet::<Test>::settlement_preview(channel_id), Some([510, 490]));
		run_to_block(deadline + 1);
		assert_eq!(Who::Alice.free(), ENDOWMENT + 10);
		assert_eq!(Who::Bob.free(), ENDOWMENT - 10);
	});
}

// Finding 6: settlement-queue entries stayed behind, so loops of opens and closes filled it.

#[test]
fn channels_that_leave_early_free_their_settlement_queue_slots() {
	build_and_execute(|| {
		// More loops than all the slots around one deadline (4 per block, 8 blocks).
		for _ in 0..(MAX_CLOSINGS_PER_BLOCK * crate::features::spill_queue::SPILL_BLOCKS + 1) {
			let channel_id = open(Who::Eve, Who::Dave, MIN_DEPOSIT, 0);
			close(Who::Eve, channel_id, None);
			let split = cooperative_close(channel_id, MIN_DEPOSIT, 0);
			assert_ok!(PaymentChannels::cooperative_close(
				Who::Eve.origin(),
				split.clone(),
				Who::Eve.sign(&split),
				Who::Dave.sign(&split),
			));
		}
		assert_eq!(SettlementQueue::<Test>::iter().count(), 0);
		// An honest close still finds a slot; settling it by hand frees that slot too.
		let channel_id = open(Who::Alice, Who::Bob, 100, 0);
		let deadline = close(Who::Alice, channel_id, None);
		assert_eq!(SettlementQueue::<Test>::get(deadline + 1).to_vec(), vec![channel_id]);
		System::set_block_number(deadline + 1);
		assert_ok!(PaymentChannels::settle(Who::Eve.origin(), channel_id));
		assert_eq!(SettlementQueue::<Test>::iter().count(), 0);
	});
}

// Finding 7: single-funded opens used up the counterparty's channel slots.

#[test]
fn dust_channels_opened_to_a_victim_do_not_lock_it_out() {
	build_and_execute(|| {
		for _ in 0..MAX_CHANNELS_PER_ACCOUNT {
			open(Who::Eve, Who::Bob, MIN_DEPOSIT, 0);
		}
		assert_eq!(ChannelCount::<Test>::get(Who::Bob.account()), 0);
		// Bob can still open, and consent to, channels of his own.
		let own = open(Who::Bob, Who::Charlie, 100, 0);
		let funded = open(Who::Alice, Who::Bob, 100, 100);
		assert_eq!(ChannelCount::<Test>::get(Who::Bob.account()), 2);
		assert!(Channels::<Test>::contains_key(own) && Channels::<Test>::contains_key(funded));
	});
}

// Finding 8: a few accounts could take every rebalance request slot.

#[test]
fn a_few_accounts_cannot_exhaust_the_rebalance_requests() {
	build_and_execute(|| {
		let ids: Vec<_> = [Who::Bob, Who::Charlie, Who::Dave, Who::Eve]
			.map(|w| open(Who::Alice, w, 100, 0))
			.to_vec();
		// Four requests were the mock runtime's global limit.
		for (who, id) in [Who::Bob, Who::Charlie, Who::Dave, Who::Eve].iter().zip(&ids) {
			request(*who, vec![entry(*id, 0, 10)], 0);
		}
		request(Who::Alice, vec![entry(ids[0], 10, 0)], 0);
		assert_eq!(RebalanceRequests::<Test>::count(), 5);
	});
}

// Finding 9: one participant could stall a whole round.

#[test]
fn a_cancelled_request_stalls_only_its_own_part_of_a_plan() {
	build_and_execute(|| {
		// Two unrelated two-channel cycles: Alice <-> Bob and Charlie <-> Dave.
		let ab = open(Who::Alice, Who::Bob, 500, 0);
		let ba = open(Who::Bob, Who::Alice, 500, 0);
		let cd = open(Who::Charlie, Who::Dave, 500, 0);
		let dc = open(Who::Dave, Who::Charlie, 500, 0);
		request(Who::Alice, vec![entry(ab, 100, 0), entry(ba, 0, 100)], 0);
		request(Who::Bob, vec![entry(ba, 100, 0), entry(ab, 0, 100)], 0);
		request(Who::Charlie, vec![entry(cd, 100, 0), entry(dc, 0, 100)], 0);
		request(Who::Dave, vec![entry(dc, 100, 0), entry(cd, 0, 100)], 0);
		// Dave cancels just before the plan lands.
		assert_ok!(PaymentChannels::cancel_rebalance_request(Who::Dave.origin()));
		let before = (channel(cd), channel(dc));
		assert_ok!(PaymentChannels::submit_plan(
			Who::Eve.origin(),
			plan(vec![
				edge(ab, Who::Alice, 100),
				edge(cd, Who::Charlie, 100),
				edge(ba, Who::Bob, 100),
				edge(dc, Who::Dave, 100),
			])
		));
		System::assert_has_event(
			Event::<Test>::PlanPartRefused {
				first_channel: cd,
				edges: 2,
				error: Error::<Test>::NoRebalanceRequest.into(),
			}
			.into(),
		);
		System::assert_last_event(
			Event::<Test>::PlanExecuted { submitter: Who::Eve.account(), edges: 2, volume: 200 }
				.into(),
		);
		assert_eq!(channel(ab).books(Side::Opener).rebalanced_out, 100);
		assert_eq!(channel(ba).books(Side::Opener).rebalanced_out, 100);
		assert_eq!((channel(cd), channel(dc)), before, "the refused part changed nothing");
	});
}

// Finding 10: anyone could void a funding consent by opening a channel first.

#[test]
fn a_third_party_open_cannot_void_a_funding_consent() {
	build_and_execute(|| {
		let consent = funding_consent(Who::Bob, 1_000, Who::Alice, 500, CHALLENGE);
		// Eve opens first, moving the chain-wide channel id the consent used to name.
		open(Who::Eve, Who::Charlie, 100, 0);
		assert_ok!(PaymentChannels::open_channel(
			Who::Alice.origin(),
			Who::Bob.account(),
			1_000,
			CHALLENGE,
			Some(consent.clone()),
		));
		// The consent opened one channel: it cannot open a second.
		assert_noop!(
			PaymentChannels::open_channel(
				Who::Alice.origin(),
				Who::Bob.account(),
				1_000,
				CHALLENGE,
				Some(consent),
			),
			Error::<Test>::FundingConsentMismatch
		);
	});
}

// Finding 12: bookkeeping.

#[test]
fn a_plan_moves_the_requests_digest() {
	build_and_execute(|| {
		let ab = open(Who::Alice, Who::Bob, 500, 0);
		let ba = open(Who::Bob, Who::Alice, 500, 0);
		request(Who::Alice, vec![entry(ab, 100, 0), entry(ba, 0, 100)], 0);
		request(Who::Bob, vec![entry(ba, 100, 0), entry(ab, 0, 100)], 0);
		let digest = RequestsDigest::<Test>::get();
		assert_ok!(PaymentChannels::submit_plan(
			Who::Eve.origin(),
			plan(vec![edge(ab, Who::Alice, 100), edge(ba, Who::Bob, 100)])
		));
		assert_ne!(RequestsDigest::<Test>::get(), digest);
	});
}

#[test]
fn settlement_starts_where_a_runtime_adds_the_pallet_mid_chain() {
	build_and_execute(|| {
		// The pallet arrives at block 1 000 000: its hook has never run.
		System::set_block_number(1_000_000);
		SettlementCursor::<Test>::kill();
		let channel_id = open(Who::Alice, Who::Bob, 100, 0);
		let deadline = close(Who::Alice, channel_id, None);
		run_to_block(deadline + 1);
		assert!(!Channels::<Test>::contains_key(channel_id), "settled on time");
	});
}

#[test]
fn shift_below_the_minimum_deposit_is_refused() {
	build_and_execute(|| {
		let ab = open(Who::Alice, Who::Bob, 500, 0);
		let ac = open(Who::Alice, Who::Charlie, 500, 0);
		let proof = withdraw_proof(ab, Who::Alice, MIN_DEPOSIT - 1, System::block_number() + 5);
		assert_noop!(
			PaymentChannels::shift(Who::Alice.origin(), proof.clone(), Who::Bob.sign(&proof), ac),
			Error::<Test>::BelowMinimumDeposit
		);
	});
}
