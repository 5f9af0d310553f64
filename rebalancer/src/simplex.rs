//! An exact primal network simplex for min-cost circulations with integer data.
//!
//! The problem: arcs with a capacity `cap >= 0` and an integer cost; find a flow `0 <= x <= cap`
//! with inflow == outflow at every node that minimises `sum(cost * x)`. Every quantity is an
//! integer and every pivot is exact, so the optimum is exact; the final node potentials are the
//! dual solution that proves it (see [`crate::certificate`]).
//!
//! The spanning-tree basis hangs from an artificial root joined to every node by an uncapacitated
//! zero-cost arc (node -> root), which is strongly feasible for a circulation because all
//! artificial flows are, and stay, zero. Pivots use block search for the entering arc and the
//! "last blocking arc" rule for the leaving arc, which keeps the tree strongly feasible and so
//! rules out cycling. After a pivot the subtree cut off by the leaving arc is re-rooted at the
//! entering arc's endpoint and its preorder thread, depths and potentials are rebuilt in one
//! walk of that subtree.

use crate::circulation::{assert_well_formed, cost_of, Arc, Circulation};

/// Capacity of the artificial arcs: never binding.
const UNBOUNDED: i64 = i64::MAX;

#[derive(Clone, Copy, PartialEq, Eq)]
enum ArcState {
	/// At its upper bound, outside the tree.
	Upper,
	/// In the spanning tree.
	Tree,
	/// At zero, outside the tree.
	Lower,
}

impl ArcState {
	/// +1 for arcs whose flow may rise, -1 for arcs whose flow may fall.
	fn sign(self) -> i64 {
		match self {
			ArcState::Lower => 1,
			ArcState::Upper => -1,
			ArcState::Tree => 0,
		}
	}
}

/// Which way a node's tree arc points.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Direction {
	/// From the node to its parent.
	Up,
	/// From the parent to the node.
	Down,
}

struct Solver<'a> {
	arcs: &'a [Arc],
	/// Real nodes are `0..nodes`; the artificial root is `nodes`.
	root: usize,
	// Per arc, real then artificial (artificial arc of node `u` is `arcs.len() + u`).
	source: Vec<u32>,
	target: Vec<u32>,
	capacity: Vec<i64>,
	cost: Vec<i64>,
	flow: Vec<i64>,
	state: Vec<ArcState>,
	// Per node, root included.
	parent: Vec<usize>,
	tree_arc: Vec<usize>,
	direction: Vec<Direction>,
	depth: Vec<u32>,
	/// Next node in a preorder walk of the tree (a cyclic list through the root).
	thread: Vec<usize>,
	/// Previous node in that walk.
	rev_thread: Vec<usize>,
	potential: Vec<i64>,
	// Entering-arc search state.
	next_arc: usize,
	block_size: usize,
	// Scratch space for re-rooting a subtree, kept to avoid allocating per pivot.
	subtree: Vec<usize>,
	/// Position of each node of the subtree being re-rooted in `subtree`.
	subtree_index: Vec<u32>,
	/// Children of subtree position `i` are `children[child_offsets[i]..child_offsets[i + 1]]`.
	child_offsets: Vec<u32>,
	child_fill: Vec<u32>,
	children: Vec<usize>,
	stack: Vec<usize>,
	preorder: Vec<usize>,
}

/// Solves the min-cost circulation over `arcs` on nodes `0..nodes`. Capacities must be
/// non-negative and every endpoint below `nodes`.
///
/// # Panics
/// If an arc has a negative capacity or an endpoint out of range.
pub fn solve(nodes: usize, arcs: &[Arc]) -> Circulation {
	assert_well_formed(nodes, arcs);
	let mut solver = Solver::new(nodes, arcs);
	let pivots = solver.run();
	let flow = solver.flow[..arcs.len()].to_vec();
	debug_assert!(solver.flow[arcs.len()..].iter().all(|&f| f == 0));
	let cost = cost_of(arcs, &flow);
	solver.potential.truncate(nodes);
	Circulation { flow, potential: solver.potential, cost, pivots }
}

