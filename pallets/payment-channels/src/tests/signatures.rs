//! Signed payloads that are not what their supposed signer signed for this channel and chain:
//! forged, foreign, impostor and expired proofs and consents. Each case gets its specific error
//! and changes nothing.

use super::{adversarial::alice_bob, *};
use paychan_primitives::{BalanceProof, PayloadSignature, Signed, WithdrawProof};
use sp_core::H256;
use sp_runtime::MultiSignature;

/// Every way Alice could present something other than Bob's own signed word as his payments to
/// her at `close`, with the error each gets. Each case runs on a fresh chain where Alice and Bob
/// have two channels open: `first`, which she closes, and `second`.
#[test]
fn proofs_at_close_that_bob_did_not_sign_for_this_channel_are_refused() {
	type Make = fn(ChannelId, ChannelId) -> SignedBalanceProofOf<Test>;
	let cases: [(&str, Make, Error<Test>); 9] = [
		(
			"Bob signed 100; the closer rewrites the amount to 400",
			|first, _| {
				let mut forged = balance_proof(Who::Bob, first, 1, 100);
				forged.payload.transferred = 400;
				forged
			},
			Error::<Test>::InvalidSignature,
		),
		(
			"a signature that is not a signature at all",
			|first, _| {
				let mut garbage = balance_proof(Who::Bob, first, 1, 100);
				garbage.signature =
					PayloadSignature::Raw(sp_core::sr25519::Signature::from_raw([7u8; 64]).into());
				garbage
			},
			Error::<Test>::InvalidSignature,
		),
		(
			"Bob's wallet signature (over the <Bytes>-wrapped message) declared raw",
			|first, _| {
				let mut proof = balance_proof(Who::Bob, first, 1, 100);
				let PayloadSignature::Wrapped(signature) = Who::Bob.sign_wrapped(&proof.payload)
				else {
					unreachable!("sign_wrapped declares the wrapped form")
				};
				proof.signature = PayloadSignature::Raw(signature);
				proof
			},
			Error::<Test>::InvalidSignature,
		),
		(
			"Bob's signature over the raw message declared wrapped",
			|first, _| {
				let mut proof = balance_proof(Who::Bob, first, 1, 100);
				proof.signature = PayloadSignature::Wrapped(proof.signature.signature().clone());
				proof
			},
			Error::<Test>::InvalidSignature,
		),
		(
			"a proof Alice signed herself, as if it were Bob's payments to her",
			|first, _| balance_proof(Who::Alice, first, 1, 0),
			Error::<Test>::WrongSigner,
		),
		(
			"Charlie signs, claiming to be Bob",
			|first, _| {
				let mut impostor = balance_proof(Who::Charlie, first, 1, 100);
				impostor.signer = Who::Bob.account();
				impostor
			},
			Error::<Test>::InvalidSignature,
		),
		(
			"Bob's proof for the other channel",
			|_, second| balance_proof(Who::Bob, second, 1, 100),
			Error::<Test>::WrongChannel,
		),
		(
			"a payload naming this channel, signed over the other one",
			|first, second| {
				let mut relabelled = balance_proof(Who::Bob, second, 1, 100);
				relabelled.payload.channel_id = first;
				relabelled
			},
			Error::<Test>::InvalidSignature,
		),
		(
			"Bob's proof for this channel id on another chain",
			|first, _| {
				let payload = BalanceProof {
					genesis_hash: H256::repeat_byte(1),
					channel_id: first,
					nonce: 1,
					transferred: 100,
				};
				Signed { signature: Who::Bob.sign(&payload), signer: Who::Bob.account(), payload }
			},
			Error::<Test>::WrongGenesis,
		),
	];
	for (what, make, error) in cases {
		build_and_execute(|| {
			let first = alice_bob();
			let second = alice_bob();
			let proof = make(first, second);
			println!("case: {what}");
			assert_noop!(PaymentChannels::close(Who::Alice.origin(), first, Some(proof)), error);
		});
	}
}

#[test]
fn a_proof_signed_by_an_outsider_counts_for_no_one_in_a_dispute() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		close(Who::Alice, channel_id, None);
		let outsider = balance_proof(Who::Charlie, channel_id, 1, 100);
		assert_noop!(
			PaymentChannels::update_balance_proof(Who::Bob.origin(), channel_id, outsider),
			Error::<Test>::WrongSigner
		);
	});
}

/// Every way a withdrawal could be submitted without Bob's current consent to exactly it, with
/// the error each gets: `(who submits, the proof, the signature)`, on a fresh chain where Alice
/// and Bob have two channels open, `first` and `second`.
#[test]
fn withdrawals_without_the_counterpartys_consent_to_them_are_refused() {
	type Make =
		fn(ChannelId, ChannelId) -> (Who, WithdrawProofOf<Test>, PayloadSignature<MultiSignature>);
	let cases: [(&str, Make, Error<Test>); 6] = [
		(
			"Alice signs her own consent: only the counterparty's signature is tried",
			|first, _| {
				let proof = withdraw_proof(first, Who::Alice, 100, 20);
				(Who::Alice, proof.clone(), Who::Alice.sign(&proof))
			},
			Error::<Test>::InvalidSignature,
		),
		(
			"Charlie, no participant, signs the consent",
			|first, _| {
				let proof = withdraw_proof(first, Who::Alice, 100, 20);
				(Who::Alice, proof.clone(), Who::Charlie.sign(&proof))
			},
			Error::<Test>::InvalidSignature,
		),
		(
			"Bob uses a consent for Alice for himself",
			|first, _| {
				let proof = withdraw_proof(first, Who::Alice, 100, 20);
				(Who::Bob, proof.clone(), Who::Bob.sign(&proof))
			},
			Error::<Test>::WrongParticipant,
		),
		(
			"Bob's consent in the other channel, relabelled to this one",
			|first, second| {
				let proof = withdraw_proof(second, Who::Alice, 100, 20);
				let signature = Who::Bob.sign(&proof);
				(Who::Alice, WithdrawProof { channel_id: first, ..proof }, signature)
			},
			Error::<Test>::InvalidSignature,
		),
		(
			"Bob's consent for this channel id on another chain",
			|first, _| {
				let proof = WithdrawProof {
					genesis_hash: H256::repeat_byte(1),
					..withdraw_proof(first, Who::Alice, 100, 20)
				};
				(Who::Alice, proof.clone(), Who::Bob.sign(&proof))
			},
			Error::<Test>::WrongGenesis,
		),
		(
			"Bob's consent after the block it expired at",
			|first, _| {
				let proof = withdraw_proof(first, Who::Alice, 100, 5);
				System::set_block_number(6);
				(Who::Alice, proof.clone(), Who::Bob.sign(&proof))
			},
			Error::<Test>::WithdrawProofExpired,
		),
	];
	for (what, make, error) in cases {
		build_and_execute(|| {
			let first = alice_bob();
			let second = alice_bob();
			let (submitter, proof, signature) = make(first, second);
			println!("case: {what}");
			assert_noop!(PaymentChannels::withdraw(submitter.origin(), proof, signature), error);
		});
	}
}

#[test]
fn a_cooperative_close_for_another_genesis_hash_is_refused() {
	build_and_execute(|| {
		let channel_id = alice_bob();
		let mut settlement = cooperative_close(channel_id, 1_000, 500);
		settlement.genesis_hash = H256::repeat_byte(1);
		assert_noop!(
			PaymentChannels::cooperative_close(
				Who::Alice.origin(),
				settlement.clone(),
				Who::Alice.sign(&settlement),
				Who::Bob.sign(&settlement),
			),
			Error::<Test>::WrongGenesis
		);
	});
}
