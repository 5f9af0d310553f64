//! Storage migrations of the pallet. Wire [`MigrateV0ToV1`] and then [`MigrateV1ToV2`] into the
//! runtime's `Migrations`: each runs only at its own storage version.

use crate::{features::spill_queue, pallet::*, types::*};
use codec::{Decode, Encode};
use frame_support::{
	migrations::VersionedMigration,
	traits::{Get, UncheckedOnRuntimeUpgrade},
	weights::Weight,
	BoundedVec,
};
use frame_system::pallet_prelude::BlockNumberFor;
use sp_runtime::traits::{One, Saturating, Zero};

/// The stored types as storage version 0 wrote them.
pub mod v0 {
	use super::*;
	use paychan_primitives::RequestEntry;

	/// A channel's status before it recorded its settlement-queue block.
	#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
	pub enum ChannelStatus<AccountId, BlockNumber> {
		/// Open.
		Open,
		/// Closing after a unilateral close.
		Closing {
			/// Who closed.
			closer: AccountId,
			/// The last block of the challenge period.
			deadline: BlockNumber,
		},
	}

	/// A channel before it had a state version and knew whether its counterparty consented.
	#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
	pub struct Channel<AccountId, Balance, BlockNumber> {
		/// Opener and counterparty.
		pub participants: [AccountId; 2],
		/// Their totals.
		pub sides: [super::v1::SideBooks<Balance>; 2],
		/// The challenge period.
		pub challenge_period: BlockNumber,
		/// The status.
		pub status: ChannelStatus<AccountId, BlockNumber>,
		/// The block of the open.
		pub opened_at: BlockNumber,
		/// The opener's record deposit.
		pub storage_deposit: Balance,
	}

	/// A rebalance request before it remembered its declared receive total.
	#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
	pub struct RebalanceRequest<Balance, BlockNumber, MaxEntries: Get<u32>> {
		/// The entries, as plans left them.
		pub entries: BoundedVec<RequestEntry<Balance>, MaxEntries>,
		/// The max fee.
		pub max_fee: Balance,
		/// The fees paid.
		pub fee_paid: Balance,
		/// The expiry.
		pub expires_at: BlockNumber,
		/// The deposit.
		pub deposit: Balance,
	}

	/// A version-0 channel of this runtime.
	pub type ChannelOf<T> =
		Channel<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
	/// A version-0 request of this runtime.
	pub type RebalanceRequestOf<T> =
		RebalanceRequest<BalanceOf<T>, BlockNumberFor<T>, <T as Config>::MaxRequestEntries>;

	/// `Channels` as version 0 stored it.
	#[frame_support::storage_alias]
	pub type Channels<T: Config> = StorageMap<
		Pallet<T>,
		frame_support::Twox64Concat,
		paychan_primitives::ChannelId,
		ChannelOf<T>,
	>;

	/// `RebalanceRequests` as version 0 stored it (its counter is unchanged).
	#[frame_support::storage_alias]
	pub type RebalanceRequests<T: Config> = StorageMap<
		Pallet<T>,
		frame_support::Blake2_128Concat,
		<T as frame_system::Config>::AccountId,
		RebalanceRequestOf<T>,
	>;
}

/// The stored types as storage version 1 wrote them: sides without locks.
pub mod v1 {
	use super::*;

	/// One participant's totals before balance proofs carried locks.
	#[derive(Clone, Default, PartialEq, Eq, Encode, Decode, Debug)]
	pub struct SideBooks<Balance> {
		/// Deposited.
		pub deposited: Balance,
		/// Withdrawn.
		pub withdrawn: Balance,
		/// Transferred, by the recorded proof.
		pub transferred: Balance,
		/// The recorded proof's nonce.
		pub nonce: paychan_primitives::Nonce,
		/// Rebalanced in.
		pub rebalanced_in: Balance,
		/// Rebalanced out.
		pub rebalanced_out: Balance,
		/// Held in this participant's account.
		pub custody: Balance,
	}

	impl<Balance: Zero> SideBooks<Balance> {
		/// The same totals with no locks pending, as version 2 stores them.
		pub fn upgrade(self) -> crate::types::SideBooks<Balance> {
			crate::types::SideBooks {
				deposited: self.deposited,
				withdrawn: self.withdrawn,
				transferred: self.transferred,
				nonce: self.nonce,
				rebalanced_in: self.rebalanced_in,
				rebalanced_out: self.rebalanced_out,
				custody: self.custody,
				locked: Zero::zero(),
				locks_root: paychan_primitives::locks::EMPTY_LOCKS_ROOT,
				locked_nonce: 0,
			}
		}
	}

