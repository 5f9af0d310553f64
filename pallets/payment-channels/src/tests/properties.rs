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
use sp_runtime::{MultiSignature, StateVersion};
use std::collections::BTreeMap;

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

impl ModelChannel {
	fn sent(&self, side: usize) -> Balance {
		self.proofs[side].last().map_or(0, |p| p.1)
	}

	/// The latest off-chain balance of `side`.
	fn balance(&self, side: usize) -> Balance {
		let other = 1 - side;
		self.deposited[side] + self.sent(other) + self.rebalanced_in[side]
			- self.withdrawn[side]
			- self.sent(side)
			- self.rebalanced_out[side]
	}

	fn total(&self) -> Balance {
		self.deposited[0] + self.deposited[1] - self.withdrawn[0] - self.withdrawn[1]
	}

	/// The settlement formula applied to what the chain saw.
	fn expected_payouts(&self) -> [Balance; 2] {
		let credit = self.deposited[0] + self.on_chain[1].1 + self.rebalanced_in[0];
		let debit = self.withdrawn[0] + self.on_chain[0].1 + self.rebalanced_out[0];
		let opener = credit.saturating_sub(debit).min(self.total());
		[opener, self.total() - opener]
	}

	fn signed(
		&self,
		side: usize,
		(nonce, transferred): (u64, Balance),
	) -> SignedBalanceProofOf<Test> {
		balance_proof(self.who[side], self.id, nonce, transferred)
	}
}

#[derive(Default)]
struct Model {
	channels: Vec<ModelChannel>,
	free: BTreeMap<AccountId, Balance>,
	/// Splits both participants signed, with their two signatures, as the adversary keeps them.
	splits: Vec<(CooperativeCloseOf<Test>, MultiSignature, MultiSignature)>,
}

impl Model {
	fn new() -> Self {
		let free = PEOPLE.iter().map(|who| (who.account(), ENDOWMENT)).collect();
		Model { channels: Vec::new(), free, splits: Vec::new() }
	}

	fn pick(&self, index: usize) -> Option<usize> {
		(!self.channels.is_empty()).then(|| index % self.channels.len())
	}

	fn adjust(&mut self, who: Who, delta: i128) {
		let free = self.free.get_mut(&who.account()).unwrap();
		*free = (*free as i128 + delta) as Balance;
	}

	/// Books a channel that the chain paid out with `payouts`, checking honest-party safety.
	fn paid_out(&mut self, index: usize, payouts: [Balance; 2], cooperative: bool) {
		let channel = self.channels.remove(index);
		if cooperative {
			assert_eq!(payouts, [channel.balance(0), channel.balance(1)]);
		} else {
			let closing = channel.closing.expect("only closing channels settle");
			assert_eq!(payouts, channel.expected_payouts(), "payouts follow the formula");
			for (side, payout) in payouts.iter().enumerate() {
				let defended = if side == closing.closer {
					closing.closed_with_newest
				} else {
					closing.watched
				};
				if channel.who[side] != ADVERSARY && defended {
					assert!(
						*payout >= channel.balance(side),
						"an honest participant that closed with the newest proof, or was watched, \
						 gets at least its latest off-chain balance"
					);
				}
			}
		}
		for (who, payout) in channel.who.iter().zip(payouts) {
			self.adjust(*who, payout as i128);
		}
		self.adjust(channel.who[0], RECORD_DEPOSIT as i128);
	}

	/// Books the channels the hooks settled while blocks passed.
	fn collect_hook_settlements(&mut self) {
		let now = System::block_number();
		let mut index = 0;
		while index < self.channels.len() {
			let channel = &self.channels[index];
			if Channels::<Test>::contains_key(channel.id) {
				if let Some(closing) = channel.closing {
					// At most 16 channels exist (4 people, 8 channels each); a close may be queued
					// up to SETTLEMENT_QUEUE_SPILL blocks late, and the hook settles two per block.
					let latest = closing.deadline
						+ 1 + crate::features::spill_queue::SPILL_BLOCKS as u64
						+ 16 / MAX_SETTLEMENTS_PER_BLOCK as u64;
					assert!(now <= latest, "a closing channel is settled by the hook in time");
				}
				index += 1;
				continue;
			}
			let closing = channel.closing.expect("only closing channels disappear by themselves");
			assert!(now > closing.deadline, "never settled before its deadline has passed");
			let payouts = channel.expected_payouts();
			self.paid_out(index, payouts, false);
		}
	}