impl<'a> Solver<'a> {
	fn new(nodes: usize, arcs: &'a [Arc]) -> Self {
		let total = arcs.len() + nodes;
		let mut source = Vec::with_capacity(total);
		let mut target = Vec::with_capacity(total);
		let mut capacity = Vec::with_capacity(total);
		let mut cost = Vec::with_capacity(total);
		for arc in arcs {
			source.push(arc.source);
			target.push(arc.target);
			capacity.push(arc.capacity);
			cost.push(arc.cost);
		}
		let root = nodes;
		for node in 0..nodes {
			source.push(node as u32);
			target.push(root as u32);
			capacity.push(UNBOUNDED);
			cost.push(0);
		}
		let mut state = vec![ArcState::Lower; arcs.len()];
		state.extend(std::iter::repeat_n(ArcState::Tree, nodes));

		// Initial tree: every node a child of the root; preorder root, 0, 1, ..., nodes - 1.
		let mut parent = vec![root; nodes + 1];
		parent[root] = usize::MAX;
		let tree_arc = (0..=nodes).map(|node| arcs.len() + node).collect();
		let mut depth = vec![1; nodes + 1];
		depth[root] = 0;
		let thread: Vec<usize> =
			(0..=nodes).map(|node| if node == root { 0 } else { node + 1 }).collect();
		let mut rev_thread = vec![0; nodes + 1];
		for (node, &next) in thread.iter().enumerate() {
			rev_thread[next] = node;
		}
		let node_count = nodes + 1;
		let block_size = ((arcs.len() as f64).sqrt() as usize).max(10);
		Solver {
			arcs,
			root,
			flow: vec![0; source.len()],
			source,
			target,
			capacity,
			cost,
			state,
			parent,
			tree_arc,
			direction: vec![Direction::Up; node_count],
			depth,
			thread,
			rev_thread,
			potential: vec![0; node_count],
			next_arc: 0,
			block_size,
			subtree: Vec::new(),
			subtree_index: vec![0; node_count],
			child_offsets: Vec::new(),
			child_fill: Vec::new(),
			children: Vec::new(),
			stack: Vec::new(),
			preorder: Vec::new(),
		}
	}

	fn reduced_cost(&self, arc: usize) -> i64 {
		self.cost[arc] + self.potential[self.source[arc] as usize]
			- self.potential[self.target[arc] as usize]
	}

	/// Block search: scan the real arcs a block at a time, cyclically, and take the most
	/// violating arc of the first block that has one.
	fn find_entering_arc(&mut self) -> Option<usize> {
		let arcs = self.arcs.len();
		if arcs == 0 {
			return None;
		}
		let mut best = 0i64;
		let mut entering = None;
		let mut left_in_block = self.block_size;
		for _ in 0..arcs {
			let arc = self.next_arc;
			self.next_arc = if arc + 1 == arcs { 0 } else { arc + 1 };
			let violation = self.state[arc].sign() * self.reduced_cost(arc);
			if violation < best {
				best = violation;
				entering = Some(arc);
			}
			left_in_block -= 1;
			if left_in_block == 0 {
				if entering.is_some() {
					return entering;
				}
				left_in_block = self.block_size;
			}
		}
		entering
	}

	fn join_node(&self, mut u: usize, mut v: usize) -> usize {
		while u != v {
			if self.depth[u] > self.depth[v] {
				u = self.parent[u];
			} else if self.depth[v] > self.depth[u] {
				v = self.parent[v];
			} else {
				u = self.parent[u];
				v = self.parent[v];
			}
		}
		u
	}

	/// What `node`'s tree arc can carry more when flow runs from the parent down to `node`
	/// (`downward`) or from `node` up to the parent.
	fn residual(&self, node: usize, downward: bool) -> i64 {
		let arc = self.tree_arc[node];
		let along = (self.direction[node] == Direction::Down) == downward;
		if along {
			if self.capacity[arc] == UNBOUNDED {
				UNBOUNDED
			} else {
				self.capacity[arc] - self.flow[arc]
			}
		} else {
			self.flow[arc]
		}
	}