	/// A channel of version 1: as now, with version-1 sides.
	#[derive(Clone, PartialEq, Eq, Encode, Decode, Debug)]
	pub struct Channel<AccountId, Balance, BlockNumber> {
		/// Opener and counterparty.
		pub participants: [AccountId; 2],
		/// Their totals.
		pub sides: [SideBooks<Balance>; 2],
		/// The challenge period.
		pub challenge_period: BlockNumber,
		/// The status.
		pub status: crate::types::ChannelStatus<AccountId, BlockNumber>,
		/// The block of the open.
		pub opened_at: BlockNumber,
		/// The opener's record deposit.
		pub storage_deposit: Balance,
		/// The state version.
		pub version: paychan_primitives::StateVersion,
		/// Whether the counterparty consented.
		pub counterparty_consented: bool,
	}

	/// A version-1 channel of this runtime.
	pub type ChannelOf<T> =
		Channel<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

	/// `Channels` as version 1 stored it.
	#[frame_support::storage_alias]
	pub type Channels<T: Config> = StorageMap<
		Pallet<T>,
		frame_support::Twox64Concat,
		paychan_primitives::ChannelId,
		ChannelOf<T>,
	>;

	/// What each side of version-1 `sides` is paid at settlement (no locks).
	pub fn payouts<Balance: sp_runtime::traits::AtLeast32BitUnsigned + Copy>(
		sides: &[SideBooks<Balance>; 2],
	) -> [Balance; 2] {
		settlement_of(&sides.clone().map(SideBooks::upgrade)).payouts
	}
}

/// Storage version 0 to 1, for the safety fixes:
///
/// - each channel gets a state version (0) for cooperative closes to bind to;
/// - each channel records whether its counterparty consented (`true` for existing channels,
///   which version 0 counted against both participants, so `ChannelCount` stays exact);
/// - each closing channel records the settlement-queue block it waits in (found among the
///   blocks it could have spilled to; queued again after its deadline if the hook had already
///   taken it out);
/// - each rebalance request records its declared receive total (what is left of it, the best
///   that can be known now).
///
/// Signed payloads whose format changed (cooperative closes, funding consents) carry new domain
/// tags, so signatures made for version 0 no longer verify: nothing needs to be migrated for
/// them, and clients sign again.
pub type MigrateV0ToV1<T> = VersionedMigration<
	0,
	1,
	UncheckedMigrateV0ToV1<T>,
	Pallet<T>,
	<T as frame_system::Config>::DbWeight,
>;

/// The body of [`MigrateV0ToV1`], without the version check.
pub struct UncheckedMigrateV0ToV1<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedMigrateV0ToV1<T> {
	/// The settlement-queue block a channel closing with `deadline` waits in: the one it was
	/// queued in, or a free slot after the deadline (and not behind the hook's cursor) if it is
	/// no longer queued.
	fn queued_in(
		channel_id: paychan_primitives::ChannelId,
		deadline: BlockNumberFor<T>,
	) -> BlockNumberFor<T> {
		let first = deadline.saturating_add(One::one());
		if let Some(block) = spill_queue::spill_blocks(first)
			.find(|&block| SettlementQueue::<T>::get(block).contains(&channel_id))
		{
			return block;
		}
		// Not queued: put it back where the hook still looks (at or after the cursor).
		let cursor = SettlementCursor::<T>::get().unwrap_or(first);
		let mut block = first.max(cursor);
		loop {
			if SettlementQueue::<T>::mutate(block, |queue| queue.try_push(channel_id).is_ok()) {
				return block;
			}
			block = block.saturating_add(One::one());
		}
	}
}

impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateV0ToV1<T> {
	fn on_runtime_upgrade() -> Weight {
		let mut reads = 0u64;
		let mut writes = 0u64;
		let mut closing = alloc::vec::Vec::new();
		v1::Channels::<T>::translate::<v0::ChannelOf<T>, _>(|channel_id, old| {
			reads += 1;
			writes += 1;
			let status = match old.status {
				v0::ChannelStatus::Open => ChannelStatus::Open,
				v0::ChannelStatus::Closing { closer, deadline } => {
					closing.push(channel_id);
					// Filled in below, once the map is not being iterated.
					ChannelStatus::Closing { closer, deadline, queued_in: Zero::zero() }
				}
			};
			Some(v1::Channel {
				participants: old.participants,
				sides: old.sides,
				challenge_period: old.challenge_period,
				status,
				opened_at: old.opened_at,
				storage_deposit: old.storage_deposit,
				version: 0,
				counterparty_consented: true,
			})
		});
		for channel_id in closing {
			v1::Channels::<T>::mutate(channel_id, |channel| {
				let Some(channel) = channel else { return };
				if let ChannelStatus::Closing { deadline, queued_in, .. } = &mut channel.status {
					*queued_in = Self::queued_in(channel_id, *deadline);
				}
			});
			reads += 1 + u64::from(spill_queue::SPILL_BLOCKS);
			writes += 2;
		}
		RebalanceRequests::<T>::translate::<v0::RebalanceRequestOf<T>, _>(|_, old| {
			reads += 1;
			writes += 1;
			let declared_receive = old
				.entries
				.iter()
				.fold(BalanceOf::<T>::zero(), |sum, entry| sum.saturating_add(entry.max_receive));
			Some(RebalanceRequest {
				entries: old.entries,
				max_fee: old.max_fee,
				declared_receive,
				fee_paid: old.fee_paid,
				expires_at: old.expires_at,
				deposit: old.deposit,
			})
		});
		T::DbWeight::get().reads_writes(reads, writes)
	}

	#[cfg(feature = "try-runtime")]
	fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, sp_runtime::TryRuntimeError> {
		Ok(PreUpgrade::<T>::take().encode())
	}

	#[cfg(feature = "try-runtime")]
	fn post_upgrade(state: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		let before = PreUpgrade::<T>::decode(&state)
			.map_err(|_| sp_runtime::TryRuntimeError::Other("undecodable pre-upgrade state"))?;
		before.check()
	}
}

/// What the migration must keep, read before it runs and checked after: every channel's
/// participants, payouts and deadline, and every request's entries. Used by
/// `pre_upgrade`/`post_upgrade` and by the migration's test.
pub struct PreUpgrade<T: Config> {
	/// Each channel's id, participants, settlement and deadline (if closing).
	pub channels: alloc::vec::Vec<ChannelSnapshot<T>>,
	/// Each request's declarer and entries.
	pub requests: alloc::vec::Vec<(T::AccountId, alloc::vec::Vec<RequestEntryOf<T>>)>,
}

/// A channel's id, participants, payouts and deadline (if closing).
pub type ChannelSnapshot<T> = (
	paychan_primitives::ChannelId,
	[<T as frame_system::Config>::AccountId; 2],
	[BalanceOf<T>; 2],
	Option<BlockNumberFor<T>>,
);

impl<T: Config> PreUpgrade<T> {
	/// Reads the version-0 state.
	pub fn take() -> Self {
		let channels = v0::Channels::<T>::iter()
			.map(|(channel_id, channel)| {
				let deadline = match channel.status {
					v0::ChannelStatus::Open => None,
					v0::ChannelStatus::Closing { deadline, .. } => Some(deadline),
				};
				let payouts = v1::payouts(&channel.sides);
				(channel_id, channel.participants, payouts, deadline)
			})
			.collect();
		let requests = v0::RebalanceRequests::<T>::iter()
			.map(|(who, request)| (who, request.entries.into_inner()))
			.collect();
		PreUpgrade { channels, requests }
	}

	/// The snapshot's bytes, for `pre_upgrade`.
	pub fn encode(&self) -> alloc::vec::Vec<u8> {
		(&self.channels, &self.requests).encode()
	}

	/// A snapshot from `pre_upgrade`'s bytes.
	pub fn decode(mut bytes: &[u8]) -> Result<Self, codec::Error> {
		let (channels, requests) = Decode::decode(&mut bytes)?;
		Ok(PreUpgrade { channels, requests })
	}

