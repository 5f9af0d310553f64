//! Hash-time locks on chain: the secret registry, locked proofs (submitted only by their
//! beneficiary, ordered by nonce), holding locks back at settlement, and unlocking each lock once:
//! to the receiver if its secret was registered in time, back to the sender otherwise.

use super::*;
use paychan_primitives::locks::{lock_proof, secret_hash, Lock, LockProof};

/// Alice's channel with Bob: Alice 1,000, Bob 500.
fn alice_and_bob() -> ChannelId {
	open(Who::Alice, Who::Bob, 1_000, 500)
}

/// The secret behind `two_locks`' lock `i`.
pub(super) fn secret(i: u8) -> [u8; 32] {
	[i + 1; 32]
}

/// Two locks: 20 expiring at `expires_at`, 30 expiring ten blocks later.
pub(super) fn two_locks(expires_at: BlockNumber) -> Vec<LockOf<Test>> {
	vec![
		Lock { amount: 20, expires_at, secret_hash: secret_hash(&secret(0)) },
		Lock { amount: 30, expires_at: expires_at + 10, secret_hash: secret_hash(&secret(1)) },
	]
}

fn unlocks(
	locks: &[LockOf<Test>],
	indices: &[usize],
) -> BoundedVec<(LockOf<Test>, LockProof), crate::features::locks::MaxUnlocks> {
	indices
		.iter()
		.map(|&i| (locks[i].clone(), lock_proof(locks, i).unwrap()))
		.collect::<Vec<_>>()
		.try_into()
		.unwrap()
}

/// Closes Alice and Bob's channel as Alice, has Bob submit Alice's proof paying 100 with `locks`
/// pending, and settles it after the deadline. Returns the channel and the free balances
/// before settlement.
fn settle_with_alices_locks(locks: &[LockOf<Test>]) -> (ChannelId, Balance, Balance) {
	let id = alice_and_bob();
	let deadline = close(Who::Alice, id, None);
	assert_ok!(PaymentChannels::update_locked_proof(
		Who::Bob.origin(),
		id,
		locked_proof(Who::Alice, id, 7, 100, locks),
	));
	let (alice, bob) = (Who::Alice.free(), Who::Bob.free());
	System::set_block_number(deadline + 1);
	assert_ok!(PaymentChannels::settle(Who::Eve.origin(), id));
	(id, alice, bob)
}

#[test]
fn a_secret_is_registered_once_with_its_first_block_and_revealed_in_the_event() {
	build_and_execute(|| {
		System::set_block_number(4);
		assert_ok!(PaymentChannels::register_secret(Who::Eve.origin(), secret(0)));
		assert_eq!(Secrets::<Test>::get(secret_hash(&secret(0))), Some(4));
		System::assert_last_event(
			Event::SecretRegistered {
				secret_hash: secret_hash(&secret(0)),
				secret: secret(0),
				block: 4,
				who: Who::Eve.account(),
			}
			.into(),
		);
		System::set_block_number(9);
		assert_noop!(
			PaymentChannels::register_secret(Who::Bob.origin(), secret(0)),
			Error::<Test>::SecretAlreadyRegistered
		);
		assert_eq!(Secrets::<Test>::get(secret_hash(&secret(0))), Some(4));
	});
}

#[test]
fn settlement_holds_the_locks_back_and_pays_the_rest() {
	build_and_execute(|| {
		let locks = two_locks(50);
		let (id, alice, bob) = settle_with_alices_locks(&locks);
		// Alice: 1,000 - 100 paid - 50 locked. Bob: 500 + 100.
		assert_eq!(Who::Alice.free(), alice + 850 + RECORD_DEPOSIT);
		assert_eq!(Who::Bob.free(), bob + 600);
		let set = PendingLocks::<Test>::get(id, Who::Alice.account()).unwrap();
		assert_eq!((set.held, set.resolved, set.receiver), (50, 0, Who::Bob.account()));
		assert_eq!(held_funds(Who::Alice), 50, "the locked 50 stay on hold in Alice's account");
		assert_eq!(held_funds(Who::Bob), 0);
		assert!(PendingLocks::<Test>::get(id, Who::Bob.account()).is_none());
	});
}