	fn run(&mut self) -> u64 {
		let mut pivots = 0u64;
		while let Some(entering) = self.find_entering_arc() {
			pivots += 1;
			self.pivot(entering);
		}
		pivots
	}

	fn pivot(&mut self, entering: usize) {
		// The cycle runs join -> ... -> first -> (entering) -> second -> ... -> join.
		let (first, second) = if self.state[entering] == ArcState::Lower {
			(self.source[entering] as usize, self.target[entering] as usize)
		} else {
			(self.target[entering] as usize, self.source[entering] as usize)
		};
		let join = self.join_node(first, second);

		// The leaving arc is the last blocking arc in the cycle's orientation, which keeps the
		// tree strongly feasible: on the first path (walked against the orientation) a strictly
		// smaller residual wins, on the second path (walked along it) a tie moves it later.
		let mut delta = self.capacity[entering];
		let mut leaving: Option<(usize, bool)> = None; // (node whose tree arc leaves, on first path)
		let mut node = first;
		while node != join {
			let residual = self.residual(node, true);
			if residual < delta {
				delta = residual;
				leaving = Some((node, true));
			}
			node = self.parent[node];
		}
		let mut node = second;
		while node != join {
			let residual = self.residual(node, false);
			if residual <= delta {
				delta = residual;
				leaving = Some((node, false));
			}
			node = self.parent[node];
		}

		if delta > 0 {
			let signed = self.state[entering].sign() * delta;
			self.flow[entering] += signed;
			let mut node = self.source[entering] as usize;
			while node != join {
				let arc = self.tree_arc[node];
				match self.direction[node] {
					Direction::Up => self.flow[arc] -= signed,
					Direction::Down => self.flow[arc] += signed,
				}
				node = self.parent[node];
			}
			let mut node = self.target[entering] as usize;
			while node != join {
				let arc = self.tree_arc[node];
				match self.direction[node] {
					Direction::Up => self.flow[arc] += signed,
					Direction::Down => self.flow[arc] -= signed,
				}
				node = self.parent[node];
			}
		}

		let Some((cut, on_first_path)) = leaving else {
			// The entering arc blocks itself: it just moves to its other bound.
			self.state[entering] = if self.state[entering] == ArcState::Lower {
				ArcState::Upper
			} else {
				ArcState::Lower
			};
			return;
		};
		let leaving_arc = self.tree_arc[cut];
		self.state[leaving_arc] =
			if self.flow[leaving_arc] == 0 { ArcState::Lower } else { ArcState::Upper };
		self.state[entering] = ArcState::Tree;
		// The entering arc's endpoint inside the cut-off subtree, and the one outside.
		let (inside, outside) = if on_first_path { (first, second) } else { (second, first) };
		self.reattach(cut, inside, outside, entering);
	}

