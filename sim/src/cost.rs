//! What a policy's rebalancing costs on chain: the extrinsics it would submit, and their weight
//! by the pallet's benchmarked weight functions (the same ones the runtime charges), so
//! policies are compared by what the chain would spend, not by a count alone.
//!
//! The weights are the pallet's `()` implementation: its benchmarked figures with RocksDB's
//! read and write costs. The runtime charges ParityDB's, which are lower, so these are an upper
//! bound on what the chain would charge.

use frame_support::weights::Weight;
use pallet_payment_channels::weights::WeightInfo as Calls;

/// The runtime's `MaxRequestEntries`: the most channels one rebalance request names.
pub const MAX_REQUEST_ENTRIES: usize = 16;

/// What rebalancing cost and moved in a run.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rebalancing {
	/// Rounds solved (scheduled, on demand or after a failure).
	pub rounds: u64,
	/// Rounds whose solver gave up (the LP past its time limit): nothing moved.
	pub failed_rounds: u64,
	/// Plans submitted: one `submit_plan` extrinsic each.
	pub plans: u64,
	/// Edges over all plans (each is one channel's move).
	pub edges: u64,
	/// Plans the pallet's rules would refuse (none is applied); 0 unless a solver errs.
	pub refused_plans: u64,
	/// What the plans moved, over all edges.
	pub volume: u128,
	/// Rebalance requests filed: one `request_rebalance` extrinsic each.
	pub requests: u64,
	/// Entries over all requests.
	pub request_entries: u64,
	/// Own-channel shifts: one `shift` extrinsic each.
	pub shifts: u64,
	/// What the shifts moved.
	pub shifted: u128,
	/// The weight of every extrinsic above.
	pub ref_time: u128,
	pub proof_size: u128,
}

impl Rebalancing {
	/// Counts a plan of `edges` edges.
	pub fn plan(&mut self, edges: usize) {
		self.plans += 1;
		self.edges += edges as u64;
		self.charge(<() as Calls>::submit_plan(edges as u32));
	}

	/// Counts a request of `entries` entries.
	pub fn request(&mut self, entries: usize) {
		self.requests += 1;
		self.request_entries += entries as u64;
		self.charge(<() as Calls>::request_rebalance(entries as u32));
	}

	/// Counts a shift of `amount`.
	pub fn shift(&mut self, amount: u128) {
		self.shifts += 1;
		self.shifted += amount;
		self.charge(<() as Calls>::shift());
	}

	fn charge(&mut self, weight: Weight) {
		self.ref_time += u128::from(weight.ref_time());
		self.proof_size += u128::from(weight.proof_size());
	}

	/// Extrinsics submitted.
	pub fn transactions(&self) -> u64 {
		self.plans + self.requests + self.shifts
	}

	/// The ref_time spent, in balances transfers of the same weight table.
	pub fn transfers_equivalent(&self) -> f64 {
		self.ref_time as f64 / transfer_ref_time() as f64
	}
}

/// A balances transfer's ref_time (`transfer_allow_death`), the unit costs are reported in.
pub fn transfer_ref_time() -> u64 {
	<() as pallet_balances::WeightInfo>::transfer_allow_death().ref_time()
}
