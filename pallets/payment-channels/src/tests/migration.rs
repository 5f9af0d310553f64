//! Storage version 0 -> 1 on a state with open, closing and requested channels: nothing is lost,
//! every channel pays out as it would have, and the upgraded pallet works on the old channels.

use super::rebalancing::{entry, request};
use super::*;
use crate::migrations::{v0, v1, MigrateV0ToV1, MigrateV1ToV2, PreUpgrade, V1Snapshot};
use frame_support::traits::{GetStorageVersion, OnRuntimeUpgrade, StorageVersion};

/// A side's totals as version 1 (and 0) stored them; the state these tests downgrade has no locks.
fn without_locks(side: SideBooks<u128>) -> v1::SideBooks<u128> {
	assert_eq!((side.locked, side.locks_root, side.locked_nonce), (0, [0; 32], 0));
	v1::SideBooks {
		deposited: side.deposited,
		withdrawn: side.withdrawn,
		transferred: side.transferred,
		nonce: side.nonce,
		rebalanced_in: side.rebalanced_in,
		rebalanced_out: side.rebalanced_out,
		custody: side.custody,
	}
}

/// Rewrites the channels the way storage version 1 stored them, and the version 1.
fn downgrade_to_v1() {
	for (channel_id, channel) in Channels::<Test>::iter().collect::<Vec<_>>() {
		v1::Channels::<Test>::insert(
			channel_id,
			v1::Channel {
				participants: channel.participants,
				sides: channel.sides.map(without_locks),
				challenge_period: channel.challenge_period,
				status: channel.status,
				opened_at: channel.opened_at,
				storage_deposit: channel.storage_deposit,
				version: channel.version,
				counterparty_consented: channel.counterparty_consented,
			},
		);
	}
	StorageVersion::new(1).put::<crate::Pallet<Test>>();
}

/// Rewrites the current state the way storage version 0 stored it: channels without a state
/// version, a consent flag or a queue slot, requests without a declared receive total, both
/// participants of every channel counted, and the pallet's storage version 0.
fn downgrade_to_v0() {
	for (channel_id, channel) in Channels::<Test>::iter().collect::<Vec<_>>() {
		let status = match channel.status.clone() {
			ChannelStatus::Open => v0::ChannelStatus::Open,
			ChannelStatus::Closing { closer, deadline, .. } => {
				v0::ChannelStatus::Closing { closer, deadline }
			}
		};
		if !channel.counterparty_consented {
			ChannelCount::<Test>::mutate(channel.participant(Side::Counterparty), |count| {
				*count += 1
			});
		}
		v0::Channels::<Test>::insert(
			channel_id,
			v0::Channel {
				participants: channel.participants,
				sides: channel.sides.map(without_locks),
				challenge_period: channel.challenge_period,
				status,
				opened_at: channel.opened_at,
				storage_deposit: channel.storage_deposit,
			},
		);
	}
	for (who, request) in RebalanceRequests::<Test>::iter().collect::<Vec<_>>() {
		v0::RebalanceRequests::<Test>::insert(
			who,
			v0::RebalanceRequest {
				entries: request.entries,
				max_fee: request.max_fee,
				fee_paid: request.fee_paid,
				expires_at: request.expires_at,
				deposit: request.deposit,
			},
		);
	}
	StorageVersion::new(0).put::<crate::Pallet<Test>>();
}

