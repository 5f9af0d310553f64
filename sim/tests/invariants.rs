//! The simulator's invariants on small graphs: payments only move funds within a channel, no
//! balance goes below zero, and a seed fixes every number.

use paychan_rebalancer::{routing::FeePolicy, workload};
use paychan_sim::{
	run, workload::payments, Band, Network, Pledge, Policy, Rebalancing, Routing, Solver, Split,
	Workload,
};

use pallet_payment_channels::weights::WeightInfo as Calls;

const FEE: FeePolicy = FeePolicy { base: 1, ppm: 100 };

fn small(split: Split) -> Network {
	Network::new(&workload::barabasi_albert(300, 3, 7), split, FEE)
}

#[test]
fn every_channel_keeps_its_capacity_and_no_balance_goes_negative() {
	for split in
		[Split::Even, Split::Skewed { seed: 3 }, Split::OneSided, Split::Funder { seed: 3 }]
	{
		let mut network = small(split);
		let before: Vec<u128> = (0..network.channels()).map(|c| network.capacity(c)).collect();
		let workload = Workload::Uniform { amounts: (1_000, 200_000) };
		let stream = payments(workload, network.nodes, 5_000, 11);
		let routing = Routing { max_parts: 4, ..Routing::default() };
		let report = run(&mut network, stream, routing, Policy::None, 1_000);
		assert!(
			report.succeeded > 0 && report.succeeded < report.payments,
			"{split:?}: {report:?}"
		);
		let after: Vec<u128> = (0..network.channels()).map(|c| network.capacity(c)).collect();
		assert_eq!(before, after, "{split:?}: capacities are conserved");
		// `move_funds` refuses to take a balance below zero, so reaching here shows none did.
		assert_eq!(report.series.len(), 5);
	}
}

#[test]
fn scheduled_rounds_keep_capacity_and_let_more_payments_through_on_one_sided_channels() {
	let replay = |policy| {
		let mut network = small(Split::OneSided);
		let before: Vec<u128> = (0..network.channels()).map(|c| network.capacity(c)).collect();
		let workload = Workload::Uniform { amounts: (1_000, 100_000) };
		let stream = payments(workload, network.nodes, 4_000, 21);
		let report = run(&mut network, stream, Routing::default(), policy, 1_000);
		let after: Vec<u128> = (0..network.channels()).map(|c| network.capacity(c)).collect();
		assert_eq!(before, after, "{policy:?}: capacities are conserved");
		report
	};
	let baseline = replay(Policy::None);
	let rounds = replay(Policy::Scheduled {
		every: 500,
		solver: Solver::Exact,
		pledge: Pledge::Whole,
		max_plan_edges: 128,
	});
	assert_eq!(baseline.rebalancing, Default::default());
	assert_eq!(rounds.rebalancing.rounds, 8);
	assert!(
		rounds.rebalancing.plans > 0 && rounds.rebalancing.volume > 0,
		"{:?}",
		rounds.rebalancing
	);
	assert!(
		rounds.succeeded > baseline.succeeded,
		"rounds {} against the baseline's {}",
		rounds.succeeded,
		baseline.succeeded
	);
}

#[test]
fn the_same_seed_gives_the_same_numbers_and_another_seed_others() {
	let replay = |seed: u64| {
		let mut network = small(Split::Skewed { seed });
		let workload = Workload::Zipf { exponent: 1.0, amounts: (1_000, 100_000) };
		let stream = payments(workload, network.nodes, 3_000, seed);
		run(&mut network, stream, Routing::default(), Policy::None, 500)
	};
	assert_eq!(replay(5), replay(5));
	assert_ne!(replay(5), replay(6));
}

