//! The baseline: the same min-cost circulation written as a general linear program and solved
//! by `good_lp` with the pure-Rust `microlp` simplex, in floating point. Used as an oracle in
//! tests and side by side in the benchmark.

use crate::circulation::Arc;
use good_lp::{
	microlp, variable, Expression, ProblemVariables, Solution, SolverModel, WithTimeLimit,
};

/// The optimal cost of the circulation problem over `arcs`, by a general LP solver, rounded to
/// the nearest integer (the LP of a network with integer data has an integral optimum).
pub fn optimum(
	nodes: usize,
	arcs: &[Arc],
	time_limit_seconds: Option<f64>,
) -> Result<i128, String> {
	let flow = solve(nodes, arcs, time_limit_seconds)?;
	let cost: f64 = arcs.iter().zip(&flow).map(|(arc, &x)| arc.cost as f64 * x).sum();
	Ok(cost.round() as i128)
}

/// The flow of an optimal circulation over `arcs` by the general LP solver, each arc's value
/// rounded to the nearest integer: what a round solved as a plain LP (Revive's formulation)
/// would move. The network matrix makes every vertex of the LP integral, so rounding only
/// removes floating-point noise; a flow that still breaks conservation or a capacity after
/// rounding is refused rather than repaired.
pub fn circulation(
	nodes: usize,
	arcs: &[Arc],
	time_limit_seconds: Option<f64>,
) -> Result<Vec<i64>, String> {
	let flow: Vec<i64> =
		solve(nodes, arcs, time_limit_seconds)?.iter().map(|&x| x.round() as i64).collect();
	let mut net = vec![0i64; nodes];
	for (arc, &x) in arcs.iter().zip(&flow) {
		if x < 0 || x > arc.capacity {
			return Err(format!("the LP's flow {x} leaves an arc's bounds [0, {}]", arc.capacity));
		}
		net[arc.source as usize] += x;
		net[arc.target as usize] -= x;
	}
	match net.iter().position(|&n| n != 0) {
		Some(node) => Err(format!("the LP's rounded flow does not balance at node {node}")),
		None => Ok(flow),
	}
}

/// The min-cost circulation over `arcs` as a linear program (a flow variable per arc within its
/// capacity, conservation at every node an arc touches), solved by `microlp`: each arc's flow.
fn solve(nodes: usize, arcs: &[Arc], time_limit_seconds: Option<f64>) -> Result<Vec<f64>, String> {
	let mut variables = ProblemVariables::new();
	let flows: Vec<_> =
		arcs.iter().map(|arc| variables.add(variable().min(0).max(arc.capacity as f64))).collect();
	let mut objective = Expression::with_capacity(arcs.len());
	let mut balance: Vec<Expression> = (0..nodes).map(|_| Expression::with_capacity(4)).collect();
	let mut touched = vec![false; nodes];
	for (arc, &flow) in arcs.iter().zip(&flows) {
		objective.add_mul(arc.cost as f64, flow);
		balance[arc.source as usize].add_mul(1.0, flow);
		balance[arc.target as usize].add_mul(-1.0, flow);
		touched[arc.source as usize] = true;
		touched[arc.target as usize] = true;
	}
	let mut problem = variables.minimise(objective).using(microlp);
	if let Some(seconds) = time_limit_seconds {
		problem = problem.with_time_limit(seconds);
	}
	for (expression, touched) in balance.into_iter().zip(touched) {
		if touched {
			problem.add_constraint(expression.eq(0));
		}
	}
	let solution = problem.solve().map_err(|e| e.to_string())?;
	Ok(flows.iter().map(|&flow| solution.value(flow)).collect())
}