#[test]
fn a_secret_registered_in_time_pays_the_receiver_and_an_unregistered_expired_lock_the_sender() {
	build_and_execute(|| {
		let locks = two_locks(50);
		let (id, alice, bob) = settle_with_alices_locks(&locks);
		let (alice, bob) = (alice + 850 + RECORD_DEPOSIT, bob + 600);
		// Registered after the channel settled, at the last block that counts for lock 0.
		System::set_block_number(50);
		assert_ok!(PaymentChannels::register_secret(Who::Bob.origin(), secret(0)));

		assert_ok!(PaymentChannels::unlock(
			Who::Eve.origin(),
			id,
			Who::Alice.account(),
			unlocks(&locks, &[0])
		));
		assert_eq!(Who::Bob.free(), bob + 20);
		System::assert_last_event(
			Event::LockUnlocked {
				channel_id: id,
				sender: Who::Alice.account(),
				secret_hash: locks[0].secret_hash,
				amount: 20,
				to: Who::Bob.account(),
			}
			.into(),
		);

		// Lock 1 expires at 60 and its secret is unknown: it may still be claimed.
		System::set_block_number(60);
		assert_noop!(
			PaymentChannels::unlock(
				Who::Eve.origin(),
				id,
				Who::Alice.account(),
				unlocks(&locks, &[1])
			),
			Error::<Test>::LockNotDecided
		);
		System::set_block_number(61);
		assert_ok!(PaymentChannels::unlock(
			Who::Eve.origin(),
			id,
			Who::Alice.account(),
			unlocks(&locks, &[1])
		));
		assert_eq!(Who::Alice.free(), alice + 30);
		assert_eq!(Who::Bob.free(), bob + 20);
		assert!(PendingLocks::<Test>::get(id, Who::Alice.account()).is_none());
		assert_eq!(held_funds(Who::Alice), 0);
		System::assert_last_event(
			Event::LocksResolved { channel_id: id, sender: Who::Alice.account(), returned: 0 }
				.into(),
		);
	});
}

#[test]
fn a_secret_registered_after_the_expiry_does_not_pay_the_receiver() {
	build_and_execute(|| {
		let locks = two_locks(15);
		let (id, alice, bob) = settle_with_alices_locks(&locks);
		// The channel settled at block 12; lock 0 expired at 15, its secret came at 16.
		System::set_block_number(16);
		assert_ok!(PaymentChannels::register_secret(Who::Bob.origin(), secret(0)));
		System::set_block_number(26);
		assert_ok!(PaymentChannels::unlock(
			Who::Bob.origin(),
			id,
			Who::Alice.account(),
			unlocks(&locks, &[0, 1])
		));
		assert_eq!(Who::Alice.free(), alice + 850 + RECORD_DEPOSIT + 50);
		assert_eq!(Who::Bob.free(), bob + 600);
		assert!(PendingLocks::<Test>::get(id, Who::Alice.account()).is_none());
	});
}

#[test]
fn each_lock_is_unlocked_once() {
	build_and_execute(|| {
		let locks = two_locks(50);
		assert_ok!(PaymentChannels::register_secret(Who::Bob.origin(), secret(0)));
		assert_ok!(PaymentChannels::register_secret(Who::Bob.origin(), secret(1)));
		let (id, _, bob) = settle_with_alices_locks(&locks);
		let bob = bob + 600;
		// Twice in one call: the whole call is refused.
		assert_noop!(
			PaymentChannels::unlock(
				Who::Bob.origin(),
				id,
				Who::Alice.account(),
				unlocks(&locks, &[0, 0])
			),
			Error::<Test>::LockAlreadyUnlocked
		);
		assert_ok!(PaymentChannels::unlock(
			Who::Bob.origin(),
			id,
			Who::Alice.account(),
			unlocks(&locks, &[0])
		));
		assert_noop!(
			PaymentChannels::unlock(
				Who::Bob.origin(),
				id,
				Who::Alice.account(),
				unlocks(&locks, &[0])
			),
			Error::<Test>::LockAlreadyUnlocked
		);
		assert_ok!(PaymentChannels::unlock(
			Who::Bob.origin(),
			id,
			Who::Alice.account(),
			unlocks(&locks, &[1])
		));
		assert_eq!(Who::Bob.free(), bob + 50);
		// The set is gone: nothing more to unlock.
		assert_noop!(
			PaymentChannels::unlock(
				Who::Bob.origin(),
				id,
				Who::Alice.account(),
				unlocks(&locks, &[1])
			),
			Error::<Test>::NoPendingLocks
		);
	});
}

