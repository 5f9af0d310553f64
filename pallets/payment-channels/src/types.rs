//! The pallet's stored types and the aliases its calls use.

use crate::Config;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::traits::fungible::Inspect;
use frame_support::{traits::Get, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use paychan_primitives::{
	BalanceProof, ChannelId, CooperativeClose, FundingConsent, Nonce, PlanEdge, RequestEntry,
	Signed, WithdrawProof,
};
use scale_info::TypeInfo;
use sp_runtime::{traits::Zero, Saturating};

/// The balance type of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// The genesis hash type that signed payloads carry.
pub type HashOf<T> = <T as frame_system::Config>::Hash;
/// A balance proof as this runtime's types make it.
pub type BalanceProofOf<T> = BalanceProof<HashOf<T>, BalanceOf<T>>;
/// A balance proof with its signer and signature.
pub type SignedBalanceProofOf<T> =
	Signed<BalanceProofOf<T>, <T as frame_system::Config>::AccountId, <T as Config>::Signature>;
/// A withdraw proof as this runtime's types make it.
pub type WithdrawProofOf<T> = WithdrawProof<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	HashOf<T>,
>;
/// A cooperative close as this runtime's types make it.
pub type CooperativeCloseOf<T> = CooperativeClose<HashOf<T>, BalanceOf<T>>;
/// A funding consent as this runtime's types make it.
pub type FundingConsentOf<T> = FundingConsent<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	HashOf<T>,
>;
/// A funding consent with its signer (the counterparty) and signature.
pub type SignedFundingConsentOf<T> =
	Signed<FundingConsentOf<T>, <T as frame_system::Config>::AccountId, <T as Config>::Signature>;
/// One edge of a rebalancing plan as this runtime's types make it.
pub type PlanEdgeOf<T> = PlanEdge<<T as frame_system::Config>::AccountId, BalanceOf<T>>;
/// One channel's entry in a rebalance request.
pub type RequestEntryOf<T> = RequestEntry<BalanceOf<T>>;
/// A rebalance request as this runtime's types make it.
pub type RebalanceRequestOf<T> =
	RebalanceRequest<BalanceOf<T>, BlockNumberFor<T>, <T as Config>::MaxRequestEntries>;
/// A channel as this runtime's types make it.
pub type ChannelOf<T> =
	Channel<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;

/// Index of the opener in [`Channel::participants`] and [`Channel::sides`].
pub const OPENER: usize = 0;
/// Index of the counterparty in [`Channel::participants`] and [`Channel::sides`].
pub const COUNTERPARTY: usize = 1;

/// The index of the other participant.
pub const fn other(side: usize) -> usize {
	1 - side
}

/// Where a channel is in its life. A settled channel is removed from storage; its id is never
/// given out again.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, Debug, TypeInfo, MaxEncodedLen,
)]
pub enum ChannelStatus<AccountId, BlockNumber> {
	/// Payments flow off chain; deposits, withdrawals and rebalancing are allowed.
	Open,
	/// A participant closed unilaterally; newer balance proofs are accepted until `deadline`
	/// (inclusive), after which anyone may settle.
	Closing {
		/// Who started the close.
		closer: AccountId,
		/// The last block at which balance proofs are accepted.
		deadline: BlockNumber,
	},
}

/// One participant's cumulative on-chain totals in a channel.
///
/// Every field only grows, so the chain never needs a participant to re-sign after a deposit,
/// withdrawal or rebalance.
#[derive(
	Clone,
	Default,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub struct Side<Balance> {
	/// Everything this participant has deposited (at open and by splice-in).
	pub deposited: Balance,
	/// Everything this participant has withdrawn (splice-out and own-channel shifts).
	pub withdrawn: Balance,
	/// What this participant's highest-nonce balance proof says it has paid the other. Only
	/// known on chain once a proof has been submitted (at close or in a dispute).
	pub transferred: Balance,
	/// The nonce of the balance proof behind `transferred`; 0 when none was submitted.
	pub nonce: Nonce,
	/// What rebalancing plans moved to this participant's side of the channel.
	pub rebalanced_in: Balance,
	/// What rebalancing plans moved away from this participant's side of the channel.
	pub rebalanced_out: Balance,
	/// The part of the channel's funds that sits on hold in this participant's account.
	///
	/// Custody only: who is entitled to what is decided by the settlement formula, and
	/// payouts move held funds between the participants as needed.
	pub custody: Balance,
}