	fn apply(&mut self, op: Op) {
		match op {
			Op::SelfServingProof { .. }
			| Op::ReplayHonestProof { .. }
			| Op::SignSplit { .. }
			| Op::SubmitSplit { .. } => self.apply_adversary(op),
			Op::Open { opener, counterparty, deposit, counterparty_deposit } => {
				let (opener, counterparty) = (PEOPLE[opener], PEOPLE[counterparty]);
				let count = |who: Who| ChannelCount::<Test>::get(who.account());
				if opener == counterparty
					|| count(opener) >= MAX_CHANNELS_PER_ACCOUNT
					|| count(counterparty) >= MAX_CHANNELS_PER_ACCOUNT
				{
					return;
				}
				let id = open(opener, counterparty, deposit, counterparty_deposit);
				self.adjust(opener, -((deposit + RECORD_DEPOSIT) as i128));
				self.adjust(counterparty, -(counterparty_deposit as i128));
				self.channels.push(ModelChannel {
					id,
					who: [opener, counterparty],
					deposited: [deposit, counterparty_deposit],
					withdrawn: [0, 0],
					rebalanced_in: [0, 0],
					rebalanced_out: [0, 0],
					proofs: [Vec::new(), Vec::new()],
					on_chain: [(0, 0), (0, 0)],
					closing: None,
					frozen_until: 0,
				});
			}
			Op::Deposit { channel, side, amount } => {
				let Some(index) = self.pick(channel) else { return };
				let model = &self.channels[index];
				let result = PaymentChannels::deposit(model.who[side].origin(), model.id, amount);
				if model.closing.is_some() {
					assert_eq!(result, Err(Error::<Test>::ChannelNotOpen.into()));
					return;
				}
				assert_ok!(result);
				let who = model.who[side];
				self.channels[index].deposited[side] += amount;
				self.adjust(who, -(amount as i128));
			}
			Op::Pay { channel, side, amount } => {
				let Some(index) = self.pick(channel) else { return };
				let model = &mut self.channels[index];
				// An honest client pays only from what it has, not in a closing channel, and not
				// while a split it signed can still land.
				if model.closing.is_some()
					|| amount > model.balance(side)
					|| System::block_number() <= model.frozen_until
				{
					return;
				}
				let nonce = model.proofs[side].len() as u64 + 1;
				let transferred = model.sent(side) + amount;
				model.proofs[side].push((nonce, transferred));
			}
			Op::Withdraw { channel, side, amount } => {
				let Some(index) = self.pick(channel) else { return };
				let model = &self.channels[index];
				// The counterparty signs only for what the withdrawer has off chain.
				if model.closing.is_some() || amount > model.balance(side) {
					return;
				}
				let total = model.withdrawn[side] + amount;
				let proof =
					withdraw_proof(model.id, model.who[side], total, System::block_number() + 5);
				let signature = model.who[1 - side].sign(&proof);
				assert_ok!(PaymentChannels::withdraw(model.who[side].origin(), proof, signature));
				let who = model.who[side];
				self.channels[index].withdrawn[side] = total;
				self.adjust(who, amount as i128);
			}
			Op::CooperativeClose { channel } => {
				let Some(index) = self.pick(channel) else { return };
				let model = &self.channels[index];
				let payouts = [model.balance(0), model.balance(1)];
				let settlement = cooperative_close(model.id, payouts[0], payouts[1]);
				assert_ok!(PaymentChannels::cooperative_close(
					model.who[0].origin(),
					settlement.clone(),
					model.who[0].sign(&settlement),
					model.who[1].sign(&settlement),
				));
				self.paid_out(index, payouts, true);
			}
			Op::Close { channel, side, stale, watched } => {
				let Some(index) = self.pick(channel) else { return };
				let model = &self.channels[index];
				let other = 1 - side;
				if model.closing.is_some() {
					assert_noop!(
						PaymentChannels::close(model.who[side].origin(), model.id, None),
						Error::<Test>::AlreadyClosing
					);
					return;
				}
				let received = &model.proofs[other];
				let presented = if stale && received.len() > 1 {
					Some(received[received.len() - 2])
				} else if stale {
					None
				} else {
					received.last().copied()
				};
				let proof = presented.map(|p| model.signed(other, p));
				let deadline = close(model.who[side], model.id, proof);
				let mut on_chain = model.on_chain;
				if let Some(p) = presented {
					on_chain[other] = p;
				}
				if watched {
					if let Some(newest) = model.proofs[side].last().copied() {
						assert_ok!(PaymentChannels::update_balance_proof(
							Who::Eve.origin(),
							model.id,
							model.signed(side, newest),
						));
						on_chain[side] = newest;
					}
				}
				let closed_with_newest = presented == received.last().copied();
				let model = &mut self.channels[index];
				model.on_chain = on_chain;
				model.closing =
					Some(Closing { closer: side, deadline, watched, closed_with_newest });
			}
			Op::Advance { blocks } => {
				run_to_block(System::block_number() + blocks);
				self.collect_hook_settlements();
			}
			Op::Settle { channel } => {
				let Some(index) = self.pick(channel) else { return };
				let model = &self.channels[index];
				let result = PaymentChannels::settle(Who::Eve.origin(), model.id);
				match model.closing {
					None => assert_eq!(result, Err(Error::<Test>::ChannelNotClosing.into())),
					Some(closing) if System::block_number() <= closing.deadline => {
						assert_eq!(result, Err(Error::<Test>::ChallengePeriodNotOver.into()))
					}
					Some(_) => {
						assert_ok!(result);
						let payouts = model.expected_payouts();
						self.paid_out(index, payouts, false);
					}
				}
			}
			Op::Shift { from, side, to, amount } => {
				let (Some(from), Some(to)) = (self.pick(from), self.pick(to)) else { return };
				let who = self.channels[from].who[side];
				let Some(to_side) = self.channels[to].who.iter().position(|w| *w == who) else {
					return;
				};
				let source = &self.channels[from];
				if from == to
					|| source.closing.is_some()
					|| self.channels[to].closing.is_some()
					|| amount > source.balance(side)
					|| amount < MIN_DEPOSIT
				{
					return;
				}
				let total = source.withdrawn[side] + amount;
				let proof = withdraw_proof(source.id, who, total, System::block_number() + 5);
				let signature = source.who[1 - side].sign(&proof);
				assert_ok!(PaymentChannels::shift(
					who.origin(),
					proof,
					signature,
					self.channels[to].id
				));
				self.channels[from].withdrawn[side] = total;
				self.channels[to].deposited[to_side] += amount;
			}
			Op::Cycle { first, amount } => {
				let Some(first) = self.pick(first) else { return };
				let Some(cycle) = self.find_cycle(first, amount) else { return };
				let plan: Vec<_> = cycle
					.iter()
					.map(|&(index, side)| {
						let channel = &self.channels[index];
						paychan_primitives::PlanEdge {
							channel_id: channel.id,
							from: channel.who[side].account(),
							amount,
						}
					})
					.collect();
				// Each sender declares to send in its channel and to receive in the channel before.
				for position in 0..3 {
					let (index, side) = cycle[position];
					let (before, _) = cycle[(position + 2) % 3];
					let who = self.channels[index].who[side];
					let entries = vec![
						paychan_primitives::RequestEntry {
							channel_id: self.channels[index].id,
							max_send: amount,
							max_receive: 0,
						},
						paychan_primitives::RequestEntry {
							channel_id: self.channels[before].id,
							max_send: 0,
							max_receive: amount,
						},
					];
					assert_ok!(PaymentChannels::request_rebalance(
						who.origin(),
						entries.try_into().unwrap(),
						0,
						System::block_number() + 5,
					));
				}
				assert_ok!(PaymentChannels::submit_plan(
					Who::Eve.origin(),
					plan.try_into().unwrap()
				));
				for &(index, side) in &cycle {
					let who = self.channels[index].who[side];
					assert_ok!(PaymentChannels::cancel_rebalance_request(who.origin()));
					let channel = &mut self.channels[index];
					channel.rebalanced_out[side] += amount;
					channel.rebalanced_in[1 - side] += amount;
				}
			}
			Op::Forge { channel, side } => {
				let Some(index) = self.pick(channel) else { return };
				let model = &self.channels[index];
				let other = 1 - side;
				let mut forged = balance_proof(model.who[other], model.id, u64::MAX, 1);
				forged.payload.transferred = Balance::MAX;
				let before = sp_io::storage::root(StateVersion::V1);
				let result = match model.closing {
					None => {
						PaymentChannels::close(model.who[side].origin(), model.id, Some(forged))
					}
					Some(_) => PaymentChannels::update_balance_proof(
						model.who[side].origin(),
						model.id,
						forged,
					),
				};
				assert!(result.is_err(), "a forged proof is refused");
				assert_eq!(
					sp_io::storage::root(StateVersion::V1),
					before,
					"a refused call changes nothing"
				);
			}
		}
	}

