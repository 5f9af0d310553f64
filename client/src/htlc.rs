//! Hash-time-locked transfers in a channel, off chain: the sender's state of pending locks and
//! the receiver's check of each new state (docs/protocol.md §10.4). Free of I/O, so every rule
//! is unit-tested; the chain's side (the secret registry and unlocking after a close) and the
//! routing that uses these come with the rest of issue #19.

use anyhow::{bail, ensure, Result};
use paychan_primitives::{
	locks::{locks_root, secret_hash, Lock, MAX_LOCKS},
	ChannelId, LockedBalanceProof, Nonce, SignedPayload,
};

use crate::{keys::Keys, wire::ProofState};

/// A lock as the client keeps it: amounts in planck, expiry a block number.
pub type HtlcLock = Lock<u128, u32>;

/// One signer's state in a channel: its proofs' nonce, what it paid unconditionally, and its
/// pending locks in the order they were added.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LockedState {
	pub nonce: Nonce,
	pub transferred: u128,
	pub locks: Vec<HtlcLock>,
}

/// What a new state did to the one before it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Transition {
	/// `amount` paid unconditionally.
	Pay { amount: u128 },
	/// A lock was added.
	Lock(HtlcLock),
	/// A lock was paid: its secret was revealed.
	Claim(HtlcLock),
	/// An expired lock was dropped.
	Expire(HtlcLock),
}

impl LockedState {
	/// The state a proof signs (a plain proof: no locks).
	pub fn of(proof: &ProofState) -> LockedState {
		LockedState {
			nonce: proof.nonce,
			transferred: proof.transferred,
			locks: proof.pending_locks().to_vec(),
		}
	}

	/// This state signed by `keys` as a locked balance proof of `channel_id`.
	pub fn signed(&self, keys: &Keys, genesis_hash: [u8; 32], channel_id: ChannelId) -> ProofState {
		let signature = keys.sign(&self.payload(genesis_hash, channel_id).signing_message());
		ProofState {
			nonce: self.nonce,
			transferred: self.transferred,
			signature,
			locks: Some(self.locks.clone()),
		}
	}

	/// The sum of the pending locks.
	pub fn locked(&self) -> u128 {
		self.locks.iter().map(|lock| lock.amount).sum()
	}

	/// The payload the signer signs for this state.
	pub fn payload(
		&self,
		genesis_hash: [u8; 32],
		channel_id: ChannelId,
	) -> LockedBalanceProof<[u8; 32], u128> {
		locked_payload(genesis_hash, channel_id, self.nonce, self.transferred, &self.locks)
	}

	/// The sender's next state with `lock` added.
	pub fn with_lock(&self, lock: HtlcLock) -> Result<LockedState> {
		ensure!(lock.amount > 0, "a lock of nothing");
		ensure!(self.locks.len() < MAX_LOCKS as usize, "{MAX_LOCKS} locks are pending already");
		ensure!(
			!self.locks.iter().any(|held| held.secret_hash == lock.secret_hash),
			"a lock with this secret hash is pending already"
		);
		let mut next = self.clone();
		next.nonce += 1;
		next.locks.push(lock);
		Ok(next)
	}

	/// The sender's next state once it learned `secret`: the lock it opens is paid.
	pub fn with_claim(&self, secret: &[u8; 32]) -> Result<LockedState> {
		self.with_claim_of(&secret_hash(secret))
			.map_err(|_| anyhow::anyhow!("no pending lock is opened by this secret"))
	}

	/// The sender's next state with the lock of `secret_hash` paid: its secret was registered
	/// on chain by its expiry (so the chain would pay it whatever this party signs).
	pub fn with_claim_of(&self, secret_hash: &[u8; 32]) -> Result<LockedState> {
		let Some(index) = self.locks.iter().position(|lock| lock.secret_hash == *secret_hash)
		else {
			bail!("no pending lock has this secret hash");
		};
		let mut next = self.clone();
		let lock = next.locks.remove(index);
		next.nonce += 1;
		next.transferred += lock.amount;
		Ok(next)
	}

