//! `paychan-sim`: replays a seeded workload over a Lightning snapshot or a Barabási–Albert graph
//! and prints what succeeded; `--csv` writes the series over time.
//!
//!   paychan-sim --graph ../shared/data/ln-graphs/lnd_july15_2019.edgelist --payments 100000
//!   paychan-sim --ba 2000:4 --split skewed --workload zipf:1.0 --parts 4 --csv out.csv

use clap::Parser;
use paychan_rebalancer::{routing::FeePolicy, workload};
use paychan_sim::{
	cost::transfer_ref_time, run, workload::payments, Band, Network, Pledge, Policy, Routing,
	Solver, Split, Workload,
};
use std::{path::PathBuf, process::ExitCode, time::Instant};

#[derive(Parser)]
#[command(
	about = "Replay seeded payments over a channel graph, routed as the Paychan daemon routes them"
)]
struct Args {
	/// A Lightning snapshot (`*.edgelist`, capacities in satoshi).
	#[arg(long, conflicts_with = "ba")]
	graph: Option<PathBuf>,
	/// A Barabási–Albert graph instead: `CHANNELS:M`.
	#[arg(long)]
	ba: Option<String>,
	#[arg(long, default_value_t = 100_000)]
	payments: u64,
	#[arg(long, default_value_t = 1)]
	seed: u64,
	/// `even`, `skewed`, `one-sided` (all on the first end listed) or `funder` (all on a random
	/// end).
	#[arg(long, default_value = "even")]
	split: String,
	/// `uniform`, `zipf:EXPONENT` or `demand:DAG_SHARE` (a circulation plus an acyclic part of
	/// that share, 10 entries per party).
	#[arg(long, default_value = "uniform")]
	workload: String,
	/// Payment amounts, log-uniform: `MIN:MAX` in the graph's unit.
	#[arg(long, default_value = "1000:100000")]
	amount: String,
	/// The most paths a payment is split over.
	#[arg(long, default_value_t = 1)]
	parts: usize,
	/// Forwarding fee of every party: `BASE:PPM`.
	#[arg(long, default_value = "1:100")]
	fee: String,
	/// How the network is rebalanced: `none`; `rounds:EVERY` (a round over every channel every
	/// EVERY payments, each end pledging toward the middle only, solved exactly);
	/// `rounds-whole:EVERY` (the same, each end pledging its whole balance); `lp:EVERY[:MS]` (the same rounds solved as Revive's LP,
	/// at most MS milliseconds each, 10 000 by default); `on-demand:LOW:HIGH:EVERY[:LIFETIME]` (a
	/// party whose side of a channel leaves LOW..HIGH percent files a request open for LIFETIME
	/// payments, 10 periods by default; open requests solved exactly every EVERY payments); `shifts:EVERY:LOW:HIGH` (own-channel shifts every EVERY
	/// payments); `ideal` (a round over every channel after every failed payment).
	#[arg(long, default_value = "none")]
	policy: String,
	/// The most channels one rebalance request names (the runtime's `MaxRequestEntries`; more
	/// only to ask what a larger limit would do).
	#[arg(long, default_value_t = paychan_sim::cost::MAX_REQUEST_ENTRIES)]
	request_entries: usize,
	/// The most edges of one plan (the runtime's `MaxPlanEdges`).
	#[arg(long, default_value_t = 128)]
	max_plan_edges: usize,
	/// Print the totals as one JSON object instead of a sentence.
	#[arg(long)]
	json: bool,
	/// Payments per row of the series.
	#[arg(long, default_value_t = 10_000)]
	interval: u64,
	/// Write the series here.
	#[arg(long)]
	csv: Option<PathBuf>,
}

fn pair(text: &str, what: &str) -> Result<(u128, u128), String> {
	let (a, b) =
		text.split_once(':').ok_or_else(|| format!("{what}: expected A:B, got `{text}`"))?;
	let number = |s: &str| s.parse::<u128>().map_err(|_| format!("{what}: `{s}` is not a number"));
	Ok((number(a)?, number(b)?))
}