	/// The side of the adversary in channel `index`, if it is a participant.
	fn adversary_side(&self, index: usize) -> Option<usize> {
		self.channels[index].who.iter().position(|who| *who == ADVERSARY)
	}

	/// Runs `call` and checks it: accepted exactly when `accepted`, and otherwise refused with
	/// `error` leaving the state untouched.
	fn expect(
		&self,
		accepted: bool,
		error: Error<Test>,
		call: impl FnOnce() -> sp_runtime::DispatchResult,
	) {
		let before = sp_io::storage::root(StateVersion::V1);
		let result = call();
		if accepted {
			assert_ok!(result);
		} else {
			assert_eq!(result, Err(error.into()));
			assert_eq!(
				sp_io::storage::root(StateVersion::V1),
				before,
				"a refused call changes nothing"
			);
		}
	}

	/// The adversary's own proof, or its replay of the honest side's, during a challenge period:
	/// recorded only if it raises the signer's total on chain.
	fn submit_adversarial_proof(
		&mut self,
		index: usize,
		signer: usize,
		(nonce, transferred): (u64, Balance),
		submitter: Who,
	) {
		let model = &self.channels[index];
		let proof = model.signed(signer, (nonce, transferred));
		let call = || PaymentChannels::update_balance_proof(submitter.origin(), model.id, proof);
		match model.closing {
			None => self.expect(false, Error::<Test>::ChannelNotClosing, call),
			Some(closing) if System::block_number() > closing.deadline => {
				self.expect(false, Error::<Test>::ChallengePeriodOver, call)
			}
			Some(_) => {
				let raises = transferred > model.on_chain[signer].1;
				self.expect(raises, Error::<Test>::StaleBalanceProof, call);
				if raises {
					self.channels[index].on_chain[signer] = (nonce, transferred);
				}
			}
		}
	}

