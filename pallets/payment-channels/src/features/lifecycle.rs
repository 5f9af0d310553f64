//! A channel's funds while it is open: opening it (with dual funding), topping it up
//! (splice-in), taking funds out with the counterparty's consent (splice-out), and moving funds
//! between two of one's own channels in one step (shift).

use crate::{pallet::*, types::*};
use frame_support::{
	ensure,
	traits::{fungible::MutateHold, Get},
};
use frame_system::pallet_prelude::BlockNumberFor;
use paychan_primitives::ChannelId;
use sp_runtime::{
	traits::{CheckedAdd, Saturating, Zero},
	DispatchError, DispatchResult,
};

impl<T: Config> Pallet<T> {
	/// The body of [`Pallet::open_channel`], for a signed `opener`.
	pub(crate) fn do_open_channel(
		opener: T::AccountId,
		counterparty: T::AccountId,
		deposit: BalanceOf<T>,
		challenge_period: BlockNumberFor<T>,
		counterparty_funding: Option<SignedFundingConsentOf<T>>,
	) -> DispatchResult {
		ensure!(opener != counterparty, Error::<T>::SelfChannel);
		Self::ensure_fundable(deposit)?;
		ensure!(
			challenge_period >= T::MinChallengePeriod::get()
				&& challenge_period <= T::MaxChallengePeriod::get(),
			Error::<T>::ChallengePeriodOutOfBounds
		);

		let channel_id = NextChannelId::<T>::get();
		let next_id = channel_id.checked_add(1).ok_or(Error::<T>::ChannelIdsExhausted)?;
		let open_nonce = OpenNonces::<T>::get(&opener);
		let counterparty_deposit = match &counterparty_funding {
			None => Zero::zero(),
			Some(consent) => {
				Self::check_funding_consent(
					consent,
					open_nonce,
					&opener,
					deposit,
					&counterparty,
					challenge_period,
				)?;
				consent.payload.amount
			}
		};
		deposit.checked_add(&counterparty_deposit).ok_or(Error::<T>::Overflow)?;

		let counterparty_consented = counterparty_funding.is_some();
		Self::add_participant(&opener, channel_id, true)?;
		Self::add_participant(&counterparty, channel_id, counterparty_consented)?;
		OpenNonces::<T>::insert(&opener, open_nonce.saturating_add(1));
		let storage_deposit = T::ChannelRecordDeposit::get();
		T::Currency::hold(&HoldReason::ChannelRecord.into(), &opener, storage_deposit)?;
		T::Currency::hold(&HoldReason::ChannelFunds.into(), &opener, deposit)?;
		if !counterparty_deposit.is_zero() {
			T::Currency::hold(
				&HoldReason::ChannelFunds.into(),
				&counterparty,
				counterparty_deposit,
			)?;
		}

		let books = |amount: BalanceOf<T>| SideBooks {
			deposited: amount,
			custody: amount,
			..Default::default()
		};
		let channel = Channel {
			participants: [opener.clone(), counterparty.clone()],
			sides: [books(deposit), books(counterparty_deposit)],
			challenge_period,
			status: ChannelStatus::Open,
			opened_at: frame_system::Pallet::<T>::block_number(),
			storage_deposit,
			version: 0,
			counterparty_consented,
		};
		T::OnChannelEvent::on_opened(
			channel_id,
			&channel.participants,
			[deposit, counterparty_deposit],
		);
		Channels::<T>::insert(channel_id, channel);
		NextChannelId::<T>::put(next_id);
		Self::deposit_event(Event::ChannelOpened {
			channel_id,
			opener,
			counterparty,
			opener_deposit: deposit,
			counterparty_deposit,
			challenge_period,
		});
		Ok(())
	}

