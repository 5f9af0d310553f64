//! # Payment channels pallet
//!
//! Two accounts lock funds on chain, pay each other off chain with signed cumulative balance
//! proofs, and come back to the chain only to open, top up (splice-in), withdraw (splice-out),
//! close, dispute and settle.
//!
//! ## Model
//!
//! A channel's funds stay in its participants' own accounts, on hold with
//! [`HoldReason::ChannelFunds`] (the on-chain analogue of a 2-of-2 wallet). Each side keeps
//! cumulative totals on chain: deposited, withdrawn, rebalanced in and out. Off chain each
//! participant signs [`paychan_primitives::BalanceProof`]s: `{genesis, channel, nonce,
//! transferred}`, one per payment. When a channel settles, participant `i` receives
//!
//! `deposited_i - withdrawn_i - transferred_i + transferred_j + rebalanced_in_i - rebalanced_out_i`
//!
//! (see [`types::Channel::settlement`]). A unilateral [`Pallet::close`] starts a challenge period
//! in which anyone holding a newer proof (the counterparty or its watchtower) can submit it with
//! [`Pallet::update_balance_proof`]. A proof only ever counts against its signer: it replaces
//! the recorded one only if it raises what its signer has transferred, so nothing its signer
//! makes up afterwards (a lower total, a higher nonce) can take back a payment. After the period anyone
//! may [`Pallet::settle`], and the pallet's `on_initialize` settles expired channels by itself,
//! a bounded number per block.
//!
//! Payments through intermediaries use hash-time locks: a [`paychan_primitives::LockedBalanceProof`]
//! also commits to the signer's pending locks (their sum and Merkle root). Its beneficiary
//! submits it with [`Pallet::update_locked_proof`] (ordered by nonce; plain proofs no longer
//! replace a side with locks pending); settlement holds the locked amounts back, and
//! [`Pallet::unlock`] pays each lock to its receiver if its secret was registered with
//! [`Pallet::register_secret`] by its expiry, back to its sender otherwise.
//!
//! Every signed payload starts with a domain tag and the genesis hash and carries the channel
//! id; channel ids come from a counter and are never reused. Every signature comes as a
//! [`paychan_primitives::PayloadSignature`] that declares its form: over the raw signing message,
//! or over its `<Bytes>`-wrapped form, which polkadot.js wallets sign. Only the declared form is
//! checked, so a signature costs one verification.
//!
//! `docs/protocol.md` describes every payload byte by byte.
//!
//! ## Layout
//!
//! This file declares the configuration, storage and hooks, and each call checks its origin and
//! hands over to a `do_*` body in `features/` (lifecycle, closing, locks, settlement, payouts,
//! rebalance requests and plans, the spill queues, queries, invariants; see `features/mod.rs`).
//! The events and errors are pallet sections of their own, `events.rs` and `errors.rs`.

#![cfg_attr(not(feature = "std"), no_std)]

extern crate alloc;

pub use pallet::*;
pub use paychan_primitives::ChannelId;
pub use types::*;
pub use weights::WeightInfo;

use frame_support::pallet_macros::import_section;

#[cfg(any(feature = "runtime-benchmarks", test))]
pub mod benchmark_helper;
#[cfg(feature = "runtime-benchmarks")]
mod benchmarking;
mod errors;
mod events;
mod features;
pub mod migrations;
/// The mock runtime: the unit tests' and the fuzz targets' (`fuzz/`, feature `fuzzing`).
#[cfg(any(test, feature = "fuzzing"))]
pub mod mock;
pub mod runtime_api;
#[cfg(test)]
mod tests;
pub mod types;
pub mod weights;

/// The log target of this pallet.
pub const LOG_TARGET: &str = "runtime::payment-channels";

/// The storage layout version this code reads and writes (see [`migrations`]).
pub const STORAGE_VERSION: frame_support::traits::StorageVersion =
	frame_support::traits::StorageVersion::new(2);

#[import_section(events::events)]
#[import_section(errors::errors)]
#[frame_support::pallet]
pub mod pallet {
	use super::*;
	use crate::features::spill_queue::spill_weight;
	use frame_support::{
		pallet_prelude::*,
		traits::fungible::{Mutate, MutateHold},
	};
	use frame_system::pallet_prelude::*;
	use paychan_primitives::ChannelId;
	use sp_runtime::traits::{IdentifyAccount, StaticLookup, Verify};