	fn apply_adversary(&mut self, op: Op) {
		match op {
			Op::SelfServingProof { channel, nonce, lower, delta, submitter } => {
				let Some(index) = self.pick(channel) else { return };
				let Some(side) = self.adversary_side(index) else { return };
				let recorded = self.channels[index].on_chain[side].1;
				let transferred =
					if lower { recorded.saturating_sub(delta) } else { recorded + delta };
				self.submit_adversarial_proof(
					index,
					side,
					(nonce, transferred),
					SUBMITTERS[submitter],
				);
			}
			Op::ReplayHonestProof { channel, age } => {
				let Some(index) = self.pick(channel) else { return };
				let Some(side) = self.adversary_side(index) else { return };
				let honest = 1 - side;
				let proofs = &self.channels[index].proofs[honest];
				let Some(old) = proofs.len().checked_sub(age).map(|at| proofs[at]) else { return };
				self.submit_adversarial_proof(index, honest, old, ADVERSARY);
			}
			Op::SignSplit { channel } => {
				let Some(index) = self.pick(channel) else { return };
				let model = &self.channels[index];
				if model.closing.is_some() || self.adversary_side(index).is_none() {
					return;
				}
				let split = cooperative_close(model.id, model.balance(0), model.balance(1));
				let signatures = (model.who[0].sign(&split), model.who[1].sign(&split));
				self.channels[index].frozen_until = split.expires_at;
				self.splits.push((split, signatures.0, signatures.1));
			}
			Op::SubmitSplit { index } => {
				if self.splits.is_empty() {
					return;
				}
				let (split, opener_signature, counterparty_signature) =
					self.splits[index % self.splits.len()].clone();
				let Some(channel) = self.channels.iter().position(|c| c.id == split.channel_id)
				else {
					// Paid out already: the id is gone for good.
					self.expect(false, Error::<Test>::UnknownChannel, || {
						PaymentChannels::cooperative_close(
							ADVERSARY.origin(),
							split,
							opener_signature,
							counterparty_signature,
						)
					});
					return;
				};
				let before = sp_io::storage::root(StateVersion::V1);
				let result = PaymentChannels::cooperative_close(
					ADVERSARY.origin(),
					split.clone(),
					opener_signature,
					counterparty_signature,
				);
				match result {
					// `paid_out` checks that a split that lands pays exactly the latest balances.
					Ok(()) => self.paid_out(
						channel,
						[split.payout_opener, split.payout_counterparty],
						true,
					),
					Err(error) => {
						assert!(
							error == Error::<Test>::StaleCooperativeClose.into()
								|| error == Error::<Test>::CooperativeCloseExpired.into(),
							"an old split is refused as stale or expired, not {error:?}"
						);
						assert_eq!(sp_io::storage::root(StateVersion::V1), before);
					}
				}
			}
			_ => unreachable!("honest operations are applied by `apply`"),
		}
	}

