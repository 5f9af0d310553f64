//! An exact primal–dual min-cost circulation solver: the one the planner uses.
//!
//! 1. Every negative-cost arc is saturated. The flow is then optimal for its own node
//!    imbalances (no residual arc has a negative cost) but not a circulation: some nodes have an
//!    excess, others a deficit.
//! 2. Phases: a Dijkstra search from every node with an excess, on reduced costs, finds the
//!    distance `D` to the nearest node with a deficit; the potentials are raised by
//!    `min(distance, D)`, which keeps every reduced cost non-negative and makes every shortest
//!    path consist of zero-reduced-cost arcs; a maximum flow (push–relabel) over those arcs,
//!    from the excess nodes to the deficit nodes, moves as much of the excess as the current
//!    distance allows.
//! 3. When no excess is left the flow is a circulation, every residual arc has a non-negative
//!    reduced cost, and the potentials prove it optimal (checked by [`crate::certificate`]).
//!
//! Every quantity is an integer, so the optimum is exact. A phase costs one Dijkstra search and
//! one maximum flow; the number of phases is the number of distinct shortest-path distances met,
//! which the imbalance model keeps small: its costs take a handful of values (see
//! [`crate::model`]). [`crate::simplex`] solves the same problem by network simplex and serves as
//! an independent cross-check in the tests.

use crate::circulation::{assert_well_formed, cost_of, Arc, Circulation};
use std::{
	cmp::Reverse,
	collections::{BinaryHeap, VecDeque},
};

/// Distances of nodes the search has not reached.
const UNREACHED: i64 = i64::MAX;

/// Solves the min-cost circulation over `arcs` on nodes `0..nodes`. `Circulation::pivots`
/// counts the phases.
///
/// # Panics
/// If an arc has a negative capacity or an endpoint out of range.
pub fn solve(nodes: usize, arcs: &[Arc]) -> Circulation {
	assert_well_formed(nodes, arcs);
	let mut solver = Solver::new(nodes, arcs);
	let phases = solver.run();
	// An arc's flow is the room on its backward residual edge.
	let flow: Vec<i64> = solver
		.arc_edge
		.iter()
		.map(|&edge| solver.edge_room[solver.edge_reverse[edge as usize] as usize])
		.collect();
	let cost = cost_of(arcs, &flow);
	Circulation { flow, potential: solver.potential, cost, pivots: phases }
}

/// The residual network. Each arc is two residual edges: one along it (room `capacity - flow`,
/// cost `cost`) and one against it (room `flow`, cost `-cost`). Edges are numbered by their
/// tail, so the edges leaving node `v` are `first_out[v]..first_out[v + 1]` and every search
/// reads their heads, costs and rooms from consecutive memory.
struct Solver {
	potential: Vec<i64>,
	/// What flows into each node less what flows out.
	excess: Vec<i128>,
	first_out: Vec<u32>,
	edge_head: Vec<u32>,
	edge_cost: Vec<i64>,
	edge_room: Vec<i64>,
	/// The edge running the other way over the same arc.
	edge_reverse: Vec<u32>,
	/// Each arc's forward edge.
	arc_edge: Vec<u32>,
	// Per-phase scratch.
	distance: Vec<i64>,
	settled: Vec<bool>,
	touched: Vec<u32>,
	/// Dijkstra: nodes reached at exactly the distance being settled.
	ties: Vec<u32>,
	/// The edges of zero reduced cost leaving node `v`, the only ones flow may take until the
	/// potentials change: `tight_edges[first_tight[v]..first_tight[v + 1]]`, with their heads
	/// alongside. Rebuilt each phase.
	first_tight: Vec<u32>,
	tight_edges: Vec<u32>,
	tight_heads: Vec<u32>,
	/// Push–relabel: each node's distance label to the deficits, its current position in
	/// `tight_edges`, the nodes with excess waiting to be discharged, and the global
	/// relabelling's breadth-first queue.
	label: Vec<u32>,
	current: Vec<u32>,
	active: VecDeque<u32>,
	queue: Vec<u32>,
}

impl Solver {
	fn new(nodes: usize, arcs: &[Arc]) -> Self {
		let mut first_out = vec![0u32; nodes + 1];
		for arc in arcs {
			first_out[arc.source as usize + 1] += 1;
			first_out[arc.target as usize + 1] += 1;
		}
		for node in 0..nodes {
			first_out[node + 1] += first_out[node];
		}
		let edges = 2 * arcs.len();
		let mut fill = first_out.clone();
		let mut edge_head = vec![0u32; edges];
		let mut edge_cost = vec![0i64; edges];
		let mut edge_room = vec![0i64; edges];
		let mut edge_reverse = vec![0u32; edges];
		let mut arc_edge = Vec::with_capacity(arcs.len());
		let mut excess = vec![0i128; nodes];
		for arc in arcs {
			let (source, target) = (arc.source as usize, arc.target as usize);
			let forward = fill[source];
			fill[source] += 1;
			let backward = fill[target];
			fill[target] += 1;
			let (f, b) = (forward as usize, backward as usize);
			edge_head[f] = arc.target;
			edge_head[b] = arc.source;
			edge_cost[f] = arc.cost;
			edge_cost[b] = -arc.cost;
			edge_reverse[f] = backward;
			edge_reverse[b] = forward;
			// Start with every negative-cost arc saturated.
			let flow = if arc.cost < 0 { arc.capacity } else { 0 };
			edge_room[f] = arc.capacity - flow;
			edge_room[b] = flow;
			excess[source] -= flow as i128;
			excess[target] += flow as i128;
			arc_edge.push(forward);
		}
		Solver {
			potential: vec![0; nodes],
			excess,
			first_out,
			edge_head,
			edge_cost,
			edge_room,
			edge_reverse,
			arc_edge,
			distance: vec![UNREACHED; nodes],
			settled: vec![false; nodes],
			touched: Vec::new(),
			ties: Vec::new(),
			first_tight: vec![0; nodes + 1],
			tight_edges: Vec::new(),
			tight_heads: Vec::new(),
			label: vec![0; nodes],
			current: vec![0; nodes],
			active: VecDeque::new(),
			queue: Vec::with_capacity(nodes),
		}
	}

