//! Random call sequences against the pallet's mock runtime, run by an adversary against one
//! honest party.
//!
//! The adversary is every account but Alice: it holds those keys, signs any payload (any nonce,
//! amount, channel, expiry; by the right party, the wrong one or none of the participants),
//! submits any call in any order from any of its accounts, with amounts from zero to
//! overflowing, and lets blocks pass in between (so the hooks settle, expire and open rounds).
//!
//! Alice is honest and online, a merchant: she signs nothing but what the client rules allow.
//! The adversary opens channels to her and pays her with balance proofs; she accepts a proof
//! only if it raises the total and the payer's deposit covers it, and keeps the newest. She
//! signs cooperative closes for exactly what she is owed, and accepts no payment in a channel
//! while such a split can land. After every step she disputes every close with her newest proof.
//!
//! After every call the pallet's invariants hold (`try_state`: every channel's books match the
//! holds, indexes and counters agree), total issuance is unchanged, and Alice can still obtain at
//! least what her newest accepted state entitles her to: a closing channel previews at least that
//! for her, an open one would if she closed it now (checked and rolled back), and what she was
//! paid for the channels that are gone is at least what they owed her.

#![no_main]

use frame_support::{
	dispatch::GetDispatchInfo,
	storage::{with_transaction, TransactionOutcome},
	traits::fungible::Inspect,
	BoundedVec,
};
use libfuzzer_sys::fuzz_target;
use pallet_payment_channels::{
	mock::*,
	types::{CooperativeCloseOf, PayloadSignatureOf},
	Call as ChannelCall, ChannelStatus, Channels,
	NextChannelId, Pallet as Channel,
};
use paychan_primitives::{
	locks::{lock_proof, secret_hash, Lock},
	ChannelId, PlanEdge, RequestEntry,
};
use sp_runtime::traits::Dispatchable;
use std::collections::BTreeMap;

/// The adversary's accounts: every one but the honest Alice.
const ADVERSARY: [Who; 5] = [Who::Bob, Who::Charlie, Who::Dave, Who::Eve, Who::Ferdie];

/// Reads the fuzzer's bytes as choices; runs out into zeros.
struct Choices<'a>(&'a [u8]);

impl Choices<'_> {
	fn byte(&mut self) -> u8 {
		let Some((&first, rest)) = self.0.split_first() else { return 0 };
		self.0 = rest;
		first
	}

	fn done(&self) -> bool {
		self.0.is_empty()
	}

	/// One of the adversary's accounts.
	fn who(&mut self) -> Who {
		ADVERSARY[self.byte() as usize % ADVERSARY.len()]
	}

	/// Any account, Alice included, as a counterparty or a name in a payload.
	fn anyone(&mut self) -> Who {
		match self.byte() % 4 {
			0 => Who::Alice,
			_ => self.who(),
		}
	}

	fn flag(&mut self) -> bool {
		self.byte() & 1 == 1
	}

	/// Mostly small amounts; sometimes zero or near the top of the range (overflow).
	fn amount(&mut self) -> Balance {
		match self.byte() {
			0 => 0,
			255 => Balance::MAX - self.byte() as Balance,
			254 => ENDOWMENT + self.byte() as Balance,
			b => b as Balance * 8 + self.byte() as Balance % 8,
		}
	}

	/// An existing channel id most of the time, else one just past the counter.
	fn channel(&mut self) -> u64 {
		let next = NextChannelId::<Test>::get();
		self.byte() as u64 % (next + 1)
	}

	fn blocks(&mut self) -> BlockNumber {
		self.byte() as BlockNumber % 24
	}
}

fn signed_proof(
	choices: &mut Choices,
	channel_id: u64,
) -> pallet_payment_channels::types::SignedBalanceProofOf<Test> {
	let signer = choices.who();
	let nonce = choices.byte() as u64;
	let transferred = choices.amount();
	let mut proof = balance_proof(signer, channel_id, nonce, transferred);
	if choices.byte() % 8 == 0 {
		// Claimed by one party, signed by another.
		proof.signer = choices.who().account();
	}
	proof
}

/// One of four secrets, so that registered ones and the locks under them meet.
fn fuzz_secret(choices: &mut Choices) -> [u8; 32] {
	[choices.byte() % 4; 32]
}

