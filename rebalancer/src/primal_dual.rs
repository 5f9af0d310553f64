//! An exact primal–dual min-cost circulation solver: the one the planner uses.
//!
//! 1. Every negative-cost arc is saturated. The flow is then optimal for its own node
//!    imbalances (no residual arc has a negative cost) but not a circulation: some nodes have an
//!    excess, others a deficit.
//! 2. Phases: a Dijkstra search from every node with an excess, on reduced costs, finds the
//!    distance `D` to the nearest node with a deficit; the potentials are raised by
//!    `min(distance, D)`, which keeps every reduced cost non-negative and makes every shortest
//!    path consist of zero-reduced-cost arcs; a maximum flow (Dinic) over those arcs, from the
//!    excess nodes to the deficit nodes, moves as much of the excess as the current distance
//!    allows.
//! 3. When no excess is left the flow is a circulation, every residual arc has a non-negative
//!    reduced cost, and the potentials prove it optimal (checked by [`crate::certificate`]).
//!
//! Every quantity is an integer, so the optimum is exact. A phase costs one Dijkstra search and
//! one maximum flow; the number of phases is the number of distinct shortest-path distances met,
//! which the imbalance model keeps small: its costs take a handful of values (see
//! [`crate::model`]). [`crate::simplex`] solves the same problem by network simplex and serves as
//! an independent cross-check in the tests.

use crate::simplex::{assert_well_formed, cost_of, Arc, Circulation};
use std::{cmp::Reverse, collections::BinaryHeap};

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
	let flow: Vec<i64> = solver.edge_room.iter().skip(1).step_by(2).copied().collect();
	let cost = cost_of(arcs, &flow);
	Circulation { flow, potential: solver.potential, cost, pivots: phases }
}

/// The residual network: residual edge `2 * arc` runs along the arc (room `capacity - flow`,
/// cost `cost`), edge `2 * arc + 1` against it (room `flow`, cost `-cost`).
struct Solver {
	potential: Vec<i64>,
	/// What flows into each node less what flows out.
	excess: Vec<i128>,
	/// Residual edges leaving node `v`: `out_edges[first_out[v]..first_out[v + 1]]`.
	first_out: Vec<u32>,
	out_edges: Vec<u32>,
	/// Per residual edge: its head, its cost and the room left on it, stored contiguously
	/// because every search reads them for each edge it scans.
	edge_head: Vec<u32>,
	edge_cost: Vec<i64>,
	edge_room: Vec<i64>,
	// Per-phase scratch.
	distance: Vec<i64>,
	settled: Vec<bool>,
	level: Vec<u32>,
	current: Vec<u32>,
	queue: Vec<u32>,
	path: Vec<u32>,
	touched: Vec<u32>,
}

impl Solver {
	fn new(nodes: usize, arcs: &[Arc]) -> Self {
		let mut degree = vec![0u32; nodes + 1];
		for arc in arcs {
			degree[arc.source as usize + 1] += 1;
			degree[arc.target as usize + 1] += 1;
		}
		for node in 0..nodes {
			degree[node + 1] += degree[node];
		}
		let first_out = degree;
		let mut fill = first_out.clone();
		let mut out_edges = vec![0u32; 2 * arcs.len()];
		let mut edge_head = vec![0u32; 2 * arcs.len()];
		let mut edge_cost = vec![0i64; 2 * arcs.len()];
		let mut edge_room = vec![0i64; 2 * arcs.len()];
		let mut excess = vec![0i128; nodes];
		for (index, arc) in arcs.iter().enumerate() {
			let forward = 2 * index;
			out_edges[fill[arc.source as usize] as usize] = forward as u32;
			fill[arc.source as usize] += 1;
			out_edges[fill[arc.target as usize] as usize] = forward as u32 + 1;
			fill[arc.target as usize] += 1;
			edge_head[forward] = arc.target;
			edge_head[forward + 1] = arc.source;
			edge_cost[forward] = arc.cost;
			edge_cost[forward + 1] = -arc.cost;
			// Start with every negative-cost arc saturated.
			let flow = if arc.cost < 0 { arc.capacity } else { 0 };
			edge_room[forward] = arc.capacity - flow;
			edge_room[forward + 1] = flow;
			excess[arc.source as usize] -= flow as i128;
			excess[arc.target as usize] += flow as i128;
		}
		Solver {
			potential: vec![0; nodes],
			excess,
			first_out,
			out_edges,
			edge_head,
			edge_cost,
			edge_room,
			distance: vec![UNREACHED; nodes],
			settled: vec![false; nodes],
			level: vec![u32::MAX; nodes],
			current: vec![0; nodes],
			queue: Vec::with_capacity(nodes),
			path: Vec::new(),
			touched: Vec::new(),
		}
	}

	fn head(&self, edge: u32) -> usize {
		self.edge_head[edge as usize] as usize
	}

	fn tail(&self, edge: u32) -> usize {
		self.edge_head[(edge ^ 1) as usize] as usize
	}