	/// The label of a node that cannot reach a deficit: above every real distance.
	fn stranded(&self) -> u32 {
		self.excess.len() as u32
	}

	fn room(&self, edge: u32) -> i64 {
		self.edge_room[edge as usize]
	}

	fn push(&mut self, edge: u32, amount: i64) {
		self.edge_room[edge as usize] -= amount;
		self.edge_room[self.edge_reverse[edge as usize] as usize] += amount;
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
				if self.edge_room[edge] == 0 {
					continue;
				}
				let head = self.edge_head[edge] as usize;
				let candidate =
					distance + self.edge_cost[edge] + self.potential[node] - self.potential[head];
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

	/// Moves excess along admissible edges (room left, zero reduced cost) into deficits until
	/// no excess can reach a deficit that way: a push–relabel maximum flow from every excess
	/// node to every deficit node, FIFO order, with a global relabelling (a backward
	/// breadth-first search from the deficits) at the start and again whenever local
	/// relabelling has scanned `m / 4 + n` edges (`m` tight edges, `n` nodes): exact labels
	/// send excess straight down shortest paths and strand at once what cannot reach a deficit.
	///
	/// Excess that cannot reach a deficit stays where it is: it may rest on any node, because
	/// the next [`Self::raise_potentials`] starts from every node holding excess. Pushing only
	/// on zero-reduced-cost edges keeps every residual edge's reduced cost non-negative.
	fn max_flow(&mut self) {
		let nodes = self.excess.len();
		let stranded = self.stranded();
		self.collect_tight_edges();
		let relabel_period = self.tight_edges.len() / 4 + nodes;
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
	}

	/// Rebuilds the lists of zero-reduced-cost edges for the current potentials.
	fn collect_tight_edges(&mut self) {
		self.tight_edges.clear();
		self.tight_heads.clear();
		for node in 0..self.excess.len() {
			self.first_tight[node] = self.tight_edges.len() as u32;
			for edge in self.first_out[node]..self.first_out[node + 1] {
				let head = self.edge_head[edge as usize];
				if self.edge_cost[edge as usize] + self.potential[node]
					== self.potential[head as usize]
				{
					self.tight_edges.push(edge);
					self.tight_heads.push(head);
				}
			}
		}
		self.first_tight[self.excess.len()] = self.tight_edges.len() as u32;
	}

	/// Pushes `node`'s excess along eligible edges (admissible, one label down), relabelling
	/// it when none is left, until the excess is gone or the node cannot reach a deficit.
	/// Returns the edges scanned by relabelling.
	fn discharge(&mut self, node: usize) -> usize {
		let stranded = self.stranded();
		let end = self.first_tight[node + 1];
		let mut work = 0;
		while self.excess[node] > 0 && self.label[node] < stranded {
			if self.current[node] == end {
				let start = self.first_tight[node];
				work += (end - start) as usize;
				let mut label = stranded;
				for position in start as usize..end as usize {
					if self.room(self.tight_edges[position]) > 0 {
						label = label.min(self.label[self.tight_heads[position] as usize] + 1);
					}
				}
				self.label[node] = label;
				self.current[node] = start;
				continue;
			}
			let position = self.current[node] as usize;
			let edge = self.tight_edges[position];
			let next = self.tight_heads[position] as usize;
			let room = self.room(edge);
			if room > 0 && self.label[node] == self.label[next] + 1 {
				let amount = self.excess[node].min(room as i128);
				self.push(edge, amount as i64);
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

	/// Sets every node's label to its distance to the nearest deficit over admissible edges,
	/// or to [`Self::stranded`] when it cannot reach one, and resets the current edges.
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
			for position in self.first_tight[node] as usize..self.first_tight[node + 1] as usize {
				// The reverse of a tight edge out of `node` is a tight edge into it.
				let from = self.tight_heads[position] as usize;
				if self.label[from] == stranded
					&& self.room(self.edge_reverse[self.tight_edges[position] as usize]) > 0
				{
					self.label[from] = self.label[node] + 1;
					self.queue.push(from as u32);
				}
			}
		}
		self.current.copy_from_slice(&self.first_tight[..nodes]);
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