#[test]
fn a_lock_the_recorded_root_does_not_commit_to_is_refused() {
	build_and_execute(|| {
		let locks = two_locks(50);
		assert_ok!(PaymentChannels::register_secret(Who::Bob.origin(), secret(0)));
		let (id, _, _) = settle_with_alices_locks(&locks);
		let set = PendingLocks::<Test>::get(id, Who::Alice.account()).unwrap();
		let mut raised = unlocks(&locks, &[0]);
		raised[0].0.amount = 50;
		let mut later = unlocks(&locks, &[1]);
		later[0].0.expires_at = 1_000;
		let mut moved = unlocks(&locks, &[0]);
		moved[0].1.index = 1;
		// A lock of some other set of 65: beyond what a proof may carry.
		let mut too_many = unlocks(&locks, &[0]);
		too_many[0].1.count = 65;
		for forged in [raised, later, moved, too_many] {
			assert_noop!(
				PaymentChannels::unlock(Who::Bob.origin(), id, Who::Alice.account(), forged),
				Error::<Test>::InvalidLockProof
			);
		}
		assert_noop!(
			PaymentChannels::unlock(
				Who::Bob.origin(),
				id,
				Who::Bob.account(),
				unlocks(&locks, &[0])
			),
			Error::<Test>::NoPendingLocks
		);
		assert_noop!(
			PaymentChannels::unlock(
				Who::Bob.origin(),
				id,
				Who::Alice.account(),
				unlocks(&locks, &[])
			),
			Error::<Test>::EmptyUnlock
		);
		assert_eq!(PendingLocks::<Test>::get(id, Who::Alice.account()), Some(set));
	});
}

#[test]
fn nothing_is_unlocked_before_the_channel_settles() {
	build_and_execute(|| {
		let locks = two_locks(50);
		assert_ok!(PaymentChannels::register_secret(Who::Bob.origin(), secret(0)));
		let id = alice_and_bob();
		close(Who::Alice, id, None);
		assert_ok!(PaymentChannels::update_locked_proof(
			Who::Bob.origin(),
			id,
			locked_proof(Who::Alice, id, 7, 100, &locks),
		));
		assert_noop!(
			PaymentChannels::unlock(
				Who::Bob.origin(),
				id,
				Who::Alice.account(),
				unlocks(&locks, &[0])
			),
			Error::<Test>::NoPendingLocks
		);
	});
}

#[test]
fn only_the_beneficiary_submits_locked_proofs_and_only_newer_ones() {
	build_and_execute(|| {
		let locks = two_locks(50);
		let id = alice_and_bob();
		close(Who::Alice, id, None);
		let newest = locked_proof(Who::Alice, id, 7, 100, &locks);
		// Alice itself, or anyone else, cannot submit Alice's locked proofs.
		for stranger in [Who::Alice, Who::Eve] {
			assert_noop!(
				PaymentChannels::update_locked_proof(stranger.origin(), id, newest.clone()),
				Error::<Test>::NotBeneficiary
			);
		}
		assert_ok!(PaymentChannels::update_locked_proof(Who::Bob.origin(), id, newest.clone()));
		let recorded = channel(id);
		assert_eq!(
			(recorded.sides[0].transferred, recorded.sides[0].locked, recorded.sides[0].nonce),
			(100, 50, 7)
		);
		assert_noop!(
			PaymentChannels::update_locked_proof(
				Who::Bob.origin(),
				id,
				locked_proof(Who::Alice, id, 7, 150, &[])
			),
			Error::<Test>::StaleBalanceProof
		);
		let mut forged = locked_proof(Who::Alice, id, 8, 150, &[]);
		forged.payload.locked = 500;
		assert_noop!(
			PaymentChannels::update_locked_proof(Who::Bob.origin(), id, forged),
			Error::<Test>::InvalidSignature
		);
		// A newer proof where both locks were claimed replaces the whole side.
		assert_ok!(PaymentChannels::update_locked_proof(
			Who::Bob.origin(),
			id,
			locked_proof(Who::Alice, id, 9, 150, &[])
		));
		assert_eq!((channel(id).sides[0].transferred, channel(id).sides[0].locked), (150, 0));
	});
}

