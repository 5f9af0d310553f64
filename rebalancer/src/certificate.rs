//! Optimality certificates: node potentials that prove a circulation is of least cost.
//!
//! By linear-programming duality a feasible circulation is optimal exactly when some potentials
//! `pi` make every arc's reduced cost `cost + pi[source] - pi[target]` non-negative where the
//! flow is below capacity and non-positive where it is above zero. [`Circulation::verify`]
//! checks that in one pass over the arcs and nodes, without trusting the solver.

use crate::circulation::{Arc, Circulation};

/// Why a certificate is rejected.
#[derive(Debug, PartialEq, Eq)]
pub enum Rejection {
	/// The flow or potential vector has the wrong length.
	Shape,
	/// An arc's flow is negative or above its capacity.
	OutOfBounds { arc: usize },
	/// A node's inflow differs from its outflow.
	Unbalanced { node: usize },
	/// An arc could still lower the cost: reduced cost negative with room to rise, or positive
	/// with flow to remove.
	NotComplementary { arc: usize },
	/// The claimed cost is not the flow's cost.
	WrongCost,
}

impl Circulation {
	/// Checks that this flow is a feasible circulation over `arcs` on `nodes` nodes, that its
	/// potentials prove it optimal, and that its cost is the flow's. Linear in the size of the
	/// network.
	pub fn verify(&self, nodes: usize, arcs: &[Arc]) -> Result<(), Rejection> {
		let Circulation { flow, potential, cost, .. } = self;
		if flow.len() != arcs.len() || potential.len() != nodes {
			return Err(Rejection::Shape);
		}
		let mut net = vec![0i128; nodes];
		let mut total = 0i128;
		for (index, (arc, &x)) in arcs.iter().zip(flow).enumerate() {
			if x < 0 || x > arc.capacity {
				return Err(Rejection::OutOfBounds { arc: index });
			}
			net[arc.source as usize] -= x as i128;
			net[arc.target as usize] += x as i128;
			total += arc.cost as i128 * x as i128;
			let reduced = arc.cost as i128 + potential[arc.source as usize] as i128
				- potential[arc.target as usize] as i128;
			if (reduced < 0 && x < arc.capacity) || (reduced > 0 && x > 0) {
				return Err(Rejection::NotComplementary { arc: index });
			}
		}
		if let Some(node) = net.iter().position(|&n| n != 0) {
			return Err(Rejection::Unbalanced { node });
		}
		if total != *cost {
			return Err(Rejection::WrongCost);
		}
		Ok(())
	}
}
