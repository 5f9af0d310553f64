//! An exact primal–dual min-cost circulation solver for convex networks: the one the planner
//! uses.
//!
//! 1. Every link starts at the least cost of its own: at the end of its last segment of
//!    negative slope. No residual edge then has a negative cost, but the flow is not a
//!    circulation: some nodes have an excess, others a deficit.
//! 2. Phases: a Dijkstra search from every node with an excess, on reduced costs, finds the
//!    distance `D` to the nearest node with a deficit; the potentials are raised by
//!    `min(distance, D)`, which keeps every reduced cost non-negative and makes every shortest
//!    path consist of zero-reduced-cost edges; a maximum flow (push–relabel) over those edges,
//!    from the excess nodes to the deficit nodes, moves as much of the excess as the current
//!    distance allows.
//! 3. When no excess is left the flow is a circulation, every residual edge has a non-negative
//!    reduced cost, and the potentials prove it optimal (checked by [`crate::certificate`]).
//!
//! A link is two residual edges: "up" from its source (more `x`, at the slope of the segment
//! above `x`, as far as that segment's end) and "down" from its target (less `x`, at minus the
//! slope below `x`). In a phase a link is tight over the stretch of `x` whose slope equals the
//! potential difference of its ends: a whole segment, or the point `x` itself when that
//! difference falls between two slopes. The maximum flow moves `x` within that stretch only,
//! so the pieces of a convex cost are filled in order without being separate arcs.
//!
//! Every quantity is an integer, so the optimum is exact. A phase costs one Dijkstra search and
//! one maximum flow; the number of phases is the number of distinct shortest-path distances met,
//! which the imbalance model keeps small: its slopes take a handful of values (see
//! [`crate::model`]). [`crate::simplex`] solves the same problem by network simplex over plain
//! arcs and serves as an independent cross-check.

use crate::{
	circulation::{assert_well_formed, cost_of, Arc, Circulation},
	convex::ConvexNetwork,
};
use std::{
	cmp::Reverse,
	collections::{BinaryHeap, VecDeque},
};

/// Distances of nodes the search has not reached.
const UNREACHED: i64 = i64::MAX;

/// The cost of a residual edge without room.
const NO_ROOM: i64 = i64::MAX;

/// An optimal flow of a convex network: `x` per link, node potentials proving it optimal (every
/// link's potential difference `potential[target] - potential[source]` lies between the slopes
/// either side of its `x`), its cost, and the phases it took.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConvexFlow {
	pub x: Vec<i64>,
	pub potential: Vec<i64>,
	pub cost: i128,
	pub phases: u64,
}

/// Solves the min-cost circulation over `arcs` on nodes `0..nodes`. `Circulation::pivots`
/// counts the phases.
///
/// # Panics
/// If an arc has a negative capacity or an endpoint out of range.
pub fn solve(nodes: usize, arcs: &[Arc]) -> Circulation {
	assert_well_formed(nodes, arcs);
	let solved = solve_convex(&ConvexNetwork::from_arcs(nodes, arcs));
	debug_assert_eq!(cost_of(arcs, &solved.x), solved.cost);
	Circulation {
		flow: solved.x,
		potential: solved.potential,
		cost: solved.cost,
		pivots: solved.phases,
	}
}

/// Solves the min-cost circulation over a convex network.
pub fn solve_convex(network: &ConvexNetwork) -> ConvexFlow {
	let mut solver = Solver::new(network);
	let phases = solver.run();
	let cost = network.total_cost(&solver.x);
	ConvexFlow { x: solver.x, potential: solver.potential, cost, phases }
}

