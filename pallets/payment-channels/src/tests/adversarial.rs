//! Bad input: each case gets its specific error and changes nothing (`assert_noop!` compares
//! the storage root before and after).

use super::*;

/// A channel Alice (1000) and Bob (500) have open, with Alice's payments to Bob at nonce 3.
pub(super) fn alice_bob() -> ChannelId {
	open(Who::Alice, Who::Bob, 1_000, 500)
}

#[test]
fn older_proof_in_a_dispute_is_refused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		close(Who::Alice, channel_id, None);
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Bob.origin(),
			channel_id,
			balance_proof(Who::Alice, channel_id, 5, 300),
		));
		// Older proofs, the same total again, and a higher nonce with a lower total.
		for (nonce, transferred) in [(5, 300), (4, 10), (0, 10), (6, 299), (u64::MAX, 0)] {
			assert_noop!(
				PaymentChannels::update_balance_proof(
					Who::Alice.origin(),
					channel_id,
					balance_proof(Who::Alice, channel_id, nonce, transferred),
				),
				Error::<Test>::StaleBalanceProof
			);
		}
	});
}

#[test]
fn second_close_is_refused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		close(Who::Alice, channel_id, None);
		assert_noop!(
			PaymentChannels::close(Who::Alice.origin(), channel_id, None),
			Error::<Test>::AlreadyClosing
		);
		assert_noop!(
			PaymentChannels::close(Who::Bob.origin(), channel_id, None),
			Error::<Test>::AlreadyClosing
		);
	});
}

#[test]
fn dispute_after_the_deadline_is_refused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		let deadline = close(Who::Alice, channel_id, None);
		System::set_block_number(deadline + 1);
		assert_noop!(
			PaymentChannels::update_balance_proof(
				Who::Bob.origin(),
				channel_id,
				balance_proof(Who::Alice, channel_id, 1, 300),
			),
			Error::<Test>::ChallengePeriodOver
		);
	});
}

#[test]
fn dispute_on_an_open_channel_is_refused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		assert_noop!(
			PaymentChannels::update_balance_proof(
				Who::Bob.origin(),
				channel_id,
				balance_proof(Who::Alice, channel_id, 1, 300),
			),
			Error::<Test>::ChannelNotClosing
		);
	});
}

#[test]
fn settle_before_the_deadline_is_refused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		assert_noop!(
			PaymentChannels::settle(Who::Eve.origin(), channel_id),
			Error::<Test>::ChannelNotClosing
		);
		let deadline = close(Who::Alice, channel_id, None);
		System::set_block_number(deadline);
		assert_noop!(
			PaymentChannels::settle(Who::Eve.origin(), channel_id),
			Error::<Test>::ChallengePeriodNotOver
		);
	});
}

#[test]
fn replayed_withdraw_proof_is_refused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		let proof = withdraw_proof(channel_id, Who::Alice, 100, 20);
		let signature = Who::Bob.sign(&proof);
		assert_ok!(PaymentChannels::withdraw(
			Who::Alice.origin(),
			proof.clone(),
			signature.clone()
		));
		assert_noop!(
			PaymentChannels::withdraw(Who::Alice.origin(), proof.clone(), signature),
			Error::<Test>::WithdrawProofStale
		);
		// An older, smaller cumulative proof is stale too.
		let older = withdraw_proof(channel_id, Who::Alice, 60, 20);
		assert_noop!(
			PaymentChannels::withdraw(Who::Alice.origin(), older.clone(), Who::Bob.sign(&older)),
			Error::<Test>::WithdrawProofStale
		);
	});
}

#[test]
fn withdraw_while_closing_is_refused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		let proof = withdraw_proof(channel_id, Who::Alice, 100, 20);
		close(Who::Bob, channel_id, None);
		assert_noop!(
			PaymentChannels::withdraw(Who::Alice.origin(), proof.clone(), Who::Bob.sign(&proof)),
			Error::<Test>::ChannelNotOpen
		);
		assert_noop!(
			PaymentChannels::deposit(Who::Alice.origin(), channel_id, 100),
			Error::<Test>::ChannelNotOpen
		);
	});
}