fn main() -> ExitCode {
	match try_main() {
		Ok(()) => ExitCode::SUCCESS,
		Err(error) => {
			eprintln!("paychan-sim: {error}");
			ExitCode::from(2)
		}
	}
}

fn try_main() -> Result<(), String> {
	let args = Args::parse();
	let topology = match (&args.graph, &args.ba) {
		(Some(path), None) => workload::load_edgelist(path)?,
		(None, Some(ba)) => {
			let (channels, m) = pair(ba, "--ba")?;
			workload::barabasi_albert(channels as usize, m as usize, args.seed)
		}
		_ => return Err("give --graph FILE or --ba CHANNELS:M".into()),
	};
	let split = match args.split.as_str() {
		"even" => Split::Even,
		"skewed" => Split::Skewed { seed: args.seed },
		"one-sided" => Split::OneSided,
		"funder" => Split::Funder { seed: args.seed },
		other => {
			return Err(format!("--split: `{other}` is not even, skewed, one-sided or funder"))
		}
	};
	let amounts = pair(&args.amount, "--amount")?;
	let workload = match args.workload.split_once(':') {
		None if args.workload == "uniform" => Workload::Uniform { amounts },
		Some(("zipf", exponent)) => Workload::Zipf {
			exponent: exponent
				.parse()
				.map_err(|_| format!("--workload: `{exponent}` is not a number"))?,
			amounts,
		},
		Some(("demand", share)) => Workload::Demand {
			dag_share: share
				.parse()
				.ok()
				.filter(|share: &f64| (0.0..=1.0).contains(share))
				.ok_or_else(|| format!("--workload: `{share}` is not a share between 0 and 1"))?,
			entries: 10 * topology.nodes as usize,
			amounts,
		},
		_ => {
			return Err(format!(
				"--workload: `{}` is not uniform, zipf:EXPONENT or demand:DAG_SHARE",
				args.workload
			))
		}
	};
	let (base, ppm) = pair(&args.fee, "--fee")?;
	let fee = FeePolicy { base, ppm: u32::try_from(ppm).map_err(|_| "--fee: ppm too large")? };
	if args.parts == 0 {
		return Err("--parts must be at least 1".into());
	}
	let mut network = Network::new(&topology, split, fee);
	let routing = Routing { max_parts: args.parts, ..Routing::default() };
	let started = Instant::now();
	let stream = payments(workload, network.nodes, args.payments, args.seed);
	let policy = parse_policy(&args.policy, args.request_entries, args.max_plan_edges)?;
	let report = run(&mut network, stream, routing, policy, args.interval);
	let elapsed = started.elapsed();
	let r = &report.rebalancing;
	if args.json {
		println!(
			"{{\"parties\":{},\"channels\":{},\"payments\":{},\"seconds\":{:.3},\
			 \"success_ratio\":{:.6},\"volume_ratio\":{:.6},\"fees\":{},\
			 \"depleted_directions\":{:.6},\"failed_at_payer\":{},\"failed_at_payee\":{},\
			 \"failed_in_between\":{},\"rounds\":{},\"failed_rounds\":{},\"plans\":{},\
			 \"edges\":{},\"refused_plans\":{},\"volume_moved\":{},\"requests\":{},\
			 \"request_entries\":{},\"shifts\":{},\"shifted\":{},\"transactions\":{},\
			 \"ref_time\":{},\"proof_size\":{},\"transfer_ref_time\":{}}}",
			network.nodes,
			network.channels(),
			report.payments,
			elapsed.as_secs_f64(),
			report.success_ratio(),
			report.volume_ratio(),
			report.fees,
			network.depleted_share(),
			report.failures.at_payer,
			report.failures.at_payee,
			report.failures.in_between,
			r.rounds,
			r.failed_rounds,
			r.plans,
			r.edges,
			r.refused_plans,
			r.volume,
			r.requests,
			r.request_entries,
			r.shifts,
			r.shifted,
			r.transactions(),
			r.ref_time,
			r.proof_size,
			transfer_ref_time(),
		);
	} else {
		println!(
			"{} parties, {} channels; {} payments in {:.1} s: {:.2}% succeeded ({:.2}% of the \
			 volume), fees {}, {:.2}% of channel directions depleted at the end; failed for want \
			 of funds at the payer {}, at the payee {}, in between {}; rebalancing: {} \
			 rounds, {} plans ({} edges) moved {}, {} requests, {} shifts moved {}; {} \
			 extrinsics weighing as much as {:.0} balances transfers",
			network.nodes,
			network.channels(),
			report.payments,
			elapsed.as_secs_f64(),
			100.0 * report.success_ratio(),
			100.0 * report.volume_ratio(),
			report.fees,
			100.0 * network.depleted_share(),
			report.failures.at_payer,
			report.failures.at_payee,
			report.failures.in_between,
			r.rounds,
			r.plans,
			r.edges,
			r.volume,
			r.requests,
			r.shifts,
			r.shifted,
			r.transactions(),
			r.transfers_equivalent(),
		);
	}
	if let Some(path) = &args.csv {
		std::fs::write(path, report.csv()).map_err(|e| format!("{}: {e}", path.display()))?;
	}
	Ok(())
}