/// The solver's state. The residual edges are numbered by their tail, so the edges leaving node
/// `v` are `first_out[v]..first_out[v + 1]` and every search reads their heads and costs from
/// consecutive memory.
struct Solver<'a> {
	network: &'a ConvexNetwork,
	/// Each link's flow, and the segment above it (the first whose end is past `x`, or the
	/// segment count when `x` is at the top of the range).
	x: Vec<i64>,
	segment: Vec<u32>,
	/// Each link's slopes just above and just below its `x` ([`NO_ROOM`] and [`NO_SLOPE`] at
	/// the ends of its range).
	above: Vec<i64>,
	below: Vec<i64>,
	potential: Vec<i64>,
	/// What flows into each node less what flows out.
	excess: Vec<i128>,
	first_out: Vec<u32>,
	edge_head: Vec<u32>,
	/// The edge running the other way over the same link.
	edge_reverse: Vec<u32>,
	/// The edge's cost at the link's current `x`, or [`NO_ROOM`].
	edge_cost: Vec<i64>,
	/// Each link's up edge (leaving its source) and down edge (leaving its target).
	link_edges: Vec<[u32; 2]>,
	// Per-phase scratch.
	distance: Vec<i64>,
	settled: Vec<bool>,
	touched: Vec<u32>,
	/// Dijkstra: nodes reached at exactly the distance being settled.
	ties: Vec<u32>,
	/// The tight network of a phase, over the same edges: how far each edge may move its
	/// link's `x` at zero reduced cost (0 for a link that is not tight), and the bottom of each
	/// link's tight stretch, from which the new `x` is read after the maximum flow.
	room: Vec<i64>,
	bottom: Vec<i64>,
	/// Push–relabel: each node's distance label to the deficits, its current edge, the nodes
	/// with excess waiting to be discharged, and the global relabelling's breadth-first queue.
	label: Vec<u32>,
	/// Nodes per label below [`Self::stranded`], and the lowest level found empty since the
	/// last global relabelling ([`Self::stranded`] for none).
	count: Vec<u32>,
	gap: u32,
	current: Vec<u32>,
	active: VecDeque<u32>,
	queue: Vec<u32>,
}

/// The slope below `x` of a link at the bottom of its range.
const NO_SLOPE: i64 = i64::MIN;

impl<'a> Solver<'a> {
	fn new(network: &'a ConvexNetwork) -> Self {
		let (nodes, links) = (network.nodes, network.links());
		let mut first_out = vec![0u32; nodes + 1];
		for link in 0..links {
			first_out[network.source[link] as usize + 1] += 1;
			first_out[network.target[link] as usize + 1] += 1;
		}
		for node in 0..nodes {
			first_out[node + 1] += first_out[node];
		}
		let mut fill = first_out.clone();
		let mut edge_head = vec![0u32; 2 * links];
		let mut edge_reverse = vec![0u32; 2 * links];
		let mut link_edges = Vec::with_capacity(links);
		let mut x = Vec::with_capacity(links);
		let mut segment = Vec::with_capacity(links);
		let mut excess = vec![0i128; nodes];
		for link in 0..links {
			let (source, target) = (network.source[link], network.target[link]);
			let up = fill[source as usize];
			fill[source as usize] += 1;
			let down = fill[target as usize];
			fill[target as usize] += 1;
			edge_head[up as usize] = target;
			edge_head[down as usize] = source;
			edge_reverse[up as usize] = down;
			edge_reverse[down as usize] = up;
			link_edges.push([up, down]);
			// Start at the link's own least cost: past every segment of negative slope.
			let segments = network.segments(link);
			let negative =
				network.slope[segments.clone()].iter().take_while(|&&slope| slope < 0).count();
			let start = if negative == 0 {
				network.lower[link]
			} else {
				network.segment_end[segments.start + negative - 1]
			};
			x.push(start);
			segment.push((segments.start + negative) as u32);
			excess[source as usize] -= start as i128;
			excess[target as usize] += start as i128;
		}
		let mut solver = Solver {
			network,
			x,
			segment,
			above: vec![NO_ROOM; links],
			below: vec![NO_SLOPE; links],
			potential: vec![0; nodes],
			excess,
			first_out,
			edge_head,
			edge_reverse,
			edge_cost: vec![NO_ROOM; 2 * links],
			link_edges,
			distance: vec![UNREACHED; nodes],
			settled: vec![false; nodes],
			touched: Vec::new(),
			ties: Vec::new(),
			room: vec![0; 2 * links],
			bottom: vec![0; links],
			label: vec![0; nodes],
			count: vec![0; nodes + 1],
			gap: nodes as u32,
			current: vec![0; nodes],
			active: VecDeque::new(),
			queue: Vec::with_capacity(nodes),
		};
		for link in 0..links {
			solver.refresh_slopes(link);
		}
		solver
	}

