//! The settlement formula: what each participant of a channel receives when it is paid out.
//! The pallet pays by it and clients predict payouts with it, so it is written once, here.

use sp_arithmetic::traits::{BaseArithmetic, Bounded, Zero};

/// One participant's cumulative totals, as far as the settlement formula reads them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SideTotals<Balance> {
	/// Everything it deposited.
	pub deposited: Balance,
	/// Everything it withdrew.
	pub withdrawn: Balance,
	/// What its recorded balance proof says it paid the other participant.
	pub transferred: Balance,
	/// What rebalancing plans moved to its side.
	pub rebalanced_in: Balance,
	/// What rebalancing plans moved away from its side.
	pub rebalanced_out: Balance,
}

/// What the opener and the counterparty receive from a channel holding `total`:
///
/// `final_o = (deposited_o - withdrawn_o) + (rebalanced_in_o - rebalanced_out_o)
///            + (transferred_c - transferred_o)`,
///
/// clamped to `[0, total]`, and `final_c = total - final_o`.
///
/// Each bracket is a difference of two balances, which is exact; the three are then summed as
/// signed amounts with checked arithmetic, in an order in which a sum can only overflow when
/// the true value lies beyond `Balance::MAX` in one direction, where the clamp is exact anyway. So
/// totals a counterparty signed without limit (up to `Balance::MAX`) cannot saturate a sum and
/// cancel out the other side's credit, as adding all credits and all debits first did.
pub fn settlement<Balance: BaseArithmetic + Copy>(
	total: Balance,
	opener: &SideTotals<Balance>,
	counterparty: &SideTotals<Balance>,
) -> [Balance; 2] {
	let opener_final = match opener_claim(opener, counterparty) {
		SignedBalance { negative: true, .. } => Zero::zero(),
		SignedBalance { magnitude, .. } => magnitude.min(total),
	};
	[opener_final, total - opener_final]
}

/// What a channel with pending locks pays at settlement, and what it holds back for them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LockedSettlement<Balance> {
	/// Paid to the opener and the counterparty at once.
	pub payouts: [Balance; 2],
	/// Held back for the opener's locks and for the counterparty's locks (each paid to the
	/// lock's receiver or back to its sender when it is unlocked).
	pub held: [Balance; 2],
}

/// [`settlement`] for a channel whose recorded proofs carry pending locks of `locked[i]` from
/// participant `i` (opener first).
///
/// Each side's locks are paid out of what that side gets with every lock returned to it: the
/// settlement without locks, `[s_o, s_c]`. The held amounts are `min(locked_i, s_i)` and the
/// payouts `s_i - held_i`, so nothing is paid twice and the payouts and held amounts add up to
/// `total`. A sender can only lock what it owns outright, not what the other side's pending
/// locks might bring it: a lock beyond that is paid in part or not at all. An honest receiver
/// never accepts such a lock (docs/protocol.md §10.4), so it only ever costs a dishonest sender's
/// counterparty what it accepted against the rules.
pub fn settlement_with_locks<Balance: BaseArithmetic + Copy>(
	total: Balance,
	opener: &SideTotals<Balance>,
	counterparty: &SideTotals<Balance>,
	locked: [Balance; 2],
) -> LockedSettlement<Balance> {
	let unlocked = settlement(total, opener, counterparty);
	let held = [locked[0].min(unlocked[0]), locked[1].min(unlocked[1])];
	LockedSettlement { payouts: [unlocked[0] - held[0], unlocked[1] - held[1]], held }
}

/// The settlement formula's value for the opener before it is clamped to the channel: negative
/// when the opener's proofs spend more than it owns, above the channel's funds when the
/// counterparty's do. Clients read it to tell how much a participant may still pay; the chain
/// only ever pays [`settlement`]. Saturates at `Balance::MAX` in magnitude.
pub fn opener_claim<Balance: BaseArithmetic + Copy>(
	opener: &SideTotals<Balance>,
	counterparty: &SideTotals<Balance>,
) -> SignedBalance<Balance> {
	let funding = SignedBalance::difference(opener.deposited, opener.withdrawn);
	let rebalanced = SignedBalance::difference(opener.rebalanced_in, opener.rebalanced_out);
	let payments = SignedBalance::difference(counterparty.transferred, opener.transferred);
	SignedBalance::sum([funding, rebalanced, payments])
}

/// A balance with a sign, for the formula's differences.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SignedBalance<Balance> {
	/// Whether the value is below zero.
	pub negative: bool,
	/// The value's absolute amount.
	pub magnitude: Balance,
}

impl<Balance: BaseArithmetic + Copy> SignedBalance<Balance> {
	/// `plus - minus`, exactly.
	pub fn difference(plus: Balance, minus: Balance) -> Self {
		if plus >= minus {
			SignedBalance { negative: false, magnitude: plus - minus }
		} else {
			SignedBalance { negative: true, magnitude: minus - plus }
		}
	}

