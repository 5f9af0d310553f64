//! The pallet's errors: every way a call is refused.

use frame_support::pallet_macros::pallet_section;

/// The pallet's errors, imported into [`crate::pallet`] by `#[import_section]`.
#[pallet_section]
mod errors {
	#[pallet::error]
	pub enum Error<T> {
		/// No open or closing channel has this id (it was never opened, or it was settled).
		UnknownChannel,
		/// The caller is not a participant of the channel.
		NotParticipant,
		/// A channel needs two different accounts.
		SelfChannel,
		/// The channel is closing: only disputes, settlement and a cooperative close are
		/// possible.
		ChannelNotOpen,
		/// The channel is already closing: it cannot be closed a second time.
		AlreadyClosing,
		/// The channel is open: disputes and settlement need a closing channel.
		ChannelNotClosing,
		/// The amount is zero.
		ZeroAmount,
		/// The amount is below the minimum deposit (dust).
		BelowMinimumDeposit,
		/// The amount would overflow a channel total.
		Overflow,
		/// The challenge period is outside the runtime's bounds.
		ChallengePeriodOutOfBounds,
		/// An account is already in `MaxChannelsPerAccount` channels.
		TooManyChannels,
		/// The signature does not verify for the payload and its claimed signer, in the form it
		/// declares (`Raw` or `Wrapped`; the other form is not tried).
		InvalidSignature,
		/// The payload is signed by someone other than the participant who must sign it.
		WrongSigner,
		/// The payload is for another channel.
		WrongChannel,
		/// The payload was signed for another chain (genesis hash).
		WrongGenesis,
		/// The balance proof does not raise what its signer has transferred above what the chain
		/// has recorded: a proof only ever counts against its signer.
		StaleBalanceProof,
		/// The challenge period is over: no more proofs are accepted.
		ChallengePeriodOver,
		/// The challenge period has not ended yet.
		ChallengePeriodNotOver,
		/// The withdraw proof has expired.
		WithdrawProofExpired,
		/// The withdraw proof does not raise the withdrawn total (it was used already).
		WithdrawProofStale,
		/// The withdraw proof is for another participant.
		WrongParticipant,
		/// The withdrawal is larger than the funds the channel holds.
		WithdrawExceedsChannelFunds,
		/// The payouts of a cooperative close do not add up to the channel's funds.
		PayoutMismatch,
		/// The cooperative close was signed for an older state of the channel: its books changed
		/// on chain, or a newer balance proof was recorded, since.
		StaleCooperativeClose,
		/// The cooperative close has expired.
		CooperativeCloseExpired,
		/// The counterparty's funding consent has expired.
		FundingConsentExpired,
		/// The funding consent does not match the channel being opened.
		FundingConsentMismatch,
		/// Too many channels are queued for settlement around this block; try again later.
		SettlementQueueFull,
		/// The channel id counter is exhausted.
		ChannelIdsExhausted,
		/// A plan needs at least one edge.
		EmptyPlan,
		/// A plan names the same channel and direction twice.
		DuplicateEdge,
		/// An edge's sender is not a participant of its channel.
		EdgeNotInChannel,
		/// An edge's sender or receiver has no open rebalance request.
		NoRebalanceRequest,
		/// An edge's sender or receiver has a request that has expired.
		RebalanceRequestExpired,
		/// An edge's channel is not in its sender's or receiver's request.
		ChannelNotInRequest,
		/// An edge moves more than its sender or receiver declared (what is left of it).
		ExceedsDeclaredBound,
		/// An amount is larger than the funds the channel holds.
		ExceedsChannelFunds,
		/// A participant would lose more than what is left of its declared max fee, or more than
		/// its share of it for what it receives in the plan.
		FeeAboveMax,
		/// A request's expiry must be after this block and within `MaxRequestLifetime`.
		RequestExpiryOutOfBounds,
		/// A request needs at least one channel.
		EmptyRequest,
		/// A request names the same channel twice.
		DuplicateEntry,
		/// Too many requests expire around that block; choose another expiry.
		ExpiryQueueFull,
		/// Funds can only be shifted between two different channels.
		ShiftToSameChannel,
		/// Only the beneficiary of a locked balance proof (the participant that did not sign it)
		/// may submit it.
		NotBeneficiary,
		/// The signer's recorded proof has locks pending, so a plain proof cannot replace it:
		/// its beneficiary submits a newer locked proof instead.
		LocksPending,
		/// This secret is already registered; the first registration's block counts.
		SecretAlreadyRegistered,
		/// The settled channel holds no pending locks of that sender (never, or all unlocked).
		NoPendingLocks,
		/// An unlock needs at least one lock.
		EmptyUnlock,
		/// The lock is not among the locks the recorded proof committed to.
		InvalidLockProof,
		/// The lock was unlocked already.
		LockAlreadyUnlocked,
		/// The lock has not expired and its secret is not registered: it may still be claimed.
		LockNotDecided,
	}
}
