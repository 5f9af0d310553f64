//! What both exact solvers ([`crate::primal_dual`] and [`crate::simplex`]) stand on: the
//! circulation network's arcs, the optimal circulation they return with its optimality proof,
//! and the input checks and cost they share. The proof is checked by
//! [`Circulation::verify`] (in [`crate::certificate`]).

/// An arc of the circulation network.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arc {
	pub source: u32,
	pub target: u32,
	pub capacity: i64,
	pub cost: i64,
}

/// An optimal circulation: a flow per arc and node potentials `pi` such that every arc's reduced
/// cost `cost + pi[source] - pi[target]` is `>= 0` where the flow is 0, `<= 0` where it is at
/// capacity and `0` in between.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Circulation {
	pub flow: Vec<i64>,
	pub potential: Vec<i64>,
	pub cost: i128,
	/// Pivots the simplex made (degenerate ones included).
	pub pivots: u64,
}

/// The checks every solver makes of its input: capacities non-negative, endpoints below `nodes`.
///
/// # Panics
/// If an arc breaks either.
pub(crate) fn assert_well_formed(nodes: usize, arcs: &[Arc]) {
	for arc in arcs {
		assert!(arc.capacity >= 0, "capacities are non-negative");
		assert!(
			(arc.source as usize) < nodes && (arc.target as usize) < nodes,
			"endpoint in range"
		);
	}
}

/// The cost of `flow` over `arcs`, exactly.
pub(crate) fn cost_of(arcs: &[Arc], flow: &[i64]) -> i128 {
	arcs.iter().zip(flow).map(|(arc, &x)| arc.cost as i128 * x as i128).sum()
}
