//! Closing a channel: cooperatively with a split both participants signed, or unilaterally
//! with a challenge period in which the newest balance proofs are submitted (disputes).

use crate::{pallet::*, types::*};
use frame_support::ensure;
use paychan_primitives::ChannelId;
use sp_runtime::{
	traits::{CheckedAdd, Saturating, Zero},
	DispatchResult,
};

impl<T: Config> Pallet<T> {
	/// The body of [`Pallet::cooperative_close`], for a signed `who`; `signatures` are the
	/// opener's and the counterparty's, in that order.
	pub(crate) fn do_cooperative_close(
		who: T::AccountId,
		settlement: CooperativeCloseOf<T>,
		signatures: [PayloadSignatureOf<T>; 2],
	) -> DispatchResult {
		let channel_id = settlement.channel_id;
		let channel = Self::channel(channel_id)?;
		channel.side_of(&who).ok_or(Error::<T>::NotParticipant)?;
		ensure!(settlement.genesis_hash == Self::genesis_hash(), Error::<T>::WrongGenesis);
		ensure!(
			frame_system::Pallet::<T>::block_number() <= settlement.expires_at,
			Error::<T>::CooperativeCloseExpired
		);
		// Bound to the channel's state: a split signed before a deposit, withdrawal, plan or
		// recorded proof no longer applies.
		ensure!(
			settlement.version == channel.version
				&& Side::BOTH
					.iter()
					.all(|side| { settlement.nonces[side.index()] >= channel.books(*side).nonce }),
			Error::<T>::StaleCooperativeClose
		);
		let payouts = [settlement.payout_opener, settlement.payout_counterparty];
		let sum = payouts[0].checked_add(&payouts[1]).ok_or(Error::<T>::Overflow)?;
		ensure!(sum == channel.total(), Error::<T>::PayoutMismatch);
		for (participant, signature) in channel.participants.iter().zip(&signatures) {
			ensure!(
				Self::signature_is_valid(&settlement, participant, signature),
				Error::<T>::InvalidSignature
			);
		}
		Self::dequeue_settlement(channel_id, &channel.status);
		let [opener_payout, counterparty_payout] =
			Self::pay_out_and_remove(channel_id, channel, payouts, [Zero::zero(); 2])?;
		Self::deposit_event(Event::ChannelClosedCooperatively {
			channel_id,
			opener_payout,
			counterparty_payout,
		});
		Ok(())
	}

	/// The body of [`Pallet::close`], for a signed `closer`.
	pub(crate) fn do_close(
		closer: T::AccountId,
		channel_id: ChannelId,
		counterparty_proof: Option<SignedBalanceProofOf<T>>,
	) -> DispatchResult {
		let mut channel = Self::channel(channel_id)?;
		let side = channel.side_of(&closer).ok_or(Error::<T>::NotParticipant)?;
		ensure!(channel.is_open(), Error::<T>::AlreadyClosing);
		if let Some(proof) = &counterparty_proof {
			ensure!(&proof.signer == channel.participant(side.other()), Error::<T>::WrongSigner);
			Self::record_balance_proof(channel_id, &mut channel, proof, &closer)?;
		}
		let now = frame_system::Pallet::<T>::block_number();
		let deadline = now.saturating_add(channel.challenge_period);
		let queued_in = Self::queue_for_settlement(channel_id, deadline)?;
		channel.status = ChannelStatus::Closing { closer: closer.clone(), deadline, queued_in };
		channel.bump_version();
		Channels::<T>::insert(channel_id, channel);
		T::OnChannelEvent::on_close_started(channel_id, &closer);
		Self::deposit_event(Event::CloseStarted { channel_id, closer, deadline });
		Ok(())
	}

	/// The body of [`Pallet::update_balance_proof`], for a signed `submitter` (anyone).
	pub(crate) fn do_update_balance_proof(
		submitter: T::AccountId,
		channel_id: ChannelId,
		proof: SignedBalanceProofOf<T>,
	) -> DispatchResult {
		let mut channel = Self::channel(channel_id)?;
		let ChannelStatus::Closing { deadline, .. } = channel.status else {
			return Err(Error::<T>::ChannelNotClosing.into());
		};
		ensure!(
			frame_system::Pallet::<T>::block_number() <= deadline,
			Error::<T>::ChallengePeriodOver
		);
		Self::record_balance_proof(channel_id, &mut channel, &proof, &submitter)?;
		channel.bump_version();
		Channels::<T>::insert(channel_id, channel);
		Ok(())
	}

	/// Verifies a balance proof and records it as its signer's newest in `channel`.
	fn record_balance_proof(
		channel_id: ChannelId,
		channel: &mut ChannelOf<T>,
		proof: &SignedBalanceProofOf<T>,
		submitter: &T::AccountId,
	) -> DispatchResult {
		let payload = &proof.payload;
		ensure!(payload.genesis_hash == Self::genesis_hash(), Error::<T>::WrongGenesis);
		ensure!(payload.channel_id == channel_id, Error::<T>::WrongChannel);
		let side = channel.side_of(&proof.signer).ok_or(Error::<T>::WrongSigner)?;
		// A plain proof cannot be ordered against a locked one (features/locks.rs): once the
		// signer's recorded proof has locks pending, only its beneficiary replaces it.
		ensure!(channel.books(side).locked.is_zero(), Error::<T>::LocksPending);
		// The rule that makes a proof count only against its signer: it must raise what the
		// signer has paid. Nonces do not order proofs on chain, or a signer could sign a higher
		// nonce with a lower total and shut out its own newest proof.
		ensure!(
			payload.transferred > channel.books(side).transferred,
			Error::<T>::StaleBalanceProof
		);
		ensure!(
			Self::signature_is_valid(payload, &proof.signer, &proof.signature),
			Error::<T>::InvalidSignature
		);
		let recorded = channel.books_mut(side);
		recorded.nonce = payload.nonce;
		recorded.transferred = payload.transferred;
		Self::deposit_event(Event::BalanceProofSubmitted {
			channel_id,
			signer: proof.signer.clone(),
			nonce: payload.nonce,
			transferred: payload.transferred,
			submitter: submitter.clone(),
		});
		Ok(())
	}
}