	/// Cuts the subtree of `cut` off the tree, re-roots it at `inside` and hangs it from
	/// `outside` by `entering`, then rebuilds its thread, depths and potentials.
	fn reattach(&mut self, cut: usize, inside: usize, outside: usize, entering: usize) {
		// The subtree's nodes, contiguous in the old preorder.
		self.subtree.clear();
		let cut_depth = self.depth[cut];
		let mut node = cut;
		loop {
			self.subtree.push(node);
			node = self.thread[node];
			if node == self.root || self.depth[node] <= cut_depth {
				break;
			}
		}
		let before = self.rev_thread[cut];
		let after = node;
		self.thread[before] = after;
		self.rev_thread[after] = before;

		// Reverse the stem inside..cut so that `inside` becomes the subtree's root.
		let mut child = inside;
		let mut new_parent = outside;
		let mut new_arc = entering;
		let mut new_direction =
			if self.source[entering] as usize == inside { Direction::Up } else { Direction::Down };
		loop {
			let old_parent = self.parent[child];
			let old_arc = self.tree_arc[child];
			let old_direction = self.direction[child];
			self.parent[child] = new_parent;
			self.tree_arc[child] = new_arc;
			self.direction[child] = new_direction;
			if child == cut {
				break;
			}
			new_parent = child;
			new_arc = old_arc;
			// The old parent's arc to `child` now points the other way round the pair.
			new_direction = match old_direction {
				Direction::Up => Direction::Down,
				Direction::Down => Direction::Up,
			};
			child = old_parent;
		}

		// Children lists of the subtree (a counting sort by parent), then a preorder walk.
		for (index, &node) in self.subtree.iter().enumerate() {
			self.subtree_index[node] = index as u32;
		}
		let size = self.subtree.len();
		self.child_offsets.clear();
		self.child_offsets.resize(size + 1, 0);
		for &node in &self.subtree {
			if node != inside {
				let parent_index = self.subtree_index[self.parent[node]] as usize;
				self.child_offsets[parent_index + 1] += 1;
			}
		}
		for index in 0..size {
			self.child_offsets[index + 1] += self.child_offsets[index];
		}
		self.children.clear();
		self.children.resize(size, 0);
		self.child_fill.clear();
		self.child_fill.extend_from_slice(&self.child_offsets);
		for &node in &self.subtree {
			if node != inside {
				let parent_index = self.subtree_index[self.parent[node]] as usize;
				self.children[self.child_fill[parent_index] as usize] = node;
				self.child_fill[parent_index] += 1;
			}
		}

		let shift = {
			let reduced = self.reduced_cost(entering);
			if self.source[entering] as usize == inside {
				-reduced
			} else {
				reduced
			}
		};
		self.preorder.clear();
		self.stack.clear();
		self.stack.push(inside);
		let base_depth = self.depth[outside] + 1;
		while let Some(node) = self.stack.pop() {
			self.preorder.push(node);
			self.potential[node] += shift;
			self.depth[node] =
				if node == inside { base_depth } else { self.depth[self.parent[node]] + 1 };
			let index = self.subtree_index[node] as usize;
			for position in self.child_offsets[index]..self.child_offsets[index + 1] {
				self.stack.push(self.children[position as usize]);
			}
		}
		debug_assert_eq!(self.preorder.len(), size);

		// Splice the new preorder in right after `outside`.
		let next = self.thread[outside];
		let mut previous = outside;
		for index in 0..self.preorder.len() {
			let node = self.preorder[index];
			self.thread[previous] = node;
			self.rev_thread[node] = previous;
			previous = node;
		}
		self.thread[previous] = next;
		self.rev_thread[next] = previous;
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn arc(source: u32, target: u32, capacity: i64, cost: i64) -> Arc {
		Arc { source, target, capacity, cost }
	}

	#[test]
	fn negative_cycle_is_saturated_to_its_bottleneck() {
		let arcs = [arc(0, 1, 5, -1), arc(1, 2, 3, -1), arc(2, 0, 9, -1)];
		let solution = solve(3, &arcs);
		assert_eq!(solution.flow, vec![3, 3, 3]);
		assert_eq!(solution.cost, -9);
	}

	#[test]
	fn positive_costs_give_the_empty_circulation() {
		let arcs = [arc(0, 1, 5, 1), arc(1, 0, 5, 0)];
		let solution = solve(2, &arcs);
		assert_eq!(solution.flow, vec![0, 0]);
		assert_eq!(solution.cost, 0);
	}

	#[test]
	fn cheaper_of_two_parallel_routes_is_used_first() {
		// 0 -> 1 pays 10 per unit, the way back is either direct (cost 4, cap 2) or through
		// 2 (cost 1 + 1, cap 3): the optimum uses the two-hop route fully and the direct one for
		// what is left.
		let arcs = [arc(0, 1, 4, -10), arc(1, 0, 2, 4), arc(1, 2, 3, 1), arc(2, 0, 3, 1)];
		let solution = solve(3, &arcs);
		assert_eq!(solution.flow, vec![4, 1, 3, 3]);
		assert_eq!(solution.cost, -40 + 4 + 6);
	}
}