	/// The sender's next state without the lock of `secret_hash`, which expired before `now`.
	pub fn with_expired(&self, secret_hash: &[u8; 32], now: u32) -> Result<LockedState> {
		let Some(index) = self.locks.iter().position(|lock| lock.secret_hash == *secret_hash)
		else {
			bail!("no pending lock has this secret hash");
		};
		ensure!(
			now > self.locks[index].expires_at,
			"the lock expires at block {}",
			self.locks[index].expires_at
		);
		let mut next = self.clone();
		next.locks.remove(index);
		next.nonce += 1;
		Ok(next)
	}
}

/// The locked balance proof over `locks` (§10.3): `locked` their sum, `locks_root` their root.
/// The one place a client builds it, for a sender's state and a proof on the wire alike.
pub fn locked_payload(
	genesis_hash: [u8; 32],
	channel_id: ChannelId,
	nonce: Nonce,
	transferred: u128,
	locks: &[HtlcLock],
) -> LockedBalanceProof<[u8; 32], u128> {
	LockedBalanceProof {
		genesis_hash,
		channel_id,
		nonce,
		transferred,
		locked: locks.iter().map(|lock| lock.amount).sum(),
		locks_root: locks_root(locks).expect("a proof never holds more than MAX_LOCKS locks"),
	}
}

/// The receiver's check of a proof `offered` by the sender after `held` (the newest it holds,
/// if any), as [`check_transition`] does, for proofs as they travel: a plain proof after a plain
/// one is no transition (the plain rules apply, not these), and a plain proof after a locked one
/// is refused, since the chain would not take it while locks are recorded (§10.6). Signatures
/// are the caller's to verify.
pub fn check_proof_transition(
	held: Option<&ProofState>,
	offered: &ProofState,
	now: u32,
	reveal_margin: u32,
) -> Result<Option<Transition>> {
	let held_locked = held.is_some_and(|proof| proof.locks.is_some());
	if offered.locks.is_none() {
		ensure!(!held_locked, "after a locked proof every proof must be locked");
		return Ok(None);
	}
	let held = held.map(LockedState::of).unwrap_or_default();
	let offered_state = LockedState::of(offered);
	// The payload is built from the offered locks, so it commits to them by construction.
	let proof = offered_state.payload([0; 32], 0);
	check_transition(&held, &offered_state, &proof, now, reveal_margin).map(Some)
}

