//! Conditional payments on chain (docs/protocol.md §10): the secret registry, locked balance
//! proofs submitted by their beneficiary, holding the pending locks back at settlement, and
//! unlocking them one by one.
//!
//! Why locked proofs are ordered by nonce and only their beneficiary submits them: a plain
//! proof is taken only if it raises its signer's `transferred`, so anyone may submit one and
//! its signer gains nothing by it. A locked proof cannot be ordered that way: its signer could
//! sign a higher total with the receiver's claimable locks swapped for locks nobody can claim.
//! Only the receiver knows which of its counterparty's proofs is newest, so only the receiver
//! submits locked proofs, the highest nonce wins, and a plain proof (from anyone) no longer
//! replaces a side whose recorded proof has locks pending.

use crate::{pallet::*, types::*};
use frame_support::{
	ensure,
	traits::{
		fungible::{Inspect, MutateHold},
		tokens::{DepositConsequence, Fortitude, Precision, Provenance, Restriction},
	},
	BoundedVec,
};
use paychan_primitives::{
	locks::{self, LockProof},
	ChannelId,
};
use sp_runtime::{
	traits::{ConstU32, Saturating, Zero},
	DispatchError, DispatchResult,
};

/// The most locks one `unlock` call takes: all of one proof's.
pub type MaxUnlocks = ConstU32<{ locks::MAX_LOCKS }>;

/// Where an unlocked lock's amount goes.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Outcome {
	/// The secret was registered no later than the lock's expiry.
	Claimed,
	/// The lock expired without its secret being registered in time.
	Expired,
}

impl<T: Config> Pallet<T> {
	/// The body of [`Pallet::register_secret`]: records the block a secret was first revealed in.
	pub(crate) fn do_register_secret(who: T::AccountId, secret: [u8; 32]) -> DispatchResult {
		let secret_hash = locks::secret_hash(&secret);
		ensure!(!Secrets::<T>::contains_key(secret_hash), Error::<T>::SecretAlreadyRegistered);
		let block = frame_system::Pallet::<T>::block_number();
		Secrets::<T>::insert(secret_hash, block);
		Self::deposit_event(Event::SecretRegistered { secret_hash, secret, block, who });
		Ok(())
	}

	/// The body of [`Pallet::update_locked_proof`], for a signed `submitter`, which must be the
	/// beneficiary of the proof: the participant that did not sign it.
	pub(crate) fn do_update_locked_proof(
		submitter: T::AccountId,
		channel_id: ChannelId,
		proof: SignedLockedBalanceProofOf<T>,
	) -> DispatchResult {
		let mut channel = Self::channel(channel_id)?;
		let ChannelStatus::Closing { deadline, .. } = channel.status else {
			return Err(Error::<T>::ChannelNotClosing.into());
		};
		ensure!(
			frame_system::Pallet::<T>::block_number() <= deadline,
			Error::<T>::ChallengePeriodOver
		);
		let payload = &proof.payload;
		ensure!(payload.genesis_hash == Self::genesis_hash(), Error::<T>::WrongGenesis);
		ensure!(payload.channel_id == channel_id, Error::<T>::WrongChannel);
		let side = channel.side_of(&proof.signer).ok_or(Error::<T>::WrongSigner)?;
		ensure!(channel.participant(side.other()) == &submitter, Error::<T>::NotBeneficiary);
		ensure!(payload.nonce > channel.books(side).locked_nonce, Error::<T>::StaleBalanceProof);
		ensure!(
			Self::signature_is_valid(payload, &proof.signer, &proof.signature),
			Error::<T>::InvalidSignature
		);
		let recorded = channel.books_mut(side);
		recorded.nonce = payload.nonce;
		recorded.locked_nonce = payload.nonce;
		recorded.transferred = payload.transferred;
		recorded.locked = payload.locked;
		recorded.locks_root = payload.locks_root;
		channel.bump_version();
		Channels::<T>::insert(channel_id, channel);
		Self::deposit_event(Event::LockedBalanceProofSubmitted {
			channel_id,
			signer: proof.signer,
			nonce: payload.nonce,
			transferred: payload.transferred,
			locked: payload.locked,
			locks_root: payload.locks_root,
		});
		Ok(())
	}

