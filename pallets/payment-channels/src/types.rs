//! The pallet's stored types and the aliases its calls use.

use crate::Config;
use codec::{Decode, DecodeWithMemTracking, Encode, MaxEncodedLen};
use frame_support::traits::fungible::Inspect;
use frame_support::{traits::Get, BoundedVec};
use frame_system::pallet_prelude::BlockNumberFor;
use paychan_primitives::{
	locks::Lock, BalanceProof, ChannelId, CooperativeClose, FundingConsent, LockedBalanceProof,
	LockedSettlement, Nonce, PayloadSignature, PlanEdge, RequestEntry, SideTotals, Signed,
	StateVersion, WithdrawProof,
};
use scale_info::TypeInfo;
use sp_runtime::traits::AtLeast32BitUnsigned;

/// The balance type of the pallet's currency.
pub type BalanceOf<T> =
	<<T as Config>::Currency as Inspect<<T as frame_system::Config>::AccountId>>::Balance;
/// The genesis hash type that signed payloads carry.
pub type HashOf<T> = <T as frame_system::Config>::Hash;
/// A signature over a payload as calls take it: the runtime's signature, with the form (raw or
/// `<Bytes>`-wrapped) its signer declares.
pub type PayloadSignatureOf<T> = PayloadSignature<<T as Config>::Signature>;
/// A balance proof as this runtime's types make it.
pub type BalanceProofOf<T> = BalanceProof<HashOf<T>, BalanceOf<T>>;
/// A balance proof with its signer and signature.
pub type SignedBalanceProofOf<T> =
	Signed<BalanceProofOf<T>, <T as frame_system::Config>::AccountId, PayloadSignatureOf<T>>;
/// A locked balance proof as this runtime's types make it.
pub type LockedBalanceProofOf<T> = LockedBalanceProof<HashOf<T>, BalanceOf<T>>;
/// A locked balance proof with its signer and signature.
pub type SignedLockedBalanceProofOf<T> =
	Signed<LockedBalanceProofOf<T>, <T as frame_system::Config>::AccountId, PayloadSignatureOf<T>>;
/// A hash-time lock as this runtime's types make it.
pub type LockOf<T> = Lock<BalanceOf<T>, BlockNumberFor<T>>;
/// The locks a settled channel still holds funds for, as this runtime's types make them.
pub type PendingLockSetOf<T> =
	PendingLockSet<<T as frame_system::Config>::AccountId, BalanceOf<T>, BlockNumberFor<T>>;
/// A withdraw proof as this runtime's types make it.
pub type WithdrawProofOf<T> = WithdrawProof<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	HashOf<T>,
>;
/// A cooperative close as this runtime's types make it.
pub type CooperativeCloseOf<T> = CooperativeClose<HashOf<T>, BalanceOf<T>, BlockNumberFor<T>>;
/// A funding consent as this runtime's types make it.
pub type FundingConsentOf<T> = FundingConsent<
	<T as frame_system::Config>::AccountId,
	BalanceOf<T>,
	BlockNumberFor<T>,
	HashOf<T>,
>;
/// A funding consent with its signer (the counterparty) and signature.
pub type SignedFundingConsentOf<T> =
	Signed<FundingConsentOf<T>, <T as frame_system::Config>::AccountId, PayloadSignatureOf<T>>;
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

/// Which participant of a channel: the one that opened it, or the other one.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Side {
	/// The account that opened the channel (and holds its storage deposit).
	Opener,
	/// The account the channel was opened with.
	Counterparty,
}

impl Side {
	/// Both sides, opener first: the order of [`Channel::participants`], [`Channel::sides`] and
	/// of the payouts [`Channel::settlement`] returns.
	pub const BOTH: [Side; 2] = [Side::Opener, Side::Counterparty];

	/// This side's position in the channel's two-element arrays.
	pub const fn index(self) -> usize {
		match self {
			Side::Opener => 0,
			Side::Counterparty => 1,
		}
	}

	/// The other participant's side.
	pub const fn other(self) -> Side {
		match self {
			Side::Opener => Side::Counterparty,
			Side::Counterparty => Side::Opener,
		}
	}
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
		/// The block of the settlement queue the channel waits in (`deadline + 1`, or later when
		/// that block's queue was full), so that it can be taken out when the channel leaves
		/// early.
		queued_in: BlockNumber,
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
pub struct SideBooks<Balance> {
	/// Everything this participant has deposited (at open and by splice-in).
	pub deposited: Balance,
	/// Everything this participant has withdrawn (splice-out and own-channel shifts).
	pub withdrawn: Balance,
	/// The highest total that a balance proof of this participant says it has paid the other.
	/// Only known on chain once a proof has been submitted (at close or in a dispute); a proof
	/// replaces it only by raising it, so it counts against its signer alone.
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
	/// The sum of the pending hash-time locks in this participant's recorded proof: held back
	/// at settlement and paid lock by lock by `unlock`.
	pub locked: Balance,
	/// The Merkle root of those locks (`paychan_primitives::locks::locks_root`).
	pub locks_root: [u8; 32],
	/// The nonce of the last locked balance proof of this participant that the other
	/// participant (its beneficiary) submitted; 0 when none. Locked proofs are ordered by it,
	/// and only the beneficiary submits them, so nothing anyone else submits can hold one back.
	pub locked_nonce: Nonce,
}

/// A two-party payment channel.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct Channel<AccountId, Balance, BlockNumber> {
	/// The opener (index 0) and the counterparty (index 1).
	pub participants: [AccountId; 2],
	/// Each participant's totals, in the order of `participants`.
	pub sides: [SideBooks<Balance>; 2],
	/// Blocks between a unilateral close and the end of disputes.
	pub challenge_period: BlockNumber,
	/// Where the channel is in its life.
	pub status: ChannelStatus<AccountId, BlockNumber>,
	/// The block the channel was opened in.
	pub opened_at: BlockNumber,
	/// What the opener has on hold for this record; returned when the channel is removed.
	pub storage_deposit: Balance,
	/// Raised by every call that changes the channel's books or status, so that a cooperative
	/// close signed before the change goes stale.
	pub version: StateVersion,
	/// Whether the counterparty consented to the channel (dual funding) and so counts it against
	/// its `MaxChannelsPerAccount`. A single-funded open never uses up the counterparty's
	/// channel slots.
	pub counterparty_consented: bool,
}

