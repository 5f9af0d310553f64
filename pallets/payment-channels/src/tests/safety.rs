//! Honest-party safety: a participant who is online during the challenge period, or whose
//! watchtower is, never ends with less than its latest off-chain balance.

use super::*;

/// Alice (1000) and Bob (0) open; Alice pays Bob 60 ten times off chain. Returns the channel and
/// every proof Alice signed, oldest first.
fn alice_pays_bob_ten_times() -> (ChannelId, Vec<SignedBalanceProofOf<Test>>) {
	let channel_id = open(Who::Alice, Who::Bob, 1_000, 0);
	let proofs =
		(1..=10).map(|n| balance_proof(Who::Alice, channel_id, n, 60 * n as Balance)).collect();
	(channel_id, proofs)
}

#[test]
fn stale_close_loses_the_difference_to_the_counterpartys_dispute() {
	build_and_execute(|| {
		let (channel_id, proofs) = alice_pays_bob_ten_times();
		// Alice closes as if she had paid nothing, and then pushes an old proof of her own
		// (nonce 2, 120) hoping that it sticks.
		let deadline = close(Who::Alice, channel_id, None);
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Alice.origin(),
			channel_id,
			proofs[1].clone()
		));
		assert_eq!(crate::Pallet::<Test>::settlement_preview(channel_id), Some([880, 120]));

		// Bob is online and disputes with Alice's newest proof.
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Bob.origin(),
			channel_id,
			proofs[9].clone()
		));
		// Alice cannot go back to an older state.
		assert_noop!(
			PaymentChannels::update_balance_proof(
				Who::Alice.origin(),
				channel_id,
				proofs[4].clone()
			),
			Error::<Test>::StaleBalanceProof
		);
		run_to_block(deadline + 1);

		assert!(Channels::<Test>::get(channel_id).is_none(), "settled by on_initialize");
		assert_eq!(Who::Bob.free(), ENDOWMENT + 600);
		assert_eq!(Who::Alice.free(), ENDOWMENT - 600);
	});
}

#[test]
fn offline_counterparty_with_a_watchtower_is_made_whole() {
	build_and_execute(|| {
		let (channel_id, proofs) = alice_pays_bob_ten_times();
		// Bob handed each of Alice's proofs to Eve's watchtower as he received it, then went
		// offline.
		let watchtower_copy = proofs[9].clone();
		let deadline = close(Who::Alice, channel_id, None);

		// The watchtower sees the close and disputes for Bob; Bob signs nothing.
		System::set_block_number(deadline - 1);
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Eve.origin(),
			channel_id,
			watchtower_copy
		));
		System::assert_last_event(
			Event::<Test>::BalanceProofSubmitted {
				channel_id,
				signer: Who::Alice.account(),
				nonce: 10,
				transferred: 600,
				submitter: Who::Eve.account(),
			}
			.into(),
		);
		run_to_block(deadline + 1);

		assert_eq!(Who::Bob.free(), ENDOWMENT + 600);
		assert_eq!(Who::Alice.free(), ENDOWMENT - 600);
		assert_eq!(Who::Eve.free(), ENDOWMENT, "the watchtower neither gains nor loses");
	});
}

#[test]
fn counterparty_who_never_disputes_gets_only_what_the_chain_saw() {
	// Why the watchtower matters: without a dispute the stale close stands.
	build_and_execute(|| {
		let (channel_id, _proofs) = alice_pays_bob_ten_times();
		let deadline = close(Who::Alice, channel_id, None);
		run_to_block(deadline + 1);
		assert_eq!(Who::Bob.free(), ENDOWMENT);
		assert_eq!(Who::Alice.free(), ENDOWMENT);
	});
}

#[test]
fn closer_presenting_an_old_proof_only_hurts_itself() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 500, 500);
		// Bob paid Alice 100, then 250 in total.
		let older = balance_proof(Who::Bob, channel_id, 1, 100);
		let newer = balance_proof(Who::Bob, channel_id, 2, 250);
		let deadline = close(Who::Alice, channel_id, Some(older));
		assert_eq!(crate::Pallet::<Test>::settlement_preview(channel_id), Some([600, 400]));
		// Alice notices and fixes it herself within the period.
		assert_ok!(PaymentChannels::update_balance_proof(Who::Alice.origin(), channel_id, newer));
		run_to_block(deadline + 1);
		assert_eq!(Who::Alice.free(), ENDOWMENT + 250);
		assert_eq!(Who::Bob.free(), ENDOWMENT - 250);
	});
}

#[test]
fn signing_away_more_than_the_channel_holds_cannot_pay_out_more_than_it_holds() {
	build_and_execute(|| {
		let issuance = total_issuance();
		let channel_id = open(Who::Alice, Who::Bob, 300, 200);
		// Alice signs a proof for more than her side; an honest Bob would never accept it, but
		// even so the channel pays out exactly its funds.
		let deadline =
			close(Who::Bob, channel_id, Some(balance_proof(Who::Alice, channel_id, 1, 10_000)));
		run_to_block(deadline + 1);
		assert_eq!(Who::Bob.free(), ENDOWMENT + 300);
		assert_eq!(Who::Alice.free(), ENDOWMENT - 300);
		assert_eq!(total_issuance(), issuance);
	});
}

#[test]
fn payout_dust_to_an_account_that_does_not_exist_stays_in_the_channel_books() {
	build_and_execute(|| {
		let issuance = total_issuance();
		// Ferdie has no account; Alice owes him 3 (< existential deposit 5).
		let channel_id = open(Who::Alice, Who::Ferdie, 100, 0);
		let deadline = close(Who::Alice, channel_id, None);
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Eve.origin(),
			channel_id,
			balance_proof(Who::Alice, channel_id, 1, 3)
		));
		run_to_block(deadline + 1);
		System::assert_has_event(
			Event::<Test>::ChannelSettled {
				channel_id,
				opener_payout: 100,
				counterparty_payout: 0,
			}
			.into(),
		);
		assert_eq!(Who::Alice.free(), ENDOWMENT);
		assert_eq!(Who::Ferdie.free(), 0);
		assert_eq!(total_issuance(), issuance);
	});
}