	/// The body of [`Pallet::deposit`], for a signed `who`.
	pub(crate) fn do_deposit(
		who: T::AccountId,
		channel_id: ChannelId,
		amount: BalanceOf<T>,
	) -> DispatchResult {
		Self::ensure_fundable(amount)?;
		let mut channel = Self::channel(channel_id)?;
		let side = channel.side_of(&who).ok_or(Error::<T>::NotParticipant)?;
		ensure!(channel.is_open(), Error::<T>::ChannelNotOpen);
		let total_deposited = Self::credit_deposit(&mut channel, side, amount)?;
		T::Currency::hold(&HoldReason::ChannelFunds.into(), &who, amount)?;
		channel.bump_version();
		Channels::<T>::insert(channel_id, channel);
		Self::deposit_event(Event::Deposited { channel_id, who, amount, total_deposited });
		Ok(())
	}

	/// The body of [`Pallet::withdraw`], for a signed `who`.
	pub(crate) fn do_withdraw(
		who: T::AccountId,
		proof: WithdrawProofOf<T>,
		counterparty_signature: PayloadSignatureOf<T>,
	) -> DispatchResult {
		let channel_id = proof.channel_id;
		let mut channel = Self::channel(channel_id)?;
		let side = channel.side_of(&who).ok_or(Error::<T>::NotParticipant)?;
		ensure!(channel.is_open(), Error::<T>::ChannelNotOpen);
		let amount = Self::check_withdraw_proof(&channel, side, &proof, &counterparty_signature)?;
		Self::pay_from_custody(&mut channel, side, amount)?;
		channel.books_mut(side).withdrawn = proof.total_withdrawn;
		channel.bump_version();
		Self::consume_pledges(channel_id, &channel, side, amount);
		Channels::<T>::insert(channel_id, channel);
		Self::deposit_event(Event::Withdrawn {
			channel_id,
			who,
			amount,
			total_withdrawn: proof.total_withdrawn,
		});
		Ok(())
	}

	/// The body of [`Pallet::shift`], for a signed `who`: a withdrawal from one channel whose
	/// amount is deposited into another instead of being paid out.
	pub(crate) fn do_shift(
		who: T::AccountId,
		proof: WithdrawProofOf<T>,
		counterparty_signature: PayloadSignatureOf<T>,
		to_channel: ChannelId,
	) -> DispatchResult {
		let from_channel = proof.channel_id;
		ensure!(from_channel != to_channel, Error::<T>::ShiftToSameChannel);
		let mut source = Self::channel(from_channel)?;
		let side = source.side_of(&who).ok_or(Error::<T>::NotParticipant)?;
		ensure!(source.is_open(), Error::<T>::ChannelNotOpen);
		let mut target = Self::channel(to_channel)?;
		let target_side = target.side_of(&who).ok_or(Error::<T>::NotParticipant)?;
		ensure!(target.is_open(), Error::<T>::ChannelNotOpen);
		let amount = Self::check_withdraw_proof(&source, side, &proof, &counterparty_signature)?;
		Self::ensure_fundable(amount)?;
		Self::pay_from_custody(&mut source, side, amount)?;
		source.books_mut(side).withdrawn = proof.total_withdrawn;
		Self::credit_deposit(&mut target, target_side, amount)?;
		T::Currency::hold(&HoldReason::ChannelFunds.into(), &who, amount)?;
		source.bump_version();
		target.bump_version();
		Self::consume_pledges(from_channel, &source, side, amount);
		Channels::<T>::insert(from_channel, source);
		Channels::<T>::insert(to_channel, target);
		Self::deposit_event(Event::FundsShifted { who, from_channel, to_channel, amount });
		Ok(())
	}

	/// Refuses zero and dust amounts.
	fn ensure_fundable(amount: BalanceOf<T>) -> DispatchResult {
		ensure!(!amount.is_zero(), Error::<T>::ZeroAmount);
		ensure!(amount >= T::MinDeposit::get(), Error::<T>::BelowMinimumDeposit);
		Ok(())
	}

