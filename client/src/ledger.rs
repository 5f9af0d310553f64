//! What each participant owns in a channel: the chain's cumulative totals combined with the
//! newest balance proofs a party holds, through the pallet's own settlement formula
//! ([`paychan_primitives::opener_claim`]), where each `transferred` is the larger of what the
//! chain recorded and the newest proof the party holds.

use crate::{chain::ChannelView, store::ChannelRecord};
use paychan_primitives::{opener_claim, SideTotals, SignedBalance};

/// One party's view of one channel.
#[derive(Clone, Debug)]
pub struct Ledger {
	pub view: ChannelView,
	/// This party's index in the channel (0 opener, 1 counterparty).
	pub me: usize,
	pub record: ChannelRecord,
}

impl Ledger {
	pub fn new(view: ChannelView, me: usize, record: ChannelRecord) -> Ledger {
		Ledger { view, me, record }
	}

	pub fn other(&self) -> usize {
		1 - self.me
	}

	/// The counterparty's account.
	pub fn counterparty(&self) -> [u8; 32] {
		self.view.participants[self.other()]
	}

	/// Everything this party has paid.
	pub fn paid(&self) -> u128 {
		self.record.paid().max(self.view.sides[self.me].transferred)
	}

	/// Everything the counterparty has paid this party.
	pub fn earned(&self) -> u128 {
		self.record.earned().max(self.view.sides[self.other()].transferred)
	}

	/// Both participants' balances by the settlement formula (as the chain would pay them
	/// with the proofs this party holds), indexed like the channel's participants.
	pub fn balances(&self) -> [i128; 2] {
		let mut totals: [SideTotals<u128>; 2] =
			self.view.sides.each_ref().map(|side| side.totals());
		totals[self.me].transferred = self.paid();
		totals[self.other()].transferred = self.earned();
		// Unclamped, unlike the chain's payouts: a negative balance is what tells this party
		// that a proof would over-spend.
		let opener = signed_i128(opener_claim(&totals[0], &totals[1]));
		let total = i128::try_from(self.view.total()).unwrap_or(i128::MAX);
		[opener, total.saturating_sub(opener)]
	}

	/// What the counterparty may still pay, lock or withdraw: its balance less its locks
	/// pending to this party and any withdrawal this party consented to that the chain has not
	/// executed yet.
	pub fn counterparty_available(&self) -> i128 {
		let other = self.other();
		let pending_withdrawal =
			self.record.consented_withdrawal.saturating_sub(self.view.sides[other].withdrawn);
		self.balances()[other] - pending_withdrawal as i128 - self.locked_in() as i128
	}

	/// What this party may still pay or lock, keeping `pledged` (its open rebalance request's
	/// `max_send`) and its pending locks on its side.
	pub fn spendable(&self, pledged: u128) -> i128 {
		self.balances()[self.me] - pledged as i128 - self.locked_out() as i128
	}

	/// This party's routed payments' locks pending to the counterparty.
	pub fn locked_out(&self) -> u128 {
		self.record.sent.as_ref().map_or(0, |proof| proof.locked())
	}

	/// The counterparty's locks pending to this party.
	pub fn locked_in(&self) -> u128 {
		self.record.received.as_ref().map_or(0, |proof| proof.locked())
	}

	/// The cooperative-close payouts `[opener, counterparty]`, or `None` if a balance is
	/// negative (the proofs over-spend, which honest parties never sign).
	pub fn payouts(&self) -> Option<[u128; 2]> {
		let [a, b] = self.balances();
		Some([u128::try_from(a).ok()?, u128::try_from(b).ok()?])
	}
}

/// `value` as an `i128`, saturated: no real balance comes near `i128::MAX`.
fn signed_i128(value: SignedBalance<u128>) -> i128 {
	let magnitude = i128::try_from(value.magnitude).unwrap_or(i128::MAX);
	if value.negative {
		-magnitude
	} else {
		magnitude
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::wire::ProofState;
	use paychan_primitives::Nonce;

	fn view(deposits: [u128; 2]) -> ChannelView {
		ChannelView::funded(1, deposits)
	}

	fn proof(nonce: Nonce, transferred: u128) -> Option<ProofState> {
		Some(ProofState { nonce, transferred, signature: [0; 64], locks: None })
	}

	#[test]
	fn balances_follow_the_settlement_formula() {
		let mut v = view([100, 40]);
		v.sides[0].withdrawn = 10;
		v.sides[0].custody = 90;
		v.sides[0].rebalanced_out = 5;
		v.sides[1].rebalanced_in = 5;
		let record = ChannelRecord {
			sent: proof(3, 30),
			received: proof(2, 12),
			consented_withdrawal: 0,
			..Default::default()
		};
		let opener = Ledger::new(v.clone(), 0, record);
		// Opener: 100 - 10 - 5 + 12 - 30 = 67; counterparty: 40 + 5 + 30 - 12 = 63.
		assert_eq!(opener.balances(), [67, 63]);
		assert_eq!(opener.payouts(), Some([67, 63]));
		assert_eq!(opener.spendable(20), 47);
	}

	#[test]
	fn the_chain_record_counts_when_it_is_newer() {
		let mut v = view([50, 50]);
		v.sides[1].transferred = 20;
		v.sides[1].nonce = 9;
		let ledger = Ledger::new(
			v,
			0,
			ChannelRecord {
				sent: None,
				received: proof(4, 8),
				consented_withdrawal: 0,
				..Default::default()
			},
		);
		assert_eq!(ledger.earned(), 20);
		assert_eq!(ledger.balances(), [70, 30]);
	}

	#[test]
	fn consented_withdrawals_are_not_spendable_by_the_counterparty() {
		let ledger = Ledger::new(
			view([50, 50]),
			0,
			ChannelRecord {
				sent: None,
				received: None,
				consented_withdrawal: 30,
				..Default::default()
			},
		);
		assert_eq!(ledger.counterparty_available(), 20);
	}
}
