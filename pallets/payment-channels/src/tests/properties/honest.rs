//! The honest participants' operations and what the model expects each to do on chain.

use super::*;

impl Model {
	pub(super) fn apply(&mut self, op: Op) {
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
}
