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
	time::{Duration, Instant},
};

/// One plan edge as the solver emits it: the sender is a participant number of the instance.
pub type Edge = PlanEdge<NodeId, u128>;

/// The cycles a circulation of net moves splits into, stored flat: cycle `i` is the moves
/// `moves[offsets[i]..offsets[i + 1]]`, each `(channel index, sending end)` with its receiver
/// the next move's sender, and carries `amounts[i]`. Cycles too long to keep are only
/// counted.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cycles {
	pub offsets: Vec<usize>,
	pub moves: Vec<(u32, u8)>,
	pub amounts: Vec<i64>,
	/// Cycles found but not kept, and their volume (amount times moves).
	pub dropped: usize,
	pub dropped_volume: i128,
	/// The number of moves of the longest cycle found, kept or not.
	pub longest: usize,
}

impl Cycles {
	/// The number of cycles kept.
	pub fn len(&self) -> usize {
		self.amounts.len()
	}

	pub fn is_empty(&self) -> bool {
		self.amounts.is_empty()
	}

	/// The moves of cycle `cycle`.
	pub fn moves(&self, cycle: usize) -> &[(u32, u8)] {
		&self.moves[self.offsets[cycle]..self.offsets[cycle + 1]]
	}

	fn push(&mut self, moves: impl IntoIterator<Item = (u32, u8)>, amount: i64) {
		self.moves.extend(moves);
		self.offsets.push(self.moves.len());
		self.amounts.push(amount);
	}
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

/// What [`solve`] found: the plans, and the optimum they come from (each channel's net move,
/// the potentials that prove it optimal and its cost), for callers that check or report on
/// the solution; and how long each stage took.
#[derive(Clone, Debug)]
pub struct Solution {
	pub outcome: Outcome,
	/// What each channel's first end sends at the optimum (negative: what its second sends).
	pub moved: Vec<i64>,
	pub potential: Vec<i64>,
	pub cost: i128,
	pub timings: Timings,
}

impl Solution {
	/// The optimum as a circulation over the arc network `network` (built from the same
	/// instance and options), for the certificate check and the arc-based solvers.
	pub fn circulation(&self, network: &Network) -> Circulation {
		let flow = network.flows(&self.moved);
		let cost = crate::circulation::cost_of(&network.arcs, &flow);
		Circulation {
			flow,
			potential: self.potential.clone(),
			cost,
			pivots: self.outcome.stats.pivots,
		}
	}
}

/// Wall-clock time of each stage of [`solve`].
#[derive(Clone, Copy, Debug, Default)]
pub struct Timings {
	/// Checking the instance and building the convex network.
	pub build: Duration,
	pub solve: Duration,
	/// Splitting the net moves into cycles.
	pub decompose: Duration,
	/// Packing cycles into plans, and the figures.
	pub pack: Duration,
}

/// Solves `instance` exactly and packs the result into plans of at most `max_edges` edges.
pub fn solve(
	instance: &Instance,
	options: Options,
	max_edges: usize,
) -> Result<Solution, crate::model::InstanceError> {
	let started = Instant::now();
	instance.validate()?;
	let network = instance.convex_network(options);
	let built = Instant::now();
	let optimum = primal_dual::solve_convex(&network);
	drop(network);
	let solved = Instant::now();
	let moved = optimum.x;
	let cycles = decompose(instance, &moved, max_edges);
	let decomposed = Instant::now();
	let (plans, planned, dropped) = pack(instance, &cycles, max_edges);

	let mut stats = Stats {
		channels: instance.channels.len(),
		objective: optimum.cost,
		planned_objective: instance.objective(&planned, options),
		requested_volume: instance.channels.iter().map(|c| c.requested() as i128).sum(),
		cycles: cycles.len() + cycles.dropped,
		longest_cycle: cycles.longest,
		dropped_cycles: dropped,
		pivots: optimum.phases,
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
	let timings = Timings {
		build: built - started,
		solve: solved - built,
		decompose: decomposed - solved,
		pack: decomposed.elapsed(),
	};
	Ok(Solution {
		outcome: Outcome { plans, stats },
		moved,
		potential: optimum.potential,
		cost: optimum.cost,
		timings,
	})
}

/// A move as the cycle walk reads it.
#[derive(Clone, Copy)]
struct Step {
	head: u32,
	left: i64,
}

/// How many of a node's next moves the walk looks at for one that closes a cycle at once.
const CLOSING_LOOKAHEAD: u32 = 32;

/// Splits a circulation of net moves into cycles, each saturating at least one move. Cycles
/// of more than `max_moves` moves are taken off the flow but not kept (no plan could hold
/// them): they are counted in `Cycles::dropped`, with their volume.
///
/// A walk follows moves with flow left until it comes back to a node on its path, and takes
/// that cycle off. Before each step it looks at the node's next few moves
/// ([`CLOSING_LOOKAHEAD`]) for one leading back onto the path, and takes the one closing the
/// shortest cycle: a plain walk closes a cycle only at the first node it repeats, which on
/// graphs with hubs gives cycles of hundreds of moves.
pub fn decompose(instance: &Instance, moved: &[i64], max_moves: usize) -> Cycles {
	let nodes = instance.nodes as usize;
	// The moves with flow, grouped by sender (counting sort): move `p` is channel
	// `channel[p]` sending from end `end[p]` to node `step[p].head`, with `step[p].left` still
	// to take off. The walk reads only these arrays, a node's moves side by side.
	let sender = |index: usize| {
		let from = if moved[index] > 0 { 0 } else { 1 };
		(from as u8, instance.channels[index].ends[from], instance.channels[index].ends[1 - from])
	};
	let mut offsets = vec![0u32; nodes + 1];
	for (index, &m) in moved.iter().enumerate() {
		if m != 0 {
			offsets[sender(index).1 as usize + 1] += 1;
		}
	}
	for node in 0..nodes {
		offsets[node + 1] += offsets[node];
	}
	let count = offsets[nodes] as usize;
	let (mut channel, mut end) = (vec![0u32; count], vec![0u8; count]);
	// What the walk reads at every step, side by side: where a move goes and what is left.
	let mut step = vec![Step { head: 0, left: 0 }; count];
	let mut cursor = offsets.clone();
	for (index, &m) in moved.iter().enumerate() {
		if m != 0 {
			let (from, tail, to) = sender(index);
			let p = cursor[tail as usize] as usize;
			cursor[tail as usize] += 1;
			(channel[p], end[p], step[p]) = (index as u32, from, Step { head: to, left: m.abs() });
		}
	}
	cursor.copy_from_slice(&offsets);
	let mut on_path = vec![u32::MAX; nodes];
	let mut cycles = Cycles { offsets: vec![0], ..Cycles::default() };
	let mut path_nodes: Vec<u32> = Vec::new();
	let mut path_moves: Vec<u32> = Vec::new();

	for start in 0..nodes {
		path_nodes.clear();
		path_moves.clear();
		path_nodes.push(start as u32);
		on_path[start] = 0;
		while let Some(&node) = path_nodes.last() {
			let node = node as usize;
			// The next move out of `node` with flow left.
			let last = offsets[node + 1];
			while cursor[node] < last && step[cursor[node] as usize].left == 0 {
				cursor[node] += 1;
			}
			if cursor[node] == last {
				// Conservation means this only happens at the start node, once it is exhausted.
				on_path[node] = u32::MAX;
				path_nodes.pop();
				path_moves.pop();
				continue;
			}
			// Of the next few moves with flow left, the one back to the latest node on the path.
			let mut chosen = cursor[node];
			let mut closest = on_path[step[chosen as usize].head as usize];
			for p in cursor[node] + 1..(cursor[node] + CLOSING_LOOKAHEAD).min(last) {
				let back = on_path[step[p as usize].head as usize];
				if back != u32::MAX
					&& (closest == u32::MAX || back > closest)
					&& step[p as usize].left > 0
				{
					(chosen, closest) = (p, back);
				}
			}
			let next = step[chosen as usize].head;
			path_moves.push(chosen);
			if closest == u32::MAX {
				on_path[next as usize] = path_nodes.len() as u32;
				path_nodes.push(next);
				continue;
			}
			// A cycle: the moves from `next`'s position to the end of the path.
			let from = closest as usize;
			let moves = &path_moves[from..];
			let amount =
				moves.iter().map(|&p| step[p as usize].left).min().expect("a cycle has moves");
			for &p in moves {
				step[p as usize].left -= amount;
			}
			cycles.longest = cycles.longest.max(moves.len());
			if moves.len() <= max_moves {
				cycles.push(moves.iter().map(|&p| (channel[p as usize], end[p as usize])), amount);
			} else {
				cycles.dropped += 1;
				cycles.dropped_volume += amount as i128 * moves.len() as i128;
			}
			for &node in &path_nodes[from + 1..] {
				on_path[node as usize] = u32::MAX;
			}
			path_nodes.truncate(from + 1);
			path_moves.truncate(from);
		}
	}
	debug_assert!(step.iter().all(|s| s.left == 0), "a circulation decomposes fully");
	cycles
}

/// How many plans with room left a cycle is tried against before it opens a new plan: the
/// most recently opened ones. Bounds packing to linear time; cycles come largest first, so a
/// plan retired from this window is nearly full anyway.
const PACKING_WINDOW: usize = 16;

/// A plan being filled: its index, and its bit in [`pack`]'s per-channel membership masks.
#[derive(Clone, Copy)]
struct OpenPlan {
	plan: usize,
	bit: u32,
}

/// Packs whole cycles into plans of at most `max_edges` distinct edges, largest cycles first
/// (first fit over the [`PACKING_WINDOW`] most recently opened plans with room). Returns the
/// plans, the net moves they make, and how many cycles did not fit in any plan (longer than
/// `max_edges`).
pub fn pack(
	instance: &Instance,
	cycles: &Cycles,
	max_edges: usize,
) -> (Vec<Vec<Edge>>, Vec<i64>, usize) {
	let mut order: Vec<usize> = (0..cycles.len()).collect();
	order.sort_by_key(|&cycle| std::cmp::Reverse(cycles.moves(cycle).len()));
	let mut plans: Vec<Vec<Edge>> = Vec::new();
	let mut planned = vec![0i64; instance.channels.len()];
	let mut dropped = cycles.dropped;
	// The plans in the window, oldest first, each with a bit of its own: a channel's mask has
	// the bits of the open plans it is in, so merging needs no per-plan index.
	let mut open: Vec<OpenPlan> = Vec::with_capacity(PACKING_WINDOW);
	let mut member = vec![0u32; instance.channels.len()];
	// The channels of each open plan's bit, to clear it when the plan leaves the window.
	let mut channels_of: Vec<Vec<u32>> = vec![Vec::new(); PACKING_WINDOW];
	let retire = |plan: OpenPlan, member: &mut [u32], channels_of: &[Vec<u32>]| {
		for &channel in &channels_of[plan.bit as usize] {
			member[channel as usize] &= !(1 << plan.bit);
		}
	};
	for cycle in order {
		let (moves, amount) = (cycles.moves(cycle), cycles.amounts[cycle]);
		if moves.len() > max_edges {
			dropped += 1;
			continue;
		}
		// A cycle fits where it would fit even if none of its channels were in the plan yet:
		// counting the ones already there would cost a lookup per move and per plan tried,
		// and shared channels are rare.
		let slot =
			match open.iter().position(|open| plans[open.plan].len() + moves.len() <= max_edges) {
				Some(slot) => slot,
				None => {
					if open.len() == PACKING_WINDOW {
						retire(open.remove(0), &mut member, &channels_of);
					}
					let bit = (0..PACKING_WINDOW as u32)
						.find(|bit| open.iter().all(|open| open.bit != *bit))
						.expect("the window has a free bit");
					channels_of[bit as usize].clear();
					plans.push(Vec::new());
					open.push(OpenPlan { plan: plans.len() - 1, bit });
					open.len() - 1
				}
			};
		let OpenPlan { plan, bit } = open[slot];
		let edges = &mut plans[plan];
		for &(channel_index, from) in moves {
			let channel = &instance.channels[channel_index as usize];
			planned[channel_index as usize] += if from == 0 { amount } else { -amount };
			// Net moves go one way per channel, so a channel's edges in a plan always merge.
			if member[channel_index as usize] & (1 << bit) != 0 {
				let edge = edges
					.iter_mut()
					.find(|edge| edge.channel_id == channel.id)
					.expect("the mask says the channel is in this plan");
				edge.amount += amount as u128;
			} else {
				member[channel_index as usize] |= 1 << bit;
				channels_of[bit as usize].push(channel_index);
				edges.push(Edge {
					channel_id: channel.id,
					from: channel.ends[from as usize],
					amount: amount as u128,
				});
			}
		}
		// Only the plan just filled can have run out of room.
		if edges.len() + 2 > max_edges {
			retire(open.remove(slot), &mut member, &channels_of);
		}
	}
	(plans, planned, dropped)
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

#[cfg(test)]
mod tests {
	use super::*;
	use crate::model::Channel;

	/// A ring of `ring` participants, each channel moving one unit onward, and a triangle of
	/// three more, moving 5.
	fn ring_and_triangle(ring: u32) -> (Instance, Vec<i64>) {
		let mut channels: Vec<Channel> =
			(0..ring).map(|i| Channel::willing(i as u64, [i, (i + 1) % ring], [10, 10])).collect();
		for i in 0..3 {
			let ends = [ring + i, ring + (i + 1) % 3];
			channels.push(Channel::willing((ring + i) as u64, ends, [10, 10]));
		}
		let moved = (0..ring).map(|_| 1).chain([5, 5, 5]).collect();
		(Instance { nodes: ring + 3, channels }, moved)
	}

	#[test]
	fn cycles_too_long_for_a_plan_are_counted_not_kept() {
		let (instance, moved) = ring_and_triangle(200);
		let cycles = decompose(&instance, &moved, 128);
		assert_eq!(cycles.len(), 1);
		assert_eq!(cycles.moves(0).len(), 3);
		assert_eq!(cycles.amounts, vec![5]);
		assert_eq!((cycles.dropped, cycles.dropped_volume, cycles.longest), (1, 200, 200));
		let (plans, planned, dropped) = pack(&instance, &cycles, 128);
		assert_eq!((plans.len(), dropped), (1, 1));
		assert_eq!(planned.iter().filter(|&&m| m != 0).count(), 3);
	}

	#[test]
	fn the_walk_closes_the_shortest_cycle_in_reach() {
		// 0 -> 1 -> 2 -> 3, and from 3 both back to 0 (closing 0..3) and back to 2 (closing
		// 2..3, shorter); then 2 -> 0 carries what is left. The walk from 0 reaches 3 and
		// takes the two-move cycle first.
		let link = |id: u64, a: u32, b: u32| Channel::willing(id, [a, b], [10, 10]);
		let instance = Instance {
			nodes: 4,
			channels: vec![
				link(0, 0, 1),
				link(1, 1, 2),
				link(2, 2, 3),
				link(3, 3, 0),
				link(4, 3, 2),
			],
		};
		// 2 -> 3 carries 2: one unit back to 2 (channel 4), one on to 0 (channel 3).
		let moved = vec![1, 1, 2, 1, 1];
		let cycles = decompose(&instance, &moved, 128);
		let lengths: Vec<usize> = (0..cycles.len()).map(|c| cycles.moves(c).len()).collect();
		assert_eq!(lengths, vec![2, 4]);
	}
}
