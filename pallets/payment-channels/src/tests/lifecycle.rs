//! The happy path of every call: balances, holds, events and storage.

use super::*;

#[test]
fn open_channel_holds_the_deposit_and_the_record_deposit() {
	build_and_execute(|| {
		let issuance = total_issuance();
		let channel_id = open(Who::Alice, Who::Bob, 1_000, 0);

		assert_eq!(channel_id, 0);
		assert_eq!(NextChannelId::<Test>::get(), 1);
		assert_eq!(Who::Alice.free(), ENDOWMENT - 1_000 - RECORD_DEPOSIT);
		assert_eq!(held_funds(Who::Alice), 1_000);
		assert_eq!(held_record(Who::Alice), RECORD_DEPOSIT);
		assert_eq!(Who::Bob.free(), ENDOWMENT);
		let stored = channel(channel_id);
		assert_eq!(stored.participants, [Who::Alice.account(), Who::Bob.account()]);
		assert_eq!(stored.books(Side::Opener).deposited, 1_000);
		assert_eq!(stored.books(Side::Opener).custody, 1_000);
		assert_eq!(stored.books(Side::Counterparty), &SideBooks::default());
		assert_eq!(stored.status, ChannelStatus::Open);
		assert_eq!(stored.challenge_period, CHALLENGE);
		assert_eq!(stored.storage_deposit, RECORD_DEPOSIT);
		assert!(ParticipantChannels::<Test>::contains_key(Who::Alice.account(), channel_id));
		assert!(ParticipantChannels::<Test>::contains_key(Who::Bob.account(), channel_id));
		// Bob did not consent to this channel: it takes none of his channel slots.
		assert_eq!(ChannelCount::<Test>::get(Who::Alice.account()), 1);
		assert_eq!(ChannelCount::<Test>::get(Who::Bob.account()), 0);
		System::assert_last_event(
			Event::<Test>::ChannelOpened {
				channel_id,
				opener: Who::Alice.account(),
				counterparty: Who::Bob.account(),
				opener_deposit: 1_000,
				counterparty_deposit: 0,
				challenge_period: CHALLENGE,
			}
			.into(),
		);
		assert_eq!(hook_calls(), vec![HookCall::Opened(channel_id)]);
		assert_eq!(total_issuance(), issuance);
	});
}

#[test]
fn open_channel_dual_funded_holds_both_deposits() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 1_000, 600);

		assert_eq!(held_funds(Who::Alice), 1_000);
		assert_eq!(held_funds(Who::Bob), 600);
		assert_eq!(Who::Bob.free(), ENDOWMENT - 600);
		assert_eq!(channel(channel_id).books(Side::Counterparty).deposited, 600);
		assert_eq!(channel(channel_id).total(), 1_600);
		System::assert_last_event(
			Event::<Test>::ChannelOpened {
				channel_id,
				opener: Who::Alice.account(),
				counterparty: Who::Bob.account(),
				opener_deposit: 1_000,
				counterparty_deposit: 600,
				challenge_period: CHALLENGE,
			}
			.into(),
		);
	});
}

#[test]
fn funding_consent_signed_by_a_polkadot_js_wallet_is_accepted() {
	build_and_execute(|| {
		let mut consent = funding_consent(Who::Bob, 1_000, Who::Alice, 600, CHALLENGE);
		consent.signature = Who::Bob.sign_wrapped(&consent.payload);
		assert_ok!(PaymentChannels::open_channel(
			Who::Alice.origin(),
			Who::Bob.account(),
			1_000,
			CHALLENGE,
			Some(consent),
		));
		assert_eq!(held_funds(Who::Bob), 600);
	});
}

#[test]
fn deposit_tops_up_an_open_channel() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 1_000, 0);
		assert_ok!(PaymentChannels::deposit(Who::Bob.origin(), channel_id, 300));
		assert_ok!(PaymentChannels::deposit(Who::Alice.origin(), channel_id, 50));

		let stored = channel(channel_id);
		assert_eq!(stored.books(Side::Opener).deposited, 1_050);
		assert_eq!(stored.books(Side::Counterparty).deposited, 300);
		assert_eq!(stored.total(), 1_350);
		assert_eq!(held_funds(Who::Bob), 300);
		assert_eq!(Who::Bob.free(), ENDOWMENT - 300);
		System::assert_has_event(
			Event::<Test>::Deposited {
				channel_id,
				who: Who::Bob.account(),
				amount: 300,
				total_deposited: 300,
			}
			.into(),
		);
		System::assert_last_event(
			Event::<Test>::Deposited {
				channel_id,
				who: Who::Alice.account(),
				amount: 50,
				total_deposited: 1_050,
			}
			.into(),
		);
	});
}

