//! Hash-time locks on chain, from the client (issue #19; docs/protocol.md §10.6): registering a
//! secret, submitting a counterparty's locked balance proof during a close, reading what the
//! chain holds back, and unlocking after settlement. One typed method per extrinsic, as in
//! `calls.rs`; the daemon's forwarding and watch use these, and `client/tests/locks.rs` runs
//! each against a dev node.

use anyhow::{anyhow, Result};
use paychan_primitives::{
	locks::{lock_proof, locks_root, secret_hash, LockProof},
	ChannelId,
};
use serde::Serialize;
use subxt::utils::AccountId32;

use crate::{
	amount::as_string,
	calls::refuse,
	chain::{payloads, runtime, runtime_twin, sr25519, Chain, ChainRefused, RuntimeTwin},
	htlc::{HtlcLock, LockedState},
	session::Party,
};

/// A secret on chain: the block it was first registered in, and whether this call did it.
#[derive(Clone, Debug, Serialize)]
pub struct SecretRegistered {
	pub secret_hash: [u8; 32],
	pub block: u32,
	/// `false` when someone registered it first (the registration that counts is the first).
	pub by_this_call: bool,
	#[serde(serialize_with = "as_string")]
	pub fee: u128,
}

/// What a settled channel still holds for one sender's locks (the pallet's `PendingLockSet`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PendingLocks {
	pub receiver: [u8; 32],
	pub locks_root: [u8; 32],
	#[serde(serialize_with = "as_string")]
	pub held: u128,
	/// Bit `i` is set once the lock at index `i` was unlocked.
	pub resolved: u64,
	pub settled_at: u32,
}

/// What an `unlock` call paid, lock by lock, and its fee.
#[derive(Clone, Debug, Serialize)]
pub struct UnlockedAll {
	pub unlocked: Vec<Unlocked>,
	#[serde(serialize_with = "as_string")]
	pub fee: u128,
}

/// Where an unlocked lock's amount went.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Unlocked {
	pub secret_hash: [u8; 32],
	#[serde(serialize_with = "as_string")]
	pub amount: u128,
	pub to: [u8; 32],
}

impl RuntimeTwin for paychan_primitives::LockedBalanceProof<[u8; 32], u128> {
	type Twin = payloads::LockedBalanceProof<subxt::utils::H256, u128>;
	fn runtime_twin(&self) -> Self::Twin {
		payloads::LockedBalanceProof {
			genesis_hash: subxt::utils::H256(self.genesis_hash),
			channel_id: self.channel_id,
			nonce: self.nonce,
			transferred: self.transferred,
			locked: self.locked,
			locks_root: self.locks_root,
		}
	}
}

impl RuntimeTwin for HtlcLock {
	type Twin = payloads::locks::Lock<u128, u32>;
	fn runtime_twin(&self) -> Self::Twin {
		payloads::locks::Lock {
			amount: self.amount,
			expires_at: self.expires_at,
			secret_hash: self.secret_hash,
		}
	}
}

impl RuntimeTwin for LockProof {
	type Twin = payloads::locks::LockProof;
	fn runtime_twin(&self) -> Self::Twin {
		payloads::locks::LockProof {
			index: self.index,
			count: self.count,
			siblings: self.siblings.clone(),
		}
	}
}

impl Chain {
	/// The block `secret_hash`'s secret was first registered in, if it was.
	pub async fn secret_registered_at(&self, secret_hash: [u8; 32]) -> Result<Option<u32>> {
		let at = self.api.at_current_block().await?;
		let entry = at.storage().entry(runtime::storage().payment_channels().secrets())?;
		match entry.try_fetch((secret_hash,)).await? {
			Some(block) => Ok(Some(block.decode()?)),
			None => Ok(None),
		}
	}

	/// The block `secret_hash`'s secret was first registered in and the secret, read from that
	/// block's `SecretRegistered` event, if it was registered.
	pub async fn registered_secret(
		&self,
		secret_hash: [u8; 32],
	) -> Result<Option<(u32, [u8; 32])>> {
		let Some(block) = self.secret_registered_at(secret_hash).await? else { return Ok(None) };
		let at = self.api.at_block(block).await?;
		for event in at.events().fetch().await?.iter() {
			let Some(registered) =
				event?.decode_fields_as::<runtime::payment_channels::events::SecretRegistered>()
			else {
				continue;
			};
			let registered = registered?;
			if registered.secret_hash == secret_hash {
				return Ok(Some((block, registered.secret)));
			}
		}
		Err(anyhow!(
			"the registry has the secret of 0x{} at block {block}, but that block has no \
			 SecretRegistered event for it",
			crate::keys::hex(&secret_hash)
		))
	}

	/// What settled channel `channel_id` still holds for `sender`'s locks, if anything.
	pub async fn pending_locks(
		&self,
		channel_id: ChannelId,
		sender: [u8; 32],
	) -> Result<Option<PendingLocks>> {
		let at = self.api.at_current_block().await?;
		let entry = at.storage().entry(runtime::storage().payment_channels().pending_locks())?;
		let Some(set) = entry.try_fetch((channel_id, AccountId32(sender))).await? else {
			return Ok(None);
		};
		let set = set.decode()?;
		Ok(Some(PendingLocks {
			receiver: set.receiver.0,
			locks_root: set.locks_root,
			held: set.held,
			resolved: set.resolved,
			settled_at: set.settled_at,
		}))
	}
}