/// A two-party payment channel.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct Channel<AccountId, Balance, BlockNumber> {
	/// The opener (index 0) and the counterparty (index 1).
	pub participants: [AccountId; 2],
	/// Each participant's totals, in the order of `participants`.
	pub sides: [Side<Balance>; 2],
	/// Blocks between a unilateral close and the end of disputes.
	pub challenge_period: BlockNumber,
	/// Where the channel is in its life.
	pub status: ChannelStatus<AccountId, BlockNumber>,
	/// The block the channel was opened in.
	pub opened_at: BlockNumber,
	/// What the opener has on hold for this record; returned when the channel is removed.
	pub storage_deposit: Balance,
}

impl<AccountId: PartialEq, Balance, BlockNumber> Channel<AccountId, Balance, BlockNumber>
where
	Balance: Copy + Zero + Saturating + PartialOrd,
{
	/// The side `who` is on, if it is a participant.
	pub fn side_of(&self, who: &AccountId) -> Option<usize> {
		self.participants.iter().position(|p| p == who)
	}

	/// The funds the channel holds: what was deposited less what was withdrawn.
	pub fn total(&self) -> Balance {
		self.sides[OPENER].custody.saturating_add(self.sides[COUNTERPARTY].custody)
	}

	/// Whether the channel accepts deposits, withdrawals, closes and rebalancing.
	pub fn is_open(&self) -> bool {
		matches!(self.status, ChannelStatus::Open)
	}

	/// What each participant receives if the channel settles with the proofs the chain has
	/// now:
	///
	/// `final_i = deposited_i - withdrawn_i - transferred_i + transferred_j
	///            + rebalanced_in_i - rebalanced_out_i`,
	///
	/// clamped to `[0, total]`, with `final_j = total - final_i`. The clamp only matters when a
	/// participant signed away more than it had; it keeps every settlement within the funds the
	/// channel holds.
	pub fn settlement(&self) -> [Balance; 2] {
		let total = self.total();
		let (opener, counterparty) = (&self.sides[OPENER], &self.sides[COUNTERPARTY]);
		let credit = opener
			.deposited
			.saturating_add(counterparty.transferred)
			.saturating_add(opener.rebalanced_in);
		let debit = opener
			.withdrawn
			.saturating_add(opener.transferred)
			.saturating_add(opener.rebalanced_out);
		let opener_final = if credit > debit { credit.saturating_sub(debit) } else { Zero::zero() };
		let opener_final = if opener_final > total { total } else { opener_final };
		[opener_final, total.saturating_sub(opener_final)]
	}
}

/// A participant's standing offer to have its channels rebalanced (on demand).
///
/// The `max_send` of each entry is pledged: clients treat it as locked, and refuse off-chain
/// payments that would leave less than it on the declarer's side, until the request is used up,
/// cancelled or expired. Plans consume the bounds as they use them.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, Debug, TypeInfo, MaxEncodedLen,
)]
#[scale_info(skip_type_params(MaxEntries))]
pub struct RebalanceRequest<Balance, BlockNumber, MaxEntries: Get<u32>> {
	/// What may move in each channel; plans lower the bounds as they use them.
	pub entries: BoundedVec<RequestEntry<Balance>, MaxEntries>,
	/// The most the declarer pays intermediaries in total (its net loss over all plans).
	pub max_fee: Balance,
	/// What the declarer has paid in fees so far under this request.
	pub fee_paid: Balance,
	/// The last block in which plans may use the request.
	pub expires_at: BlockNumber,
	/// Held from the declarer for the request's storage; returned when it is removed.
	pub deposit: Balance,
}

/// Why a rebalance request was removed.
#[derive(
	Clone,
	Copy,
	PartialEq,
	Eq,
	Encode,
	Decode,
	DecodeWithMemTracking,
	Debug,
	TypeInfo,
	MaxEncodedLen,
)]
pub enum RequestRemoval {
	/// Its declarer cancelled it.
	Cancelled,
	/// Its expiry passed.
	Expired,
	/// A new request from the same declarer replaced it.
	Replaced,
}

/// What other pallets may do when a channel changes; `()` does nothing.
pub trait OnChannelEvent<AccountId, Balance> {
	/// A channel was opened between `participants` with the given deposits.
	fn on_opened(_channel_id: ChannelId, _participants: &[AccountId; 2], _deposits: [Balance; 2]) {}
	/// A participant started a unilateral close.
	fn on_close_started(_channel_id: ChannelId, _closer: &AccountId) {}
	/// A channel was rebalanced: `amount` moved from side `from` to the other side.
	fn on_rebalanced(_channel_id: ChannelId, _from: &AccountId, _amount: Balance) {}
	/// A channel was paid out (cooperatively or after its challenge period) and removed.
	fn on_settled(_channel_id: ChannelId, _participants: &[AccountId; 2], _payouts: [Balance; 2]) {}
}

impl<AccountId, Balance> OnChannelEvent<AccountId, Balance> for () {}
