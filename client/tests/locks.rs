//! Hash-time locks enforced on chain through the client's calls (`locks_on_chain.rs`), against a
//! dev node: a counterparty's locked proof submitted during a close, a secret registered, the
//! locks held back at settlement, one lock claimed by its secret and one returned after its
//! expiry, and the refusals in between, each with the chain's reason and nothing changed.

mod common;

use common::*;
use paychan_client::{
	chain::{Chain, Progress},
	htlc::{HtlcLock, LockedState},
	keys::Keys,
	locks_on_chain::Unlocked,
	session,
	store::{Durability, Store},
};
use paychan_primitives::{locks::secret_hash, SignedPayload};
use std::sync::Arc;
use subxt::utils::AccountId32;

/// A library party with its own store, for calls the CLI does not have.
fn library_party(chain: &Chain, uri: &str, dir: &std::path::Path) -> session::Party {
	session::Party {
		keys: Keys::from_uri(uri).unwrap(),
		chain: chain.clone(),
		store: Arc::new(
			Store::open(&dir.join(format!("{uri}.redb")), Durability::Immediate).unwrap(),
		),
	}
}

#[test]
fn a_lock_is_claimed_by_its_secret_and_an_expired_one_goes_back_after_settlement() {
	let _serial = serial();
	let node = Node::start("locks");
	let alice_cli = Party::new(&node, "alice");
	let bob_cli = Party::new(&node, "bob");
	let (channel, _) = alice_cli.open(&bob_cli, 10 * UNIT, 5);

	let runtime = tokio::runtime::Runtime::new().unwrap();
	let chain = runtime.block_on(Chain::connect(&node.url(), Progress::Silent)).unwrap();
	let dir = temp_dir("locks-stores");
	let alice = library_party(&chain, "//Alice", &dir);
	let bob = library_party(&chain, "//Bob", &dir);
	let (alice_key, bob_key) = (alice.keys.public(), bob.keys.public());

	// Alice's state toward Bob: 1 UNIT paid, 2 UNIT locked under Bob's secret until well after
	// the close, 3 UNIT locked under a secret nobody reveals, expiring soon after it.
	let now = runtime.block_on(chain.block_number()).unwrap();
	let (claimed_secret, withheld_secret) = ([7u8; 32], [9u8; 32]);
	let locks: Vec<HtlcLock> = vec![
		HtlcLock {
			amount: 2 * UNIT,
			expires_at: now + 60,
			secret_hash: secret_hash(&claimed_secret),
		},
		HtlcLock {
			amount: 3 * UNIT,
			expires_at: now + 20,
			secret_hash: secret_hash(&withheld_secret),
		},
	];
	let state = LockedState { nonce: 4, transferred: UNIT, locks: locks.clone() };
	let signature = alice.keys.sign(&state.payload(chain.genesis_hash, channel).signing_message());

	// Bob closes, then submits Alice's locked proof: only he, its beneficiary, may.
	runtime.block_on(bob.close_unilaterally(channel)).unwrap();
	let before = runtime.block_on(chain.existing_channel(channel)).unwrap();
	let refused = runtime
		.block_on(alice.submit_locked_proof(channel, alice_key, &state, signature))
		.unwrap_err();
	assert!(format!("{refused:#}").contains("only the signer's counterparty"), "{refused:#}");
	assert_eq!(runtime.block_on(chain.existing_channel(channel)).unwrap().sides, before.sides);
	let bob_free = runtime.block_on(chain.free_balance(&AccountId32(bob_key))).unwrap();
	let mut bob_fees =
		runtime.block_on(bob.submit_locked_proof(channel, alice_key, &state, signature)).unwrap();
	let recorded = runtime.block_on(chain.existing_channel(channel)).unwrap();
	let alice_side = &recorded.sides[0];
	assert_eq!((alice_side.nonce, alice_side.transferred), (4, UNIT));

	// Bob registers his secret; a second registration is no error and keeps the first block.
	let registered = runtime.block_on(bob.register_secret(claimed_secret)).unwrap();
	assert!(registered.by_this_call && registered.block <= now + 60);
	bob_fees += registered.fee;
	let again = runtime.block_on(alice.register_secret(claimed_secret)).unwrap();
	assert!(!again.by_this_call);
	assert_eq!(again.block, registered.block);

	// After the challenge period the hook settles the channel and holds back the 5 UNIT locked.
	let (_, deadline) = recorded.closing.expect("closing");
	node.make_blocks(
		(deadline + 2).saturating_sub(runtime.block_on(chain.block_number()).unwrap()),
	);
	assert!(runtime.block_on(chain.channel(channel)).unwrap().is_none(), "settled");
	let held = runtime.block_on(chain.pending_locks(channel, alice_key)).unwrap().expect("held");
	assert_eq!((held.receiver, held.held, held.resolved), (bob_key, 5 * UNIT, 0));

	// The withheld lock has not expired yet: nothing is decided, and the call is refused before
	// any fee is paid (the pallet's own refusals are its tests': LockNotDecided and the rest).
	assert!(runtime.block_on(chain.block_number()).unwrap() <= now + 20);
	let refused = runtime.block_on(bob.unlock(channel, alice_key, &locks, &[1])).unwrap_err();
	assert!(format!("{refused:#}").contains("lock 1 is not decided yet"), "{refused:#}");
	assert_eq!(
		runtime.block_on(chain.pending_locks(channel, alice_key)).unwrap(),
		Some(held.clone())
	);

	// Bob claims his lock with the registered secret; a second claim is refused.
	let claimed = runtime.block_on(bob.unlock(channel, alice_key, &locks, &[0])).unwrap();
	assert_eq!(
		claimed.unlocked,
		vec![Unlocked { secret_hash: locks[0].secret_hash, amount: 2 * UNIT, to: bob_key }]
	);
	bob_fees += claimed.fee;
	let after_claim = runtime.block_on(chain.pending_locks(channel, alice_key)).unwrap().unwrap();
	assert_eq!((after_claim.held, after_claim.resolved), (3 * UNIT, 0b01));
	let refused = runtime.block_on(bob.unlock(channel, alice_key, &locks, &[0])).unwrap_err();
	assert!(format!("{refused:#}").contains("lock 0 was unlocked already"), "{refused:#}");
	assert_eq!(
		runtime.block_on(chain.pending_locks(channel, alice_key)).unwrap(),
		Some(after_claim)
	);

	// Bob got what Alice paid and the claimed lock, less his fees (he is not the opener, so no
	// storage deposit comes back to him).
	let bob_now = runtime.block_on(chain.free_balance(&AccountId32(bob_key))).unwrap();
	assert_eq!(bob_now, bob_free + UNIT + 2 * UNIT - bob_fees);

	// Past its expiry the withheld lock goes back to Alice, and the set is gone.
	node.make_blocks((now + 21).saturating_sub(runtime.block_on(chain.block_number()).unwrap()));
	let alice_free = runtime.block_on(chain.free_balance(&AccountId32(alice_key))).unwrap();
	let returned = runtime.block_on(alice.unlock(channel, alice_key, &locks, &[1])).unwrap();
	assert_eq!(
		returned.unlocked,
		vec![Unlocked { secret_hash: locks[1].secret_hash, amount: 3 * UNIT, to: alice_key }]
	);
	assert_eq!(runtime.block_on(chain.pending_locks(channel, alice_key)).unwrap(), None);
	let alice_now = runtime.block_on(chain.free_balance(&AccountId32(alice_key))).unwrap();
	assert_eq!(alice_now, alice_free + 3 * UNIT - returned.fee);
}
