//! Property test with hash-time locks: Dave, the adversary, pays Alice with locks in their
//! channel; Alice follows the receiver's rules of docs/protocol.md §10.4 and §10.6.
//!
//! Dave adds locks (some whose secret Alice knows, as the payee, some nobody knows), claims or
//! expires them off chain, closes with or without Alice's newest proof, and during the challenge
//! period signs whatever serves him: locked proofs with any nonce, lower totals or his locks
//! dropped, and plain proofs meant to wipe his recorded locks, sent from his own account or a
//! colluding one. After the settlement he tries forged unlocks. Alice accepts a lock only if it
//! is covered by what Dave owns outright and expires no sooner than her reveal margin, submits
//! Dave's newest locked proof as soon as the channel closes, and registers a secret she knows
//! before its lock expires.
//!
//! After every step `try_state` holds and total issuance is unchanged; every refused call fails
//! with its specific error and changes nothing. At the end, with every lock resolved, nothing is
//! left on hold, the two accounts together hold exactly what they started with, and Alice has at
//! least `her deposit - what she paid + what Dave paid + every lock whose secret she knew`.

use super::*;
use paychan_primitives::locks::{lock_proof, secret_hash, Lock, MAX_LOCKS};

/// Alice refuses a lock that expires sooner than this from now: time enough to close, and to
/// register the secret, if Dave stops answering.
const REVEAL_MARGIN: BlockNumber = CHALLENGE + 2;
const DAVE_DEPOSIT: Balance = 1_000;
const ALICE_DEPOSIT: Balance = 500;

#[derive(Clone, Debug)]
enum LockOp {
	/// Dave offers a lock; `known` when Alice is its payee and knows the secret.
	Lock {
		amount: Balance,
		expires_in: BlockNumber,
		known: bool,
	},
	/// Dave settles a pending lock off chain: its amount moves into what he paid.
	Claim {
		index: usize,
	},
	/// Dave drops a pending lock as expired.
	Expire {
		index: usize,
	},
	/// Alice pays Dave with a plain proof.
	AlicePays {
		amount: Balance,
	},
	Advance {
		blocks: BlockNumber,
	},
	/// `stale`: Dave presents no proof of Alice's, as if she had paid him nothing.
	DaveCloses {
		stale: bool,
	},
	AliceCloses,
	/// A locked proof of Dave's own, with any nonce, a total `delta` below or above Alice's
	/// newest, and his locks kept or dropped, from Dave or a colluding account.
	DaveLockedProof {
		nonce: u64,
		lower: bool,
		delta: Balance,
		keep_locks: bool,
		colluder: bool,
	},
	/// A plain proof of Dave's with any nonce and a total `delta` above Alice's newest, to wipe
	/// out his recorded locks, from Dave, a colluding account or Alice's.
	DavePlainProof {
		nonce: u64,
		delta: Balance,
		submitter: usize,
	},
	/// Dave unlocks one of his locks with its amount raised, or one already unlocked.
	DaveForgedUnlock {
		index: usize,
		raise: bool,
	},
}

fn lock_op() -> impl Strategy<Value = LockOp> {
	prop_oneof![
		4 => (1..300u128, 1..60u64, any::<bool>())
			.prop_map(|(amount, expires_in, known)| LockOp::Lock { amount, expires_in, known }),
		2 => any::<usize>().prop_map(|index| LockOp::Claim { index }),
		1 => any::<usize>().prop_map(|index| LockOp::Expire { index }),
		2 => (1..300u128).prop_map(|amount| LockOp::AlicePays { amount }),
		3 => (1..20u64).prop_map(|blocks| LockOp::Advance { blocks }),
		1 => any::<bool>().prop_map(|stale| LockOp::DaveCloses { stale }),
		1 => Just(LockOp::AliceCloses),
		2 => (prop_oneof![Just(u64::MAX), 0..20u64], any::<bool>(), 0..50u128, any::<bool>(), any::<bool>())
			.prop_map(|(nonce, lower, delta, keep_locks, colluder)| LockOp::DaveLockedProof {
				nonce, lower, delta, keep_locks, colluder,
			}),
		2 => (prop_oneof![Just(u64::MAX), 0..20u64], 0..50u128, 0..3usize)
			.prop_map(|(nonce, delta, submitter)| LockOp::DavePlainProof { nonce, delta, submitter }),
		1 => (any::<usize>(), any::<bool>())
			.prop_map(|(index, raise)| LockOp::DaveForgedUnlock { index, raise }),
	]
}