	/// Checks the version-1 state against what was read before.
	pub fn check(&self) -> Result<(), sp_runtime::TryRuntimeError> {
		use frame_support::ensure;
		ensure!(
			v1::Channels::<T>::iter().count() == self.channels.len(),
			"the migration lost or added channels"
		);
		for (channel_id, participants, payouts, deadline) in &self.channels {
			let channel = v1::Channels::<T>::get(channel_id).ok_or("a channel was lost")?;
			ensure!(&channel.participants == participants, "a channel's participants changed");
			ensure!(&v1::payouts(&channel.sides) == payouts, "a channel's payouts changed");
			ensure!(channel.version == 0, "a migrated channel's version is not 0");
			match (&channel.status, deadline) {
				(ChannelStatus::Open, None) => {}
				(ChannelStatus::Closing { deadline: now, queued_in, .. }, Some(before)) => {
					ensure!(now == before, "a closing channel's deadline changed");
					ensure!(
						SettlementQueue::<T>::get(queued_in).contains(channel_id),
						"a closing channel is not in the queue block it names"
					);
				}
				_ => return Err("a channel's status changed".into()),
			}
		}
		ensure!(
			RebalanceRequests::<T>::iter().count() == self.requests.len(),
			"the migration lost or added requests"
		);
		for (who, entries) in &self.requests {
			let request = RebalanceRequests::<T>::get(who).ok_or("a request was lost")?;
			ensure!(
				&request.entries.clone().into_inner() == entries,
				"a request's entries changed"
			);
			let declared = entries
				.iter()
				.fold(BalanceOf::<T>::zero(), |sum, entry| sum.saturating_add(entry.max_receive));
			ensure!(request.declared_receive == declared, "a request's receive total is wrong");
		}
		Ok(())
	}
}

/// Storage version 1 to 2, for conditional payments: each side of each channel gets the
/// fields of a locked balance proof, with no locks pending (`locked` 0, the empty root, locked
/// nonce 0). Every channel pays out as before. The new maps (`Secrets`, `PendingLocks`) start
/// empty. Plain balance proofs keep their tag and layout, so every proof clients hold stays
/// enforceable.
pub type MigrateV1ToV2<T> = VersionedMigration<
	1,
	2,
	UncheckedMigrateV1ToV2<T>,
	Pallet<T>,
	<T as frame_system::Config>::DbWeight,
>;

/// The body of [`MigrateV1ToV2`], without the version check.
pub struct UncheckedMigrateV1ToV2<T>(core::marker::PhantomData<T>);

impl<T: Config> UncheckedOnRuntimeUpgrade for UncheckedMigrateV1ToV2<T> {
	fn on_runtime_upgrade() -> Weight {
		let mut translated = 0u64;
		Channels::<T>::translate::<v1::ChannelOf<T>, _>(|_, old| {
			translated += 1;
			Some(Channel {
				participants: old.participants,
				sides: old.sides.map(v1::SideBooks::upgrade),
				challenge_period: old.challenge_period,
				status: old.status,
				opened_at: old.opened_at,
				storage_deposit: old.storage_deposit,
				version: old.version,
				counterparty_consented: old.counterparty_consented,
			})
		});
		T::DbWeight::get().reads_writes(translated, translated)
	}

	#[cfg(feature = "try-runtime")]
	fn pre_upgrade() -> Result<alloc::vec::Vec<u8>, sp_runtime::TryRuntimeError> {
		Ok(V1Snapshot::<T>::take().encode())
	}

	#[cfg(feature = "try-runtime")]
	fn post_upgrade(state: alloc::vec::Vec<u8>) -> Result<(), sp_runtime::TryRuntimeError> {
		V1Snapshot::<T>::decode(&mut &state[..])
			.map_err(|_| sp_runtime::TryRuntimeError::Other("undecodable pre-upgrade state"))?
			.check()
	}
}

/// Every version-1 channel as it was, read before [`MigrateV1ToV2`] and checked after it.
#[derive(Encode, Decode)]
pub struct V1Snapshot<T: Config>(
	pub alloc::vec::Vec<(paychan_primitives::ChannelId, v1::ChannelOf<T>)>,
);

impl<T: Config> V1Snapshot<T> {
	/// Reads the version-1 channels.
	pub fn take() -> Self {
		V1Snapshot(v1::Channels::<T>::iter().collect())
	}

	/// Checks that every channel came through with the same books, status and payouts, and no
	/// locks.
	pub fn check(&self) -> Result<(), sp_runtime::TryRuntimeError> {
		use frame_support::ensure;
		ensure!(
			Channels::<T>::iter().count() == self.0.len(),
			"the migration lost or added channels"
		);
		for (channel_id, old) in &self.0 {
			let channel = Channels::<T>::get(channel_id).ok_or("a channel was lost")?;
			ensure!(channel.participants == old.participants, "a channel's participants changed");
			ensure!(channel.status == old.status, "a channel's status changed");
			ensure!(channel.version == old.version, "a channel's version changed");
			ensure!(
				channel.sides == old.sides.clone().map(v1::SideBooks::upgrade),
				"a channel's books changed"
			);
			ensure!(channel.settlement() == v1::payouts(&old.sides), "a channel's payouts changed");
			ensure!(
				channel.held_for_locks() == [Zero::zero(); 2],
				"a migrated channel holds locks"
			);
		}
		Ok(())
	}
}
