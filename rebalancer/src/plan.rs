//! From an optimal circulation to plans the pallet accepts: net moves per channel, a
//! decomposition into cycles, and packing of whole cycles into plans of at most
//! `max_edges` edges.

use crate::{
	circulation::Circulation,
	model::{Instance, Network, NodeId, Options},
	primal_dual,
};
use paychan_primitives::PlanEdge;
use serde::{Deserialize, Serialize};
use std::{
	collections::HashMap,
	hash::{BuildHasherDefault, Hasher},
};

/// One plan edge as the solver emits it: the sender is a participant number of the instance.
pub type Edge = PlanEdge<NodeId, u128>;

/// A cycle of moves: `(channel index, sending end, amount)`, each move's receiver the next
/// move's sender.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cycle {
	pub moves: Vec<(u32, u8)>,
	pub amount: i64,
}

/// What a solve produced and how good it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Outcome {
	/// Plans to submit, each a circulation of at most `max_edges` edges.
	pub plans: Vec<Vec<Edge>>,
	pub stats: Stats,
}

/// Quality figures of a solve.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
	pub channels: usize,
	/// The optimum: change of weighted imbalance (times the weight scale) plus fees; negative
	/// is better.
	pub objective: i128,
	/// The objective of the plans emitted (equal to `objective` unless cycles were dropped).
	pub planned_objective: i128,
	pub depleted_before: usize,
	pub depleted_after: usize,
	/// Sum over channels of what would reach the target within the bounds.
	pub requested_volume: i128,
	/// Sum over channels of what the plans move toward the target.
	pub moved_toward_target: i128,
	/// Sum of all edge amounts of the plans.
	pub moved_total: i128,
	pub cycles: usize,
	pub longest_cycle: usize,
	/// Cycles longer than `max_edges`, left out.
	pub dropped_cycles: usize,
	pub pivots: u64,
}

/// What [`solve`] found: the plans, and the optimal circulation with the network it was solved
/// over, for callers that check or report on the solution.
#[derive(Clone, Debug)]
pub struct Solution {
	pub outcome: Outcome,
	pub circulation: Circulation,
	pub network: Network,
}

/// Solves `instance` exactly and packs the result into plans of at most `max_edges` edges.
pub fn solve(
	instance: &Instance,
	options: Options,
	max_edges: usize,
) -> Result<Solution, crate::model::InstanceError> {
	instance.validate()?;
	let network = instance.network(options);
	let circulation = primal_dual::solve(network.nodes, &network.arcs);
	debug_assert_eq!(circulation.verify(network.nodes, &network.arcs), Ok(()));
	let moved = net_moves(instance, &network, &circulation.flow);
	let cycles = decompose(instance, &moved);
	let (plans, planned, dropped) = pack(instance, &cycles, max_edges);

	let mut stats = Stats {
		channels: instance.channels.len(),
		objective: circulation.cost,
		planned_objective: instance.objective(&planned, options),
		requested_volume: instance.channels.iter().map(|c| c.requested() as i128).sum(),
		cycles: cycles.len(),
		longest_cycle: cycles.iter().map(|c| c.moves.len()).max().unwrap_or(0),
		dropped_cycles: dropped,
		pivots: circulation.pivots,
		..Stats::default()
	};
	for (channel, &moved) in instance.channels.iter().zip(&planned) {
		let before = channel.balance[0];
		let after = before - moved;
		stats.depleted_before += channel.is_depleted_at(before) as usize;
		stats.depleted_after += channel.is_depleted_at(after) as usize;
		let toward = (before - channel.target).abs() - (after - channel.target).abs();
		stats.moved_toward_target += toward.max(0) as i128;
		stats.moved_total += moved.unsigned_abs() as i128;
	}
	Ok(Solution { outcome: Outcome { plans, stats }, circulation, network })
}

/// Net amount end 0 sends in each channel (negative: end 1 sends). Opposite flows in the same
/// channel cancel, which never raises the cost (fees are non-negative and `Φ` is convex).
pub fn net_moves(instance: &Instance, network: &Network, flow: &[i64]) -> Vec<i64> {
	let mut moved = vec![0i64; instance.channels.len()];
	for (&(channel, sender), &x) in network.origin.iter().zip(flow) {
		moved[channel as usize] += if sender == 0 { x } else { -x };
	}
	moved
}