#[derive(Clone, Debug)]
struct Pending {
	lock: LockOf<Test>,
	secret: [u8; 32],
	/// Whether Alice knows the secret.
	known: bool,
}

/// What Alice knows of the channel, and where it is.
struct LockModel {
	id: ChannelId,
	/// Dave's newest locked proof as Alice holds it.
	nonce: u64,
	transferred: Balance,
	locks: Vec<Pending>,
	/// Alice's payments to Dave.
	alice_sent: Balance,
	alice_nonce: u64,
	deadline: Option<BlockNumber>,
	/// Once settled: the locks the chain holds funds for, and which were unlocked.
	settled: Option<(Vec<Pending>, Vec<bool>)>,
	secrets_made: u32,
}

/// Runs `call`, which must fail with `error` and change nothing.
fn refused(error: Error<Test>, call: impl FnOnce() -> sp_runtime::DispatchResult) {
	let before = sp_io::storage::root(StateVersion::V1);
	assert_eq!(call(), Err(error.into()));
	assert_eq!(sp_io::storage::root(StateVersion::V1), before, "a refused call changes nothing");
}

impl LockModel {
	fn new() -> Self {
		let id = open(Who::Dave, Who::Alice, DAVE_DEPOSIT, ALICE_DEPOSIT);
		LockModel {
			id,
			nonce: 0,
			transferred: 0,
			locks: Vec::new(),
			alice_sent: 0,
			alice_nonce: 0,
			deadline: None,
			settled: None,
			secrets_made: 0,
		}
	}

	fn locked(&self) -> Balance {
		self.locks.iter().map(|pending| pending.lock.amount).sum()
	}

	fn lock_list(locks: &[Pending]) -> Vec<LockOf<Test>> {
		locks.iter().map(|pending| pending.lock.clone()).collect()
	}

	/// What Dave owns outright by Alice's newest state: all a new lock of his may use.
	fn dave_available(&self) -> Balance {
		(DAVE_DEPOSIT + self.alice_sent).saturating_sub(self.transferred + self.locked())
	}

	fn is_open(&self) -> bool {
		self.deadline.is_none()
	}

	fn in_challenge_period(&self) -> bool {
		self.deadline.is_some_and(|deadline| System::block_number() <= deadline)
			&& self.settled.is_none()
	}

	fn daves_newest(&self) -> SignedLockedBalanceProofOf<Test> {
		locked_proof(
			Who::Dave,
			self.id,
			self.nonce,
			self.transferred,
			&Self::lock_list(&self.locks),
		)
	}