	/// Records `who` as a participant of `channel_id`; a channel it opened or consented to
	/// (`counted`) counts against its `MaxChannelsPerAccount`.
	fn add_participant(who: &T::AccountId, channel_id: ChannelId, counted: bool) -> DispatchResult {
		if counted {
			ChannelCount::<T>::try_mutate(who, |count| {
				ensure!(*count < T::MaxChannelsPerAccount::get(), Error::<T>::TooManyChannels);
				*count += 1;
				Ok::<_, DispatchError>(())
			})?;
		}
		ParticipantChannels::<T>::insert(who, channel_id, ());
		Ok(())
	}

	/// Forgets that `who` participates in `channel_id`, and frees the slot it counted.
	pub(crate) fn remove_participant(who: &T::AccountId, channel_id: ChannelId, counted: bool) {
		ParticipantChannels::<T>::remove(who, channel_id);
		if counted {
			ChannelCount::<T>::mutate_exists(who, |count| {
				*count = count.and_then(|c| c.checked_sub(1)).filter(|c| *c > 0);
			});
		}
	}

	/// Checks a counterparty's funding consent for the channel about to be opened.
	fn check_funding_consent(
		consent: &SignedFundingConsentOf<T>,
		open_nonce: u64,
		opener: &T::AccountId,
		opener_deposit: BalanceOf<T>,
		counterparty: &T::AccountId,
		challenge_period: BlockNumberFor<T>,
	) -> DispatchResult {
		let payload = &consent.payload;
		ensure!(payload.genesis_hash == Self::genesis_hash(), Error::<T>::WrongGenesis);
		ensure!(&consent.signer == counterparty, Error::<T>::WrongSigner);
		ensure!(
			&payload.opener == opener
				&& payload.open_nonce == open_nonce
				&& payload.opener_deposit == opener_deposit
				&& payload.challenge_period == challenge_period,
			Error::<T>::FundingConsentMismatch
		);
		ensure!(
			frame_system::Pallet::<T>::block_number() <= payload.expires_at,
			Error::<T>::FundingConsentExpired
		);
		Self::ensure_fundable(payload.amount)?;
		ensure!(
			Self::signature_is_valid(payload, counterparty, &consent.signature),
			Error::<T>::InvalidSignature
		);
		Ok(())
	}

	/// Checks a withdraw proof for the participant on `side`; returns the amount it releases.
	fn check_withdraw_proof(
		channel: &ChannelOf<T>,
		side: Side,
		proof: &WithdrawProofOf<T>,
		counterparty_signature: &PayloadSignatureOf<T>,
	) -> Result<BalanceOf<T>, DispatchError> {
		ensure!(proof.genesis_hash == Self::genesis_hash(), Error::<T>::WrongGenesis);
		ensure!(&proof.participant == channel.participant(side), Error::<T>::WrongParticipant);
		ensure!(
			frame_system::Pallet::<T>::block_number() <= proof.expires_at,
			Error::<T>::WithdrawProofExpired
		);
		let already = channel.books(side).withdrawn;
		ensure!(proof.total_withdrawn > already, Error::<T>::WithdrawProofStale);
		let amount = proof.total_withdrawn.saturating_sub(already);
		ensure!(amount <= channel.total(), Error::<T>::WithdrawExceedsChannelFunds);
		// One signer is tried, the counterparty: a proof the withdrawer signed itself is just an
		// invalid signature (telling the two apart cost two more verifications).
		let counterparty = channel.participant(side.other());
		ensure!(
			Self::signature_is_valid(proof, counterparty, counterparty_signature),
			Error::<T>::InvalidSignature
		);
		Ok(amount)
	}

	/// Raises the deposited total and custody of `side`; returns the new deposited total.
	pub(crate) fn credit_deposit(
		channel: &mut ChannelOf<T>,
		side: Side,
		amount: BalanceOf<T>,
	) -> Result<BalanceOf<T>, DispatchError> {
		channel.total().checked_add(&amount).ok_or(Error::<T>::Overflow)?;
		let entry = channel.books_mut(side);
		entry.deposited = entry.deposited.checked_add(&amount).ok_or(Error::<T>::Overflow)?;
		entry.custody = entry.custody.checked_add(&amount).ok_or(Error::<T>::Overflow)?;
		Ok(entry.deposited)
	}
}
