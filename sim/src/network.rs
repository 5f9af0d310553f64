//! The simulated network: channels between parties, each end's balance, the fee policies, and
//! the moves a payment makes.

use crate::Rebalancing;
use paychan_rebalancer::{
	circulation::Arc,
	lp,
	model::{Channel, Instance, Options},
	plan::{self, PlanChecker},
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
	/// All of it on the first end, as if only the opener funded it. The snapshots list each
	/// channel with the lower-numbered party first, so this split of them is acyclic: no
	/// circulation exists until payments have moved funds back.
	OneSided,
	/// All of it on one end drawn at random per channel from `seed`: single-funded channels
	/// with openers in no particular order, as on Lightning.
	Funder { seed: u64 },
}

/// Channels `0..channels()` between parties `0..nodes`: channel `c` joins `ends[c]`, and
/// `balance[2c]` is what its first end can send, `balance[2c + 1]` what its second end can.
#[derive(Clone, Debug)]
pub struct Network {
	pub nodes: usize,
	pub ends: Vec<(usize, usize)>,
	balance: Vec<u128>,
	fees: Vec<FeePolicy>,
	/// Each party's channels.
	channels_of: Vec<Vec<usize>>,
}

/// A channel direction counts as depleted when its end can send less than this share of the
/// channel's capacity.
pub const DEPLETED_BELOW: f64 = 0.01;

impl Network {
	/// The channels of `topology` (capacities in its unit), split by `split`, every party
	/// charging `fee` to forward.
	pub fn new(topology: &Topology, split: Split, fee: FeePolicy) -> Network {
		let mut rng = match split {
			Split::Skewed { seed } | Split::Funder { seed } => {
				Some(ChaCha8Rng::seed_from_u64(seed))
			}
			_ => None,
		};
		let mut ends = Vec::with_capacity(topology.links.len());
		let mut balance = Vec::with_capacity(2 * topology.links.len());
		for &(a, b, capacity) in &topology.links {
			let capacity = capacity.max(0) as u128;
			let first = match split {
				Split::Even => capacity / 2,
				Split::OneSided => capacity,
				Split::Funder { .. } => {
					let first_funds: bool = rng.as_mut().expect("seeded above").random();
					if first_funds {
						capacity
					} else {
						0
					}
				}
				Split::Skewed { .. } => {
					let share: f64 = rng.as_mut().expect("seeded above").random();
					((capacity as f64) * share).floor() as u128
				}
			};
			ends.push((a as usize, b as usize));
			balance.extend([first, capacity - first]);
		}
		let nodes = topology.nodes as usize;
		let mut channels_of = vec![Vec::new(); nodes];
		for (channel, &(a, b)) in ends.iter().enumerate() {
			channels_of[a].push(channel);
			channels_of[b].push(channel);
		}
		Network { nodes, ends, balance, fees: vec![fee; nodes], channels_of }
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

	/// The channels `party` is an end of.
	pub fn channels_of(&self, party: usize) -> &[usize] {
		&self.channels_of[party]
	}

	/// What `party` holds in `channel` (it must be one of its ends).
	pub fn held(&self, channel: usize, party: usize) -> u128 {
		self.balance[self.edge_from(channel, party)]
	}

	/// What `channel`'s first and second ends hold.
	pub fn sides(&self, channel: usize) -> [u128; 2] {
		[self.balance[2 * channel], self.balance[2 * channel + 1]]
	}

	/// The edge of `channel` that `party` sends over.
	pub fn edge_from(&self, channel: usize, party: usize) -> usize {
		let (a, b) = self.ends[channel];
		debug_assert!(party == a || party == b, "party {party} is not an end of {channel}");
		if party == a {
			2 * channel
		} else {
			2 * channel + 1
		}
	}

	/// `channel` as the solver sees it, both ends willing to move anything toward its middle
	/// (a request pledging its whole balance: the most the pallet lets a request pledge).
	pub fn willing(&self, channel: usize) -> Channel {
		let (a, b) = self.ends[channel];
		let balance = self
			.sides(channel)
			.map(|amount| i64::try_from(amount).expect("simulated amounts fit the solver"));
		Channel::willing(channel as u64, [a as u32, b as u32], balance)
	}

	/// `channel` as the solver sees it when each end pledges only what it holds beyond the
	/// middle and asks only for what it lacks to it, as the daemon's band policy does: no move
	/// can take a side past the middle, so a round never drains one channel to balance another.
	pub fn toward_middle(&self, channel: usize) -> Channel {
		let mut pledged = self.willing(channel);
		// The first end's middle is the target; the second end's is the rest of the capacity.
		let excess = pledged.balance[0] - pledged.target;
		pledged.max_send = [excess.max(0), (-excess).max(0)];
		pledged.max_receive = [pledged.max_send[1], pledged.max_send[0]];
		pledged
	}

	/// A round's instance over every channel, each end pledging toward the middle only
	/// ([`Network::toward_middle`]).
	pub fn everyone_toward_middle(&self) -> Instance {
		Instance {
			nodes: self.nodes as u32,
			channels: (0..self.channels()).map(|channel| self.toward_middle(channel)).collect(),
		}
	}

	/// A round's instance over every channel, all willing.
	pub fn everyone_willing(&self) -> Instance {
		Instance {
			nodes: self.nodes as u32,
			channels: (0..self.channels()).map(|channel| self.willing(channel)).collect(),
		}
	}

	/// One rebalancing round over `instance` (channel ids are this network's channel indices):
	/// `solver` finds the circulation, it is cut into cycles and packed into plans of at most
	/// `max_plan_edges` edges, and each plan the pallet would accept is applied. Returns whether
	/// the solver found a circulation (an LP over its time limit does not).
	pub fn round(
		&mut self,
		instance: &Instance,
		solver: Solver,
		max_plan_edges: usize,
		tally: &mut Rebalancing,
	) -> bool {
		tally.rounds += 1;
		if instance.channels.is_empty() {
			return true;
		}
		let plans = match solver {
			Solver::Exact => {
				plan::solve(instance, Options::default(), max_plan_edges)
					.expect("a network's own channels are a valid instance")
					.outcome
					.plans
			}
			Solver::Lp { time_limit_ms } => {
				match revive_lp(instance, max_plan_edges, time_limit_ms) {
					Ok(plans) => plans,
					Err(_) => {
						tally.failed_rounds += 1;
						return false;
					}
				}
			}
		};
		let checker = PlanChecker::new(instance);
		for edges in &plans {
			if checker.check(edges, max_plan_edges).is_err() {
				tally.refused_plans += 1;
				continue;
			}
			tally.plan(edges.len());
			for edge in edges {
				let channel = edge.channel_id as usize;
				self.move_funds(self.edge_from(channel, edge.from as usize), edge.amount);
				tally.volume += edge.amount;
			}
		}
		true
	}

	/// An own-channel shift: `party` takes `amount` of its side out of `from` (with the
	/// counterparty's consent) and adds it to its side of `to`, as the pallet's `shift` does. The
	/// two channels' capacities change; what `party` holds over both does not.
	pub fn shift(&mut self, party: usize, from: usize, to: usize, amount: u128) {
		let source = self.edge_from(from, party);
		let target = self.edge_from(to, party);
		self.balance[source] = self.balance[source]
			.checked_sub(amount)
			.expect("a shift only moves what the party holds");
		self.balance[target] += amount;
	}

	/// The sum of every channel's capacity: what payments, plans and shifts never change.
	pub fn total(&self) -> u128 {
		self.balance.iter().sum()
	}
}

/// How a round's circulation is found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Solver {
	/// The project's exact min-cost circulation with the planner's default (piecewise) weights.
	Exact,
	/// Revive's linear program (the most volume moved toward the middle, every unit alike),
	/// solved by the general LP baseline within a time limit.
	Lp { time_limit_ms: u64 },
}