/// The receiver's check of the sender's `offered` state (with the proof it signed) against the
/// newest it holds, at block `now`; `reveal_margin` is how many blocks before a lock's expiry
/// the receiver needs to register its secret on chain. What the change was, or why it is
/// refused; only one change per state. Whether the sender's side covers `transferred + locked`
/// is the ledger's check, as for any payment.
pub fn check_transition(
	held: &LockedState,
	offered: &LockedState,
	proof: &LockedBalanceProof<[u8; 32], u128>,
	now: u32,
	reveal_margin: u32,
) -> Result<Transition> {
	ensure!(
		offered.nonce > held.nonce,
		"nonces must increase (held {}, offered {})",
		held.nonce,
		offered.nonce
	);
	ensure!(offered.locks.len() <= MAX_LOCKS as usize, "more than {MAX_LOCKS} locks");
	ensure!(
		proof.nonce == offered.nonce
			&& proof.transferred == offered.transferred
			&& proof.locked == offered.locked()
			&& Some(proof.locks_root) == locks_root(&offered.locks),
		"the signed proof does not commit to the locks offered"
	);
	ensure!(offered.transferred >= held.transferred, "the paid total must not fall");
	let paid = offered.transferred - held.transferred;
	let (before, after) = (&held.locks, &offered.locks);
	if after.len() == before.len() {
		ensure!(after == before, "pending locks cannot change");
		ensure!(paid > 0, "a new state must change something");
		return Ok(Transition::Pay { amount: paid });
	}
	if after.len() == before.len() + 1 {
		ensure!(after[..before.len()] == before[..], "pending locks cannot change");
		let lock = after.last().expect("one more than before").clone();
		ensure!(paid == 0, "a lock and a payment are two states");
		ensure!(lock.amount > 0, "a lock of nothing");
		ensure!(
			!before.iter().any(|held| held.secret_hash == lock.secret_hash),
			"a lock with this secret hash is pending already"
		);
		ensure!(
			lock.expires_at >= now.saturating_add(reveal_margin),
			"the lock expires at block {}, sooner than the {reveal_margin} blocks from block {now} \
			 this party needs to register its secret on chain",
			lock.expires_at
		);
		return Ok(Transition::Lock(lock));
	}
	if after.len() + 1 == before.len() {
		let Some(index) =
			(0..before.len()).find(|&i| before[..i] == after[..i] && before[i + 1..] == after[i..])
		else {
			bail!("pending locks cannot change");
		};
		let lock = before[index].clone();
		if paid == lock.amount {
			return Ok(Transition::Claim(lock));
		}
		ensure!(paid == 0, "a removed lock pays exactly its amount ({}), not {paid}", lock.amount);
		ensure!(
			now > lock.expires_at,
			"the lock of {} expires at block {}: it cannot be dropped unpaid before",
			lock.amount,
			lock.expires_at
		);
		return Ok(Transition::Expire(lock));
	}
	bail!("one change per state: {} locks pending, {} offered", before.len(), after.len())
}

#[cfg(test)]
mod tests {
	use super::*;

	const MARGIN: u32 = 10;

	fn lock(amount: u128, expires_at: u32, secret: u8) -> HtlcLock {
		Lock { amount, expires_at, secret_hash: secret_hash(&[secret; 32]) }
	}

	fn check(held: &LockedState, offered: &LockedState, now: u32) -> Result<Transition> {
		check_transition(held, offered, &offered.payload([7; 32], 1), now, MARGIN)
	}

	fn with_two_locks() -> LockedState {
		let state = LockedState { nonce: 3, transferred: 100, locks: vec![] };
		state.with_lock(lock(10, 50, 1)).unwrap().with_lock(lock(20, 60, 2)).unwrap()
	}

	#[test]
	fn a_sender_locks_claims_and_expires_and_the_receiver_takes_each() {
		let start = LockedState { nonce: 3, transferred: 100, locks: vec![] };
		let locked = start.with_lock(lock(10, 50, 1)).unwrap();
		assert!(
			matches!(check(&start, &locked, 30), Ok(Transition::Lock(l)) if l == lock(10, 50, 1))
		);
		let two = locked.with_lock(lock(20, 60, 2)).unwrap();
		assert_eq!(two.locked(), 30);
		assert_eq!(two.payload([7; 32], 1).locks_root, locks_root(&two.locks).unwrap());
		let claimed = two.with_claim(&[1; 32]).unwrap();
		assert_eq!((claimed.transferred, claimed.locked()), (110, 20));
		assert!(
			matches!(check(&two, &claimed, 40), Ok(Transition::Claim(l)) if l == lock(10, 50, 1))
		);
		let expired = claimed.with_expired(&secret_hash(&[2; 32]), 61).unwrap();
		assert!(
			matches!(check(&claimed, &expired, 61), Ok(Transition::Expire(l)) if l == lock(20, 60, 2))
		);
		let mut paid = expired.clone();
		paid.nonce += 1;
		paid.transferred += 5;
		assert!(matches!(check(&expired, &paid, 61), Ok(Transition::Pay { amount: 5 })));
	}

