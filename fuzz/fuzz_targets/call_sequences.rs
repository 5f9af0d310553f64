//! Random call sequences against the pallet's mock runtime, from any signer, with signatures
//! by the right party, the wrong one or none of the participants, amounts from zero to
//! overflowing, and blocks passing in between (so the hooks settle, expire and open rounds).
//! After every call the pallet's invariants hold (`try_state`: every channel's books match the
//! holds, indexes and counters agree) and total issuance is unchanged: no sequence of calls
//! creates, destroys or strands funds.

#![no_main]

use frame_support::{dispatch::GetDispatchInfo, traits::fungible::Inspect, BoundedVec};
use libfuzzer_sys::fuzz_target;
use pallet_payment_channels::{mock::*, Call as ChannelCall, NextChannelId};
use paychan_primitives::{PlanEdge, RequestEntry};
use sp_runtime::traits::Dispatchable;

const PEOPLE: [Who; 6] = [Who::Alice, Who::Bob, Who::Charlie, Who::Dave, Who::Eve, Who::Ferdie];

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

	fn who(&mut self) -> Who {
		PEOPLE[self.byte() as usize % PEOPLE.len()]
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

fn call(choices: &mut Choices) -> Option<(Who, ChannelCall<Test>)> {
	let who = choices.who();
	let now = System::block_number();
	let call = match choices.byte() % 12 {
		0 => {
			let counterparty = choices.who();
			let deposit = choices.amount();
			let challenge_period = choices.blocks() as BlockNumber * 5;
			let funding = choices.flag().then(|| {
				let consenter = if choices.flag() { counterparty } else { choices.who() };
				let channel_id = NextChannelId::<Test>::get() + choices.byte() as u64 % 2;
				funding_consent(consenter, channel_id, who, choices.amount(), challenge_period)
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
				choices.who(),
				choices.amount(),
				// Up to 3 blocks in the past: expired proofs too.
				(now + choices.blocks()).saturating_sub(3),
			);
			let signer = choices.who();
			ChannelCall::withdraw { counterparty_signature: signer.sign(&proof), proof }
		}
		3 => {
			let settlement =
				cooperative_close(choices.channel(), choices.amount(), choices.amount());
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
					from: choices.who().account(),
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
		_ => {
			run_to_block(now + 1 + choices.blocks());
			return None;
		}
	};
	Some((who, call))
}

fn total_issuance() -> Balance {
	<Balances as Inspect<AccountId>>::total_issuance()
}

fuzz_target!(|data: &[u8]| {
	let mut choices = Choices(data);
	new_test_ext().execute_with(|| {
		let issuance = total_issuance();
		let mut steps = 0;
		while !choices.done() && steps < 64 {
			steps += 1;
			if let Some((who, call)) = call(&mut choices) {
				let call = RuntimeCall::PaymentChannels(call);
				// Every call must be weighable, whatever its arguments.
				let _ = call.get_dispatch_info();
				// Dispatched as an extrinsic is: a failed call rolls back its storage changes.
				let _ = call.dispatch(who.origin());
			}
			PaymentChannels::do_try_state().expect("the pallet's invariants hold after every call");
			assert_eq!(total_issuance(), issuance, "no call creates or destroys funds");
		}
	});
});