impl<AccountId: PartialEq, Balance, BlockNumber> Channel<AccountId, Balance, BlockNumber>
where
	Balance: AtLeast32BitUnsigned + Copy,
{
	/// The side `who` is on, if it is a participant.
	pub fn side_of(&self, who: &AccountId) -> Option<Side> {
		Side::BOTH.into_iter().find(|side| self.participant(*side) == who)
	}

	/// The account on `side`.
	pub fn participant(&self, side: Side) -> &AccountId {
		&self.participants[side.index()]
	}

	/// The books of `side`.
	pub fn books(&self, side: Side) -> &SideBooks<Balance> {
		&self.sides[side.index()]
	}

	/// The books of `side`, to change.
	pub fn books_mut(&mut self, side: Side) -> &mut SideBooks<Balance> {
		&mut self.sides[side.index()]
	}

	/// The funds the channel holds: what was deposited less what was withdrawn.
	pub fn total(&self) -> Balance {
		self.books(Side::Opener).custody.saturating_add(self.books(Side::Counterparty).custody)
	}

	/// Whether the channel accepts deposits, withdrawals, closes and rebalancing.
	pub fn is_open(&self) -> bool {
		matches!(self.status, ChannelStatus::Open)
	}

	/// Notes a change of the channel's books or status: cooperative closes signed before it no
	/// longer apply.
	pub fn bump_version(&mut self) {
		self.version = self.version.saturating_add(1);
	}

	/// What each participant receives at once if the channel settles with the proofs the chain
	/// has now; what the recorded proofs lock is held back ([`Channel::held_for_locks`]).
	pub fn settlement(&self) -> [Balance; 2] {
		settlement_of(&self.sides).payouts
	}

	/// What settling now would hold back for each side's pending locks, opener first.
	pub fn held_for_locks(&self) -> [Balance; 2] {
		settlement_of(&self.sides).held
	}
}

/// What a channel whose sides are `sides` pays out and holds back for locks at settlement:
/// [`paychan_primitives::settlement_with_locks`] over their totals, of the funds their custody
/// holds. The migrations read old channels' sides through it too.
pub fn settlement_of<Balance: AtLeast32BitUnsigned + Copy>(
	[opener, counterparty]: &[SideBooks<Balance>; 2],
) -> LockedSettlement<Balance> {
	let totals = |side: &SideBooks<Balance>| SideTotals {
		deposited: side.deposited,
		withdrawn: side.withdrawn,
		transferred: side.transferred,
		rebalanced_in: side.rebalanced_in,
		rebalanced_out: side.rebalanced_out,
	};
	let total = opener.custody.saturating_add(counterparty.custody);
	paychan_primitives::settlement_with_locks(
		total,
		&totals(opener),
		&totals(counterparty),
		[opener.locked, counterparty.locked],
	)
}

/// The locks of one participant's recorded proof that a settled channel still holds funds for.
///
/// The funds stay on hold (`ChannelFunds`) in the sender's account until each lock is unlocked:
/// to the receiver if its secret was registered no later than its expiry, back to the sender
/// once it expired unregistered.
#[derive(
	Clone, PartialEq, Eq, Encode, Decode, DecodeWithMemTracking, Debug, TypeInfo, MaxEncodedLen,
)]
pub struct PendingLockSet<AccountId, Balance, BlockNumber> {
	/// The other participant: who a claimed lock pays.
	pub receiver: AccountId,
	/// The root the recorded proof committed to; every unlocked lock is proved against it.
	pub locks_root: [u8; 32],
	/// What is still held for the locks not yet unlocked.
	pub held: Balance,
	/// Bit `i` is set once the lock at index `i` has been unlocked, so that none pays twice.
	pub resolved: u64,
	/// The block the channel settled in.
	pub settled_at: BlockNumber,
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
	/// The most the declarer pays intermediaries in total (its net loss over all plans), for
	/// receiving all of `declared_receive`; a plan may take a fee only in proportion to what the
	/// declarer receives in it.
	pub max_fee: Balance,
	/// The sum of the entries' `max_receive` as declared (before plans used them).
	pub declared_receive: Balance,
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
