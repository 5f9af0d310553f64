//! Unit tests of the pallet on the mock runtime. Every test runs through
//! [`build_and_execute`], which checks `try_state` (conservation and the channel invariants)
//! after the test.

use crate::{mock::*, pallet::*, types::*};
use frame_support::{assert_noop, assert_ok, BoundedVec};
use paychan_primitives::ChannelId;

mod adversarial;
mod findings;
mod hooks;
mod lifecycle;
mod locks;
mod migration;
mod properties;
mod rebalancing;
mod safety;
mod signatures;

/// Opens a channel between `opener` and `counterparty` with the default challenge period; the
/// counterparty funds its side through a signed funding consent when `counterparty_deposit > 0`.
fn open(
	opener: Who,
	counterparty: Who,
	deposit: Balance,
	counterparty_deposit: Balance,
) -> ChannelId {
	let channel_id = NextChannelId::<Test>::get();
	let funding = (counterparty_deposit > 0)
		.then(|| funding_consent(counterparty, deposit, opener, counterparty_deposit, CHALLENGE));
	assert_ok!(PaymentChannels::open_channel(
		opener.origin(),
		counterparty.account(),
		deposit,
		CHALLENGE,
		funding,
	));
	channel_id
}

fn channel(channel_id: ChannelId) -> ChannelOf<Test> {
	Channels::<Test>::get(channel_id).expect("the channel exists")
}

/// Closes `channel_id` as `closer`, presenting `proof` (the counterparty's), and returns the
/// deadline.
fn close(
	closer: Who,
	channel_id: ChannelId,
	proof: Option<SignedBalanceProofOf<Test>>,
) -> BlockNumber {
	assert_ok!(PaymentChannels::close(closer.origin(), channel_id, proof));
	match channel(channel_id).status {
		ChannelStatus::Closing { deadline, .. } => deadline,
		ChannelStatus::Open => panic!("the channel should be closing"),
	}
}

/// The sum of every endowed account's free and held balance: it must never change, because no
/// channel operation creates or destroys funds (the mock charges no fees).
fn total_issuance() -> Balance {
	<Balances as frame_support::traits::fungible::Inspect<AccountId>>::total_issuance()
}

#[test]
fn genesis_hash_is_the_one_frame_system_stores_for_block_zero() {
	build_and_execute(|| {
		assert_eq!(genesis(), sp_core::H256::repeat_byte(69));
	});
}

#[test]
fn refused_open_changes_nothing() {
	build_and_execute(|| {
		assert_noop!(
			PaymentChannels::open_channel(
				Who::Alice.origin(),
				Who::Alice.account(),
				100,
				CHALLENGE,
				None
			),
			Error::<Test>::SelfChannel
		);
	});
}
