//! A mock runtime with real sr25519 keys: System, Balances and PaymentChannels.

use crate::{self as pallet_payment_channels, types::*, HoldReason};
use core::cell::RefCell;
use frame_support::{
	derive_impl,
	traits::{ConstU128, ConstU32, ConstU64},
};
use paychan_primitives::{
	BalanceProof, ChannelId, CooperativeClose, FundingConsent, LockedBalanceProof,
	PayloadSignature, Signed, SignedPayload, WithdrawProof,
};
use sp_core::{sr25519, Pair, H256};
use sp_keystore::{testing::MemoryKeystore, KeystoreExt};
use sp_runtime::{traits::IdentityLookup, AccountId32, BuildStorage, MultiSignature, MultiSigner};

type Block = frame_system::mocking::MockBlock<Test>;
pub type Balance = u128;
pub type AccountId = AccountId32;
pub type BlockNumber = u64;

pub const EXISTENTIAL_DEPOSIT: Balance = 5;
pub const MIN_DEPOSIT: Balance = 10;
pub const RECORD_DEPOSIT: Balance = 7;
pub const MIN_CHALLENGE: BlockNumber = 3;
pub const MAX_CHALLENGE: BlockNumber = 100;
pub const CHALLENGE: BlockNumber = 10;
pub const MAX_CHANNELS_PER_ACCOUNT: u32 = 8;
pub const MAX_SETTLEMENTS_PER_BLOCK: u32 = 2;
pub const MAX_CLOSINGS_PER_BLOCK: u32 = 4;
pub const ENDOWMENT: Balance = 1_000_000;
pub const REQUEST_DEPOSIT: Balance = 3;
pub const MAX_REQUEST_ENTRIES: u32 = 4;
pub const MAX_REQUEST_LIFETIME: BlockNumber = 50;
pub const MAX_REQUEST_EXPIRIES_PER_BLOCK: u32 = 4;
pub const MAX_PLAN_EDGES: u32 = 4;
pub const REBALANCE_PERIOD: BlockNumber = 5;

frame_support::construct_runtime!(
	pub enum Test {
		System: frame_system,
		Balances: pallet_balances,
		PaymentChannels: pallet_payment_channels,
	}
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
	type Block = Block;
	type AccountId = AccountId;
	type Lookup = IdentityLookup<AccountId>;
	type AccountData = pallet_balances::AccountData<Balance>;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
	type Balance = Balance;
	type ExistentialDeposit = ConstU128<EXISTENTIAL_DEPOSIT>;
	type AccountStore = System;
	type RuntimeHoldReason = RuntimeHoldReason;
}

/// What [`RecordingHook`] saw, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HookCall {
	Opened(ChannelId),
	CloseStarted(ChannelId, AccountId),
	Rebalanced(ChannelId, AccountId, Balance),
	Settled(ChannelId, [Balance; 2]),
}

thread_local! {
	static HOOK_CALLS: RefCell<Vec<HookCall>> = const { RefCell::new(Vec::new()) };
}

/// The calls [`RecordingHook`] received since the test started.
pub fn hook_calls() -> Vec<HookCall> {
	HOOK_CALLS.with(|calls| calls.borrow().clone())
}

/// An `OnChannelEvent` that records what it is told.
pub struct RecordingHook;

impl OnChannelEvent<AccountId, Balance> for RecordingHook {
	fn on_opened(channel_id: ChannelId, _participants: &[AccountId; 2], _deposits: [Balance; 2]) {
		HOOK_CALLS.with(|calls| calls.borrow_mut().push(HookCall::Opened(channel_id)));
	}
	fn on_close_started(channel_id: ChannelId, closer: &AccountId) {
		HOOK_CALLS.with(|calls| {
			calls.borrow_mut().push(HookCall::CloseStarted(channel_id, closer.clone()))
		});
	}
	fn on_rebalanced(channel_id: ChannelId, from: &AccountId, amount: Balance) {
		HOOK_CALLS.with(|calls| {
			calls.borrow_mut().push(HookCall::Rebalanced(channel_id, from.clone(), amount))
		});
	}
	fn on_settled(channel_id: ChannelId, _participants: &[AccountId; 2], payouts: [Balance; 2]) {
		HOOK_CALLS.with(|calls| calls.borrow_mut().push(HookCall::Settled(channel_id, payouts)));
	}
}