	/// Sets link `link`'s slopes either side of its `x`, and the costs of its two residual
	/// edges: moving `x` up costs the slope above, moving it down saves the slope below.
	fn refresh_slopes(&mut self, link: usize) {
		let network = self.network;
		let segments = network.segments(link);
		let segment = self.segment[link] as usize;
		let above = if segment < segments.end { network.slope[segment] } else { NO_ROOM };
		let below = if segment < segments.end && self.x[link] > network.segment_start(link, segment)
		{
			above
		} else if segment > segments.start {
			network.slope[segment - 1]
		} else {
			NO_SLOPE
		};
		self.above[link] = above;
		self.below[link] = below;
		let [up, down] = self.link_edges[link];
		self.edge_cost[up as usize] = above;
		self.edge_cost[down as usize] = if below == NO_SLOPE { NO_ROOM } else { -below };
	}

	/// Moves link `link` to `x` (within the stretch it was tight over) and updates its segment
	/// and edge costs.
	fn move_link(&mut self, link: usize, x: i64) {
		let network = self.network;
		let segments = network.segments(link);
		let mut segment = self.segment[link] as usize;
		while segment < segments.end && network.segment_end[segment] <= x {
			segment += 1;
		}
		while segment > segments.start && network.segment_end[segment - 1] > x {
			segment -= 1;
		}
		self.x[link] = x;
		self.segment[link] = segment as u32;
		self.refresh_slopes(link);
	}

	/// The label of a node that cannot reach a deficit: above every real distance.
	fn stranded(&self) -> u32 {
		self.excess.len() as u32
	}

	fn push(&mut self, position: usize, amount: i64) {
		self.room[position] -= amount;
		self.room[self.edge_reverse[position] as usize] += amount;
	}

	fn run(&mut self) -> u64 {
		let mut phases = 0;
		while self.excess.iter().any(|&e| e > 0) {
			phases += 1;
			let found = self.raise_potentials();
			debug_assert!(found, "an excess always has a residual path to a deficit");
			if !found {
				break;
			}
			self.max_flow();
		}
		phases
	}

	/// Dijkstra from every excess node on reduced costs, stopped at the first deficit node
	/// (distance `D`); then `potential += min(distance, D)`. Returns whether a deficit was
	/// reached.
	fn raise_potentials(&mut self) -> bool {
		for &node in &self.touched {
			self.distance[node as usize] = UNREACHED;
			self.settled[node as usize] = false;
		}
		self.touched.clear();
		// Nodes at the distance being settled wait on a stack rather than in the heap: the
		// zero-reduced-cost edges make such ties common, and ties may go in any order.
		let mut heap = BinaryHeap::new();
		self.ties.clear();
		for node in 0..self.excess.len() {
			if self.excess[node] > 0 {
				self.distance[node] = 0;
				self.touched.push(node as u32);
				self.ties.push(node as u32);
			}
		}
		let mut reach = None;
		let mut distance = 0;
		loop {
			let node = match self.ties.pop() {
				Some(node) => node as usize,
				None => match heap.pop() {
					Some(Reverse((next, node))) => {
						distance = next;
						node as usize
					}
					None => break,
				},
			};
			if self.settled[node] || distance > self.distance[node] {
				continue;
			}
			if self.excess[node] < 0 {
				reach = Some(distance);
				break;
			}
			self.settled[node] = true;
			for edge in self.first_out[node] as usize..self.first_out[node + 1] as usize {
				let cost = self.edge_cost[edge];
				if cost == NO_ROOM {
					continue;
				}
				let head = self.edge_head[edge] as usize;
				let candidate = distance + cost + self.potential[node] - self.potential[head];
				if candidate < self.distance[head] {
					if self.distance[head] == UNREACHED {
						self.touched.push(head as u32);
					}
					self.distance[head] = candidate;
					if candidate == distance {
						self.ties.push(head as u32);
					} else {
						heap.push(Reverse((candidate, head as u32)));
					}
				}
			}
		}
		let Some(reach) = reach else { return false };
		// Nodes not touched are at least `reach` away: they rise by `reach`, which is the same
		// as lowering every touched node by `reach - distance` relative to them. Potentials are
		// only compared by difference, so lower the touched nodes instead of touching them all.
		for &node in &self.touched {
			let node = node as usize;
			let raise = self.distance[node].min(reach);
			self.potential[node] += raise - reach;
		}
		true
	}

