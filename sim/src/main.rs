//! `paychan-sim`: replays a seeded workload over a Lightning snapshot or a Barabási–Albert graph
//! and prints what succeeded; `--csv` writes the series over time.
//!
//!   paychan-sim --graph ../shared/data/ln-graphs/lnd_july15_2019.edgelist --payments 100000
//!   paychan-sim --ba 2000:4 --split skewed --workload zipf:1.0 --parts 4 --csv out.csv

use clap::Parser;
use paychan_rebalancer::{routing::FeePolicy, workload};
use paychan_sim::{run, workload::payments, Network, Policy, Routing, Split, Workload};
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
	/// `even`, `skewed` or `one-sided`.
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
	/// Rebalance every this many payments (0: never), as scheduled rounds solved exactly.
	#[arg(long, default_value_t = 0)]
	round_every: u64,
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
		other => return Err(format!("--split: `{other}` is not even, skewed or one-sided")),
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
	let policy = match args.round_every {
		0 => Policy::None,
		every => Policy::Scheduled { every, max_plan_edges: 128 },
	};
	let report = run(&mut network, stream, routing, policy, args.interval);
	let elapsed = started.elapsed();
	println!(
		"{} parties, {} channels; {} payments in {:.1} s: {:.2}% succeeded ({:.2}% of the volume), \
		 fees {}, {:.2}% of channel directions depleted at the end; {} rounds, {} plans ({} edges) \
		 moved {}",
		network.nodes,
		network.channels(),
		report.payments,
		elapsed.as_secs_f64(),
		100.0 * report.success_ratio(),
		100.0 * report.volume_ratio(),
		report.fees,
		100.0 * network.depleted_share(),
		report.rebalancing.rounds,
		report.rebalancing.plans,
		report.rebalancing.edges,
		report.rebalancing.volume
	);
	if let Some(path) = &args.csv {
		std::fs::write(path, report.csv()).map_err(|e| format!("{}: {e}", path.display()))?;
	}
	Ok(())
}