impl pallet_payment_channels::Config for Test {
	type Currency = Balances;
	type RuntimeHoldReason = RuntimeHoldReason;
	type Signature = MultiSignature;
	type Signer = MultiSigner;
	type ChannelRecordDeposit = ConstU128<RECORD_DEPOSIT>;
	type MinDeposit = ConstU128<MIN_DEPOSIT>;
	type MinChallengePeriod = ConstU64<MIN_CHALLENGE>;
	type MaxChallengePeriod = ConstU64<MAX_CHALLENGE>;
	type MaxChannelsPerAccount = ConstU32<MAX_CHANNELS_PER_ACCOUNT>;
	type MaxSettlementsPerBlock = ConstU32<MAX_SETTLEMENTS_PER_BLOCK>;
	type MaxClosingsPerBlock = ConstU32<MAX_CLOSINGS_PER_BLOCK>;
	type RequestDeposit = ConstU128<REQUEST_DEPOSIT>;
	type MaxRequestEntries = ConstU32<MAX_REQUEST_ENTRIES>;
	type MaxRequestLifetime = ConstU64<MAX_REQUEST_LIFETIME>;
	type MaxRequestExpiriesPerBlock = ConstU32<MAX_REQUEST_EXPIRIES_PER_BLOCK>;
	type MaxPlanEdges = ConstU32<MAX_PLAN_EDGES>;
	type RebalancePeriod = ConstU64<REBALANCE_PERIOD>;
	type OnChannelEvent = RecordingHook;
	type WeightInfo = ();
	#[cfg(feature = "runtime-benchmarks")]
	type BenchmarkHelper = crate::benchmark_helper::Sr25519Keystore;
}

/// A test participant: a real sr25519 key from a dev seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Who {
	Alice,
	Bob,
	Charlie,
	Dave,
	/// Holds no channel: a watchtower or a stranger.
	Eve,
	/// Has no funds and no account.
	Ferdie,
}

impl Who {
	pub fn pair(self) -> sr25519::Pair {
		thread_local! {
			static PAIRS: RefCell<std::collections::BTreeMap<String, sr25519::Pair>> =
				const { RefCell::new(std::collections::BTreeMap::new()) };
		}
		let name = format!("{self:?}");
		PAIRS.with(|pairs| {
			pairs
				.borrow_mut()
				.entry(name.clone())
				.or_insert_with(|| {
					sr25519::Pair::from_string(&format!("//{name}"), None)
						.expect("dev seeds are valid")
				})
				.clone()
		})
	}

	pub fn account(self) -> AccountId {
		self.pair().public().into()
	}

	pub fn origin(self) -> RuntimeOrigin {
		RuntimeOrigin::signed(self.account())
	}

	/// The participant whose account this is, if it is one of them.
	pub fn from_account(account: &AccountId) -> Option<Who> {
		[Who::Alice, Who::Bob, Who::Charlie, Who::Dave, Who::Eve, Who::Ferdie]
			.into_iter()
			.find(|who| &who.account() == account)
	}

	/// Signs the signing message itself, as the `paychan` client does (declared `Raw`).
	pub fn sign<P: SignedPayload>(self, payload: &P) -> PayloadSignature<MultiSignature> {
		PayloadSignature::Raw(self.pair().sign(&payload.signing_message()).into())
	}

	/// Signs the `<Bytes>`-wrapped message, as a polkadot.js wallet does (declared `Wrapped`).
	pub fn sign_wrapped<P: SignedPayload>(self, payload: &P) -> PayloadSignature<MultiSignature> {
		let wrapped = paychan_primitives::wrap_bytes(&payload.signing_message());
		PayloadSignature::Wrapped(self.pair().sign(&wrapped).into())
	}

	pub fn free(self) -> Balance {
		Balances::free_balance(self.account())
	}
}

/// The genesis hash the mock chain has (frame_system's genesis sets block 0's hash to `[69; 32]`).
pub fn genesis() -> H256 {
	PaymentChannels::genesis_hash()
}

pub fn balance_proof(
	signer: Who,
	channel_id: ChannelId,
	nonce: u64,
	transferred: Balance,
) -> SignedBalanceProofOf<Test> {
	let payload = BalanceProof { genesis_hash: genesis(), channel_id, nonce, transferred };
	Signed { signature: signer.sign(&payload), signer: signer.account(), payload }
}