	/// Three distinct open channels forming a cycle A -> B -> C -> A that starts at channel
	/// `first`, where each sender can cover `amount` by its off-chain balance. Returns each
	/// channel's index and its sender's side.
	fn find_cycle(&self, first: usize, amount: Balance) -> Option<[(usize, usize); 3]> {
		let open = |index: usize| self.channels[index].closing.is_none();
		let side_of =
			|index: usize, who: Who| self.channels[index].who.iter().position(|w| *w == who);
		let can_send = |index: usize, side: usize| self.channels[index].balance(side) >= amount;
		if !open(first) {
			return None;
		}
		for a_side in 0..2 {
			let a = self.channels[first].who[a_side];
			let b = self.channels[first].who[1 - a_side];
			if !can_send(first, a_side) {
				continue;
			}
			for second in (0..self.channels.len()).filter(|i| *i != first && open(*i)) {
				let Some(b_side) = side_of(second, b) else { continue };
				let c = self.channels[second].who[1 - b_side];
				if c == a || !can_send(second, b_side) {
					continue;
				}
				for third in
					(0..self.channels.len()).filter(|i| *i != first && *i != second && open(*i))
				{
					let Some(c_side) = side_of(third, c) else { continue };
					if self.channels[third].who[1 - c_side] == a && can_send(third, c_side) {
						return Some([(first, a_side), (second, b_side), (third, c_side)]);
					}
				}
			}
		}
		None
	}

	fn check(&self, issuance: Balance) {
		PaymentChannels::do_try_state().expect("the pallet's invariants hold");
		assert_eq!(total_issuance(), issuance, "no operation creates or destroys funds");
		for (account, free) in &self.free {
			assert_eq!(Balances::free_balance(account), *free, "free balance of {account:?}");
		}
	}
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
