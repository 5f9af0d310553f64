//! The simulated network: channels between parties, each end's balance, the fee policies, and
//! the moves a payment makes.

use crate::Rebalancing;
use paychan_rebalancer::{
	model::{Channel, Instance, Options},
	plan,
	routing::{Edge, FeePolicy, Graph},
	workload::Graph as Topology,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// How a channel's capacity is split between its ends at the start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Split {
	/// Half each (an odd planck to the second end).
	Even,
	/// The first end's share uniformly random in [0, 1], per channel, from `seed`.
	Skewed { seed: u64 },
	/// All of it on the first end, as if only the opener funded it.
	OneSided,
}

/// Channels `0..channels()` between parties `0..nodes`: channel `c` joins `ends[c]`, and
/// `balance[2c]` is what its first end can send, `balance[2c + 1]` what its second end can.
#[derive(Clone, Debug)]
pub struct Network {
	pub nodes: usize,
	pub ends: Vec<(usize, usize)>,
	balance: Vec<u128>,
	fees: Vec<FeePolicy>,
}

/// A channel direction counts as depleted when its end can send less than this share of the
/// channel's capacity.
pub const DEPLETED_BELOW: f64 = 0.01;

impl Network {
	/// The channels of `topology` (capacities in its unit), split by `split`, every party
	/// charging `fee` to forward.
	pub fn new(topology: &Topology, split: Split, fee: FeePolicy) -> Network {
		let mut rng = match split {
			Split::Skewed { seed } => Some(ChaCha8Rng::seed_from_u64(seed)),
			_ => None,
		};
		let mut ends = Vec::with_capacity(topology.links.len());
		let mut balance = Vec::with_capacity(2 * topology.links.len());
		for &(a, b, capacity) in &topology.links {
			let capacity = capacity.max(0) as u128;
			let first = match split {
				Split::Even => capacity / 2,
				Split::OneSided => capacity,
				Split::Skewed { .. } => {
					let share: f64 = rng.as_mut().expect("seeded above").random();
					((capacity as f64) * share).floor() as u128
				}
			};
			ends.push((a as usize, b as usize));
			balance.extend([first, capacity - first]);
		}
		let nodes = topology.nodes as usize;
		Network { nodes, ends, balance, fees: vec![fee; nodes] }
	}

	pub fn channels(&self) -> usize {
		self.ends.len()
	}

	/// What each channel direction can send, indexed like [`Network::routing_graph`]'s edges.
	pub fn capacities(&self) -> &[u128] {
		&self.balance
	}

	/// A channel's capacity: both ends' balances, which payments only move between.
	pub fn capacity(&self, channel: usize) -> u128 {
		self.balance[2 * channel] + self.balance[2 * channel + 1]
	}

	/// The graph the router searches: edge `2c` is channel `c` from its first end, `2c + 1`
	/// from its second.
	pub fn routing_graph(&self) -> Graph {
		let edges = self
			.ends
			.iter()
			.enumerate()
			.flat_map(|(channel, &(a, b))| {
				[
					Edge {
						channel_id: channel as u64,
						from: a,
						to: b,
						capacity: self.balance[2 * channel],
					},
					Edge {
						channel_id: channel as u64,
						from: b,
						to: a,
						capacity: self.balance[2 * channel + 1],
					},
				]
			})
			.collect();
		Graph { nodes: self.nodes, edges, fees: self.fees.clone() }
	}

	/// A hop's payment: `amount` leaves the sending end of `edge` for the other end.
	pub fn move_funds(&mut self, edge: usize, amount: u128) {
		self.balance[edge] = self.balance[edge]
			.checked_sub(amount)
			.expect("a route only uses the capacity there is");
		self.balance[edge ^ 1] += amount;
	}

	/// The share of channel directions that are depleted ([`DEPLETED_BELOW`]).
	pub fn depleted_share(&self) -> f64 {
		if self.balance.is_empty() {
			return 0.0;
		}
		let depleted = (0..self.balance.len())
			.filter(|&edge| {
				(self.balance[edge] as f64) < DEPLETED_BELOW * self.capacity(edge / 2) as f64
			})
			.count();
		depleted as f64 / self.balance.len() as f64
	}

	/// One rebalancing round: every party pledges each channel's whole balance toward the
	/// middle, the exact solver (piecewise weights, as the planner's default) finds the
	/// circulation, and its plans of at most `max_plan_edges` edges are applied; `tally` counts
	/// what they cost and moved.
	pub fn rebalance(&mut self, max_plan_edges: usize, tally: &mut Rebalancing) {
		let channels = self
			.ends
			.iter()
			.enumerate()
			.map(|(channel, &(a, b))| {
				let balance = [self.balance[2 * channel], self.balance[2 * channel + 1]]
					.map(|amount| i64::try_from(amount).expect("simulated amounts fit the solver"));
				Channel::willing(channel as u64, [a as u32, b as u32], balance)
			})
			.collect();
		let instance = Instance { nodes: self.nodes as u32, channels };
		let solution = plan::solve(&instance, Options::default(), max_plan_edges)
			.expect("a network's own channels are a valid instance");
		tally.rounds += 1;
		for edges in &solution.outcome.plans {
			tally.plans += 1;
			for edge in edges {
				let channel = edge.channel_id as usize;
				let (a, _) = self.ends[channel];
				let from = if edge.from as usize == a { 2 * channel } else { 2 * channel + 1 };
				self.move_funds(from, edge.amount);
				tally.edges += 1;
				tally.volume += edge.amount;
			}
		}
	}
}
