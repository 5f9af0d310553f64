//! The model's bookkeeping: what each channel's participants know, the free balances the
//! model expects, and the checks after every step.

use super::*;

impl ModelChannel {
	pub(super) fn sent(&self, side: usize) -> Balance {
		self.proofs[side].last().map_or(0, |p| p.1)
	}

	/// The latest off-chain balance of `side`.
	pub(super) fn balance(&self, side: usize) -> Balance {
		let other = 1 - side;
		self.deposited[side] + self.sent(other) + self.rebalanced_in[side]
			- self.withdrawn[side]
			- self.sent(side)
			- self.rebalanced_out[side]
	}

	pub(super) fn total(&self) -> Balance {
		self.deposited[0] + self.deposited[1] - self.withdrawn[0] - self.withdrawn[1]
	}

	/// The settlement formula applied to what the chain saw.
	pub(super) fn expected_payouts(&self) -> [Balance; 2] {
		let credit = self.deposited[0] + self.on_chain[1].1 + self.rebalanced_in[0];
		let debit = self.withdrawn[0] + self.on_chain[0].1 + self.rebalanced_out[0];
		let opener = credit.saturating_sub(debit).min(self.total());
		[opener, self.total() - opener]
	}

	pub(super) fn signed(
		&self,
		side: usize,
		(nonce, transferred): (u64, Balance),
	) -> SignedBalanceProofOf<Test> {
		balance_proof(self.who[side], self.id, nonce, transferred)
	}
}

impl Model {
	pub(super) fn new() -> Self {
		let free = PEOPLE.iter().map(|who| (who.account(), ENDOWMENT)).collect();
		Model { channels: Vec::new(), free, splits: Vec::new() }
	}

	pub(super) fn pick(&self, index: usize) -> Option<usize> {
		(!self.channels.is_empty()).then(|| index % self.channels.len())
	}

	pub(super) fn adjust(&mut self, who: Who, delta: i128) {
		let free = self.free.get_mut(&who.account()).unwrap();
		*free = (*free as i128 + delta) as Balance;
	}

	/// Books a channel that the chain paid out with `payouts`, checking honest-party safety.
	pub(super) fn paid_out(&mut self, index: usize, payouts: [Balance; 2], cooperative: bool) {
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
	pub(super) fn collect_hook_settlements(&mut self) {
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

	/// Three distinct open channels forming a cycle A -> B -> C -> A that starts at channel
	/// `first`, where each sender can cover `amount` by its off-chain balance. Returns each
	/// channel's index and its sender's side.
	pub(super) fn find_cycle(&self, first: usize, amount: Balance) -> Option<[(usize, usize); 3]> {
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

	pub(super) fn check(&self, issuance: Balance) {
		PaymentChannels::do_try_state().expect("the pallet's invariants hold");
		assert_eq!(total_issuance(), issuance, "no operation creates or destroys funds");
		for (account, free) in &self.free {
			assert_eq!(Balances::free_balance(account), *free, "free balance of {account:?}");
		}
	}
}