/// Up to four locks under the fuzz secrets, with small amounts and near expiries.
fn fuzz_locks(choices: &mut Choices) -> Vec<pallet_payment_channels::types::LockOf<Test>> {
	let count = choices.byte() as usize % 5;
	(0..count)
		.map(|_| Lock {
			amount: choices.amount(),
			expires_at: System::block_number() + choices.blocks(),
			secret_hash: secret_hash(&fuzz_secret(choices)),
		})
		.collect()
}

fn call(choices: &mut Choices) -> Option<(Who, ChannelCall<Test>)> {
	let who = choices.who();
	let now = System::block_number();
	let call = match choices.byte() % 15 {
		0 => {
			let counterparty = choices.anyone();
			let deposit = choices.amount();
			let challenge_period = choices.blocks() as BlockNumber * 5;
			let funding = choices.flag().then(|| {
				let consenter = if choices.flag() { counterparty } else { choices.who() };
				// Alice never consents: her signature is not the adversary's to make.
				let consenter = if consenter == Who::Alice { choices.who() } else { consenter };
				let opener_deposit = if choices.flag() { deposit } else { choices.amount() };
				funding_consent(consenter, opener_deposit, who, choices.amount(), challenge_period)
			});
			ChannelCall::open_channel {
				counterparty: counterparty.account(),
				deposit,
				challenge_period,
				counterparty_funding: funding,
			}
		}
		1 => ChannelCall::deposit { channel_id: choices.channel(), amount: choices.amount() },
		2 => {
			let proof = withdraw_proof(
				choices.channel(),
				choices.anyone(),
				choices.amount(),
				// Up to 3 blocks in the past: expired proofs too.
				(now + choices.blocks()).saturating_sub(3),
			);
			let signer = choices.who();
			ChannelCall::withdraw { counterparty_signature: signer.sign(&proof), proof }
		}
		3 => {
			let mut settlement =
				cooperative_close(choices.channel(), choices.amount(), choices.amount());
			if choices.flag() {
				// Stale or expired on purpose.
				settlement.version = settlement.version.saturating_sub(choices.byte() as u64 % 2);
				settlement.expires_at = now.saturating_sub(choices.byte() as BlockNumber % 2);
			}
			let (opener, counterparty) = (choices.who(), choices.who());
			ChannelCall::cooperative_close {
				opener_signature: opener.sign(&settlement),
				counterparty_signature: counterparty.sign(&settlement),
				settlement,
			}
		}
		4 => {
			let channel_id = choices.channel();
			let proof = choices.flag().then(|| signed_proof(choices, channel_id));
			ChannelCall::close { channel_id, counterparty_proof: proof }
		}
		5 => {
			let channel_id = choices.channel();
			ChannelCall::update_balance_proof {
				channel_id,
				proof: signed_proof(choices, channel_id),
			}
		}
		6 => ChannelCall::settle { channel_id: choices.channel() },
		7 => {
			let count = choices.byte() as usize % 4;
			let entries: Vec<_> = (0..count)
				.map(|_| RequestEntry {
					channel_id: choices.channel(),
					max_send: choices.amount(),
					max_receive: choices.amount(),
				})
				.collect();
			ChannelCall::request_rebalance {
				entries: BoundedVec::truncate_from(entries),
				max_fee: choices.amount(),
				expires_at: now + choices.blocks() * 3,
			}
		}
		8 => ChannelCall::cancel_rebalance_request {},
		9 => {
			let count = choices.byte() as usize % 5;
			let edges: Vec<_> = (0..count)
				.map(|_| PlanEdge {
					channel_id: choices.channel(),
					from: choices.anyone().account(),
					amount: choices.amount(),
				})
				.collect();
			ChannelCall::submit_plan { edges: BoundedVec::truncate_from(edges) }
		}
		10 => {
			let proof =
				withdraw_proof(choices.channel(), who, choices.amount(), now + choices.blocks());
			let signer = choices.who();
			ChannelCall::shift {
				counterparty_signature: signer.sign(&proof),
				proof,
				to_channel: choices.channel(),
			}
		}
		11 => ChannelCall::register_secret { secret: fuzz_secret(choices) },
		12 => {
			let channel_id = choices.channel();
			let locks = fuzz_locks(choices);
			let mut proof =
				locked_proof(choices.who(), channel_id, choices.byte() as u64, choices.amount(), &locks);
			if choices.byte() % 8 == 0 {
				proof.payload.locked = choices.amount();
			}
			ChannelCall::update_locked_proof { channel_id, proof }
		}
		13 => {
			let locks = fuzz_locks(choices);
			let unlocks: Vec<_> = (0..locks.len())
				.filter(|_| choices.flag())
				.map(|i| (locks[i].clone(), lock_proof(&locks, i).expect("an index of locks")))
				.collect();
			ChannelCall::unlock {
				channel_id: choices.channel(),
				sender: choices.who().account(),
				unlocks: BoundedVec::truncate_from(unlocks),
			}
		}
		_ => {
			run_to_block(now + 1 + choices.blocks());
			return None;
		}
	};
	Some((who, call))
}