/// The `--policy` argument.
fn parse_policy(text: &str, entries: usize, max_plan_edges: usize) -> Result<Policy, String> {
	let fields: Vec<&str> = text.split(':').collect();
	let number =
		|s: &str| s.parse::<u64>().map_err(|_| format!("--policy: `{s}` is not a whole number"));
	let band = |low: &str, high: &str| -> Result<Band, String> {
		let (low, high) = (number(low)? as u32, number(high)? as u32);
		if low >= high || high > 100 {
			return Err(format!("--policy: the band {low}..{high} is not within 0..100"));
		}
		Ok(Band { low, high })
	};
	let positive = |s: &str| match number(s)? {
		0 => Err("--policy: a period of 0 payments".to_string()),
		n => Ok(n),
	};
	Ok(match fields.as_slice() {
		["none"] => Policy::None,
		["rounds", every] => Policy::Scheduled {
			every: positive(every)?,
			solver: Solver::Exact,
			pledge: Pledge::TowardMiddle,
			max_plan_edges,
		},
		["rounds-whole", every] => Policy::Scheduled {
			every: positive(every)?,
			solver: Solver::Exact,
			pledge: Pledge::Whole,
			max_plan_edges,
		},
		["lp", every] | ["lp", every, _] => Policy::Scheduled {
			every: positive(every)?,
			pledge: Pledge::TowardMiddle,
			solver: Solver::Lp {
				time_limit_ms: fields.get(2).map(|ms| number(ms)).transpose()?.unwrap_or(10_000),
			},
			max_plan_edges,
		},
		["on-demand", low, high, every] | ["on-demand", low, high, every, _] => {
			let solve_every = positive(every)?;
			Policy::OnDemand {
				band: band(low, high)?,
				solve_every,
				lifetime: match fields.get(4) {
					Some(lifetime) => positive(lifetime)?,
					None => 10 * solve_every,
				},
				entries,
				max_plan_edges,
			}
		}
		["shifts", every, low, high] => {
			Policy::OwnShifts { every: positive(every)?, band: band(low, high)?, max_per_party: 4 }
		}
		["ideal"] => Policy::Ideal { max_plan_edges },
		_ => {
			return Err(format!(
				"--policy: `{text}` is not none, rounds:EVERY, rounds-whole:EVERY, lp:EVERY[:MS], \
				 on-demand:LOW:HIGH:EVERY[:LIFETIME], shifts:EVERY:LOW:HIGH or ideal"
			))
		}
	})
}
