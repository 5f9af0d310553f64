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
	let (amounts, zipf) = match workload {
		Workload::Uniform { amounts } => (amounts, None),
		Workload::Zipf { exponent, amounts } => {
			let mut payers: Vec<usize> = (0..nodes).collect();
			let mut payees = payers.clone();
			payers.shuffle(&mut rng);
			payees.shuffle(&mut rng);
			(amounts, Some((Cumulative::zipf(nodes, exponent), payers, payees)))
		}
	};
	(0..count).map(move |_| {
		let (payer, payee) = loop {
			let pair = match &zipf {
				None => (rng.random_range(0..nodes), rng.random_range(0..nodes)),
				Some((weights, payers, payees)) => {
					(payers[weights.draw(&mut rng)], payees[weights.draw(&mut rng)])
				}
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
		let mut total = 0.0;
		Cumulative(
			(0..n)
				.map(|k| {
					total += 1.0 / ((k + 1) as f64).powf(exponent);
					total
				})
				.collect(),
		)
	}

	fn draw(&self, rng: &mut impl Rng) -> usize {
		let at = rng.random_range(0.0..*self.0.last().expect("n >= 2"));
		self.0.partition_point(|&cumulative| cumulative <= at).min(self.0.len() - 1)
	}
}