/// What honest Alice knows of one of her channels.
#[derive(Default)]
struct Known {
	/// Her side (the adversary opened the channel, so 1, unless the ids say otherwise).
	side: usize,
	/// The newest balance proof she accepted from the counterparty, as (nonce, transferred).
	newest: Option<(u64, Balance)>,
	/// The last block at which a split she signed can land.
	frozen_until: BlockNumber,
}

impl Known {
	/// What Alice is owed: she never pays, withdraws or rebalances, so exactly what she was paid.
	fn owed(&self) -> Balance {
		self.newest.map_or(0, |(_, transferred)| transferred)
	}
}

/// Alice's view of her channels, and the splits she signed (kept by the adversary).
#[derive(Default)]
struct Honest {
	channels: BTreeMap<ChannelId, Known>,
	splits: Vec<(CooperativeCloseOf<Test>, PayloadSignatureOf<Test>)>,
	/// What the channels that are gone owed her, in total.
	owed_by_gone: Balance,
}

impl Honest {
	/// The adversary's honest-party moves: pay Alice (she accepts what the rules allow), have
	/// her sign a split, or submit a split she signed. Returns whether the choice was one.
	fn step(&mut self, choices: &mut Choices) -> bool {
		let ids: Vec<_> = self.channels.keys().copied().collect();
		match choices.byte() % 8 {
			0 | 1 if !ids.is_empty() => {
				let id = ids[choices.byte() as usize % ids.len()];
				let known = self.channels.get_mut(&id).expect("listed");
				let Some(channel) = Channels::<Test>::get(id) else { return true };
				let payer = 1 - known.side;
				let nonce = choices.byte() as u64 + known.newest.map_or(0, |(n, _)| n);
				let transferred = known.owed() + choices.amount();
				// The client's rules for accepting a payment.
				let affordable = transferred <= channel.sides[payer].deposited;
				if channel.is_open()
					&& System::block_number() > known.frozen_until
					&& transferred > known.owed()
					&& affordable
				{
					known.newest = Some((nonce, transferred));
				}
			}
			2 if !ids.is_empty() => {
				let id = ids[choices.byte() as usize % ids.len()];
				let known = self.channels.get_mut(&id).expect("listed");
				let Some(channel) = Channels::<Test>::get(id) else { return true };
				let owed = known.owed();
				let total = channel.total();
				let payouts = if known.side == 0 { [owed, total - owed] } else { [total - owed, owed] };
				let split = cooperative_close(id, payouts[0], payouts[1]);
				known.frozen_until = split.expires_at;
				self.splits.push((split.clone(), Who::Alice.sign(&split)));
			}
			3 if !self.splits.is_empty() => {
				let (split, alice) = self.splits[choices.byte() as usize % self.splits.len()].clone();
				let Some(channel) = Channels::<Test>::get(split.channel_id) else { return true };
				let side = self.channels[&split.channel_id].side;
				let other = Who::from_account(&channel.participants[1 - side]);
				let Some(other) = other else { return true };
				let theirs = other.sign(&split);
				let (opener_signature, counterparty_signature) =
					if side == 0 { (alice, theirs) } else { (theirs, alice) };
				let call = RuntimeCall::PaymentChannels(ChannelCall::cooperative_close {
					settlement: split,
					opener_signature,
					counterparty_signature,
				});
				let _ = call.dispatch(other.origin());
			}
			_ => return false,
		}
		true
	}