/// Splits a circulation of net moves into cycles, each saturating at least one move.
pub fn decompose(instance: &Instance, moved: &[i64]) -> Vec<Cycle> {
	let nodes = instance.nodes as usize;
	// Outgoing moves per node, as a compact adjacency (counting sort).
	let mut offsets = vec![0usize; nodes + 1];
	let mut remaining = moved.iter().map(|m| m.abs()).collect::<Vec<_>>();
	let sender = |index: usize| -> (usize, usize) {
		let channel = &instance.channels[index];
		let from = if moved[index] > 0 { 0 } else { 1 };
		(channel.ends[from] as usize, channel.ends[1 - from] as usize)
	};
	for (index, &m) in moved.iter().enumerate() {
		if m != 0 {
			offsets[sender(index).0 + 1] += 1;
		}
	}
	for node in 0..nodes {
		offsets[node + 1] += offsets[node];
	}
	let mut adjacency = vec![0usize; offsets[nodes]];
	let mut fill = offsets.clone();
	for (index, &m) in moved.iter().enumerate() {
		if m != 0 {
			let from = sender(index).0;
			adjacency[fill[from]] = index;
			fill[from] += 1;
		}
	}
	let mut cursor = offsets.clone();
	let mut on_path = vec![usize::MAX; nodes];
	let mut cycles = Vec::new();
	let mut path_nodes: Vec<usize> = Vec::new();
	let mut path_moves: Vec<usize> = Vec::new();

	for start in 0..nodes {
		path_nodes.clear();
		path_moves.clear();
		path_nodes.push(start);
		on_path[start] = 0;
		while let Some(&node) = path_nodes.last() {
			// The next move out of `node` with flow left.
			while cursor[node] < offsets[node + 1] && remaining[adjacency[cursor[node]]] == 0 {
				cursor[node] += 1;
			}
			if cursor[node] == offsets[node + 1] {
				// Conservation means this only happens at the start node, once it is exhausted.
				on_path[node] = usize::MAX;
				path_nodes.pop();
				path_moves.pop();
				continue;
			}
			let index = adjacency[cursor[node]];
			let next = sender(index).1;
			path_moves.push(index);
			if on_path[next] == usize::MAX {
				on_path[next] = path_nodes.len();
				path_nodes.push(next);
				continue;
			}
			// A cycle: the moves from `next`'s position to the end of the path.
			let from = on_path[next];
			let moves = &path_moves[from..];
			let amount = moves.iter().map(|&i| remaining[i]).min().expect("a cycle has moves");
			for &i in moves {
				remaining[i] -= amount;
			}
			cycles.push(Cycle {
				moves: moves
					.iter()
					.map(|&i| (i as u32, if moved[i] > 0 { 0 } else { 1 }))
					.collect(),
				amount,
			});
			for &node in &path_nodes[from + 1..] {
				on_path[node] = usize::MAX;
			}
			path_nodes.truncate(from + 1);
			path_moves.truncate(from);
		}
	}
	debug_assert!(remaining.iter().all(|&r| r == 0), "a circulation decomposes fully");
	cycles
}

/// Where each channel sits in a plan's edges. Keys are channel indices, so a multiplicative
/// hash is enough (the default SipHash dominated packing time).
type ChannelIndex = HashMap<u32, usize, BuildHasherDefault<ChannelHasher>>;

#[derive(Default)]
struct ChannelHasher(u64);

impl Hasher for ChannelHasher {
	fn finish(&self) -> u64 {
		self.0
	}

	fn write(&mut self, bytes: &[u8]) {
		for &byte in bytes {
			self.write_u64(byte as u64);
		}
	}

	fn write_u32(&mut self, value: u32) {
		self.write_u64(value as u64);
	}

	fn write_u64(&mut self, value: u64) {
		self.0 = (self.0.rotate_left(5) ^ value).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
	}
}

/// How many of the most recently opened plans with room left a cycle is tried against before
/// it opens a new plan. Bounds packing to linear time; cycles come largest first, so a plan that
/// falls out of this window is nearly full anyway.
const PACKING_WINDOW: usize = 16;