impl Party {
	/// Registers `secret` on chain, so that every lock under its hash that expires at this
	/// block or later pays its receiver. Someone else registering it first is no failure: the
	/// first registration is the one that counts, and its block is returned.
	pub async fn register_secret(&self, secret: [u8; 32]) -> Result<SecretRegistered> {
		let hash = secret_hash(&secret);
		if let Some(block) = self.chain.secret_registered_at(hash).await? {
			return Ok(SecretRegistered { secret_hash: hash, block, by_this_call: false, fee: 0 });
		}
		let call = runtime::tx().payment_channels().register_secret(secret);
		match self.chain.submit("register secret", &call, &self.keys).await {
			Ok(receipt) => {
				let event =
					receipt.event::<runtime::payment_channels::events::SecretRegistered>()?;
				Ok(SecretRegistered {
					secret_hash: hash,
					block: event.block,
					by_this_call: true,
					fee: receipt.fee,
				})
			}
			// Registered by someone else between the read and the inclusion.
			Err(error) if error.downcast_ref::<ChainRefused>().is_some() => {
				match self.chain.secret_registered_at(hash).await? {
					Some(block) => Ok(SecretRegistered {
						secret_hash: hash,
						block,
						by_this_call: false,
						fee: 0,
					}),
					None => Err(error),
				}
			}
			Err(error) => Err(error),
		}
	}

	/// Submits `signer`'s locked balance proof over `state` (with `signature`) in closing
	/// channel `channel_id`; only its beneficiary, this party, may. Returns the fee paid.
	pub async fn submit_locked_proof(
		&self,
		channel_id: ChannelId,
		signer: [u8; 32],
		state: &LockedState,
		signature: [u8; 64],
	) -> Result<u128> {
		// What the chain would refuse, refused before any fee is paid.
		let view = self.chain.existing_channel(channel_id).await?;
		let Some((_, deadline)) = view.closing else {
			return Err(refuse(format!(
				"channel {channel_id} is not closing: a locked proof counts only during a close"
			)));
		};
		let now = self.chain.block_number().await?;
		if now > deadline {
			return Err(refuse(format!(
				"channel {channel_id}'s challenge period ended at block {deadline}"
			)));
		}
		let Some(side) = view.side_of(&signer) else {
			return Err(refuse(format!("the signer is not a participant of channel {channel_id}")));
		};
		if view.participants[1 - side] != self.keys.public() {
			return Err(refuse(format!(
				"only the signer's counterparty in channel {channel_id} may submit its locked \
				 proof: it counts in that party's favour alone"
			)));
		}
		let payload = state.payload(self.chain.genesis_hash, channel_id);
		let proof = payloads::Signed {
			payload: runtime_twin(&payload),
			signer: AccountId32(signer),
			signature: sr25519(signature),
		};
		let call = runtime::tx().payment_channels().update_locked_proof(channel_id, proof);
		Ok(self.chain.submit("submit locked proof", &call, &self.keys).await?.fee)
	}

	/// Unlocks the locks at `indices` of `locks`, the locks `sender`'s recorded proof committed
	/// to in settled channel `channel_id` (all of them, in their order: the proofs of
	/// inclusion are built from the whole list). Each pays its receiver if its secret was
	/// registered by its expiry, else goes back to `sender`. Anyone may call it; a lock that is
	/// not decided yet or was unlocked already is refused before any fee is paid.
	pub async fn unlock(
		&self,
		channel_id: ChannelId,
		sender: [u8; 32],
		locks: &[HtlcLock],
		indices: &[usize],
	) -> Result<UnlockedAll> {
		let Some(set) = self.chain.pending_locks(channel_id, sender).await? else {
			return Err(refuse(format!(
				"channel {channel_id} holds nothing for locks of {}: it is not settled, its \
				 proof had no locks, or every lock is unlocked already",
				AccountId32(sender)
			)));
		};
		if locks_root(locks) != Some(set.locks_root) {
			return Err(refuse(format!(
				"these {} locks are not the ones the recorded proof committed to",
				locks.len()
			)));
		}
		let now = self.chain.block_number().await?;
		let mut unlocks = Vec::with_capacity(indices.len());
		for &index in indices {
			let lock = locks.get(index).ok_or_else(|| {
				refuse(format!("lock {index} is not one of the {} locks given", locks.len()))
			})?;
			if index < 64 && set.resolved & (1 << index) != 0 {
				return Err(refuse(format!("lock {index} was unlocked already")));
			}
			let registered = self.chain.secret_registered_at(lock.secret_hash).await?;
			let claimed = registered.is_some_and(|block| block <= lock.expires_at);
			if !claimed && now <= lock.expires_at {
				return Err(refuse(format!(
					"lock {index} is not decided yet: its secret is not registered and it expires \
					 at block {} (now {now})",
					lock.expires_at
				)));
			}
			let proof = lock_proof(locks, index)
				.ok_or_else(|| anyhow!("no proof of inclusion for lock {index}"))?;
			unlocks.push((lock.runtime_twin(), proof.runtime_twin()));
		}
		let call = runtime::tx().payment_channels().unlock(
			channel_id,
			subxt::utils::MultiAddress::Id(AccountId32(sender)),
			runtime::runtime_types::bounded_collections::bounded_vec::BoundedVec(unlocks),
		);
		let receipt = self.chain.submit("unlock", &call, &self.keys).await?;
		let unlocked = receipt
			.events
			.find::<runtime::payment_channels::events::LockUnlocked>()
			.filter_map(|event| event.ok())
			.map(|event| Unlocked {
				secret_hash: event.secret_hash,
				amount: event.amount,
				to: event.to.0,
			})
			.collect();
		Ok(UnlockedAll { unlocked, fee: receipt.fee })
	}
}