	/// Alice is online: she learns of new channels, disputes every close with her newest proof
	/// within its period, books what the channels that left owed her, and checks she can still
	/// obtain the rest.
	fn defend_and_check(&mut self) {
		for id in Channel::<Test>::channels_of(&Who::Alice.account()) {
			let channel = Channels::<Test>::get(id).expect("indexed");
			let side = channel.side_of(&Who::Alice.account()).expect("a participant").index();
			self.channels.entry(id).or_insert_with(|| Known { side, ..Known::default() });
		}
		let gone: Vec<_> =
			self.channels.keys().copied().filter(|id| !Channels::<Test>::contains_key(id)).collect();
		for id in gone {
			self.owed_by_gone += self.channels.remove(&id).expect("listed").owed();
		}
		// She opens nothing and deposits nothing: her free balance is only what she was paid.
		assert!(
			Balances::free_balance(Who::Alice.account()) >= ENDOWMENT + self.owed_by_gone,
			"the channels that are gone paid Alice at least what they owed her"
		);
		for (&id, known) in &self.channels {
			let channel = Channels::<Test>::get(id).expect("not gone");
			let payer = Who::from_account(&channel.participants[1 - known.side]).expect("a person");
			let newest = known.newest.map(|(nonce, transferred)| balance_proof(payer, id, nonce, transferred));
			match channel.status {
				ChannelStatus::Closing { deadline, .. } => {
					if let Some(proof) = newest {
						if System::block_number() <= deadline
							&& proof.payload.transferred > channel.sides[1 - known.side].transferred
						{
							let call = RuntimeCall::PaymentChannels(ChannelCall::update_balance_proof {
								channel_id: id,
								proof,
							});
							call.dispatch(Who::Alice.origin()).expect("Alice's dispute is accepted");
						}
					}
					let preview = Channel::<Test>::settlement_preview(id).expect("closing");
					assert!(preview[known.side] >= known.owed(), "a closing channel owes Alice what she accepted");
				}
				ChannelStatus::Open => {
					// Closing now with her newest proof would give her at least what she is owed.
					with_transaction(|| {
						let call = RuntimeCall::PaymentChannels(ChannelCall::close {
							channel_id: id,
							counterparty_proof: newest,
						});
						if let Err(error) = call.dispatch(Who::Alice.origin()) {
							// The adversary may have filled every settlement slot around this
							// block's deadline (each slot costs it a funded channel held for a
							// challenge period): closing waits a block, nothing is lost.
							let full = pallet_payment_channels::Error::<Test>::SettlementQueueFull;
							assert_eq!(error.error, full.into(), "Alice can close her channel");
							return TransactionOutcome::Rollback(Ok(()));
						}
						let preview = Channel::<Test>::settlement_preview(id).expect("closing");
						assert!(preview[known.side] >= known.owed(), "closing now pays Alice what she accepted");
						TransactionOutcome::Rollback(Ok::<(), sp_runtime::DispatchError>(()))
					})
					.expect("rolled back");
				}
			}
		}
	}
}

fn total_issuance() -> Balance {
	<Balances as Inspect<AccountId>>::total_issuance()
}

fuzz_target!(|data: &[u8]| {
	let mut choices = Choices(data);
	new_test_ext().execute_with(|| {
		let issuance = total_issuance();
		let mut honest = Honest::default();
		let mut steps = 0;
		while !choices.done() && steps < 64 {
			steps += 1;
			if honest.step(&mut choices) {
				// One of the moves against the honest party.
			} else if let Some((who, call)) = call(&mut choices) {
				let call = RuntimeCall::PaymentChannels(call);
				// Every call must be weighable, whatever its arguments.
				let _ = call.get_dispatch_info();
				// Dispatched as an extrinsic is: a failed call rolls back its storage changes.
				let _ = call.dispatch(who.origin());
			}
			PaymentChannels::do_try_state().expect("the pallet's invariants hold after every call");
			assert_eq!(total_issuance(), issuance, "no call creates or destroys funds");
			honest.defend_and_check();
		}
	});
});
