//! The exact solver against the LP oracle, the certificate checker, and the plans it emits.

use paychan_rebalancer::{
	certificate::Rejection,
	circulation::Circulation,
	lp,
	model::Channel,
	plan::{self, check_plan, Solution},
	primal_dual, simplex,
	workload::{self, Skew},
	Instance, Options,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// A small random round: a few participants, parallel channels allowed, arbitrary balances,
/// targets, declared bounds and fees.
fn random_instance(rng: &mut ChaCha8Rng) -> Instance {
	let nodes = rng.random_range(2..=8u32);
	let channels = (0..rng.random_range(1..=16u64))
		.map(|id| {
			let a = rng.random_range(0..nodes);
			let b = (a + rng.random_range(1..nodes)) % nodes;
			let balance = [rng.random_range(0..=60), rng.random_range(0..=60)];
			let capacity = balance[0] + balance[1];
			let mut channel = Channel::willing(id, [a, b], balance);
			channel.target = rng.random_range(0..=capacity);
			for end in 0..2 {
				if rng.random_bool(0.5) {
					channel.max_send[end] = rng.random_range(0..=capacity);
				}
				if rng.random_bool(0.5) {
					channel.max_receive[end] = rng.random_range(0..=capacity);
				}
				if rng.random_bool(0.3) {
					channel.fee_ppm[end] = rng.random_range(0..=2_000_000);
				}
			}
			channel
		})
		.collect();
	Instance { nodes, channels }
}

#[test]
fn exact_optimum_equals_the_lp_oracle_on_300_random_rounds() {
	let mut rng = ChaCha8Rng::seed_from_u64(2017);
	let mut improved = 0;
	for round in 0..300 {
		let instance = random_instance(&mut rng);
		let options = Options { piecewise: round % 2 == 0 };
		let solution = plan::solve(&instance, options, 128).unwrap();
		// The planner solves the convex network (a link per channel); its optimum is checked
		// over the arc network (an arc per piece and direction), which it never saw.
		let network = instance.network(options);
		let circulation = solution.circulation(&network);
		assert_eq!(circulation.cost, solution.cost, "round {round}: the arc flows cost the same");
		let outcome = solution.outcome;

		let oracle = lp::optimum(network.nodes, &network.arcs, None).unwrap();
		assert_eq!(circulation.cost, oracle, "round {round}: exact optimum equals the LP's");
		// The two independent exact solvers agree and each proves its own optimum.
		for (name, other) in [
			("network simplex", simplex::solve(network.nodes, &network.arcs)),
			("primal-dual", primal_dual::solve(network.nodes, &network.arcs)),
		] {
			assert_eq!(other.cost, oracle, "round {round}: {name} equals the LP");
			other
				.verify(network.nodes, &network.arcs)
				.unwrap_or_else(|e| panic!("round {round}: {name} certificate rejected: {e:?}"));
		}
		circulation
			.verify(network.nodes, &network.arcs)
			.unwrap_or_else(|e| panic!("round {round}: certificate rejected: {e:?}"));

		// The plans achieve the optimum, and each one would pass the pallet's checks.
		assert_eq!(outcome.stats.dropped_cycles, 0);
		assert_eq!(outcome.stats.planned_objective, circulation.cost, "round {round}");
		for edges in &outcome.plans {
			check_plan(&instance, edges, 128)
				.unwrap_or_else(|e| panic!("round {round}: plan refused: {e:?}"));
		}
		// Across all plans, no channel moves more than its bounds allow.
		let mut moved = vec![0i128; instance.channels.len()];
		for edge in outcome.plans.iter().flatten() {
			let index = instance.channels.iter().position(|c| c.id == edge.channel_id).unwrap();
			let channel = &instance.channels[index];
			let sender = channel.ends.iter().position(|&e| e == edge.from).unwrap();
			moved[index] += edge.amount as i128;
			assert!(moved[index] <= channel.limit(sender) as i128, "round {round}: over bound");
		}
		improved += (circulation.cost < 0) as u32;
	}
	// The generator gives the solver real work, not only empty rounds.
	assert!(improved > 150, "only {improved} rounds had anything to rebalance");
}

#[test]
fn certificate_checker_rejects_perturbed_solutions() {
	let mut rng = ChaCha8Rng::seed_from_u64(8);
	let mut checked = 0;
	while checked < 100 {
		let instance = random_instance(&mut rng);
		let network = instance.network(Options::default());
		let solution = simplex::solve(network.nodes, &network.arcs);
		if solution.cost >= 0 {
			continue;
		}
		checked += 1;
		let check = |flow: &[i64], potential: &[i64], cost: i128| {
			let claimed =
				Circulation { flow: flow.to_vec(), potential: potential.to_vec(), cost, pivots: 0 };
			claimed.verify(network.nodes, &network.arcs)
		};
		assert_eq!(check(&solution.flow, &solution.potential, solution.cost), Ok(()));

		// The empty circulation is feasible but worse: no potentials can prove it optimal.
		let empty = vec![0; network.arcs.len()];
		assert!(matches!(
			check(&empty, &solution.potential, 0),
			Err(Rejection::NotComplementary { .. })
		));
		// A claimed cost that is not the flow's.
		assert_eq!(
			check(&solution.flow, &solution.potential, solution.cost - 1),
			Err(Rejection::WrongCost)
		);
		// One unit more on a used arc breaks conservation (or its capacity).
		let used = solution.flow.iter().position(|&x| x > 0).unwrap();
		let mut unbalanced = solution.flow.clone();
		unbalanced[used] -= 1;
		assert!(check(&unbalanced, &solution.potential, solution.cost).is_err());
		// Potentials that do not fit: lift one endpoint of an arc with a non-zero reduced cost
		// past it, or of an arc strictly between its bounds.
		let mut potential = solution.potential.clone();
		let arc = network.arcs[used];
		potential[arc.target as usize] -= 10 * paychan_rebalancer::model::WEIGHT_SCALE * 8;
		assert!(check(&solution.flow, &potential, solution.cost).is_err());
	}
}

#[test]
fn a_depleted_cycle_is_rebalanced_to_the_targets() {
	// The pallet's worked example: A->B, B->C, C->A each 1000/0, everyone willing.
	let instance = Instance {
		nodes: 3,
		channels: vec![
			Channel::willing(0, [0, 1], [1000, 0]),
			Channel::willing(1, [1, 2], [1000, 0]),
			Channel::willing(2, [2, 0], [1000, 0]),
		],
	};
	let outcome = plan::solve(&instance, Options::default(), 128).unwrap().outcome;
	assert_eq!(outcome.plans.len(), 1);
	let mut edges = outcome.plans[0].clone();
	edges.sort_by_key(|e| e.channel_id);
	let amounts: Vec<u128> = edges.iter().map(|e| e.amount).collect();
	assert_eq!(amounts, vec![500, 500, 500]);
	assert_eq!(edges.iter().map(|e| e.from).collect::<Vec<_>>(), vec![0, 1, 2]);
	assert_eq!(outcome.stats.depleted_before, 3);
	assert_eq!(outcome.stats.depleted_after, 0);
	assert_eq!(outcome.stats.moved_toward_target, outcome.stats.requested_volume);
}

#[test]
fn plans_respect_the_edge_bound_by_packing_whole_cycles() {
	let graph = workload::barabasi_albert(3000, 4, 11);
	let instance = workload::instance(&graph, Skew::Heavy, 11);
	for max_edges in [8, 128] {
		let Solution { outcome, cost, .. } =
			plan::solve(&instance, Options::default(), max_edges).unwrap();
		assert!(outcome.stats.cycles > 0);
		for edges in &outcome.plans {
			assert!(edges.len() <= max_edges);
			check_plan(&instance, edges, max_edges).unwrap();
		}
		if outcome.stats.dropped_cycles == 0 {
			assert_eq!(outcome.stats.planned_objective, cost);
		} else {
			// Dropping whole cycles keeps the plans valid but gives up some of the optimum.
			assert!(outcome.stats.planned_objective > cost);
			assert!(outcome.stats.longest_cycle > max_edges);
		}
		assert!(outcome.stats.depleted_after < outcome.stats.depleted_before);
	}
}

#[test]
fn malformed_rounds_are_refused() {
	let mut channel = Channel::willing(9, [0, 1], [10, 10]);
	channel.ends = [0, 5];
	let instance = Instance { nodes: 2, channels: vec![channel] };
	assert!(plan::solve(&instance, Options::default(), 128).is_err());
	let mut channel = Channel::willing(9, [0, 1], [10, 10]);
	channel.target = 21;
	let instance = Instance { nodes: 2, channels: vec![channel] };
	assert!(plan::solve(&instance, Options::default(), 128).is_err());
}

/// Larger rounds than the LP oracle can take in a test: the two exact solvers, built on
/// different algorithms, must reach the same optimum, each with a valid certificate. Fees on a
/// third of the channel ends make the distances irregular, so the primal–dual solver goes
/// through many phases, global relabellings and stranded excesses.
#[test]
fn primal_dual_equals_network_simplex_on_barabasi_albert_rounds() {
	let mut rng = ChaCha8Rng::seed_from_u64(99);
	for (round, (channels, m, skew)) in [
		(2_000, 4, Skew::Heavy),
		(2_000, 8, Skew::Uniform),
		(4_000, 4, Skew::Heavy),
		(4_000, 2, Skew::Uniform),
	]
	.into_iter()
	.enumerate()
	{
		let graph = workload::barabasi_albert(channels, m, round as u64);
		let mut instance = workload::instance(&graph, skew, round as u64 + 1);
		for channel in &mut instance.channels {
			for fee in &mut channel.fee_ppm {
				if rng.random_bool(0.3) {
					*fee = rng.random_range(0..=500_000);
				}
			}
		}
		for piecewise in [false, true] {
			let options = Options { piecewise };
			let network = instance.network(options);
			let exact = primal_dual::solve(network.nodes, &network.arcs);
			// The planner's convex solve, as arc flows.
			let convex = plan::solve(&instance, options, 128).unwrap().circulation(&network);
			let reference = simplex::solve(network.nodes, &network.arcs);
			assert!(exact.cost < 0, "round {round}: there is something to rebalance");
			assert_eq!(exact.cost, reference.cost, "round {round} (piecewise {piecewise})");
			assert_eq!(convex.cost, reference.cost, "round {round} (piecewise {piecewise})");
			for solution in [&exact, &convex, &reference] {
				solution
					.verify(network.nodes, &network.arcs)
					.unwrap_or_else(|e| panic!("round {round}: certificate rejected: {e:?}"));
			}
		}
	}
}