#[test]
fn a_line_of_one_sided_channels_carries_what_its_capacity_allows_and_then_fails() {
	// 0 → 1 → 2, 100 each, all on the first end; 1 charges 1 + 0.01% to forward.
	let topology = workload::Graph { nodes: 3, links: vec![(0, 1, 100), (1, 2, 100)] };
	let mut network = Network::new(&topology, Split::OneSided, FEE);
	let payment = paychan_sim::Payment { payer: 0, payee: 2, amount: 30 };
	let report = run(&mut network, vec![payment; 4], Routing::default(), Policy::None, 0);
	// Each payment takes 30 + 2 (fee: 1 + ceil(30 * 100 / 10^6)) from the first channel: the
	// fourth finds 100 - 96 = 4 there.
	assert_eq!((report.succeeded, report.payments, report.fees), (3, 4, 6));
	// The fourth failed at the payer: 0 held 4 in all.
	assert_eq!(report.failures, paychan_sim::Failures { at_payer: 1, at_payee: 0, in_between: 0 });
	assert_eq!(network.capacities(), &[4, 96, 10, 90]);
	// The other way the payments made room: 2 holds 90 toward 1, and 1 holds 96 toward 0.
	let back = paychan_sim::Payment { payer: 2, payee: 0, amount: 30 };
	let report = run(&mut network, vec![back], Routing::default(), Policy::None, 0);
	assert_eq!(report.succeeded, 1);
	// That took 32 of 2's 90 and 30 of 1's 96: 2 holds 58 toward 1, 1 holds 66 toward 0. 1 pays
	// 0 30 directly (no fee), leaving 36 that 0 can still receive: 2 paying 0 40 fails at the
	// payee, although 2 holds enough; 2 paying 1 10 goes through.
	let report =
		run(
			&mut network,
			[(1, 0, 30), (2, 0, 40), (2, 1, 10)]
				.map(|(payer, payee, amount)| paychan_sim::Payment { payer, payee, amount }),
			Routing::default(),
			Policy::None,
			0,
		);
	assert_eq!(report.succeeded, 2, "{report:?}");
	assert_eq!(report.failures, paychan_sim::Failures { at_payer: 0, at_payee: 1, in_between: 0 });
}

#[test]
fn zipf_payers_are_skewed_and_uniform_ones_are_not() {
	let count = |workload| {
		let mut seen = [0u32; 50];
		for payment in payments(workload, 50, 20_000, 9) {
			assert_ne!(payment.payer, payment.payee);
			assert!((1_000..=2_000).contains(&payment.amount));
			seen[payment.payer] += 1;
		}
		seen.sort_unstable();
		(seen[0], seen[49])
	};
	let (least, most) = count(Workload::Zipf { exponent: 1.2, amounts: (1_000, 2_000) });
	assert!(most > 20 * least.max(1), "zipf: {least}..{most}");
	let (least, most) = count(Workload::Uniform { amounts: (1_000, 2_000) });
	assert!(most < 2 * least, "uniform: {least}..{most}");
}

#[test]
fn a_round_balances_a_ring_of_one_sided_channels() {
	// 0 → 1 → 2 → 0, 1 000 each, all on the first end: one cycle of 500 balances all three.
	let topology =
		workload::Graph { nodes: 3, links: vec![(0, 1, 1_000), (1, 2, 1_000), (2, 0, 1_000)] };
	let network = Network::new(&topology, Split::OneSided, FEE);
	assert_eq!(network.depleted_share(), 0.5);
	for solver in [Solver::Exact, Solver::Lp { time_limit_ms: 10_000 }] {
		let mut network = Network::new(&topology, Split::OneSided, FEE);
		let mut tally = Rebalancing::default();
		assert!(network.round(&network.everyone_willing(), solver, 128, &mut tally));
		assert_eq!(network.capacities(), &[500, 500, 500, 500, 500, 500], "{solver:?}");
		assert_eq!(network.depleted_share(), 0.0);
		assert_eq!((tally.rounds, tally.plans, tally.edges, tally.volume), (1, 1, 3, 1_500));
		assert_eq!(tally.transactions(), 1, "one plan");
		assert_eq!(
			tally.ref_time,
			u128::from(<() as Calls>::submit_plan(3).ref_time()),
			"a plan of 3 edges weighs what the pallet's benchmark says"
		);
	}
}