	fn apply(&mut self, op: LockOp) {
		match op {
			LockOp::Lock { amount, expires_in, known } => {
				let expires_at = System::block_number() + expires_in;
				if !self.is_open()
					|| expires_in < REVEAL_MARGIN
					|| amount > self.dave_available()
					|| self.locks.len() >= MAX_LOCKS as usize
				{
					return;
				}
				self.secrets_made += 1;
				let mut secret = [0xA5; 32];
				secret[..4].copy_from_slice(&self.secrets_made.to_le_bytes());
				let lock = Lock { amount, expires_at, secret_hash: secret_hash(&secret) };
				self.locks.push(Pending { lock, secret, known });
				self.nonce += 1;
			}
			LockOp::Claim { index } => {
				if !self.is_open() || self.locks.is_empty() {
					return;
				}
				let pending = self.locks.remove(index % self.locks.len());
				self.transferred += pending.lock.amount;
				self.nonce += 1;
			}
			LockOp::Expire { index } => {
				if !self.is_open() || self.locks.is_empty() {
					return;
				}
				let index = index % self.locks.len();
				let pending = &self.locks[index];
				// Alice takes an expiry only of a lock that expired with its secret unknown to her
				// (one she knows, she registered in time).
				if System::block_number() <= pending.lock.expires_at || pending.known {
					return;
				}
				self.locks.remove(index);
				self.nonce += 1;
			}
			LockOp::AlicePays { amount } => {
				let owned = (ALICE_DEPOSIT + self.transferred).saturating_sub(self.alice_sent);
				if self.is_open() && amount <= owned {
					self.alice_sent += amount;
					self.alice_nonce += 1;
				}
			}
			LockOp::Advance { blocks } => self.advance(blocks),
			LockOp::DaveCloses { stale } => {
				if !self.is_open() {
					return;
				}
				let alices = (!stale && self.alice_nonce > 0)
					.then(|| balance_proof(Who::Alice, self.id, self.alice_nonce, self.alice_sent));
				self.closed(close(Who::Dave, self.id, alices));
			}
			LockOp::AliceCloses => {
				if self.is_open() {
					self.closed(close(Who::Alice, self.id, None));
				}
			}
			LockOp::DaveLockedProof { nonce, lower, delta, keep_locks, colluder } => {
				let transferred = if lower {
					self.transferred.saturating_sub(delta)
				} else {
					self.transferred + delta
				};
				let fake = Lock {
					amount: self.locked(),
					expires_at: System::block_number() + 1,
					secret_hash: [0xEE; 32],
				};
				let locks = if keep_locks { Self::lock_list(&self.locks) } else { vec![fake] };
				let proof = locked_proof(Who::Dave, self.id, nonce, transferred, &locks);
				let submitter = if colluder { Who::Eve } else { Who::Dave };
				let error = if self.settled.is_some() {
					Error::<Test>::UnknownChannel
				} else if self.is_open() {
					Error::<Test>::ChannelNotClosing
				} else if !self.in_challenge_period() {
					Error::<Test>::ChallengePeriodOver
				} else {
					Error::<Test>::NotBeneficiary
				};
				refused(error, || {
					PaymentChannels::update_locked_proof(submitter.origin(), self.id, proof)
				});
			}
			LockOp::DavePlainProof { nonce, delta, submitter } => {
				let transferred = self.transferred + delta;
				let proof = balance_proof(Who::Dave, self.id, nonce, transferred);
				let submitter = [Who::Dave, Who::Eve, Who::Alice][submitter];
				let call =
					|| PaymentChannels::update_balance_proof(submitter.origin(), self.id, proof);
				if self.settled.is_some() {
					return refused(Error::<Test>::UnknownChannel, call);
				}
				if self.is_open() {
					return refused(Error::<Test>::ChannelNotClosing, call);
				}
				if !self.in_challenge_period() {
					return refused(Error::<Test>::ChallengePeriodOver, call);
				}
				let recorded = Channels::<Test>::get(self.id).unwrap().sides[0].clone();
				if recorded.locked != 0 {
					refused(Error::<Test>::LocksPending, call);
				} else if transferred <= recorded.transferred {
					refused(Error::<Test>::StaleBalanceProof, call);
				} else {
					// It only raises what Dave paid: Alice is better off.
					assert_ok!(call());
				}
			}
			LockOp::DaveForgedUnlock { index, raise } => {
				let Some((locks, unlocked)) = &self.settled else { return };
				if locks.is_empty() {
					return;
				}
				let index = index % locks.len();
				let all = Self::lock_list(locks);
				let mut lock = all[index].clone();
				let proof = lock_proof(&all, index).unwrap();
				let set = PendingLocks::<Test>::get(self.id, Who::Dave.account());
				let error = if set.is_none() {
					Error::<Test>::NoPendingLocks
				} else if raise {
					lock.amount += 1;
					Error::<Test>::InvalidLockProof
				} else if unlocked[index] {
					Error::<Test>::LockAlreadyUnlocked
				} else {
					return;
				};
				refused(error, || {
					PaymentChannels::unlock(
						Who::Dave.origin(),
						self.id,
						Who::Dave.account(),
						vec![(lock, proof)].try_into().unwrap(),
					)
				});
			}
		}
	}