	type AccountIdLookupOf<T> = <<T as frame_system::Config>::Lookup as StaticLookup>::Source;

	#[pallet::pallet]
	#[pallet::storage_version(STORAGE_VERSION)]
	pub struct Pallet<T>(_);

	/// Why this pallet holds funds.
	#[pallet::composite_enum]
	pub enum HoldReason {
		/// Funds locked in a channel.
		ChannelFunds,
		/// The deposit that pays for a channel's storage; returned when the channel is removed.
		ChannelRecord,
		/// The deposit that pays for a rebalance request's storage; returned when it is removed.
		RequestRecord,
	}

	#[pallet::config]
	pub trait Config: frame_system::Config<RuntimeEvent: From<Event<Self>>> {
		/// The currency channels are funded in.
		type Currency: Mutate<Self::AccountId>
			+ MutateHold<Self::AccountId, Reason = Self::RuntimeHoldReason>;

		/// The overarching hold reason.
		type RuntimeHoldReason: From<HoldReason>;

		/// The signature participants sign off-chain payloads with.
		type Signature: Verify<Signer = Self::Signer> + Parameter;

		/// The public key behind [`Config::Signature`]; identifies an account.
		type Signer: IdentifyAccount<AccountId = Self::AccountId>;

		/// Held from the opener for the channel's storage; returned when it is removed.
		#[pallet::constant]
		type ChannelRecordDeposit: Get<BalanceOf<Self>>;

		/// The smallest deposit accepted at open and by splice-in: smaller ones are dust.
		#[pallet::constant]
		type MinDeposit: Get<BalanceOf<Self>>;

		/// The shortest challenge period a channel may choose, in blocks.
		#[pallet::constant]
		type MinChallengePeriod: Get<BlockNumberFor<Self>>;

		/// The longest challenge period a channel may choose, in blocks.
		#[pallet::constant]
		type MaxChallengePeriod: Get<BlockNumberFor<Self>>;

		/// How many channels one account may be a participant of.
		#[pallet::constant]
		type MaxChannelsPerAccount: Get<u32>;

		/// How many channels whose challenge period ended `on_initialize` settles per block.
		#[pallet::constant]
		type MaxSettlementsPerBlock: Get<u32>;

		/// How many closes may be queued for automatic settlement in one block.
		#[pallet::constant]
		type MaxClosingsPerBlock: Get<u32>;

		/// Held from a declarer for each open rebalance request.
		#[pallet::constant]
		type RequestDeposit: Get<BalanceOf<Self>>;

		/// How many channels one rebalance request may name.
		#[pallet::constant]
		type MaxRequestEntries: Get<u32>;

		/// How far ahead a rebalance request may expire, in blocks.
		#[pallet::constant]
		type MaxRequestLifetime: Get<BlockNumberFor<Self>>;

		/// How many requests may be queued to expire in one block.
		#[pallet::constant]
		type MaxRequestExpiriesPerBlock: Get<u32>;

		/// How many edges a rebalancing plan may have.
		#[pallet::constant]
		type MaxPlanEdges: Get<u32>;

		/// A rebalancing round opens every this many blocks (`RoundOpened`).
		#[pallet::constant]
		type RebalancePeriod: Get<BlockNumberFor<Self>>;

		/// Told about channel events; `()` ignores them.
		type OnChannelEvent: OnChannelEvent<Self::AccountId, BalanceOf<Self>>;

		/// Weights of this pallet's calls and hooks.
		type WeightInfo: WeightInfo;

		/// Creates signing accounts and signatures for the benchmarks.
		#[cfg(feature = "runtime-benchmarks")]
		type BenchmarkHelper: benchmark_helper::BenchmarkHelper<Self::AccountId, Self::Signature>;
	}

	/// The id the next opened channel gets. Only ever grows, so ids are never reused.
	#[pallet::storage]
	pub type NextChannelId<T> = StorageValue<_, ChannelId, ValueQuery>;

	/// Channels that are open or closing. Settled channels are removed.
	#[pallet::storage]
	pub type Channels<T: Config> = StorageMap<_, Twox64Concat, ChannelId, ChannelOf<T>>;