#[test]
fn a_demand_matrix_is_a_circulation_plus_an_acyclic_part() {
	use paychan_sim::workload::demand_matrix;
	// All circulation: every party pays out at the rate it is paid.
	let matrix = demand_matrix(40, 200, 0.0, 3);
	let mut net = vec![0.0f64; 40];
	for entry in &matrix {
		assert_ne!(entry.payer, entry.payee);
		net[entry.payer] -= entry.rate;
		net[entry.payee] += entry.rate;
	}
	assert!(net.iter().all(|n| n.abs() < 1e-12), "{net:?}");
	assert!((matrix.iter().map(|e| e.rate).sum::<f64>() - 1.0).abs() < 1e-9);
	// All acyclic: an order of the parties in which every payment goes forward exists
	// (a topological order), found by repeatedly removing parties nobody pays.
	let matrix = demand_matrix(40, 200, 1.0, 3);
	let mut left: Vec<(usize, usize)> = matrix.iter().map(|e| (e.payer, e.payee)).collect();
	let mut removed = [false; 40];
	for _ in 0..40 {
		let Some(source) = (0..40).find(|&p| !removed[p] && !left.iter().any(|&(_, to)| to == p))
		else {
			panic!("a cycle remains: {left:?}");
		};
		removed[source] = true;
		left.retain(|&(from, _)| from != source);
	}
	assert!(left.is_empty());
	// Mixed: the rates still sum to one, and a seed fixes the payments drawn from them.
	let matrix = demand_matrix(40, 200, 0.3, 3);
	assert!(matrix.len() >= 200);
	let total: f64 = matrix.iter().map(|e| e.rate).sum();
	assert!((total - 1.0).abs() < 1e-9);
	let replayed: Vec<_> =
		payments(Workload::Demand { dag_share: 0.3, entries: 200, amounts: (10, 20) }, 40, 500, 8)
			.collect();
	assert_eq!(
		replayed,
		payments(Workload::Demand { dag_share: 0.3, entries: 200, amounts: (10, 20) }, 40, 500, 8)
			.collect::<Vec<_>>()
	);
}

/// Replays `count` uniform payments over the small graph under `policy`.
fn replay(split: Split, policy: Policy, count: u64, seed: u64) -> (Network, paychan_sim::Report) {
	let mut network = small(split);
	let workload = Workload::Uniform { amounts: (1_000, 100_000) };
	let stream = payments(workload, network.nodes, count, seed);
	let report = run(&mut network, stream, Routing::default(), policy, 1_000);
	(network, report)
}

fn capacities(network: &Network) -> Vec<u128> {
	(0..network.channels()).map(|c| network.capacity(c)).collect()
}

const BAND: Band = Band { low: 20, high: 80 };

#[test]
fn on_demand_requests_keep_capacity_and_plans_stay_within_their_pledges() {
	let before = capacities(&small(Split::OneSided));
	let policy = Policy::OnDemand {
		band: BAND,
		solve_every: 100,
		lifetime: 1_000,
		entries: 16,
		max_plan_edges: 128,
	};
	let (network, report) = replay(Split::OneSided, policy, 4_000, 21);
	assert_eq!(capacities(&network), before, "plans move funds within channels only");
	let r = &report.rebalancing;
	assert!(r.requests > 0 && r.plans > 0 && r.volume > 0, "{r:?}");
	assert!(r.request_entries <= 16 * r.requests, "a request names at most 16 channels");
	assert_eq!(r.refused_plans, 0, "every plan keeps to what the requests pledged");
	assert_eq!(r.transactions(), r.plans + r.requests);
	let last = report.series.last().expect("a row every 1 000 payments");
	assert_eq!(
		(last.payments, last.transactions, last.ref_time),
		(4_000, r.transactions(), r.ref_time)
	);
	assert_eq!(last.moved, r.volume, "the series counts what moved as the totals do");
}