	/// The channel closed with `deadline`: Alice submits Dave's newest locked proof at once.
	fn closed(&mut self, deadline: BlockNumber) {
		self.deadline = Some(deadline);
		if self.nonce > 0 {
			assert_ok!(PaymentChannels::update_locked_proof(
				Who::Alice.origin(),
				self.id,
				self.daves_newest()
			));
		}
	}

	/// Alice's watch, then time passes: she registers every secret she knows whose lock would
	/// expire before the next look, the hook settles the channel after its deadline, and every
	/// settled lock whose outcome is decided is unlocked.
	fn advance(&mut self, blocks: BlockNumber) {
		let target = System::block_number() + blocks;
		let pending = match &self.settled {
			Some((locks, unlocked)) => locks
				.iter()
				.zip(unlocked)
				.filter(|(_, done)| !**done)
				.map(|(pending, _)| pending.clone())
				.collect(),
			None => self.locks.clone(),
		};
		for lock in pending.iter().filter(|p| p.known && p.lock.expires_at <= target) {
			if !Secrets::<Test>::contains_key(lock.lock.secret_hash) {
				assert!(System::block_number() <= lock.lock.expires_at, "registered in time");
				assert_ok!(PaymentChannels::register_secret(Who::Alice.origin(), lock.secret));
			}
		}
		run_to_block(target);
		if self.settled.is_none()
			&& self.deadline.is_some()
			&& !Channels::<Test>::contains_key(self.id)
		{
			let count = self.locks.len();
			self.settled = Some((self.locks.clone(), vec![false; count]));
		}
		self.unlock_decided();
	}

	fn unlock_decided(&mut self) {
		let id = self.id;
		let Some((locks, unlocked)) = &mut self.settled else { return };
		let all = Self::lock_list(locks);
		for (index, pending) in locks.iter().enumerate() {
			if unlocked[index] || !PendingLocks::<Test>::contains_key(id, Who::Dave.account()) {
				continue;
			}
			let claimed = Secrets::<Test>::get(pending.lock.secret_hash)
				.is_some_and(|block| block <= pending.lock.expires_at);
			if !claimed && System::block_number() <= pending.lock.expires_at {
				continue;
			}
			assert_ok!(PaymentChannels::unlock(
				Who::Eve.origin(),
				id,
				Who::Dave.account(),
				vec![(pending.lock.clone(), lock_proof(&all, index).unwrap())].try_into().unwrap(),
			));
			unlocked[index] = true;
		}
	}

	/// Closes the channel if it is still open and runs time until every lock is resolved.
	fn finish(&mut self) {
		if self.is_open() {
			self.closed(close(Who::Alice, self.id, None));
		}
		// Past the deadline and every lock's expiry, in steps Alice's watch can follow.
		while self.settled.is_none()
			|| PendingLocks::<Test>::contains_key(self.id, Who::Dave.account())
		{
			self.advance(10);
		}
	}

	fn check_final(&self) {
		let (locks, _) = self.settled.as_ref().expect("settled");
		let known: Balance =
			locks.iter().filter(|pending| pending.known).map(|pending| pending.lock.amount).sum();
		let entitled = ALICE_DEPOSIT + self.transferred + known - self.alice_sent;
		assert!(
			Who::Alice.free() >= ENDOWMENT - ALICE_DEPOSIT + entitled,
			"Alice gets at least her newest state with every lock she could claim"
		);
		assert_eq!((held_funds(Who::Alice), held_funds(Who::Dave)), (0, 0), "nothing left held");
		assert_eq!(Who::Alice.free() + Who::Dave.free(), 2 * ENDOWMENT, "nothing created or lost");
	}
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

	#[test]
	fn an_adversary_paying_with_locks_cannot_take_back_what_the_receiver_could_claim(
		ops in prop::collection::vec(lock_op(), 1..40)
	) {
		build_and_execute(|| {
			let issuance = total_issuance();
			let mut model = LockModel::new();
			for op in ops {
				model.apply(op);
				PaymentChannels::do_try_state().expect("the pallet's invariants hold");
				assert_eq!(total_issuance(), issuance);
			}
			model.finish();
			PaymentChannels::do_try_state().expect("the pallet's invariants hold");
			model.check_final();
		});
	}
}