#[test]
fn a_plain_proof_from_anyone_cannot_replace_a_side_with_locks_pending() {
	build_and_execute(|| {
		let locks = two_locks(50);
		let id = alice_and_bob();
		close(Who::Alice, id, None);
		assert_ok!(PaymentChannels::update_locked_proof(
			Who::Bob.origin(),
			id,
			locked_proof(Who::Alice, id, 7, 100, &locks),
		));
		// Alice signs a plain proof one unit higher, with any nonce, to wipe out the 50 locked
		// for Bob; whoever submits it, it is refused and nothing changes.
		let before = channel(id);
		for submitter in [Who::Eve, Who::Alice, Who::Bob] {
			assert_noop!(
				PaymentChannels::update_balance_proof(
					submitter.origin(),
					id,
					balance_proof(Who::Alice, id, u64::MAX, 101)
				),
				Error::<Test>::LocksPending
			);
		}
		assert_eq!(channel(id), before);
	});
}

#[test]
fn a_plain_proof_from_anyone_cannot_hold_back_the_beneficiarys_locked_proof() {
	build_and_execute(|| {
		let locks = two_locks(50);
		let id = alice_and_bob();
		close(Who::Alice, id, None);
		// Alice front-runs with a plain proof of the highest nonce, through Eve.
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Eve.origin(),
			id,
			balance_proof(Who::Alice, id, u64::MAX, 1)
		));
		// Bob's newest locked proof still goes in: locked proofs are ordered among themselves.
		assert_ok!(PaymentChannels::update_locked_proof(
			Who::Bob.origin(),
			id,
			locked_proof(Who::Alice, id, 7, 100, &locks),
		));
		assert_eq!((channel(id).sides[0].transferred, channel(id).sides[0].locked), (100, 50));
	});
}

#[test]
fn a_counterparty_closing_with_an_older_proof_while_locks_are_pending_loses_the_dispute() {
	build_and_execute(|| {
		let locks = two_locks(50);
		assert_ok!(PaymentChannels::register_secret(Who::Bob.origin(), secret(0)));
		let id = alice_and_bob();
		// Alice closes as if it had locked nothing, presenting Bob's proof of 40.
		let deadline = close(Who::Alice, id, Some(balance_proof(Who::Bob, id, 3, 40)));
		// Bob disputes with Alice's newest: 100 paid and two locks.
		assert_ok!(PaymentChannels::update_locked_proof(
			Who::Bob.origin(),
			id,
			locked_proof(Who::Alice, id, 7, 100, &locks),
		));
		// An older locked proof of Alice's with a lower total is no use to anyone.
		assert_noop!(
			PaymentChannels::update_locked_proof(
				Who::Bob.origin(),
				id,
				locked_proof(Who::Alice, id, 5, 60, &locks[..1])
			),
			Error::<Test>::StaleBalanceProof
		);
		let (alice, bob) = (Who::Alice.free(), Who::Bob.free());
		run_to_block(deadline + 1);
		assert!(!Channels::<Test>::contains_key(id), "the hook settled it");
		// Alice: 1,000 - 100 - 50 locked + 40. Bob: 500 - 40 + 100.
		assert_eq!(Who::Alice.free(), alice + 890 + RECORD_DEPOSIT);
		assert_eq!(Who::Bob.free(), bob + 560);
		System::set_block_number(61);
		assert_ok!(PaymentChannels::unlock(
			Who::Alice.origin(),
			id,
			Who::Alice.account(),
			unlocks(&locks, &[1, 0])
		));
		// Lock 0 was claimable (secret registered at block 1): Bob. Lock 1 expired: Alice.
		assert_eq!(Who::Bob.free(), bob + 560 + 20);
		assert_eq!(Who::Alice.free(), alice + 890 + RECORD_DEPOSIT + 30);
	});
}