	fn room(&self, edge: u32) -> i64 {
		self.edge_room[edge as usize]
	}

	fn reduced_cost(&self, edge: u32) -> i64 {
		self.edge_cost[edge as usize] + self.potential[self.tail(edge)]
			- self.potential[self.head(edge)]
	}

	fn push(&mut self, edge: u32, amount: i64) {
		self.edge_room[edge as usize] -= amount;
		self.edge_room[(edge ^ 1) as usize] += amount;
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
			while self.levels() {
				self.blocking_flow();
			}
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
		let mut heap = BinaryHeap::new();
		for node in 0..self.excess.len() {
			if self.excess[node] > 0 {
				self.distance[node] = 0;
				self.touched.push(node as u32);
				heap.push(Reverse((0i64, node as u32)));
			}
		}
		let mut reach = None;
		while let Some(Reverse((distance, node))) = heap.pop() {
			let node = node as usize;
			if self.settled[node] || distance > self.distance[node] {
				continue;
			}
			if self.excess[node] < 0 {
				reach = Some(distance);
				break;
			}
			self.settled[node] = true;
			for position in self.first_out[node]..self.first_out[node + 1] {
				let edge = self.out_edges[position as usize];
				if self.room(edge) == 0 {
					continue;
				}
				let head = self.head(edge);
				let candidate = distance + self.reduced_cost(edge);
				if candidate < self.distance[head] {
					if self.distance[head] == UNREACHED {
						self.touched.push(head as u32);
					}
					self.distance[head] = candidate;
					heap.push(Reverse((candidate, head as u32)));
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

	/// Breadth-first levels over admissible edges (room left, zero reduced cost) from every
	/// excess node. Returns whether a deficit node is reachable.
	fn levels(&mut self) -> bool {
		self.level.fill(u32::MAX);
		self.queue.clear();
		for node in 0..self.excess.len() {
			if self.excess[node] > 0 {
				self.level[node] = 0;
				self.queue.push(node as u32);
			}
		}
		let mut reached = false;
		let mut head = 0;
		while head < self.queue.len() {
			let node = self.queue[head] as usize;
			head += 1;
			if self.excess[node] < 0 {
				reached = true;
			}
			for position in self.first_out[node]..self.first_out[node + 1] {
				let edge = self.out_edges[position as usize];
				let next = self.head(edge);
				if self.level[next] == u32::MAX
					&& self.room(edge) > 0
					&& self.reduced_cost(edge) == 0
				{
					self.level[next] = self.level[node] + 1;
					self.queue.push(next as u32);
				}
			}
		}
		reached
	}

	/// Pushes flow from excess nodes to deficit nodes along level-increasing admissible edges
	/// until none is left (Dinic's blocking flow, one augmenting path at a time).
	fn blocking_flow(&mut self) {
		for node in 0..self.excess.len() {
			self.current[node] = self.first_out[node];
		}
		for source in 0..self.excess.len() {
			while self.excess[source] > 0 && self.level[source] == 0 {
				if !self.augment_from(source) {
					break;
				}
			}
		}
	}

	/// Finds one augmenting path from `source` and pushes along it. Returns false when no path
	/// from `source` is left in this level graph.
	fn augment_from(&mut self, source: usize) -> bool {
		self.path.clear();
		let mut node = source;
		loop {
			if node != source && self.excess[node] < 0 {
				let mut amount = self.excess[source].min(-self.excess[node]);
				for &edge in &self.path {
					amount = amount.min(self.room(edge) as i128);
				}
				let amount = amount as i64;
				for index in 0..self.path.len() {
					let edge = self.path[index];
					self.push(edge, amount);
				}
				self.excess[source] -= amount as i128;
				self.excess[node] += amount as i128;
				return true;
			}
			let end = self.first_out[node + 1];
			let mut advanced = false;
			while self.current[node] < end {
				let edge = self.out_edges[self.current[node] as usize];
				let next = self.head(edge);
				if self.level[next] == self.level[node] + 1
					&& self.room(edge) > 0
					&& self.reduced_cost(edge) == 0
				{
					self.path.push(edge);
					node = next;
					advanced = true;
					break;
				}
				self.current[node] += 1;
			}
			if !advanced {
				// Dead end: nothing more passes through `node` in this level graph.
				self.level[node] = u32::MAX;
				match self.path.pop() {
					Some(edge) => {
						node = self.tail(edge);
						self.current[node] += 1;
					}
					None => return false,
				}
			}
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;
	use crate::certificate;

	fn arc(source: u32, target: u32, capacity: i64, cost: i64) -> Arc {
		Arc { source, target, capacity, cost }
	}

	fn solved(nodes: usize, arcs: &[Arc]) -> Circulation {
		let solution = solve(nodes, arcs);
		certificate::check(nodes, arcs, &solution.flow, &solution.potential, solution.cost)
			.expect("the potentials prove the circulation optimal");
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