#[test]
fn amounts_that_overflow_are_refused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		assert_noop!(
			PaymentChannels::deposit(Who::Bob.origin(), channel_id, Balance::MAX),
			Error::<Test>::Overflow
		);
		let settlement = cooperative_close(channel_id, Balance::MAX, 1_500);
		assert_noop!(
			PaymentChannels::cooperative_close(
				Who::Alice.origin(),
				settlement.clone(),
				Who::Alice.sign(&settlement),
				Who::Bob.sign(&settlement),
			),
			Error::<Test>::Overflow
		);
		let huge = withdraw_proof(channel_id, Who::Alice, Balance::MAX, 20);
		assert_noop!(
			PaymentChannels::withdraw(Who::Alice.origin(), huge.clone(), Who::Bob.sign(&huge)),
			Error::<Test>::WithdrawExceedsChannelFunds
		);
		let consent = funding_consent(Who::Dave, 1_000, Who::Charlie, Balance::MAX, CHALLENGE);
		assert_noop!(
			PaymentChannels::open_channel(
				Who::Charlie.origin(),
				Who::Dave.account(),
				1_000,
				CHALLENGE,
				Some(consent),
			),
			Error::<Test>::Overflow
		);
	});
}

#[test]
fn zero_and_dust_amounts_are_refused() {
	build_and_execute(|| {
		assert_noop!(
			PaymentChannels::open_channel(
				Who::Alice.origin(),
				Who::Bob.account(),
				0,
				CHALLENGE,
				None
			),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			PaymentChannels::open_channel(
				Who::Alice.origin(),
				Who::Bob.account(),
				MIN_DEPOSIT - 1,
				CHALLENGE,
				None,
			),
			Error::<Test>::BelowMinimumDeposit
		);
		let channel_id = alice_bob();
		assert_noop!(
			PaymentChannels::deposit(Who::Bob.origin(), channel_id, 0),
			Error::<Test>::ZeroAmount
		);
		assert_noop!(
			PaymentChannels::deposit(Who::Bob.origin(), channel_id, MIN_DEPOSIT - 1),
			Error::<Test>::BelowMinimumDeposit
		);
		let dust = funding_consent(Who::Dave, 1_000, Who::Charlie, 1, CHALLENGE);
		assert_noop!(
			PaymentChannels::open_channel(
				Who::Charlie.origin(),
				Who::Dave.account(),
				1_000,
				CHALLENGE,
				Some(dust),
			),
			Error::<Test>::BelowMinimumDeposit
		);
	});
}

#[test]
fn non_participant_calls_are_refused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		assert_noop!(
			PaymentChannels::deposit(Who::Eve.origin(), channel_id, 100),
			Error::<Test>::NotParticipant
		);
		assert_noop!(
			PaymentChannels::close(Who::Eve.origin(), channel_id, None),
			Error::<Test>::NotParticipant
		);
		let proof = withdraw_proof(channel_id, Who::Eve, 100, 20);
		assert_noop!(
			PaymentChannels::withdraw(Who::Eve.origin(), proof.clone(), Who::Bob.sign(&proof)),
			Error::<Test>::NotParticipant
		);
		let settlement = cooperative_close(channel_id, 1_000, 500);
		assert_noop!(
			PaymentChannels::cooperative_close(
				Who::Eve.origin(),
				settlement.clone(),
				Who::Alice.sign(&settlement),
				Who::Bob.sign(&settlement),
			),
			Error::<Test>::NotParticipant
		);
	});
}

#[test]
fn settled_channel_ids_are_never_reused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		let settlement = cooperative_close(channel_id, 1_000, 500);
		assert_ok!(PaymentChannels::cooperative_close(
			Who::Alice.origin(),
			settlement.clone(),
			Who::Alice.sign(&settlement),
			Who::Bob.sign(&settlement),
		));
		// Every call on the settled id fails, and replaying its close finds nothing.
		assert_noop!(
			PaymentChannels::deposit(Who::Alice.origin(), channel_id, 100),
			Error::<Test>::UnknownChannel
		);
		assert_noop!(
			PaymentChannels::close(Who::Alice.origin(), channel_id, None),
			Error::<Test>::UnknownChannel
		);
		assert_noop!(
			PaymentChannels::settle(Who::Alice.origin(), channel_id),
			Error::<Test>::UnknownChannel
		);
		assert_noop!(
			PaymentChannels::cooperative_close(
				Who::Alice.origin(),
				settlement.clone(),
				Who::Alice.sign(&settlement),
				Who::Bob.sign(&settlement),
			),
			Error::<Test>::UnknownChannel
		);
		// A new channel between the same two accounts gets a new id, and a funding consent
		// signed for the old open (Alice's open nonce then) cannot open it.
		let mut stale_consent = funding_consent(Who::Bob, 1_000, Who::Alice, 500, CHALLENGE);
		stale_consent.payload.open_nonce -= 1;
		stale_consent.signature = Who::Bob.sign(&stale_consent.payload);
		assert_noop!(
			PaymentChannels::open_channel(
				Who::Alice.origin(),
				Who::Bob.account(),
				1_000,
				CHALLENGE,
				Some(stale_consent),
			),
			Error::<Test>::FundingConsentMismatch
		);
		let reopened = alice_bob();
		assert_ne!(reopened, channel_id);
		// Bob's proofs from the settled channel do not apply to the new one.
		let old_proof = balance_proof(Who::Bob, channel_id, 1, 100);
		assert_noop!(
			PaymentChannels::close(Who::Alice.origin(), reopened, Some(old_proof)),
			Error::<Test>::WrongChannel
		);
	});
}

