//! The `on_initialize` settlement of channels whose challenge period ended.

use super::*;
use frame_support::BoundedVec;

#[test]
fn expired_channel_is_settled_without_anyone_calling_settle() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 1_000, 0);
		let deadline =
			close(Who::Bob, channel_id, Some(balance_proof(Who::Alice, channel_id, 1, 250)));
		run_to_block(deadline);
		assert!(Channels::<Test>::get(channel_id).is_some(), "still disputable at the deadline");
		run_to_block(deadline + 1);
		assert!(Channels::<Test>::get(channel_id).is_none());
		assert_eq!(Who::Bob.free(), ENDOWMENT + 250);
		assert_eq!(Who::Alice.free(), ENDOWMENT - 250);
		System::assert_has_event(
			Event::<Test>::ChannelSettled {
				channel_id,
				opener_payout: 750,
				counterparty_payout: 250,
			}
			.into(),
		);
		assert!(SettlementQueue::<Test>::iter().next().is_none(), "the queue is drained");
	});
}

#[test]
fn more_expired_channels_than_fit_in_one_block_settle_over_several_blocks() {
	build_and_execute(|| {
		let channels: Vec<_> = (0..5).map(|_| open(Who::Alice, Who::Bob, 100, 0)).collect();
		let deadlines: Vec<_> = channels.iter().map(|id| close(Who::Alice, *id, None)).collect();
		let deadline = deadlines[0];
		assert!(deadlines.iter().all(|d| *d == deadline));
		let open_count =
			|| channels.iter().filter(|id| Channels::<Test>::contains_key(**id)).count();

		run_to_block(deadline + 1);
		assert_eq!(open_count(), 5 - MAX_SETTLEMENTS_PER_BLOCK as usize);
		run_to_block(deadline + 2);
		assert_eq!(open_count(), 1);
		run_to_block(deadline + 3);
		assert_eq!(open_count(), 0);
		assert_eq!(Who::Alice.free(), ENDOWMENT);
		// Settled in the order they were closed.
		let settled: Vec<_> = hook_calls()
			.into_iter()
			.filter_map(|call| match call {
				HookCall::Settled(id, _) => Some(id),
				_ => None,
			})
			.collect();
		assert_eq!(settled, channels);
	});
}

#[test]
fn full_settlement_queue_spills_into_the_next_block() {
	build_and_execute(|| {
		let channels: Vec<_> = (0..6).map(|_| open(Who::Alice, Who::Bob, 100, 0)).collect();
		let deadlines: Vec<_> = channels.iter().map(|id| close(Who::Bob, *id, None)).collect();
		let deadline = deadlines[0];
		assert!(deadlines.iter().all(|d| *d == deadline));
		assert_eq!(
			SettlementQueue::<Test>::get(deadline + 1).len(),
			MAX_CLOSINGS_PER_BLOCK as usize
		);
		assert_eq!(SettlementQueue::<Test>::get(deadline + 2).to_vec(), channels[4..].to_vec());
		run_to_block(deadline + 10);
		assert!(channels.iter().all(|id| !Channels::<Test>::contains_key(id)));
	});
}

#[test]
fn close_is_refused_when_every_nearby_queue_is_full() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 100, 0);
		let first = System::block_number() + CHALLENGE + 1;
		let full: BoundedVec<ChannelId, _> =
			vec![u64::MAX; MAX_CLOSINGS_PER_BLOCK as usize].try_into().unwrap();
		for block in first..first + crate::features::spill_queue::SPILL_BLOCKS as u64 {
			SettlementQueue::<Test>::insert(block, full.clone());
		}
		assert_noop!(
			PaymentChannels::close(Who::Alice.origin(), channel_id, None),
			Error::<Test>::SettlementQueueFull
		);
		// The made-up entries name no closing channel; take them out for `try_state`.
		for block in first..first + crate::features::spill_queue::SPILL_BLOCKS as u64 {
			SettlementQueue::<Test>::remove(block);
		}
	});
}

#[test]
fn hook_skips_channels_settled_by_hand() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 100, 0);
		let deadline = close(Who::Alice, channel_id, None);
		// Settled by hand in a block whose hooks did not run yet.
		System::set_block_number(deadline + 1);
		assert_ok!(PaymentChannels::settle(Who::Charlie.origin(), channel_id));
		run_to_block(deadline + 3);
		assert_eq!(Who::Alice.free(), ENDOWMENT);
		assert_eq!(SettlementCursor::<Test>::get(), Some(deadline + 4));
	});
}