	/// Moves excess along tight edges into deficits until no excess can reach a deficit that
	/// way: a push–relabel maximum flow from every excess node to every deficit node, FIFO
	/// order, with a global relabelling (a backward breadth-first search from the deficits) at
	/// the start and again whenever local relabelling has scanned `m / 4 + n` edges (`m` tight
	/// edges, `n` nodes): exact labels send excess straight down shortest paths and strand at
	/// once what cannot reach a deficit. Then every tight link takes its new `x`.
	///
	/// Excess that cannot reach a deficit stays where it is: it may rest on any node, because
	/// the next [`Self::raise_potentials`] starts from every node holding excess. Moving links
	/// only within their tight stretch keeps every residual edge's reduced cost non-negative.
	fn max_flow(&mut self) {
		let nodes = self.excess.len();
		let stranded = self.stranded();
		self.collect_tight_links();
		let relabel_period = self.room.len() / 4 + nodes;
		self.global_relabel();
		self.active.clear();
		self.active.extend(
			(0..nodes as u32)
				.filter(|&n| self.excess[n as usize] > 0 && self.label[n as usize] < stranded),
		);
		let mut work = 0;
		while let Some(node) = self.active.pop_front() {
			if work >= relabel_period {
				self.global_relabel();
				work = 0;
			}
			work += self.discharge(node as usize);
		}
		for link in 0..self.x.len() {
			let x = self.bottom[link] + self.room[self.link_edges[link][1] as usize];
			if x != self.x[link] {
				self.move_link(link, x);
			}
		}
	}

	/// Sets the rooms of the tight network for the current potentials: a link may move its
	/// `x` at zero reduced cost over the stretch where its slope equals its ends' potential
	/// difference; elsewhere both its edges have no room.
	fn collect_tight_links(&mut self) {
		let network = self.network;
		for link in 0..self.x.len() {
			let (source, target) = (network.source[link] as usize, network.target[link] as usize);
			let difference = self.potential[target] - self.potential[source];
			let (above, below) = (self.above[link], self.below[link]);
			debug_assert!(above >= difference && below <= difference, "reduced costs >= 0");
			let x = self.x[link];
			let (mut top, mut bottom) = (x, x);
			if above == difference {
				top = network.segment_end[self.segment[link] as usize];
			}
			if below == difference {
				let segment = self.segment[link] as usize;
				bottom = if above == below {
					network.segment_start(link, segment)
				} else {
					network.segment_start(link, segment - 1)
				};
			}
			let [up, down] = self.link_edges[link];
			self.room[up as usize] = top - x;
			self.room[down as usize] = x - bottom;
			self.bottom[link] = bottom;
		}
	}

	/// Pushes `node`'s excess along eligible edges (room left, one label down), relabelling
	/// it when none is left, until the excess is gone or the node cannot reach a deficit.
	/// Returns the edges scanned by relabelling.
	fn discharge(&mut self, node: usize) -> usize {
		let stranded = self.stranded();
		let end = self.first_out[node + 1];
		let mut work = 0;
		if self.label[node] > self.gap && self.label[node] < stranded {
			// Above a gap: no path down to a deficit.
			self.count[self.label[node] as usize] -= 1;
			self.label[node] = stranded;
		}
		while self.excess[node] > 0 && self.label[node] < stranded {
			if self.current[node] == end {
				let start = self.first_out[node];
				work += (end - start) as usize;
				let mut label = stranded;
				for position in start as usize..end as usize {
					if self.room[position] > 0 {
						label = label.min(self.label[self.edge_head[position] as usize] + 1);
					}
				}
				self.relabel(node, label);
				self.current[node] = start;
				continue;
			}
			let position = self.current[node] as usize;
			let next = self.edge_head[position] as usize;
			let room = self.room[position];
			if room > 0 && self.label[node] == self.label[next] + 1 {
				let amount = self.excess[node].min(room as i128);
				self.push(position, amount as i64);
				self.excess[node] -= amount;
				let before = self.excess[next];
				self.excess[next] += amount;
				if before <= 0 && self.excess[next] > 0 {
					self.active.push_back(next as u32);
				}
			} else {
				self.current[node] += 1;
			}
		}
		work
	}