#[test]
fn funding_consent_must_match_and_be_current() {
	build_and_execute(|| {
		let open_with = |consent| {
			PaymentChannels::open_channel(
				Who::Alice.origin(),
				Who::Bob.account(),
				1_000,
				CHALLENGE,
				Some(consent),
			)
		};
		let for_charlie = funding_consent(Who::Bob, 1_000, Who::Charlie, 500, CHALLENGE);
		assert_noop!(open_with(for_charlie), Error::<Test>::FundingConsentMismatch);
		let other_period = funding_consent(Who::Bob, 1_000, Who::Alice, 500, CHALLENGE + 1);
		assert_noop!(open_with(other_period), Error::<Test>::FundingConsentMismatch);
		// The consent binds the opener's deposit (finding 12): Alice cannot open with less.
		let other_deposit = funding_consent(Who::Bob, 2_000, Who::Alice, 500, CHALLENGE);
		assert_noop!(open_with(other_deposit), Error::<Test>::FundingConsentMismatch);
		let by_dave = funding_consent(Who::Dave, 1_000, Who::Alice, 500, CHALLENGE);
		assert_noop!(open_with(by_dave), Error::<Test>::WrongSigner);
		let expiring = funding_consent(Who::Bob, 1_000, Who::Alice, 500, CHALLENGE);
		System::set_block_number(expiring.payload.expires_at + 1);
		assert_noop!(open_with(expiring), Error::<Test>::FundingConsentExpired);
		let mut forged = funding_consent(Who::Bob, 1_000, Who::Alice, 500, CHALLENGE);
		forged.payload.amount = 900;
		assert_noop!(open_with(forged), Error::<Test>::InvalidSignature);
	});
}

#[test]
fn open_channel_bounds_are_enforced() {
	build_and_execute(|| {
		for period in [MIN_CHALLENGE - 1, MAX_CHALLENGE + 1] {
			assert_noop!(
				PaymentChannels::open_channel(
					Who::Alice.origin(),
					Who::Bob.account(),
					100,
					period,
					None
				),
				Error::<Test>::ChallengePeriodOutOfBounds
			);
		}
		// The channels Alice opened count against her; a consenting counterparty's too.
		for _ in 0..MAX_CHANNELS_PER_ACCOUNT {
			open(Who::Alice, Who::Bob, 100, 0);
		}
		assert_noop!(
			PaymentChannels::open_channel(
				Who::Alice.origin(),
				Who::Charlie.account(),
				100,
				CHALLENGE,
				None
			),
			Error::<Test>::TooManyChannels
		);
		assert_noop!(
			PaymentChannels::open_channel(
				Who::Charlie.origin(),
				Who::Alice.account(),
				100,
				CHALLENGE,
				Some(funding_consent(Who::Alice, 100, Who::Charlie, 100, CHALLENGE)),
			),
			Error::<Test>::TooManyChannels
		);
		// Ferdie has no funds: the currency refuses the hold.
		assert_noop!(
			PaymentChannels::open_channel(
				Who::Ferdie.origin(),
				Who::Charlie.account(),
				100,
				CHALLENGE,
				None
			),
			sp_runtime::TokenError::FundsUnavailable
		);
	});
}

#[test]
fn cooperative_close_needs_both_signatures_on_the_exact_funds() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		let short = cooperative_close(channel_id, 1_000, 400);
		assert_noop!(
			PaymentChannels::cooperative_close(
				Who::Alice.origin(),
				short.clone(),
				Who::Alice.sign(&short),
				Who::Bob.sign(&short),
			),
			Error::<Test>::PayoutMismatch
		);
		let settlement = cooperative_close(channel_id, 1_500, 0);
		// Alice signs twice instead of getting Bob's signature.
		assert_noop!(
			PaymentChannels::cooperative_close(
				Who::Alice.origin(),
				settlement.clone(),
				Who::Alice.sign(&settlement),
				Who::Alice.sign(&settlement),
			),
			Error::<Test>::InvalidSignature
		);
	});
}
