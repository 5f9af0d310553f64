//! Seeded payment workloads: who pays whom, and how much.

use rand::{seq::SliceRandom, Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// One payment to replay.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Payment {
	pub payer: usize,
	pub payee: usize,
	pub amount: u128,
}

/// How payers and payees are drawn; amounts are log-uniform in `amounts`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Workload {
	/// Every pair of distinct parties equally likely.
	Uniform { amounts: (u128, u128) },
	/// Payers and payees each Zipf-distributed over the parties (ranked by a seeded shuffle,
	/// independently for payers and payees), with exponent `exponent`.
	Zipf { exponent: f64, amounts: (u128, u128) },
	/// Pairs drawn from a demand matrix ([`demand_matrix`]) with a circulation part and a one-way
	/// (acyclic) part carrying `dag_share` of the demand, as in the Spider paper's workloads:
	/// the circulation part can be served forever by channels that rebalance, the acyclic part
	/// drains them whatever rebalancing does.
	Demand { dag_share: f64, entries: usize, amounts: (u128, u128) },
}

/// One entry of a demand matrix: `rate` is the relative frequency of payments `payer → payee`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Demand {
	pub payer: usize,
	pub payee: usize,
	pub rate: f64,
}

/// A seeded demand matrix of about `entries` entries among `nodes` parties: `1 - dag_share` of
/// the total rate in cycles of 3 to 5 distinct parties (each cycle's entries at one rate, so
/// every party pays out at the rate it is paid: a circulation), `dag_share` in pairs that go
/// forward in a seeded order of the parties (so no payment flows back: acyclic).
pub fn demand_matrix(nodes: usize, entries: usize, dag_share: f64, seed: u64) -> Vec<Demand> {
	assert!(nodes >= 5, "a demand matrix needs five parties");
	assert!((0.0..=1.0).contains(&dag_share), "dag_share is a share");
	let mut rng = ChaCha8Rng::seed_from_u64(seed);
	let mut matrix = Vec::new();
	let dag_entries = (entries as f64 * dag_share).round() as usize;
	let cycle_entries = entries - dag_entries;
	// The circulation part: cycles until there are enough entries, rates normalized after.
	let mut cycles = Vec::new();
	let mut counted = 0;
	while counted < cycle_entries {
		let length = rng.random_range(3..=5);
		let mut parties: Vec<usize> = (0..nodes).collect();
		let (chosen, _) = parties.partial_shuffle(&mut rng, length);
		let rate: f64 = rng.random_range(0.5..2.0);
		counted += length;
		cycles.push((chosen.to_vec(), rate));
	}
	let circulation_total: f64 =
		cycles.iter().map(|(members, rate)| members.len() as f64 * rate).sum();
	for (members, rate) in &cycles {
		for (i, &payer) in members.iter().enumerate() {
			let payee = members[(i + 1) % members.len()];
			let rate = (1.0 - dag_share) * rate / circulation_total;
			matrix.push(Demand { payer, payee, rate });
		}
	}
	// The acyclic part: forward pairs in a seeded order.
	let mut order: Vec<usize> = (0..nodes).collect();
	order.shuffle(&mut rng);
	let mut forward = Vec::with_capacity(dag_entries);
	for _ in 0..dag_entries {
		let (i, j) = loop {
			let (i, j) = (rng.random_range(0..nodes), rng.random_range(0..nodes));
			if i < j {
				break (i, j);
			}
		};
		forward.push((order[i], order[j], rng.random_range(0.5..2.0)));
	}
	let dag_total: f64 = forward.iter().map(|&(_, _, rate)| rate).sum();
	for (payer, payee, rate) in forward {
		matrix.push(Demand { payer, payee, rate: dag_share * rate / dag_total });
	}
	matrix
}

/// `count` payments of `workload` among `nodes` parties, from `seed`: the same seed gives the
/// same payments.
pub fn payments(
	workload: Workload,
	nodes: usize,
	count: u64,
	seed: u64,
) -> impl Iterator<Item = Payment> {
	assert!(nodes >= 2, "payments need two parties");
	let mut rng = ChaCha8Rng::seed_from_u64(seed);
	let (amounts, zipf, demand) = match workload {
		Workload::Uniform { amounts } => (amounts, None, None),
		Workload::Demand { dag_share, entries, amounts } => {
			let matrix = demand_matrix(nodes, entries, dag_share, rng.random());
			let weights = Cumulative::of(matrix.iter().map(|entry| entry.rate));
			(amounts, None, Some((weights, matrix)))
		}
		Workload::Zipf { exponent, amounts } => {
			let mut payers: Vec<usize> = (0..nodes).collect();
			let mut payees = payers.clone();
			payers.shuffle(&mut rng);
			payees.shuffle(&mut rng);
			(amounts, Some((Cumulative::zipf(nodes, exponent), payers, payees)), None)
		}
	};
	(0..count).map(move |_| {
		let (payer, payee) = loop {
			let pair = match (&zipf, &demand) {
				(Some((weights, payers, payees)), _) => {
					(payers[weights.draw(&mut rng)], payees[weights.draw(&mut rng)])
				}
				(None, Some((weights, matrix))) => {
					let entry = matrix[weights.draw(&mut rng)];
					(entry.payer, entry.payee)
				}
				(None, None) => (rng.random_range(0..nodes), rng.random_range(0..nodes)),
			};
			if pair.0 != pair.1 {
				break pair;
			}
		};
		Payment { payer, payee, amount: log_uniform(&mut rng, amounts) }
	})
}

fn log_uniform(rng: &mut impl Rng, (low, high): (u128, u128)) -> u128 {
	let (low, high) = (low.max(1) as f64, high.max(low.max(1)) as f64);
	let exponent = rng.random_range(low.ln()..=high.ln());
	(exponent.exp().round() as u128).clamp(low as u128, high as u128)
}

/// A discrete distribution by its cumulative weights.
struct Cumulative(Vec<f64>);

impl Cumulative {
	/// Rank `k` (from 0) weighs `1 / (k + 1)^exponent`.
	fn zipf(n: usize, exponent: f64) -> Cumulative {
		Cumulative::of((0..n).map(|k| 1.0 / ((k + 1) as f64).powf(exponent)))
	}

	fn of(weights: impl Iterator<Item = f64>) -> Cumulative {
		let mut total = 0.0;
		Cumulative(
			weights
				.map(|weight| {
					total += weight;
					total
				})
				.collect(),
		)
	}

	fn draw(&self, rng: &mut impl Rng) -> usize {
		let at = rng.random_range(0.0..*self.0.last().expect("weights to draw from"));
		self.0.partition_point(|&cumulative| cumulative <= at).min(self.0.len() - 1)
	}
}