	#[test]
	fn an_unexpired_lock_cannot_be_dropped_unpaid_or_paid_short() {
		let two = with_two_locks();
		let mut dropped = two.clone();
		dropped.nonce += 1;
		dropped.locks.remove(1);
		let refused = check(&two, &dropped, 60).unwrap_err().to_string();
		assert!(refused.contains("cannot be dropped unpaid before"), "{refused}");
		assert!(
			two.with_expired(&secret_hash(&[2; 32]), 60).is_err(),
			"the sender's side refuses too"
		);
		let mut short = dropped.clone();
		short.transferred += 19;
		let refused = check(&two, &short, 40).unwrap_err().to_string();
		assert!(refused.contains("pays exactly its amount (20), not 19"), "{refused}");
	}

	#[test]
	fn a_lock_too_close_to_expiry_or_a_changed_lock_is_refused() {
		let start = LockedState { nonce: 3, transferred: 100, locks: vec![] };
		let late = start.with_lock(lock(10, 39, 1)).unwrap();
		let refused = check(&start, &late, 30).unwrap_err().to_string();
		assert!(refused.contains("sooner than the 10 blocks"), "{refused}");
		assert!(
			check(&start, &start.with_lock(lock(10, 40, 1)).unwrap(), 30).is_ok(),
			"at the margin"
		);

		let two = with_two_locks();
		let mut shrunk = two.clone();
		shrunk.nonce += 1;
		shrunk.locks[0].amount = 1;
		assert!(check(&two, &shrunk, 30).unwrap_err().to_string().contains("cannot change"));
		let mut sooner = two.clone();
		sooner.nonce += 1;
		sooner.locks[1].expires_at = 31;
		assert!(check(&two, &sooner, 30).unwrap_err().to_string().contains("cannot change"));
		let mut twice = two.clone();
		twice.nonce += 1;
		twice.locks.push(two.locks[0].clone());
		assert!(check(&two, &twice, 30).unwrap_err().to_string().contains("pending already"));
		assert!(two.with_lock(two.locks[0].clone()).is_err());
	}

	#[test]
	fn a_proof_that_does_not_commit_to_the_offered_locks_or_replays_a_nonce_is_refused() {
		let two = with_two_locks();
		let claimed = two.with_claim(&[1; 32]).unwrap();
		// The sender names the claim but signs a proof that still locks the amount.
		let mut proof = claimed.payload([7; 32], 1);
		proof.locked += 10;
		let refused = check_transition(&two, &claimed, &proof, 40, MARGIN).unwrap_err();
		assert_eq!(refused.to_string(), "the signed proof does not commit to the locks offered");
		let mut proof = claimed.payload([7; 32], 1);
		proof.locks_root = two.payload([7; 32], 1).locks_root;
		assert!(check_transition(&two, &claimed, &proof, 40, MARGIN).is_err(), "another root");
		let mut replay = claimed.clone();
		replay.nonce = two.nonce;
		assert!(check(&two, &replay, 40)
			.unwrap_err()
			.to_string()
			.starts_with("nonces must increase"));
	}

	#[test]
	fn one_change_per_state_and_nothing_lower() {
		let two = with_two_locks();
		let mut both = two.with_claim(&[1; 32]).unwrap();
		both.locks.clear();
		both.transferred += 20;
		assert!(check(&two, &both, 70)
			.unwrap_err()
			.to_string()
			.starts_with("one change per state"));
		let mut lower = two.clone();
		lower.nonce += 1;
		lower.transferred -= 1;
		assert_eq!(
			check(&two, &lower, 30).unwrap_err().to_string(),
			"the paid total must not fall"
		);
		let mut same = two.clone();
		same.nonce += 1;
		assert_eq!(
			check(&two, &same, 30).unwrap_err().to_string(),
			"a new state must change something"
		);
		let mut lock_and_pay = two.with_lock(lock(5, 90, 3)).unwrap();
		lock_and_pay.transferred += 1;
		assert_eq!(
			check(&two, &lock_and_pay, 30).unwrap_err().to_string(),
			"a lock and a payment are two states"
		);
		assert!(two.with_claim(&[9; 32]).is_err(), "no lock opens with another secret");
	}
}