#[test]
fn v0_state_with_open_closing_and_requested_channels_migrates_and_pays_out() {
	build_and_execute(|| {
		// Open, with a half-used request on each side.
		let open_ab = open(Who::Alice, Who::Bob, 1_000, 500);
		request(Who::Alice, vec![entry(open_ab, 300, 200)], 7);
		request(Who::Bob, vec![entry(open_ab, 100, 300)], 0);
		// Closing, queued where a close puts it.
		let closing_ac = open(Who::Alice, Who::Charlie, 800, 0);
		let deadline = close(Who::Alice, closing_ac, None);
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Charlie.origin(),
			closing_ac,
			balance_proof(Who::Alice, closing_ac, 4, 250),
		));
		// Closing, but no longer in the queue (as if the hook had taken it out).
		let closing_cd = open(Who::Charlie, Who::Dave, 600, 0);
		close(Who::Charlie, closing_cd, None);
		let ChannelStatus::Closing { queued_in, .. } = channel(closing_cd).status else {
			unreachable!()
		};
		SettlementQueue::<Test>::mutate(queued_in, |queue| queue.retain(|id| *id != closing_cd));
		let payouts_before: Vec<_> = [open_ab, closing_ac, closing_cd]
			.map(|id| crate::Pallet::<Test>::settlement_preview(id).unwrap())
			.to_vec();
		downgrade_to_v0();

		let before = PreUpgrade::<Test>::take();
		assert_eq!(before.channels.len(), 3);
		assert_eq!(before.requests.len(), 2);
		MigrateV0ToV1::<Test>::on_runtime_upgrade();
		before.check().expect("nothing lost, every payout kept");
		assert_eq!(crate::Pallet::<Test>::on_chain_storage_version(), StorageVersion::new(1));
		// The runtime runs both in order; the second takes the first's output.
		let v1_state = V1Snapshot::<Test>::take();
		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		v1_state.check().expect("version 1 to 2 keeps every channel");
		assert_eq!(crate::Pallet::<Test>::on_chain_storage_version(), StorageVersion::new(2));
		PaymentChannels::do_try_state().expect("the migrated state is consistent");

		let payouts_after: Vec<_> = [open_ab, closing_ac, closing_cd]
			.map(|id| crate::Pallet::<Test>::settlement_preview(id).unwrap())
			.to_vec();
		assert_eq!(payouts_after, payouts_before);
		assert!(channel(open_ab).counterparty_consented, "version 0 counted both participants");
		let alice = RebalanceRequests::<Test>::get(Who::Alice.account()).unwrap();
		assert_eq!(alice.declared_receive, 200);
		let ChannelStatus::Closing { queued_in: requeued, .. } = channel(closing_cd).status else {
			unreachable!()
		};
		assert!(SettlementQueue::<Test>::get(requeued).contains(&closing_cd));

		// Running them again does nothing: the version is 2 now.
		let snapshot = sp_io::storage::root(sp_runtime::StateVersion::V1);
		MigrateV0ToV1::<Test>::on_runtime_upgrade();
		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		assert_eq!(sp_io::storage::root(sp_runtime::StateVersion::V1), snapshot);

		// The old channels work under the new rules: both closing ones settle by the hook...
		let (alice_free, charlie_free, dave_free) =
			(Who::Alice.free(), Who::Charlie.free(), Who::Dave.free());
		run_to_block(deadline + 1 + crate::features::spill_queue::SPILL_BLOCKS as u64);
		assert!(!Channels::<Test>::contains_key(closing_ac));
		assert!(!Channels::<Test>::contains_key(closing_cd));
		assert_eq!(Who::Alice.free(), alice_free + 550 + RECORD_DEPOSIT);
		assert_eq!(Who::Charlie.free(), charlie_free + 250 + 600 + RECORD_DEPOSIT);
		assert_eq!(Who::Dave.free(), dave_free);
		// ...and the open one closes cooperatively with a split signed for its state now.
		let split = cooperative_close(open_ab, 1_000, 500);
		assert_eq!(split.version, 0);
		assert_ok!(PaymentChannels::cooperative_close(
			Who::Bob.origin(),
			split.clone(),
			Who::Alice.sign(&split),
			Who::Bob.sign(&split),
		));
	});
}

#[test]
fn v1_channels_migrate_to_v2_without_locks_and_then_take_locked_proofs() {
	build_and_execute(|| {
		let open_ab = open(Who::Alice, Who::Bob, 1_000, 500);
		let closing_ac = open(Who::Alice, Who::Charlie, 800, 0);
		close(Who::Alice, closing_ac, None);
		let before: Vec<_> = Channels::<Test>::iter().collect();
		downgrade_to_v1();
		let snapshot = V1Snapshot::<Test>::take();
		assert_eq!(snapshot.0.len(), 2);

		MigrateV1ToV2::<Test>::on_runtime_upgrade();
		snapshot.check().expect("every channel kept");
		assert_eq!(crate::Pallet::<Test>::on_chain_storage_version(), StorageVersion::new(2));
		let mut after: Vec<_> = Channels::<Test>::iter().collect();
		after.sort_by_key(|(id, _)| *id);
		let mut before = before;
		before.sort_by_key(|(id, _)| *id);
		assert_eq!(after, before, "the v2 channels equal the ones that were downgraded");
		PaymentChannels::do_try_state().expect("the migrated state is consistent");

		// A migrated closing channel takes a locked proof from its beneficiary.
		let locks = super::locks::two_locks(10);
		assert_ok!(PaymentChannels::update_locked_proof(
			Who::Charlie.origin(),
			closing_ac,
			locked_proof(Who::Alice, closing_ac, 5, 100, &locks),
		));
		assert_eq!(channel(closing_ac).books(Side::Opener).locked, 50);
		assert!(channel(open_ab).is_open());
	});
}