/// Packs whole cycles into plans of at most `max_edges` distinct edges, largest cycles first
/// (first fit over the last [`PACKING_WINDOW`] plans with room). Returns the plans, the net
/// moves they make, and how many cycles did not fit in any plan (longer than `max_edges`).
pub fn pack(
	instance: &Instance,
	cycles: &[Cycle],
	max_edges: usize,
) -> (Vec<Vec<Edge>>, Vec<i64>, usize) {
	let mut order: Vec<&Cycle> = cycles.iter().collect();
	order.sort_by_key(|cycle| std::cmp::Reverse(cycle.moves.len()));
	// Each plan: its edges, and where each channel sits in them.
	let mut plans: Vec<(Vec<Edge>, ChannelIndex)> = Vec::new();
	let mut planned = vec![0i64; instance.channels.len()];
	let mut dropped = 0;
	// Plans with room for at least a two-edge cycle, oldest first.
	let mut open: Vec<usize> = Vec::new();
	for cycle in order {
		if cycle.moves.len() > max_edges {
			dropped += 1;
			continue;
		}
		let fits = |plan: &(Vec<Edge>, ChannelIndex)| {
			let new = cycle.moves.iter().filter(|(c, _)| !plan.1.contains_key(c)).count();
			plan.0.len() + new <= max_edges
		};
		let window = open.len().saturating_sub(PACKING_WINDOW);
		let slot = match open[window..].iter().copied().find(|&slot| fits(&plans[slot])) {
			Some(slot) => slot,
			None => {
				plans.push((Vec::new(), Default::default()));
				open.push(plans.len() - 1);
				plans.len() - 1
			}
		};
		let (edges, index) = &mut plans[slot];
		for &(channel_index, from) in &cycle.moves {
			let channel = &instance.channels[channel_index as usize];
			planned[channel_index as usize] += if from == 0 { cycle.amount } else { -cycle.amount };
			// Net moves go one way per channel, so a channel's edges in a plan always merge.
			match index.get(&channel_index) {
				Some(&position) => edges[position].amount += cycle.amount as u128,
				None => {
					index.insert(channel_index, edges.len());
					edges.push(Edge {
						channel_id: channel.id,
						from: channel.ends[from as usize],
						amount: cycle.amount as u128,
					});
				}
			}
		}
		// Only the plan just filled can have run out of room.
		if edges.len() + 2 > max_edges {
			let position = open.iter().rposition(|&open_slot| open_slot == slot);
			open.remove(position.expect("the slot came from `open` or was just pushed to it"));
		}
	}
	(plans.into_iter().map(|(edges, _)| edges).collect(), planned, dropped)
}

/// Why a plan would be refused: the checks the pallet makes, against the instance's bounds.
#[derive(Debug, PartialEq, Eq)]
pub enum PlanError {
	UnknownChannel(u64),
	NotAnEnd(u64),
	DuplicateEdge(u64),
	OverBound(u64),
	Unbalanced(NodeId),
	TooManyEdges,
	ZeroAmount(u64),
}

/// Checks one plan as the pallet would: edges within `max_edges`, no channel–direction twice,
/// each edge within its sender's and receiver's bounds and the sender's balance, and every
/// participant's net change zero.
pub fn check_plan(instance: &Instance, plan: &[Edge], max_edges: usize) -> Result<(), PlanError> {
	PlanChecker::new(instance).check(plan, max_edges)
}

/// [`check_plan`] for many plans of one instance: the channels are indexed once.
pub struct PlanChecker<'a> {
	by_id: HashMap<u64, &'a crate::model::Channel>,
}

impl<'a> PlanChecker<'a> {
	pub fn new(instance: &'a Instance) -> Self {
		PlanChecker { by_id: instance.channels.iter().map(|c| (c.id, c)).collect() }
	}

	/// Checks one plan (see [`check_plan`]).
	pub fn check(&self, plan: &[Edge], max_edges: usize) -> Result<(), PlanError> {
		if plan.len() > max_edges {
			return Err(PlanError::TooManyEdges);
		}
		let by_id = &self.by_id;
		let mut seen = std::collections::HashSet::new();
		let mut net = std::collections::HashMap::<NodeId, i128>::new();
		for edge in plan {
			let channel =
				by_id.get(&edge.channel_id).ok_or(PlanError::UnknownChannel(edge.channel_id))?;
			let sender = channel
				.ends
				.iter()
				.position(|&end| end == edge.from)
				.ok_or(PlanError::NotAnEnd(edge.channel_id))?;
			if edge.amount == 0 {
				return Err(PlanError::ZeroAmount(edge.channel_id));
			}
			if !seen.insert((edge.channel_id, sender)) {
				return Err(PlanError::DuplicateEdge(edge.channel_id));
			}
			if edge.amount > channel.limit(sender) as u128 {
				return Err(PlanError::OverBound(edge.channel_id));
			}
			*net.entry(channel.ends[sender]).or_default() -= edge.amount as i128;
			*net.entry(channel.ends[1 - sender]).or_default() += edge.amount as i128;
		}
		match net.into_iter().find(|&(_, n)| n != 0) {
			Some((node, _)) => Err(PlanError::Unbalanced(node)),
			None => Ok(()),
		}
	}
}