#[test]
fn withdraw_pays_out_with_the_counterpartys_cumulative_proof() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 1_000, 0);
		let proof = withdraw_proof(channel_id, Who::Alice, 200, 20);
		assert_ok!(PaymentChannels::withdraw(
			Who::Alice.origin(),
			proof.clone(),
			Who::Bob.sign(&proof)
		));

		assert_eq!(Who::Alice.free(), ENDOWMENT - 1_000 - RECORD_DEPOSIT + 200);
		assert_eq!(held_funds(Who::Alice), 800);
		assert_eq!(channel(channel_id).books(Side::Opener).withdrawn, 200);
		assert_eq!(channel(channel_id).total(), 800);
		System::assert_last_event(
			Event::<Test>::Withdrawn {
				channel_id,
				who: Who::Alice.account(),
				amount: 200,
				total_withdrawn: 200,
			}
			.into(),
		);

		// The next proof is cumulative: 350 in total means 150 more.
		let proof = withdraw_proof(channel_id, Who::Alice, 350, 20);
		assert_ok!(PaymentChannels::withdraw(
			Who::Alice.origin(),
			proof.clone(),
			Who::Bob.sign_wrapped(&proof)
		));
		assert_eq!(channel(channel_id).books(Side::Opener).withdrawn, 350);
		assert_eq!(held_funds(Who::Alice), 650);
	});
}

#[test]
fn withdraw_of_received_funds_moves_them_from_the_counterpartys_hold() {
	build_and_execute(|| {
		// Bob paid Alice 400 off chain, so Alice may take out more than she deposited.
		let channel_id = open(Who::Alice, Who::Bob, 100, 900);
		let alice_before = Who::Alice.free();
		let proof = withdraw_proof(channel_id, Who::Alice, 300, 20);
		assert_ok!(PaymentChannels::withdraw(
			Who::Alice.origin(),
			proof.clone(),
			Who::Bob.sign(&proof)
		));

		assert_eq!(Who::Alice.free(), alice_before + 300);
		assert_eq!(held_funds(Who::Alice), 0);
		assert_eq!(held_funds(Who::Bob), 700);
		let stored = channel(channel_id);
		assert_eq!(
			(stored.books(Side::Opener).custody, stored.books(Side::Counterparty).custody),
			(0, 700)
		);

		// Settling with Bob's proof of 400: Alice is owed 100 - 300 + 400 = 200, Bob 500.
		let settlement = cooperative_close(channel_id, 200, 500);
		assert_ok!(PaymentChannels::cooperative_close(
			Who::Bob.origin(),
			settlement.clone(),
			Who::Alice.sign(&settlement),
			Who::Bob.sign(&settlement),
		));
		assert_eq!(Who::Alice.free(), alice_before + 300 + 200 + RECORD_DEPOSIT);
		assert_eq!(Who::Bob.free(), ENDOWMENT - 900 + 500);
	});
}

#[test]
fn cooperative_close_pays_both_at_once_and_removes_the_channel() {
	build_and_execute(|| {
		let issuance = total_issuance();
		let channel_id = open(Who::Alice, Who::Bob, 1_000, 500);
		// Off chain, Alice paid Bob 300 net.
		let settlement = cooperative_close(channel_id, 700, 800);
		assert_ok!(PaymentChannels::cooperative_close(
			Who::Alice.origin(),
			settlement.clone(),
			Who::Alice.sign(&settlement),
			Who::Bob.sign_wrapped(&settlement),
		));

		assert_eq!(Who::Alice.free(), ENDOWMENT - 300);
		assert_eq!(Who::Bob.free(), ENDOWMENT + 300);
		assert_eq!(held_funds(Who::Alice) + held_funds(Who::Bob) + held_record(Who::Alice), 0);
		assert!(Channels::<Test>::get(channel_id).is_none());
		assert!(!ParticipantChannels::<Test>::contains_key(Who::Alice.account(), channel_id));
		assert!(!ChannelCount::<Test>::contains_key(Who::Alice.account()));
		System::assert_last_event(
			Event::<Test>::ChannelClosedCooperatively {
				channel_id,
				opener_payout: 700,
				counterparty_payout: 800,
			}
			.into(),
		);
		assert_eq!(hook_calls().last(), Some(&HookCall::Settled(channel_id, [700, 800])));
		assert_eq!(total_issuance(), issuance);
	});
}