#[test]
fn a_request_names_only_channels_outside_the_middle_and_plans_need_both_ends() {
	// A ring of one-sided channels: every party is out of band in both its channels, so every
	// party files and one round balances the ring. A line has no cycle: requests but no plan.
	let ring =
		workload::Graph { nodes: 3, links: vec![(0, 1, 1_000), (1, 2, 1_000), (2, 0, 1_000)] };
	let line = workload::Graph { nodes: 3, links: vec![(0, 1, 1_000), (1, 2, 1_000)] };
	let policy = Policy::OnDemand {
		band: BAND,
		solve_every: 1,
		lifetime: 1,
		entries: 16,
		max_plan_edges: 128,
	};
	let pay = paychan_sim::Payment { payer: 0, payee: 1, amount: 10 };
	let mut network = Network::new(&ring, Split::OneSided, FEE);
	let report = run(&mut network, vec![pay], Routing::default(), policy, 0);
	// The payment put 10 on 1's side of channel 0 (990 : 10): 0 and 1 file, 2 does not (it was
	// not on the route), so channel 1 and 2 lack one end's request and nothing can move.
	assert_eq!((report.rebalancing.requests, report.rebalancing.plans), (2, 0));
	let mut network = Network::new(&ring, Split::OneSided, FEE);
	let around = [
		paychan_sim::Payment { payer: 0, payee: 1, amount: 10 },
		paychan_sim::Payment { payer: 1, payee: 2, amount: 10 },
	];
	let policy = Policy::OnDemand {
		band: BAND,
		solve_every: 2,
		lifetime: 20,
		entries: 16,
		max_plan_edges: 128,
	};
	let report = run(&mut network, around, Routing::default(), policy, 0);
	assert_eq!((report.rebalancing.requests, report.rebalancing.plans), (3, 1));
	// 2 filed after the second payment, holding 10 of channel 1: it asked for 490 there, which
	// bounds the cycle, so channel 2 (1 000 : 0, where 2 pledged 500) moves 490 too.
	assert_eq!(network.capacities(), &[500, 500, 500, 500, 510, 490]);
	let mut network = Network::new(&line, Split::OneSided, FEE);
	let report = run(&mut network, around, Routing::default(), policy, 0);
	assert_eq!((report.rebalancing.requests, report.rebalancing.plans), (3, 0));
}

#[test]
fn own_shifts_keep_each_partys_funds_and_the_networks_total() {
	// 1 holds everything of its channel with 0 and nothing of its channel with 2: one shift
	// moves the 500 it holds beyond the first's middle to the second, which lacked 500.
	let topology = workload::Graph { nodes: 3, links: vec![(1, 0, 1_000), (2, 1, 1_000)] };
	let mut network = Network::new(&topology, Split::OneSided, FEE);
	let policy = Policy::OwnShifts { every: 1, band: BAND, max_per_party: 4 };
	let nothing = paychan_sim::Payment { payer: 0, payee: 0, amount: 1 };
	let report = run(&mut network, vec![nothing], Routing::default(), policy, 0);
	assert_eq!(report.succeeded, 0, "a payment to oneself is no payment");
	assert_eq!((report.rebalancing.shifts, report.rebalancing.shifted), (1, 500));
	assert_eq!((network.held(0, 1), network.held(1, 1)), (500, 500));
	assert_eq!((network.capacity(0), network.capacity(1)), (500, 1_500));
	assert_eq!(network.held(0, 1) + network.held(1, 1), 1_000, "1's own funds are kept");
	assert_eq!(network.total(), 2_000);
	let mut network = small(Split::Skewed { seed: 4 });
	let total = network.total();
	let policy = Policy::OwnShifts { every: 250, band: BAND, max_per_party: 4 };
	let workload = Workload::Uniform { amounts: (1_000, 100_000) };
	let stream = payments(workload, network.nodes, 2_000, 3);
	let report = run(&mut network, stream, Routing::default(), policy, 0);
	assert!(report.rebalancing.shifts > 0, "{:?}", report.rebalancing);
	assert_eq!(report.rebalancing.transactions(), report.rebalancing.shifts);
	assert_eq!(network.total(), total, "shifts and payments never create or destroy funds");
}