	/// The channels each account participates in.
	#[pallet::storage]
	pub type ParticipantChannels<T: Config> = StorageDoubleMap<
		_,
		Blake2_128Concat,
		T::AccountId,
		Twox64Concat,
		ChannelId,
		(),
		OptionQuery,
	>;

	/// How many channels each account opened or consented to fund (bounded by
	/// `MaxChannelsPerAccount`). Channels opened to an account without its consent do not count.
	#[pallet::storage]
	pub type ChannelCount<T: Config> =
		StorageMap<_, Blake2_128Concat, T::AccountId, u32, ValueQuery>;

	/// How many channels each account has opened. A funding consent names the opener's count, so
	/// that only the opener's own opens use it up. Never reset, so a consent is never replayed.
	#[pallet::storage]
	pub type OpenNonces<T: Config> = StorageMap<_, Blake2_128Concat, T::AccountId, u64, ValueQuery>;

	/// Closing channels by the first block in which `on_initialize` may settle them.
	#[pallet::storage]
	pub type SettlementQueue<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<ChannelId, T::MaxClosingsPerBlock>,
		ValueQuery,
	>;

	/// Open rebalance requests, one per declarer.
	#[pallet::storage]
	pub type RebalanceRequests<T: Config> =
		CountedStorageMap<_, Blake2_128Concat, T::AccountId, RebalanceRequestOf<T>>;

	/// Declarers whose requests expire, by the first block in which they no longer count.
	#[pallet::storage]
	pub type RequestExpiries<T: Config> = StorageMap<
		_,
		Twox64Concat,
		BlockNumberFor<T>,
		BoundedVec<T::AccountId, T::MaxRequestExpiriesPerBlock>,
		ValueQuery,
	>;

	/// A running hash over every change to the open requests: solvers that follow the events can
	/// check they have seen all of them.
	#[pallet::storage]
	pub type RequestsDigest<T: Config> = StorageValue<_, [u8; 32], ValueQuery>;

	/// The number of the last rebalancing round opened.
	#[pallet::storage]
	pub type CurrentRound<T: Config> = StorageValue<_, u32, ValueQuery>;

	/// The oldest block of [`SettlementQueue`] that `on_initialize` has not finished. Unset
	/// until the hook first runs, which then starts at its own block: a runtime that adds the
	/// pallet at block `n` does not walk the `n` empty blocks before it.
	#[pallet::storage]
	pub type SettlementCursor<T: Config> = StorageValue<_, BlockNumberFor<T>, OptionQuery>;

	/// Revealed secrets, by their hash, with the block each was first registered in. A lock pays
	/// its receiver if its secret's block is no later than its expiry. Never pruned: a lock can
	/// be unlocked long after the secret was revealed (docs/protocol.md §10.6).
	#[pallet::storage]
	pub type Secrets<T: Config> = StorageMap<_, Identity, [u8; 32], BlockNumberFor<T>>;

	/// The locks settled channels still hold funds for, by channel and sender. The funds sit on
	/// hold (`ChannelFunds`) in the sender's account until `unlock` pays them.
	#[pallet::storage]
	pub type PendingLocks<T: Config> = StorageDoubleMap<
		_,
		Twox64Concat,
		ChannelId,
		Blake2_128Concat,
		T::AccountId,
		PendingLockSetOf<T>,
	>;

	#[pallet::hooks]
	impl<T: Config> Hooks<BlockNumberFor<T>> for Pallet<T> {
		fn on_initialize(now: BlockNumberFor<T>) -> Weight {
			Self::settle_expired_channels(now)
				.saturating_add(Self::expire_requests(now))
				.saturating_add(Self::open_round_if_due(now))
		}

		fn integrity_test() {
			Self::do_integrity_test()
		}

		#[cfg(feature = "try-runtime")]
		fn try_state(_n: BlockNumberFor<T>) -> Result<(), sp_runtime::TryRuntimeError> {
			Self::do_try_state()
		}
	}