	/// Moves `node` up to `label`, or to [`Self::stranded`] past a gap: a level left with no
	/// node cuts every node above it off from the deficits, because a label drops by at most
	/// one along an edge with room (the gap heuristic). A node placed on the gap's level fills
	/// it, and the gap is forgotten.
	fn relabel(&mut self, node: usize, label: u32) {
		let stranded = self.stranded();
		let old = self.label[node];
		self.count[old as usize] -= 1;
		if self.count[old as usize] == 0 && old < self.gap {
			self.gap = old;
		}
		let label = if label > self.gap { stranded } else { label };
		if label == self.gap {
			self.gap = stranded;
		}
		if label < stranded {
			self.count[label as usize] += 1;
		}
		self.label[node] = label;
	}

	/// Sets every node's label to its distance to the nearest deficit over tight edges with
	/// room, or to [`Self::stranded`] when it cannot reach one, and resets the current edges.
	fn global_relabel(&mut self) {
		let nodes = self.excess.len();
		let stranded = self.stranded();
		self.label.fill(stranded);
		self.queue.clear();
		for node in 0..nodes {
			if self.excess[node] < 0 {
				self.label[node] = 0;
				self.queue.push(node as u32);
			}
		}
		let mut head = 0;
		while head < self.queue.len() {
			let node = self.queue[head] as usize;
			head += 1;
			for position in self.first_out[node] as usize..self.first_out[node + 1] as usize {
				// The reverse of an edge out of `node` is an edge into it.
				let from = self.edge_head[position] as usize;
				if self.label[from] == stranded
					&& self.room[self.edge_reverse[position] as usize] > 0
				{
					self.label[from] = self.label[node] + 1;
					self.queue.push(from as u32);
				}
			}
		}
		self.current.copy_from_slice(&self.first_out[..nodes]);
		self.gap = stranded;
		self.count.fill(0);
		for &node in &self.queue {
			self.count[self.label[node as usize] as usize] += 1;
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn arc(source: u32, target: u32, capacity: i64, cost: i64) -> Arc {
		Arc { source, target, capacity, cost }
	}

	fn solved(nodes: usize, arcs: &[Arc]) -> Circulation {
		let solution = solve(nodes, arcs);
		solution.verify(nodes, arcs).expect("the potentials prove the circulation optimal");
		solution
	}

	#[test]
	fn negative_cycle_is_saturated_to_its_bottleneck() {
		let arcs = [arc(0, 1, 5, -1), arc(1, 2, 3, -1), arc(2, 0, 9, -1)];
		assert_eq!(solved(3, &arcs).cost, -9);
	}

	#[test]
	fn positive_costs_give_the_empty_circulation() {
		let arcs = [arc(0, 1, 5, 1), arc(1, 0, 5, 0)];
		let solution = solved(2, &arcs);
		assert_eq!(solution.flow, vec![0, 0]);
	}

	#[test]
	fn cheaper_of_two_parallel_routes_is_used_first() {
		let arcs = [arc(0, 1, 4, -10), arc(1, 0, 2, 4), arc(1, 2, 3, 1), arc(2, 0, 3, 1)];
		let solution = solved(3, &arcs);
		assert_eq!(solution.flow, vec![4, 1, 3, 3]);
		assert_eq!(solution.cost, -40 + 4 + 6);
	}
}