/// Revive's round: maximise the volume moved, each channel only toward its middle and at most
/// to it, as a linear program over the same bounds, solved by the LP baseline; then cut into
/// cycles and packed into plans like the exact solver's.
fn revive_lp(
	instance: &Instance,
	max_plan_edges: usize,
	time_limit_ms: u64,
) -> Result<Vec<Vec<paychan_rebalancer::plan::Edge>>, String> {
	let mut arcs = Vec::new();
	let mut origin = Vec::new();
	for (index, channel) in instance.channels.iter().enumerate() {
		let position = channel.balance[0];
		let (sender, room) = if position > channel.target {
			(0, position - channel.target)
		} else {
			(1, channel.target - position)
		};
		let capacity = room.min(channel.limit(sender));
		if capacity > 0 {
			arcs.push(Arc {
				source: channel.ends[sender],
				target: channel.ends[1 - sender],
				capacity,
				cost: -1,
			});
			origin.push((index, sender));
		}
	}
	let flow = lp::circulation(instance.nodes as usize, &arcs, Some(time_limit_ms as f64 / 1e3))?;
	let mut moved = vec![0i64; instance.channels.len()];
	for (&(index, sender), &x) in origin.iter().zip(&flow) {
		moved[index] += if sender == 0 { x } else { -x };
	}
	let cycles = plan::decompose(instance, &moved, max_plan_edges);
	Ok(plan::pack(instance, &cycles, max_plan_edges).0)
}
