//! Property test: random sequences of channel operations against a model of what every
//! participant knows off chain, with a real adversary among them.
//!
//! Dave is the adversary. He holds his own keys and, besides the honest operations, signs
//! whatever serves him (any nonce, lower or higher totals, old splits), submits it from any
//! account (his own, a third account's, the victim's) and replays the honest parties' old
//! proofs and signed splits. Alice, Bob and Charlie follow the client rules of
//! docs/protocol.md §8: they pay only from what they have, keep the newest proof, dispute
//! stale closes when watched, and stop paying in a channel while a split they signed can land.
//!
//! After every step it checks that
//! - `try_state` holds (every channel's books match the holds: conservation),
//! - total issuance never changes,
//! - every account's free balance is exactly what the model expects,
//! - every refused adversarial call fails with its specific error and changes nothing,
//! - each channel pays out exactly what the settlement formula gives for the proofs the chain
//!   saw, and an honest participant receives at least its latest off-chain balance whenever it
//!   closed with the counterparty's newest proof or was online (or watched) during the challenge
//!   period; a cooperative close pays exactly the latest balances.

use super::*;

use proptest::prelude::*;
use sp_runtime::StateVersion;
use std::collections::BTreeMap;

mod adversary;
mod honest;
mod locks;
mod model;

const PEOPLE: [Who; 4] = [Who::Alice, Who::Bob, Who::Charlie, Who::Dave];
/// The participant who signs and submits anything.
const ADVERSARY: Who = Who::Dave;
/// Who may carry the adversary's calls: the adversary, a colluding third account, a victim.
const SUBMITTERS: [Who; 3] = [Who::Dave, Who::Eve, Who::Alice];

#[derive(Clone, Debug)]
enum Op {
	Open {
		opener: usize,
		counterparty: usize,
		deposit: Balance,
		counterparty_deposit: Balance,
	},
	Deposit {
		channel: usize,
		side: usize,
		amount: Balance,
	},
	Pay {
		channel: usize,
		side: usize,
		amount: Balance,
	},
	Withdraw {
		channel: usize,
		side: usize,
		amount: Balance,
	},
	CooperativeClose {
		channel: usize,
	},
	/// `stale`: the closer presents an older proof of its counterparty's than it has.
	/// `watched`: the counterparty (or its watchtower) disputes with the closer's newest proof.
	Close {
		channel: usize,
		side: usize,
		stale: bool,
		watched: bool,
	},
	Advance {
		blocks: u64,
	},
	Settle {
		channel: usize,
	},
	Forge {
		channel: usize,
		side: usize,
	},
	/// The participant on `side` of `from` moves `amount` into another of its open channels.
	Shift {
		from: usize,
		side: usize,
		to: usize,
		amount: Balance,
	},
	/// Find a cycle A -> B -> C -> A starting at channel `first`, have its three participants
	/// declare honest requests, and submit the circulation plan moving `amount` round it.
	Cycle {
		first: usize,
		amount: Balance,
	},
	/// The adversary signs a proof of its own with any nonce and a total `delta` below (or
	/// above) what the chain has, and `submitter` sends it.
	SelfServingProof {
		channel: usize,
		nonce: u64,
		lower: bool,
		delta: Balance,
		submitter: usize,
	},
	/// The adversary submits one of its counterparty's older proofs.
	ReplayHonestProof {
		channel: usize,
		age: usize,
	},
	/// Both participants sign a split of their current balances; it stays with the adversary.
	SignSplit {
		channel: usize,
	},
	/// The adversary submits a split signed earlier, whenever it likes.
	SubmitSplit {
		index: usize,
	},
}

