//! The adversary's operations: what Dave signs and submits for himself, and the specific error
//! each refused call must get.

use super::*;

impl Model {
	/// The side of the adversary in channel `index`, if it is a participant.
	pub(super) fn adversary_side(&self, index: usize) -> Option<usize> {
		self.channels[index].who.iter().position(|who| *who == ADVERSARY)
	}

	/// Runs `call` and checks it: accepted exactly when `accepted`, and otherwise refused with
	/// `error` leaving the state untouched.
	pub(super) fn expect(
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
	pub(super) fn submit_adversarial_proof(
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

	pub(super) fn apply_adversary(&mut self, op: Op) {
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
}