	#[pallet::call]
	impl<T: Config> Pallet<T> {
		/// Open a channel with `counterparty`, locking `deposit` of the caller's funds.
		///
		/// The dispatch origin must be signed: the opener.
		///
		/// `challenge_period` (blocks) is how long a unilateral close waits for disputes; it must
		/// lie within the runtime's bounds. For dual funding, `counterparty_funding` carries the
		/// counterparty's signed consent to deposit its amount as well, bound to the opener, its
		/// open nonce (`OpenNonces`), both deposits and the challenge period. The channel record's
		/// storage deposit is held from the caller until the channel is removed. The channel
		/// counts against the opener's `MaxChannelsPerAccount`, and against the counterparty's
		/// only if it consented.
		///
		/// Errors: `SelfChannel`, `ZeroAmount`, `BelowMinimumDeposit`,
		/// `ChallengePeriodOutOfBounds`, `ChannelIdsExhausted`, `TooManyChannels`, `Overflow`; with
		/// a consent `WrongGenesis`, `WrongSigner`, `FundingConsentMismatch`,
		/// `FundingConsentExpired`, `InvalidSignature`; and the currency's errors when a deposit
		/// cannot be held.
		///
		/// Emits `ChannelOpened`.
		#[pallet::call_index(0)]
		#[pallet::weight(if counterparty_funding.is_some() {
			T::WeightInfo::open_channel_dual_funded()
		} else {
			T::WeightInfo::open_channel()
		})]
		pub fn open_channel(
			origin: OriginFor<T>,
			counterparty: AccountIdLookupOf<T>,
			deposit: BalanceOf<T>,
			challenge_period: BlockNumberFor<T>,
			counterparty_funding: Option<SignedFundingConsentOf<T>>,
		) -> DispatchResult {
			let opener = ensure_signed(origin)?;
			let counterparty = T::Lookup::lookup(counterparty)?;
			Self::do_open_channel(
				opener,
				counterparty,
				deposit,
				challenge_period,
				counterparty_funding,
			)
		}

		/// Add `amount` of the caller's funds to its side of an open channel (splice-in).
		///
		/// The dispatch origin must be signed by a participant of the channel. Needs no signature
		/// from the counterparty: deposits are tracked on chain as a cumulative total and only
		/// raise the caller's settlement. Raises the channel's state version.
		///
		/// Errors: `ZeroAmount`, `BelowMinimumDeposit`, `UnknownChannel`, `NotParticipant`,
		/// `ChannelNotOpen`, `Overflow`, and the currency's when the amount cannot be held.
		///
		/// Emits `Deposited`.
		#[pallet::call_index(1)]
		#[pallet::weight(T::WeightInfo::deposit())]
		pub fn deposit(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			amount: BalanceOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_deposit(who, channel_id, amount)
		}

		/// Take funds out of an open channel without closing it (splice-out).
		///
		/// The dispatch origin must be signed by the participant the proof names. `proof` is the
		/// counterparty's consent, signed with `counterparty_signature`: it names the caller and
		/// the caller's withdrawn total after this call, and expires at `proof.expires_at`. The
		/// difference to the current total is paid to the caller. What leaves first lowers the
		/// open rebalance pledges on the caller's side of the channel (its `max_send`, the
		/// counterparty's `max_receive`), so that no plan can move it a second time. Raises the
		/// channel's state version.
		///
		/// Errors: `UnknownChannel`, `NotParticipant`, `ChannelNotOpen`, `WrongGenesis`,
		/// `WrongParticipant`, `WithdrawProofExpired`, `WithdrawProofStale`,
		/// `WithdrawExceedsChannelFunds`, `InvalidSignature`.
		///
		/// Emits `Withdrawn`, and `PledgesConsumed` when pledges were lowered.
		#[pallet::call_index(2)]
		#[pallet::weight(T::WeightInfo::withdraw())]
		pub fn withdraw(
			origin: OriginFor<T>,
			proof: WithdrawProofOf<T>,
			counterparty_signature: PayloadSignatureOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_withdraw(who, proof, counterparty_signature)
		}

		/// Close a channel at once with the final split both participants signed.
		///
		/// The dispatch origin must be signed by a participant. `settlement` names the payouts
		/// of the opener and of the counterparty, which must add up to the channel's funds, and
		/// is bound to the channel's state: its `version` must be the channel's, its `nonces` no
		/// lower than the balance proofs the chain has recorded, and `expires_at` not passed.
		/// Allowed while the channel is open or closing. The storage deposit goes back to the
		/// opener.
		///
		/// Errors: `UnknownChannel`, `NotParticipant`, `WrongGenesis`,
		/// `CooperativeCloseExpired`, `StaleCooperativeClose`, `Overflow`, `PayoutMismatch`,
		/// `InvalidSignature`.
		///
		/// Emits `ChannelClosedCooperatively`.
		#[pallet::call_index(3)]
		#[pallet::weight(T::WeightInfo::cooperative_close())]
		pub fn cooperative_close(
			origin: OriginFor<T>,
			settlement: CooperativeCloseOf<T>,
			opener_signature: PayloadSignatureOf<T>,
			counterparty_signature: PayloadSignatureOf<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_cooperative_close(who, settlement, [opener_signature, counterparty_signature])
		}

		/// Close a channel unilaterally and start its challenge period.
		///
		/// The dispatch origin must be signed by a participant. `counterparty_proof` is the
		/// newest balance proof the caller holds from its counterparty (what the caller was
		/// paid), if any. Until the deadline, the counterparty (or its watchtower) may submit the
		/// caller's newest proof with `update_balance_proof`; after it, anyone may `settle`.
		///
		/// Errors: `UnknownChannel`, `NotParticipant`, `AlreadyClosing`, `SettlementQueueFull`;
		/// with a proof `WrongSigner`, `WrongGenesis`, `WrongChannel`, `StaleBalanceProof`,
		/// `InvalidSignature`.
		///
		/// Emits `CloseStarted`, and `BalanceProofSubmitted` with a proof.
		#[pallet::call_index(4)]
		#[pallet::weight(T::WeightInfo::close().saturating_add(spill_weight::<T>()))]
		pub fn close(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			counterparty_proof: Option<SignedBalanceProofOf<T>>,
		) -> DispatchResult {
			let closer = ensure_signed(origin)?;
			Self::do_close(closer, channel_id, counterparty_proof)
		}

		/// Submit a participant's balance proof newer than the one the chain has, while the
		/// channel is in its challenge period (a dispute).
		///
		/// The dispatch origin must be signed, by anyone: a proof replaces the recorded one only
		/// if it raises what its signer has transferred, so it only ever counts in favour of the
		/// participant that did not sign it, and the counterparty's watchtower can dispute a
		/// stale close on its behalf. Neither the signer (a lower total, any nonce) nor anyone
		/// else can take a recorded payment back. Raises the channel's state version.
		///
		/// Errors: `UnknownChannel`, `ChannelNotClosing`, `ChallengePeriodOver`, `WrongGenesis`,
		/// `WrongChannel`, `WrongSigner`, `StaleBalanceProof`, `InvalidSignature`.
		///
		/// Emits `BalanceProofSubmitted`.
		#[pallet::call_index(5)]
		#[pallet::weight(T::WeightInfo::update_balance_proof())]
		pub fn update_balance_proof(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			proof: SignedBalanceProofOf<T>,
		) -> DispatchResult {
			let submitter = ensure_signed(origin)?;
			Self::do_update_balance_proof(submitter, channel_id, proof)
		}

		/// Pay out a closing channel whose challenge period has ended, and remove it.
		///
		/// The dispatch origin must be signed, by anyone; `on_initialize` also does it by itself
		/// for expired channels. The storage deposit goes back to the opener.
		///
		/// Errors: `UnknownChannel`, `ChannelNotClosing`, `ChallengePeriodNotOver`.
		///
		/// Emits `ChannelSettled`.
		#[pallet::call_index(6)]
		#[pallet::weight(T::WeightInfo::settle())]
		pub fn settle(origin: OriginFor<T>, channel_id: ChannelId) -> DispatchResult {
			ensure_signed(origin)?;
			Self::do_settle(channel_id)
		}

		/// Declare what the caller is willing to move when its channels are rebalanced (an
		/// on-demand request), replacing any request it had.
		///
		/// The dispatch origin must be signed: the declarer, a participant of every named channel.
		///
		/// For each named open channel, `max_send` may leave and `max_receive` may arrive on the
		/// caller's side, each at most the channel's funds; `max_fee` is the most the caller loses
		/// to intermediaries over all plans, for receiving everything it declared (a plan takes a
		/// fee only in proportion to what the caller receives in it); the request counts until
		/// block `expires_at`. The `max_send` amounts are pledged: clients refuse off-chain
		/// payments that would leave less than them on the caller's side (see docs/protocol.md),
		/// and withdrawals and shifts lower them. A deposit is held until the request is removed.
		/// There is no global limit on open requests: each is one account's, paid by its deposit.
		///
		/// Errors: `RequestExpiryOutOfBounds`, `EmptyRequest`, `DuplicateEntry`, `ZeroAmount`,
		/// `UnknownChannel`, `NotParticipant`, `ChannelNotOpen`, `ExceedsChannelFunds`,
		/// `Overflow`, `ExpiryQueueFull`, and the currency's when the deposit cannot be held.
		///
		/// Emits `RebalanceRequested` (and `RebalanceRequestRemoved` for a replaced request).
		#[pallet::call_index(7)]
		// Removing a replaced request and queueing the new one may each spill.
		#[pallet::weight(T::WeightInfo::request_rebalance(entries.len() as u32)
			.saturating_add(spill_weight::<T>().saturating_mul(2)))]
		pub fn request_rebalance(
			origin: OriginFor<T>,
			entries: BoundedVec<RequestEntryOf<T>, T::MaxRequestEntries>,
			max_fee: BalanceOf<T>,
			expires_at: BlockNumberFor<T>,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_request_rebalance(who, entries, max_fee, expires_at)
		}

		/// Withdraw the caller's rebalance request and get its deposit back.
		///
		/// The dispatch origin must be signed: the declarer.
		///
		/// Errors: `NoRebalanceRequest`.
		///
		/// Emits `RebalanceRequestRemoved`.
		#[pallet::call_index(8)]
		#[pallet::weight(T::WeightInfo::cancel_rebalance_request()
			.saturating_add(spill_weight::<T>()))]
		pub fn cancel_rebalance_request(origin: OriginFor<T>) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_cancel_rebalance_request(who)
		}

		/// Apply a rebalancing plan (a circulation): every edge moves funds from one side of an
		/// open channel to the other. The dispatch origin must be signed, by anyone: typically a
		/// solver after `RoundOpened`.
		///
		/// Each edge must stay within what is left of its sender's `max_send` and its
		/// receiver's `max_receive` for that channel, and within the channel's funds; each
		/// participant's net loss over the plan (the fee it pays) must stay within what is left
		/// of its `max_fee`, and within its share of it for what it receives in this plan. The
		/// plan applies part by part: the edges among each group of participants that share
		/// edges (a group holds whole cycles) apply all or none, so one participant that cancels
		/// its request or closes a channel cannot stall unrelated cycles. Channel funds do not move
		/// between accounts: the channels' books change (and their state versions), and
		/// settlement pays by them.
		///
		/// Errors (the first part's, when no part applies): `EmptyPlan`, `DuplicateEdge`,
		/// `ZeroAmount`, `UnknownChannel`, `ChannelNotOpen`, `EdgeNotInChannel`,
		/// `NoRebalanceRequest`, `RebalanceRequestExpired`, `ChannelNotInRequest`,
		/// `ExceedsDeclaredBound`, `ExceedsChannelFunds`, `FeeAboveMax`, `Overflow`.
		///
		/// Emits `ChannelRebalanced` per applied edge, `PlanPartRefused` per part left out, and
		/// `PlanExecuted`.
		#[pallet::call_index(9)]
		// The benchmark's ring reads one request per edge; an edge can touch two distinct ones
		// (in a plan whose parts fail), charged here as one more read per edge.
		#[pallet::weight(T::WeightInfo::submit_plan(edges.len() as u32)
			.saturating_add(T::DbWeight::get().reads(edges.len() as u64)))]
		pub fn submit_plan(
			origin: OriginFor<T>,
			edges: BoundedVec<PlanEdgeOf<T>, T::MaxPlanEdges>,
		) -> DispatchResult {
			let submitter = ensure_signed(origin)?;
			Self::do_submit_plan(submitter, edges)
		}

		/// Move funds from the caller's side of one open channel to its side of another, in one
		/// step (Shaduf-style).
		///
		/// The dispatch origin must be signed by a participant of both channels. `proof` and
		/// `counterparty_signature` are the first channel's withdraw consent, exactly as for
		/// `withdraw` (pledges on the caller's side of `from_channel` are lowered the same way);
		/// the withdrawn amount is deposited into `to_channel` instead of being paid out, so it
		/// must be at least the minimum deposit. Raises both channels' state versions.
		///
		/// Errors: those of `withdraw` and of `deposit`, and `ShiftToSameChannel`.
		///
		/// Emits `FundsShifted`, and `PledgesConsumed` when pledges were lowered.
		#[pallet::call_index(10)]
		#[pallet::weight(T::WeightInfo::shift())]
		pub fn shift(
			origin: OriginFor<T>,
			proof: WithdrawProofOf<T>,
			counterparty_signature: PayloadSignatureOf<T>,
			to_channel: ChannelId,
		) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_shift(who, proof, counterparty_signature, to_channel)
		}

		/// Reveal the preimage of a hash-time lock's `secret_hash` on chain.
		///
		/// The dispatch origin must be signed, by anyone: typically a payee or a forwarding
		/// party whose counterparty does not settle a lock off chain before it expires. Every
		/// lock under the hash that expires at this block or later then pays its receiver when it
		/// is unlocked, whichever channel it is in. The first registration counts.
		///
		/// Errors: `SecretAlreadyRegistered`.
		///
		/// Emits `SecretRegistered`, with the secret, so that upstream parties learn it.
		#[pallet::call_index(11)]
		#[pallet::weight(T::WeightInfo::register_secret())]
		pub fn register_secret(origin: OriginFor<T>, secret: [u8; 32]) -> DispatchResult {
			let who = ensure_signed(origin)?;
			Self::do_register_secret(who, secret)
		}

		/// Submit the counterparty's newest locked balance proof while the channel is in its
		/// challenge period: what it paid, and the hash-time locks it has pending.
		///
		/// The dispatch origin must be signed by the proof's beneficiary: the participant that
		/// did not sign it (the closer for its counterparty's proof, or the other side in a
		/// dispute). The proof must have a higher nonce than the last locked proof of its signer
		/// recorded, and it replaces the signer's recorded proof as a whole. Once a side's
		/// recorded proof has locks, plain proofs (`update_balance_proof`) no longer replace it.
		/// At settlement the locked amount is held back for `unlock`. Raises the channel's state
		/// version.
		///
		/// Errors: `UnknownChannel`, `ChannelNotClosing`, `ChallengePeriodOver`, `WrongGenesis`,
		/// `WrongChannel`, `WrongSigner`, `NotBeneficiary`, `StaleBalanceProof`,
		/// `InvalidSignature`.
		///
		/// Emits `LockedBalanceProofSubmitted`.
		#[pallet::call_index(12)]
		#[pallet::weight(T::WeightInfo::update_locked_proof())]
		pub fn update_locked_proof(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			proof: SignedLockedBalanceProofOf<T>,
		) -> DispatchResult {
			let submitter = ensure_signed(origin)?;
			Self::do_update_locked_proof(submitter, channel_id, proof)
		}

		/// Pay out pending locks of `sender` in a settled channel, each with its inclusion proof
		/// against the root the recorded proof committed to.
		///
		/// The dispatch origin must be signed, by anyone. Each lock pays its receiver if its
		/// secret was registered no later than its expiry block, and goes back to `sender` once
		/// it expired unregistered; a lock that has neither is refused. Each lock is unlocked
		/// once. All locks of the call apply or none. When every lock of the set is unlocked the
		/// record is removed, and anything still held goes back to the sender.
		///
		/// Errors: `EmptyUnlock`, `NoPendingLocks`, `InvalidLockProof`, `LockAlreadyUnlocked`,
		/// `LockNotDecided`.
		///
		/// Emits `LockUnlocked` per lock, and `LocksResolved` when the set is done.
		#[pallet::call_index(13)]
		#[pallet::weight(T::WeightInfo::unlock(unlocks.len() as u32))]
		pub fn unlock(
			origin: OriginFor<T>,
			channel_id: ChannelId,
			sender: AccountIdLookupOf<T>,
			unlocks: BoundedVec<
				(LockOf<T>, paychan_primitives::locks::LockProof),
				crate::features::locks::MaxUnlocks,
			>,
		) -> DispatchResult {
			ensure_signed(origin)?;
			let sender = T::Lookup::lookup(sender)?;
			Self::do_unlock(channel_id, sender, unlocks)
		}
	}
}