#[test]
fn locks_on_both_sides_are_held_apart_and_conserve_the_channel() {
	build_and_execute(|| {
		let issuance = total_issuance();
		let alices = two_locks(40);
		let bobs = vec![Lock { amount: 70, expires_at: 30, secret_hash: secret_hash(&[9; 32]) }];
		assert_ok!(PaymentChannels::register_secret(Who::Alice.origin(), [9; 32]));
		let id = alice_and_bob();
		let deadline = close(Who::Alice, id, None);
		assert_ok!(PaymentChannels::update_locked_proof(
			Who::Bob.origin(),
			id,
			locked_proof(Who::Alice, id, 7, 100, &alices),
		));
		assert_ok!(PaymentChannels::update_locked_proof(
			Who::Alice.origin(),
			id,
			locked_proof(Who::Bob, id, 4, 10, &bobs),
		));
		assert_eq!(PaymentChannels::settlement_preview(id), Some([860, 520]));
		System::set_block_number(deadline + 1);
		assert_ok!(PaymentChannels::settle(Who::Eve.origin(), id));
		assert_eq!(held_funds(Who::Alice), 50);
		assert_eq!(held_funds(Who::Bob), 70);
		System::set_block_number(51);
		assert_ok!(PaymentChannels::unlock(
			Who::Eve.origin(),
			id,
			Who::Bob.account(),
			unlocks(&bobs, &[0])
		));
		assert_ok!(PaymentChannels::unlock(
			Who::Eve.origin(),
			id,
			Who::Alice.account(),
			unlocks(&alices, &[0, 1])
		));
		assert_eq!((held_funds(Who::Alice), held_funds(Who::Bob)), (0, 0));
		assert_eq!(total_issuance(), issuance);
	});
}

#[test]
fn a_lock_beyond_what_its_sender_owns_is_paid_only_in_part() {
	build_and_execute(|| {
		// Alice owns 1,000 and signs away 900 plus locks of 150: only 100 can be held.
		let locks = vec![
			Lock { amount: 80, expires_at: 50, secret_hash: secret_hash(&secret(0)) },
			Lock { amount: 70, expires_at: 50, secret_hash: secret_hash(&secret(1)) },
		];
		assert_ok!(PaymentChannels::register_secret(Who::Bob.origin(), secret(0)));
		assert_ok!(PaymentChannels::register_secret(Who::Bob.origin(), secret(1)));
		let id = alice_and_bob();
		let deadline = close(Who::Alice, id, None);
		assert_ok!(PaymentChannels::update_locked_proof(
			Who::Bob.origin(),
			id,
			locked_proof(Who::Alice, id, 7, 900, &locks),
		));
		let bob = Who::Bob.free();
		System::set_block_number(deadline + 1);
		assert_ok!(PaymentChannels::settle(Who::Eve.origin(), id));
		assert_eq!(Who::Bob.free(), bob + 1_400);
		assert_eq!(PendingLocks::<Test>::get(id, Who::Alice.account()).unwrap().held, 100);
		assert_ok!(PaymentChannels::unlock(
			Who::Eve.origin(),
			id,
			Who::Alice.account(),
			unlocks(&locks, &[0, 1])
		));
		// 80, then the 20 left: never more than was held.
		assert_eq!(Who::Bob.free(), bob + 1_500);
		assert_eq!(held_funds(Who::Alice), 0);
	});
}
