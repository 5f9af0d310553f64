//! `paychan-sim`: replays payments over a channel graph, routed as the Paychan daemon routes
//! them ([`paychan_rebalancer::routing`]), and measures whether they succeed (issue #20).
//!
//! The rebalancing policies it compares ([`Policy`]): none, scheduled rounds solved exactly or
//! as Revive's LP, on-demand requests when a channel leaves a band, own-channel shifts, and an
//! ideal that rebalances after every failure. Each reports the extrinsics it would submit and
//! their benchmarked weight ([`cost`]).

pub mod cost;
pub mod network;
pub mod policy;
pub mod workload;

pub use cost::Rebalancing;
pub use network::{Network, Solver, Split};
pub use policy::{Band, Pledge, Policy, Rebalancer};
pub use workload::{Payment, Workload};

use paychan_rebalancer::routing::{Router, Scratch, Timing};

/// What a run measured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Report {
	pub payments: u64,
	pub succeeded: u64,
	pub volume: u128,
	pub volume_succeeded: u128,
	/// Fees paid to forwarding parties by the payments that succeeded.
	pub fees: u128,
	/// Why the others failed: the payer held less than the amount over all its channels, the
	/// payee could receive less than it over all of its own, or neither (the funds were there at
	/// both ends, but no path in between had the capacity).
	pub failures: Failures,
	pub rebalancing: Rebalancing,
	/// One row per `interval` payments: the interval's success ratio by count and by volume, and
	/// the share of channel directions depleted at its end.
	pub series: Vec<Interval>,
}

/// Failed payments by where the funds were missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Failures {
	/// The payer's side of all its channels together held less than the amount.
	pub at_payer: u64,
	/// The other sides of all the payee's channels together held less than the amount.
	pub at_payee: u64,
	/// Both ends had the funds; the paths between them did not.
	pub in_between: u64,
}

impl Failures {
	/// Classifies a failed `payment` by `network` as it was when it failed.
	fn count(&mut self, network: &Network, payment: &Payment) {
		let can_send: u128 = network
			.channels_of(payment.payer)
			.iter()
			.map(|&channel| network.held(channel, payment.payer))
			.sum();
		let can_receive: u128 = network
			.channels_of(payment.payee)
			.iter()
			.map(|&channel| network.capacity(channel) - network.held(channel, payment.payee))
			.sum();
		if can_send < payment.amount {
			self.at_payer += 1;
		} else if can_receive < payment.amount {
			self.at_payee += 1;
		} else {
			self.in_between += 1;
		}
	}
}

/// One interval of a run.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Interval {
	/// Payments replayed when the interval ended.
	pub payments: u64,
	pub success_ratio: f64,
	pub volume_ratio: f64,
	pub depleted_directions: f64,
	/// What rebalancing had moved (plans and shifts), submitted (extrinsics) and weighed
	/// (ref_time, picoseconds) by the interval's end, since the run began.
	pub moved: u128,
	pub transactions: u64,
	pub ref_time: u128,
}

impl Eq for Interval {}

impl Report {
	pub fn success_ratio(&self) -> f64 {
		ratio(self.succeeded as f64, self.payments as f64)
	}

	pub fn volume_ratio(&self) -> f64 {
		ratio(self.volume_succeeded as f64, self.volume as f64)
	}

	/// The series as CSV: `payments,success_ratio,volume_ratio,depleted_directions,moved,
	/// transactions,ref_time`.
	pub fn csv(&self) -> String {
		let mut out = String::from(
			"payments,success_ratio,volume_ratio,depleted_directions,moved,transactions,ref_time\n",
		);
		for row in &self.series {
			out.push_str(&format!(
				"{},{:.6},{:.6},{:.6},{},{},{}\n",
				row.payments,
				row.success_ratio,
				row.volume_ratio,
				row.depleted_directions,
				row.moved,
				row.transactions,
				row.ref_time
			));
		}
		out
	}
}

fn ratio(part: f64, whole: f64) -> f64 {
	if whole == 0.0 {
		0.0
	} else {
		part / whole
	}
}

/// How payments are routed: the daemon's timing rules, and how many parts a payment may be split
/// into (1: no splitting).
#[derive(Clone, Copy, Debug)]
pub struct Routing {
	pub timing: Timing,
	pub max_parts: usize,
}

impl Default for Routing {
	fn default() -> Routing {
		Routing {
			timing: Timing { now: 0, final_margin: 20, hop_margin: 10, max_hops: 20 },
			max_parts: 1,
		}
	}
}

/// Replays `payments` on `network` under `policy`, recording a row of the series every
/// `interval` payments.
pub fn run(
	network: &mut Network,
	payments: impl IntoIterator<Item = Payment>,
	routing: Routing,
	policy: Policy,
	interval: u64,
) -> Report {
	let graph = network.routing_graph();
	let router = Router::new(&graph);
	let mut scratch = Scratch::default();
	let mut rebalancer = Rebalancer::new(policy, network.nodes);
	let mut report = Report::default();
	let mut window = (0u64, 0u64, 0u128, 0u128);
	for payment in payments {
		report.payments += 1;
		report.volume += payment.amount;
		window.0 += 1;
		window.2 += payment.amount;
		let routes = router.split_in(
			&mut scratch,
			network.capacities(),
			payment.payer,
			payment.payee,
			payment.amount,
			routing.max_parts,
			routing.timing,
		);
		if let Some(routes) = &routes {
			for route in routes {
				for hop in &route.hops {
					network.move_funds(hop.edge, hop.amount);
				}
				report.fees += route.fees();
			}
			report.succeeded += 1;
			report.volume_succeeded += payment.amount;
			window.1 += 1;
			window.3 += payment.amount;
		} else {
			report.failures.count(network, &payment);
		}
		rebalancer.after_payment(
			network,
			report.payments,
			routes.as_deref(),
			&mut report.rebalancing,
		);
		if interval > 0 && report.payments % interval == 0 {
			report.series.push(Interval {
				payments: report.payments,
				success_ratio: ratio(window.1 as f64, window.0 as f64),
				volume_ratio: ratio(window.3 as f64, window.2 as f64),
				depleted_directions: network.depleted_share(),
				moved: report.rebalancing.volume + report.rebalancing.shifted,
				transactions: report.rebalancing.transactions(),
				ref_time: report.rebalancing.ref_time,
			});
			window = (0, 0, 0, 0);
		}
	}
	report
}