#[test]
fn close_dispute_and_settle_pay_out_the_newest_proofs() {
	build_and_execute(|| {
		let issuance = total_issuance();
		let channel_id = open(Who::Alice, Who::Bob, 1_000, 500);
		// Off chain: Alice paid Bob 300 in three payments, Bob paid Alice 100 in one.
		let from_alice = balance_proof(Who::Alice, channel_id, 3, 300);
		let from_bob = balance_proof(Who::Bob, channel_id, 1, 100);

		let deadline = close(Who::Alice, channel_id, Some(from_bob));
		assert_eq!(deadline, 1 + CHALLENGE);
		System::assert_last_event(
			Event::<Test>::CloseStarted { channel_id, closer: Who::Alice.account(), deadline }
				.into(),
		);
		assert_eq!(channel(channel_id).books(Side::Counterparty).transferred, 100);
		assert_eq!(
			hook_calls().last(),
			Some(&HookCall::CloseStarted(channel_id, Who::Alice.account()))
		);

		// Bob disputes with Alice's newest proof, within the period.
		System::set_block_number(deadline);
		assert_ok!(PaymentChannels::update_balance_proof(
			Who::Bob.origin(),
			channel_id,
			from_alice
		));
		System::assert_last_event(
			Event::<Test>::BalanceProofSubmitted {
				channel_id,
				signer: Who::Alice.account(),
				nonce: 3,
				transferred: 300,
				submitter: Who::Bob.account(),
			}
			.into(),
		);
		assert_eq!(
			crate::Pallet::<Test>::settlement_preview(channel_id),
			Some([1_000 - 300 + 100, 500 - 100 + 300])
		);

		// Anyone may settle once the period is over.
		System::set_block_number(deadline + 1);
		assert_ok!(PaymentChannels::settle(Who::Eve.origin(), channel_id));
		assert_eq!(Who::Alice.free(), ENDOWMENT - 1_000 + 800);
		assert_eq!(Who::Bob.free(), ENDOWMENT - 500 + 700);
		assert_eq!(Who::Eve.free(), ENDOWMENT);
		assert!(Channels::<Test>::get(channel_id).is_none());
		System::assert_last_event(
			Event::<Test>::ChannelSettled {
				channel_id,
				opener_payout: 800,
				counterparty_payout: 700,
			}
			.into(),
		);
		assert_eq!(total_issuance(), issuance);
	});
}

/// Settlement moves funds below `release` and `transfer_on_hold` (see `Pallet::pay_out`), but
/// wallets and indexers must see exactly the Balances events those calls emit, and nothing else.
#[test]
fn settle_emits_the_balances_events_of_release_and_transfer_on_hold() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 1_000, 500);
		// Alice paid Bob 200 net: Bob is owed 200 more than his own hold.
		let deadline =
			close(Who::Bob, channel_id, Some(balance_proof(Who::Alice, channel_id, 1, 200)));
		System::set_block_number(deadline + 1);
		System::reset_events();
		assert_ok!(PaymentChannels::settle(Who::Eve.origin(), channel_id));

		let funds = RuntimeHoldReason::PaymentChannels(HoldReason::ChannelFunds);
		let record = RuntimeHoldReason::PaymentChannels(HoldReason::ChannelRecord);
		let balances_events: Vec<_> = System::events()
			.into_iter()
			.filter_map(|record| match record.event {
				RuntimeEvent::Balances(event) => Some(event),
				_ => None,
			})
			.collect();
		assert_eq!(
			balances_events,
			vec![
				pallet_balances::Event::TransferOnHold {
					reason: funds,
					source: Who::Alice.account(),
					dest: Who::Bob.account(),
					amount: 200,
				},
				pallet_balances::Event::Released {
					reason: funds,
					who: Who::Alice.account(),
					amount: 800,
				},
				pallet_balances::Event::Released {
					reason: funds,
					who: Who::Bob.account(),
					amount: 500,
				},
				pallet_balances::Event::Released {
					reason: record,
					who: Who::Alice.account(),
					amount: RECORD_DEPOSIT,
				},
			]
		);
		assert_eq!(Who::Alice.free(), ENDOWMENT - 200);
		assert_eq!(Who::Bob.free(), ENDOWMENT + 200);
		assert_eq!(held_funds(Who::Alice) + held_funds(Who::Bob) + held_record(Who::Alice), 0);
	});
}

#[test]
fn cooperative_close_ends_a_closing_channel_early() {
	build_and_execute(|| {
		let channel_id = open(Who::Alice, Who::Bob, 1_000, 0);
		close(Who::Bob, channel_id, None);
		let settlement = cooperative_close(channel_id, 400, 600);
		assert_ok!(PaymentChannels::cooperative_close(
			Who::Bob.origin(),
			settlement.clone(),
			Who::Alice.sign(&settlement),
			Who::Bob.sign(&settlement),
		));
		assert_eq!(Who::Bob.free(), ENDOWMENT + 600);
		// The queued automatic settlement finds nothing left to do.
		run_to_block(1 + CHALLENGE + 2);
		assert_eq!(Who::Bob.free(), ENDOWMENT + 600);
	});
}

#[test]
fn runtime_api_helpers_read_channels() {
	build_and_execute(|| {
		let first = open(Who::Alice, Who::Bob, 1_000, 0);
		let second = open(Who::Charlie, Who::Alice, 500, 0);
		assert_eq!(crate::Pallet::<Test>::channels_of(&Who::Alice.account()), vec![first, second]);
		assert_eq!(crate::Pallet::<Test>::channels_of(&Who::Bob.account()), vec![first]);
		assert_eq!(crate::Pallet::<Test>::settlement_preview(second), Some([500, 0]));
		assert_eq!(crate::Pallet::<Test>::settlement_preview(7), None);
	});
}
