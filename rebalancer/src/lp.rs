//! The baseline: the same min-cost circulation written as a general linear program and solved
//! by `good_lp` with the pure-Rust `microlp` simplex, in floating point. Used as an oracle in
//! tests and side by side in the benchmark.

use crate::circulation::Arc;
use good_lp::{microlp, variable, Expression, ProblemVariables, SolverModel, WithTimeLimit};

/// The optimal cost of the circulation problem over `arcs`, by a general LP solver, rounded to
/// the nearest integer (the LP of a network with integer data has an integral optimum).
pub fn optimum(
	nodes: usize,
	arcs: &[Arc],
	time_limit_seconds: Option<f64>,
) -> Result<i128, String> {
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
	let mut problem = variables.minimise(objective.clone()).using(microlp);
	if let Some(seconds) = time_limit_seconds {
		problem = problem.with_time_limit(seconds);
	}
	for (expression, touched) in balance.into_iter().zip(touched) {
		if touched {
			problem.add_constraint(expression.eq(0));
		}
	}
	let solution = problem.solve().map_err(|e| e.to_string())?;
	Ok(objective.eval_with(&solution).round() as i128)
}