	/// Records what a settling channel holds back for each side's locks as a [`PendingLockSet`]
	/// of that sender, for `unlock`. The amounts themselves stay on hold in the senders'
	/// accounts: [`Pallet::pay_out`] leaves them there, in the same pass as the payouts.
	pub(crate) fn note_held_locks(
		channel_id: ChannelId,
		channel: &ChannelOf<T>,
		held: [BalanceOf<T>; 2],
	) {
		let settled_at = frame_system::Pallet::<T>::block_number();
		for sender in Side::BOTH {
			let amount = held[sender.index()];
			if amount.is_zero() {
				continue;
			}
			let receiver = channel.participant(sender.other());
			let locks_root = channel.books(sender).locks_root;
			PendingLocks::<T>::insert(
				channel_id,
				channel.participant(sender),
				PendingLockSet {
					receiver: receiver.clone(),
					locks_root,
					held: amount,
					resolved: 0,
					settled_at,
				},
			);
			Self::deposit_event(Event::LocksHeld {
				channel_id,
				sender: channel.participant(sender).clone(),
				receiver: receiver.clone(),
				amount,
				locks_root,
			});
		}
	}

	/// The body of [`Pallet::unlock`]: pays each lock of `sender`'s pending set in a settled
	/// channel to whom its condition names, all of them or none.
	pub(crate) fn do_unlock(
		channel_id: ChannelId,
		sender: T::AccountId,
		unlocks: BoundedVec<(LockOf<T>, LockProof), MaxUnlocks>,
	) -> DispatchResult {
		ensure!(!unlocks.is_empty(), Error::<T>::EmptyUnlock);
		let mut set =
			PendingLocks::<T>::get(channel_id, &sender).ok_or(Error::<T>::NoPendingLocks)?;
		let now = frame_system::Pallet::<T>::block_number();
		let mut count = 0u32;
		for (lock, proof) in &unlocks {
			ensure!(locks::verify_lock(&set.locks_root, lock, proof), Error::<T>::InvalidLockProof);
			count = proof.count;
			let bit = 1u64 << proof.index;
			ensure!(set.resolved & bit == 0, Error::<T>::LockAlreadyUnlocked);
			let outcome = match Secrets::<T>::get(lock.secret_hash) {
				Some(registered) if registered <= lock.expires_at => Outcome::Claimed,
				_ if now > lock.expires_at => Outcome::Expired,
				// The secret may still be registered in time: nothing is decided yet.
				_ => return Err(Error::<T>::LockNotDecided.into()),
			};
			set.resolved |= bit;
			// Only a lock its sender could not cover finds less held than it names.
			let amount = lock.amount.min(set.held);
			set.held.saturating_reduce(amount);
			let to = Self::pay_lock(&sender, &set.receiver, amount, outcome)?;
			Self::deposit_event(Event::LockUnlocked {
				channel_id,
				sender: sender.clone(),
				secret_hash: lock.secret_hash,
				amount,
				to,
			});
		}
		if set.held.is_zero() || set.resolved.count_ones() >= count {
			// Whatever a set of locks that are all resolved still holds (only a sender's
			// overstated `locked`) goes back to it.
			if !set.held.is_zero() {
				Self::pay_lock(&sender, &set.receiver, set.held, Outcome::Expired)?;
			}
			PendingLocks::<T>::remove(channel_id, &sender);
			Self::deposit_event(Event::LocksResolved { channel_id, sender, returned: set.held });
		} else {
			PendingLocks::<T>::insert(channel_id, &sender, set);
		}
		Ok(())
	}

	/// Pays `amount` held in `sender`'s account for a lock: to `receiver` if claimed, back to
	/// `sender` if expired. A claim below what a non-existent receiver account can take stays
	/// with the sender, as settlement dust does. Returns who was paid.
	fn pay_lock(
		sender: &T::AccountId,
		receiver: &T::AccountId,
		amount: BalanceOf<T>,
		outcome: Outcome,
	) -> Result<T::AccountId, DispatchError> {
		if amount.is_zero() {
			return Ok(if outcome == Outcome::Claimed { receiver } else { sender }.clone());
		}
		let reason = HoldReason::ChannelFunds.into();
		let receivable = T::Currency::can_deposit(receiver, amount, Provenance::Extant)
			== DepositConsequence::Success;
		if outcome == Outcome::Claimed && receivable {
			T::Currency::transfer_on_hold(
				&reason,
				sender,
				receiver,
				amount,
				Precision::Exact,
				Restriction::Free,
				// The pallet owns these funds: another hold or freeze on the sender's account
				// must not keep them from the receiver.
				Fortitude::Force,
			)?;
			Ok(receiver.clone())
		} else {
			T::Currency::release(&reason, sender, amount, Precision::Exact)?;
			Ok(sender.clone())
		}
	}
}