fn op() -> impl Strategy<Value = Op> {
	let amount = 1..400u128;
	prop_oneof![
		2 => (0..4usize, 0..4usize, 10..1_000u128, prop_oneof![Just(0u128), 10..1_000u128])
			.prop_map(|(opener, counterparty, deposit, counterparty_deposit)| Op::Open {
				opener,
				counterparty,
				deposit,
				counterparty_deposit
			}),
		1 => (any::<usize>(), 0..2usize, 10..300u128)
			.prop_map(|(channel, side, amount)| Op::Deposit { channel, side, amount }),
		4 => (any::<usize>(), 0..2usize, amount.clone())
			.prop_map(|(channel, side, amount)| Op::Pay { channel, side, amount }),
		1 => (any::<usize>(), 0..2usize, amount)
			.prop_map(|(channel, side, amount)| Op::Withdraw { channel, side, amount }),
		1 => any::<usize>().prop_map(|channel| Op::CooperativeClose { channel }),
		2 => (any::<usize>(), 0..2usize, any::<bool>(), any::<bool>())
			.prop_map(|(channel, side, stale, watched)| Op::Close { channel, side, stale, watched }),
		2 => (1..15u64).prop_map(|blocks| Op::Advance { blocks }),
		1 => any::<usize>().prop_map(|channel| Op::Settle { channel }),
		1 => (any::<usize>(), 0..2usize).prop_map(|(channel, side)| Op::Forge { channel, side }),
		1 => (any::<usize>(), 0..2usize, any::<usize>(), 1..300u128)
			.prop_map(|(from, side, to, amount)| Op::Shift { from, side, to, amount }),
		2 => (any::<usize>(), 1..300u128).prop_map(|(first, amount)| Op::Cycle { first, amount }),
		2 => (any::<usize>(), prop_oneof![Just(u64::MAX), 0..20u64], any::<bool>(), 0..50u128, 0..3usize)
			.prop_map(|(channel, nonce, lower, delta, submitter)| Op::SelfServingProof {
				channel,
				nonce,
				lower,
				delta,
				submitter
			}),
		1 => (any::<usize>(), 1..4usize).prop_map(|(channel, age)| Op::ReplayHonestProof { channel, age }),
		1 => any::<usize>().prop_map(|channel| Op::SignSplit { channel }),
		2 => any::<usize>().prop_map(|index| Op::SubmitSplit { index }),
	]
}

/// What the participants of one channel know.
#[derive(Clone, Debug)]
struct ModelChannel {
	id: ChannelId,
	who: [Who; 2],
	deposited: [Balance; 2],
	withdrawn: [Balance; 2],
	/// What plans moved into and out of each side.
	rebalanced_in: [Balance; 2],
	rebalanced_out: [Balance; 2],
	/// Off chain: every proof each side signed, as (nonce, transferred), oldest first.
	proofs: [Vec<(u64, Balance)>; 2],
	/// What the chain has recorded of each side's proofs.
	on_chain: [(u64, Balance); 2],
	closing: Option<Closing>,
	/// The last block at which a split both signed can land: no payments until then.
	frozen_until: BlockNumber,
}

#[derive(Clone, Copy, Debug)]
struct Closing {
	closer: usize,
	deadline: BlockNumber,
	watched: bool,
	/// Whether the closer presented the counterparty's newest proof (or it had none).
	closed_with_newest: bool,
}

#[derive(Default)]
struct Model {
	channels: Vec<ModelChannel>,
	free: BTreeMap<AccountId, Balance>,
	/// Splits both participants signed, with their two signatures, as the adversary keeps them.
	splits: Vec<(CooperativeCloseOf<Test>, PayloadSignatureOf<Test>, PayloadSignatureOf<Test>)>,
}

proptest! {
	#![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

	#[test]
	fn random_operation_sequences_keep_conservation_and_honest_party_safety(
		ops in prop::collection::vec(op(), 1..40)
	) {
		build_and_execute(|| {
			let issuance = total_issuance();
			let mut model = Model::new();
			for op in ops {
				model.apply(op);
				model.check(issuance);
			}
			// Let every closing channel run out its period; all of them settle by themselves.
			run_to_block(System::block_number() + MAX_CHALLENGE + 10);
			model.collect_hook_settlements();
			model.check(issuance);
			assert!(model.channels.iter().all(|c| c.closing.is_none()));
		});
	}
}
