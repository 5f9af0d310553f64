//! What the pallet tells about itself to its own features, the runtime API and clients: the
//! chain's genesis hash that every payload carries, signature checks, and reads of channels.

use crate::{pallet::*, types::*};
use frame_system::pallet_prelude::BlockNumberFor;
use paychan_primitives::{ChannelId, SignedPayload};
use sp_runtime::{
	traits::{Verify, Zero},
	DispatchError,
};

impl<T: Config> Pallet<T> {
	/// The genesis hash every signed payload must carry.
	pub fn genesis_hash() -> T::Hash {
		frame_system::Pallet::<T>::block_hash(BlockNumberFor::<T>::zero())
	}

	/// Whether `signature` is `signer`'s signature over `payload`'s signing message in the form
	/// the signature declares: raw, or wrapped in `<Bytes>...</Bytes>` as polkadot.js wallets
	/// sign raw data. One verification: the other form is never tried.
	pub fn signature_is_valid<P: SignedPayload>(
		payload: &P,
		signer: &T::AccountId,
		signature: &PayloadSignatureOf<T>,
	) -> bool {
		let message = payload.signing_message();
		signature.signature().verify(&signature.signed_bytes(&message)[..], signer)
	}

	/// The channel with this id, or `UnknownChannel`.
	pub(crate) fn channel(channel_id: ChannelId) -> Result<ChannelOf<T>, DispatchError> {
		Channels::<T>::get(channel_id).ok_or_else(|| Error::<T>::UnknownChannel.into())
	}

	/// The ids of the channels `who` participates in, in the order they were opened.
	pub fn channels_of(who: &T::AccountId) -> alloc::vec::Vec<ChannelId> {
		let mut ids: alloc::vec::Vec<_> = ParticipantChannels::<T>::iter_key_prefix(who).collect();
		ids.sort_unstable();
		ids
	}

	/// What the opener and the counterparty would receive if the channel settled now.
	pub fn settlement_preview(channel_id: ChannelId) -> Option<[BalanceOf<T>; 2]> {
		Channels::<T>::get(channel_id).map(|channel| channel.settlement())
	}
}