#[test]
fn the_ideal_rounds_after_every_failure_and_every_policy_is_seeded() {
	let (_, report) = replay(Split::OneSided, Policy::Ideal { max_plan_edges: 128 }, 1_500, 8);
	assert_eq!(report.rebalancing.rounds, report.payments - report.succeeded);
	let policies = [
		Policy::None,
		Policy::Scheduled {
			every: 300,
			solver: Solver::Exact,
			pledge: Pledge::TowardMiddle,
			max_plan_edges: 128,
		},
		Policy::Scheduled {
			every: 300,
			solver: Solver::Exact,
			pledge: Pledge::Whole,
			max_plan_edges: 128,
		},
		Policy::Scheduled {
			every: 300,
			pledge: Pledge::TowardMiddle,
			solver: Solver::Lp { time_limit_ms: 60_000 },
			max_plan_edges: 128,
		},
		Policy::OnDemand {
			band: BAND,
			solve_every: 50,
			lifetime: 500,
			entries: 16,
			max_plan_edges: 128,
		},
		Policy::OwnShifts { every: 300, band: BAND, max_per_party: 4 },
		Policy::Ideal { max_plan_edges: 128 },
	];
	for policy in policies {
		let (a, first) = replay(Split::Skewed { seed: 2 }, policy, 1_200, 5);
		let (b, second) = replay(Split::Skewed { seed: 2 }, policy, 1_200, 5);
		assert_eq!(first, second, "{policy:?}");
		assert_eq!(a.capacities(), b.capacities(), "{policy:?}");
		assert_eq!(first.rebalancing.refused_plans, 0, "{policy:?}");
		assert_eq!(first.rebalancing.failed_rounds, 0, "{policy:?}");
	}
}

#[test]
fn a_random_funder_holds_each_channel_whole_and_leaves_cycles_a_round_can_use() {
	let mut network = small(Split::Funder { seed: 6 });
	let sides: Vec<[u128; 2]> = (0..network.channels()).map(|c| network.sides(c)).collect();
	assert!(sides.iter().all(|[a, b]| *a == 0 || *b == 0), "one end holds each channel");
	let firsts = sides.iter().filter(|[a, _]| *a > 0).count();
	assert!(
		firsts > sides.len() / 3 && firsts < 2 * sides.len() / 3,
		"{firsts} of {}",
		sides.len()
	);
	let mut tally = Rebalancing::default();
	network.round(&network.everyone_willing(), Solver::Exact, 128, &mut tally);
	assert!(tally.volume > 0, "a round finds cycles among randomly funded channels");
	let mut acyclic = small(Split::OneSided);
	let mut tally = Rebalancing::default();
	acyclic.round(&acyclic.everyone_willing(), Solver::Exact, 128, &mut tally);
	assert_eq!(tally.volume, 0, "the first-end split of a generated graph has no cycle");
}

#[test]
fn where_payments_go_round_a_cycle_rounds_keep_them_succeeding_and_nothing_else_does() {
	// Four parties in a ring, 500 on each side of each channel, paying 100 to the next one
	// directly (one hop: the long way round would rebalance the ring by itself), round and
	// round: every channel drains toward the payee. Payments around a cycle are a circulation,
	// so a round can move the funds back; without one the sixth lap fails.
	let topology = workload::Graph {
		nodes: 4,
		links: vec![(0, 1, 1_000), (1, 2, 1_000), (2, 3, 1_000), (3, 0, 1_000)],
	};
	let laps =
		(0..40).map(|i| paychan_sim::Payment { payer: i % 4, payee: (i + 1) % 4, amount: 100 });
	let direct = Routing {
		timing: paychan_rebalancer::routing::Timing { max_hops: 1, ..Routing::default().timing },
		..Routing::default()
	};
	let replay = |policy| {
		let mut network = Network::new(&topology, Split::Even, FEE);
		run(&mut network, laps.clone(), direct, policy, 0)
	};
	let baseline = replay(Policy::None);
	assert_eq!(baseline.succeeded, 20, "five laps, then every side toward the payee is empty");
	// Each payer holds 1 000 on its other channel and each payee could take 1 000 on its
	// other one: the funds are there at both ends, not where the payment goes.
	assert_eq!(baseline.failures.in_between, 20);
	let rounds = replay(Policy::Scheduled {
		every: 4,
		solver: Solver::Exact,
		pledge: Pledge::TowardMiddle,
		max_plan_edges: 128,
	});
	assert_eq!(rounds.succeeded, 40, "a round after every lap restores every channel");
	assert_eq!(rounds.rebalancing.rounds, 10);
}