	/// `self + other`, or `None` when the magnitude would not fit in `Balance`.
	fn plus(self, other: Self) -> Option<Self> {
		if self.negative == other.negative {
			let magnitude = self.magnitude.checked_add(&other.magnitude)?;
			return Some(SignedBalance { negative: self.negative, magnitude });
		}
		let (positive, negative) = if self.negative {
			(other.magnitude, self.magnitude)
		} else {
			(self.magnitude, other.magnitude)
		};
		Some(SignedBalance::difference(positive, negative))
	}

	/// The sum of three terms, saturated at `Balance::MAX` in magnitude. Two terms of opposite
	/// signs (if any) are added first, which cannot overflow; adding the third then overflows
	/// only if the true sum is beyond `Balance::MAX` with that term's sign.
	fn sum([a, b, c]: [Self; 3]) -> Self {
		let (first, second, third) = if a.negative != b.negative {
			(a, b, c)
		} else if a.negative != c.negative {
			(a, c, b)
		} else {
			(b, c, a)
		};
		let saturated =
			|negative| SignedBalance { negative, magnitude: <Balance as Bounded>::max_value() };
		let Some(partial) = first.plus(second) else { return saturated(first.negative) };
		partial.plus(third).unwrap_or_else(|| saturated(third.negative))
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn side(deposited: u128, transferred: u128) -> SideTotals<u128> {
		SideTotals { deposited, transferred, ..Default::default() }
	}

	#[test]
	fn pays_by_the_formula() {
		assert_eq!(settlement(1_000, &side(600, 100), &side(400, 250)), [750, 250]);
	}

	#[test]
	fn huge_transfers_on_both_sides_net_out_instead_of_saturating() {
		// Both sides signed near-maximal totals; only their difference (10 to the opener)
		// counts. Adding before netting saturated both sums and paid the opener nothing.
		let opener = side(500, u128::MAX - 10);
		let counterparty = side(500, u128::MAX);
		assert_eq!(settlement(1_000, &opener, &counterparty), [510, 490]);
	}

	#[test]
	fn overdrafts_clamp_to_the_channel() {
		assert_eq!(settlement(1_000, &side(500, u128::MAX), &side(500, 0)), [0, 1_000]);
		assert_eq!(settlement(1_000, &side(500, 0), &side(500, u128::MAX)), [1_000, 0]);
		// 500 - MAX + MAX: exact, not saturated either way.
		let withdrew_everything = SideTotals { withdrawn: u128::MAX, ..side(500, 0) };
		assert_eq!(settlement(1_000, &withdrew_everything, &side(500, u128::MAX)), [500, 500]);
		// The same sign twice past MAX: beyond any balance in that direction.
		let owes = SideTotals { withdrawn: u128::MAX, ..side(0, u128::MAX) };
		assert_eq!(settlement(1_000, &owes, &side(1_000, 0)), [0, 1_000]);
		let owed = SideTotals { deposited: u128::MAX, ..side(0, 0) };
		assert_eq!(settlement(1_000, &owed, &side(0, u128::MAX)), [1_000, 0]);
	}

	#[test]
	fn locks_are_held_out_of_their_senders_settlement() {
		// The opener gets 750 without locks and has 100 locked: 650 paid, 100 held. The
		// counterparty's 30 locked come out of its 250.
		let settled = settlement_with_locks(1_000, &side(600, 100), &side(400, 250), [100, 30]);
		assert_eq!(settled, LockedSettlement { payouts: [650, 220], held: [100, 30] });
	}

	#[test]
	fn a_lock_beyond_what_its_sender_owns_is_held_only_in_part() {
		// The opener owns 200 outright and signed locks of 500: only 200 can be held, and the
		// counterparty's 800 are untouched.
		let settled = settlement_with_locks(1_000, &side(200, 0), &side(800, 0), [500, 0]);
		assert_eq!(settled, LockedSettlement { payouts: [0, 800], held: [200, 0] });
		// Nothing is created: what is paid and held adds up to the channel.
		let held = settlement_with_locks(1_000, &side(500, 0), &side(500, 0), [u128::MAX; 2]);
		assert_eq!(held, LockedSettlement { payouts: [0, 0], held: [500, 500] });
	}

	#[test]
	fn no_locks_pay_by_the_plain_formula() {
		let settled = settlement_with_locks(1_000, &side(600, 100), &side(400, 250), [0, 0]);
		assert_eq!(settled.payouts, settlement(1_000, &side(600, 100), &side(400, 250)));
		assert_eq!(settled.held, [0, 0]);
	}

	#[test]
	fn the_claim_is_the_formula_before_the_clamp() {
		let overspent = opener_claim(&side(100, 130), &side(0, 0));
		assert_eq!(overspent, SignedBalance { negative: true, magnitude: 30 });
		let owed_more_than_the_channel = opener_claim(&side(100, 0), &side(50, 80));
		assert_eq!(owed_more_than_the_channel, SignedBalance { negative: false, magnitude: 180 });
		assert_eq!(settlement(150, &side(100, 0), &side(50, 80)), [150, 0]);
	}
}