/// `signer`'s locked balance proof with `locks` pending: `locked` and `locks_root` are theirs.
pub fn locked_proof(
	signer: Who,
	channel_id: ChannelId,
	nonce: u64,
	transferred: Balance,
	locks: &[LockOf<Test>],
) -> SignedLockedBalanceProofOf<Test> {
	let payload = LockedBalanceProof {
		genesis_hash: genesis(),
		channel_id,
		nonce,
		transferred,
		locked: locks.iter().map(|lock| lock.amount).sum(),
		locks_root: paychan_primitives::locks::locks_root(locks).expect("at most MAX_LOCKS"),
	};
	Signed { signature: signer.sign(&payload), signer: signer.account(), payload }
}

pub fn withdraw_proof(
	channel_id: ChannelId,
	participant: Who,
	total_withdrawn: Balance,
	expires_at: BlockNumber,
) -> WithdrawProofOf<Test> {
	WithdrawProof {
		genesis_hash: genesis(),
		channel_id,
		participant: participant.account(),
		total_withdrawn,
		expires_at,
	}
}

/// A cooperative close of `channel_id` bound to the channel's state now (its version and
/// recorded nonces), usable for five blocks.
pub fn cooperative_close(
	channel_id: ChannelId,
	payout_opener: Balance,
	payout_counterparty: Balance,
) -> CooperativeCloseOf<Test> {
	let (version, nonces) = crate::Channels::<Test>::get(channel_id)
		.map_or((0, [0, 0]), |channel| {
			(channel.version, [channel.sides[0].nonce, channel.sides[1].nonce])
		});
	CooperativeClose {
		genesis_hash: genesis(),
		channel_id,
		version,
		nonces,
		payout_opener,
		payout_counterparty,
		expires_at: System::block_number() + 5,
	}
}

/// `counterparty`'s signed consent to fund `amount` in the next channel `opener` opens with
/// `opener_deposit`, usable for five blocks.
pub fn funding_consent(
	counterparty: Who,
	opener_deposit: Balance,
	opener: Who,
	amount: Balance,
	challenge_period: BlockNumber,
) -> SignedFundingConsentOf<Test> {
	let payload = FundingConsent {
		genesis_hash: genesis(),
		opener: opener.account(),
		open_nonce: crate::OpenNonces::<Test>::get(opener.account()),
		opener_deposit,
		amount,
		challenge_period,
		expires_at: System::block_number() + 5,
	};
	Signed { signature: counterparty.sign(&payload), signer: counterparty.account(), payload }
}

/// Builds the mock chain's genesis: Alice to Eve endowed, Ferdie without an account.
pub fn new_test_ext() -> sp_io::TestExternalities {
	let mut storage = frame_system::GenesisConfig::<Test>::default().build_storage().unwrap();
	pallet_balances::GenesisConfig::<Test> {
		balances: [Who::Alice, Who::Bob, Who::Charlie, Who::Dave, Who::Eve]
			.into_iter()
			.map(|who| (who.account(), ENDOWMENT))
			.collect(),
		..Default::default()
	}
	.assimilate_storage(&mut storage)
	.unwrap();
	let mut ext = sp_io::TestExternalities::new(storage);
	ext.register_extension(KeystoreExt::new(MemoryKeystore::new()));
	ext.execute_with(|| System::set_block_number(1));
	ext
}

/// Runs `test` on a fresh chain, then checks the pallet's invariants (`try_state`).
pub fn build_and_execute(test: impl FnOnce()) {
	new_test_ext().execute_with(|| {
		HOOK_CALLS.with(|calls| calls.borrow_mut().clear());
		test();
		PaymentChannels::do_try_state().expect("the pallet's invariants hold after the test");
	});
}

/// Moves the chain to block `n`, running every pallet's hooks on the way.
pub fn run_to_block(n: BlockNumber) {
	System::run_to_block::<AllPalletsWithSystem>(n);
}

/// The total the pallet holds in `who`'s account for channel funds.
pub fn held_funds(who: Who) -> Balance {
	use frame_support::traits::fungible::InspectHold;
	Balances::balance_on_hold(
		&RuntimeHoldReason::PaymentChannels(HoldReason::ChannelFunds),
		&who.account(),
	)
}

/// The total the pallet holds in `who`'s account for channel records.
pub fn held_record(who: Who) -> Balance {
	use frame_support::traits::fungible::InspectHold;
	Balances::balance_on_hold(
		&RuntimeHoldReason::PaymentChannels(HoldReason::ChannelRecord),
		&who.account(),
	)
}
