//! `paychan-rebalance`: plan a rebalancing round, or benchmark the solver.

use clap::{Args, Parser, Subcommand};
use paychan_rebalancer::{
	lp, plan, primal_dual, simplex,
	workload::{self, Graph, Skew},
	Instance, Options,
};
use std::{path::PathBuf, process::ExitCode, time::Instant};

#[derive(Parser)]
#[command(
	name = "paychan-rebalance",
	version,
	about = "Exact rebalancing plans for Paychan rounds"
)]
struct Cli {
	#[command(subcommand)]
	command: Command,
}

#[derive(Subcommand)]
enum Command {
	/// Solve one round and write its plans (JSON) to --out.
	Plan {
		#[command(flatten)]
		source: Source,
		/// Write the plans and figures here.
		#[arg(long)]
		out: PathBuf,
	},
	/// Time the exact solver (and the LP baseline) on workloads and print a markdown table.
	Bench {
		/// Lightning graphs to run (repeatable).
		#[arg(long = "graph")]
		graphs: Vec<PathBuf>,
		/// Barabási–Albert sizes to run, in channels (comma separated).
		#[arg(long, value_delimiter = ',')]
		ba: Vec<usize>,
		#[command(flatten)]
		round: RoundOptions,
		/// Timed runs of the exact solver per workload (the median is reported).
		#[arg(long, default_value_t = 5)]
		runs: usize,
		/// Also solve with the LP baseline (up to this many channels).
		#[arg(long, default_value_t = 0)]
		lp_up_to: usize,
		/// Also solve with the network simplex over the arc network, an independent exact
		/// method (up to this many channels).
		#[arg(long, default_value_t = 0)]
		simplex_up_to: usize,
		/// Stop the LP baseline after this many seconds (reported as "> limit").
		#[arg(long, default_value_t = 300.0)]
		lp_time_limit: f64,
		/// Also write the rows as CSV here.
		#[arg(long)]
		csv: Option<PathBuf>,
	},
}

#[derive(Args)]
struct Source {
	/// A round as JSON (an `Instance`: nodes and channels with balances and bounds).
	#[arg(long, conflicts_with_all = ["graph", "ba"])]
	instance: Option<PathBuf>,
	/// A Lightning `.edgelist` graph.
	#[arg(long, conflicts_with = "ba")]
	graph: Option<PathBuf>,
	/// A Barabási–Albert graph with this many channels.
	#[arg(long)]
	ba: Option<usize>,
	#[command(flatten)]
	round: RoundOptions,
	/// Most edges per plan (the runtime's `MaxPlanEdges`).
	#[arg(long, default_value_t = MAX_PLAN_EDGES)]
	max_edges: usize,
}

/// How a round is generated from a graph and how the solver values moves; `plan` and `bench`
/// share them.
#[derive(Args)]
struct RoundOptions {
	/// Channels each new Barabási–Albert node opens.
	#[arg(long, default_value_t = 4)]
	m: usize,
	/// How graph capacities are split between the two ends.
	#[arg(long, value_enum, default_value_t = Skew::Heavy)]
	skew: Skew,
	#[arg(long, default_value_t = 7)]
	seed: u64,
	/// Weigh all imbalance equally instead of favouring depleted channels.
	#[arg(long)]
	flat: bool,
}

impl RoundOptions {
	fn solver_options(&self) -> Options {
		Options { piecewise: !self.flat }
	}
}

/// The Paychan runtime's `MaxPlanEdges`.
const MAX_PLAN_EDGES: usize = 128;

fn main() -> ExitCode {
	match run(Cli::parse()) {
		Ok(()) => ExitCode::SUCCESS,
		Err(error) => {
			eprintln!("error: {error}");
			ExitCode::FAILURE
		}
	}
}

fn run(cli: Cli) -> Result<(), String> {
	match cli.command {
		Command::Plan { source, out } => {
			let instance = load(&source)?;
			let options = source.round.solver_options();
			let outcome = plan::solve(&instance, options, source.max_edges)
				.map_err(|e| e.to_string())?
				.outcome;
			let json = serde_json::to_string_pretty(&outcome).map_err(|e| e.to_string())?;
			std::fs::write(&out, json).map_err(|e| format!("{}: {e}", out.display()))?;
			let stats = &outcome.stats;
			println!(
				"{} plans, {} cycles (longest {}), moved {} of {} requested toward targets; \
				 depleted channels {} -> {}; written to {}",
				outcome.plans.len(),
				stats.cycles,
				stats.longest_cycle,
				stats.moved_toward_target,
				stats.requested_volume,
				stats.depleted_before,
				stats.depleted_after,
				out.display()
			);
			Ok(())
		}
		Command::Bench { graphs, ba, round, runs, lp_up_to, simplex_up_to, lp_time_limit, csv } => {
			let options = round.solver_options();
			let RoundOptions { m, skew, seed, .. } = round;
			let mut workloads: Vec<(String, Graph)> = Vec::new();
			for path in graphs {
				let name = path.file_stem().map(|s| s.to_string_lossy().into_owned());
				workloads.push((name.unwrap_or_default(), workload::load_edgelist(&path)?));
			}
			for channels in ba {
				workloads.push((
					format!("BA m={m} {channels}"),
					workload::barabasi_albert(channels, m, seed),
				));
			}
			let mut rows = Vec::new();
			println!(
				"| workload | nodes | channels | arcs | exact solve ms (median of {runs}) | phases | \
				 build / decompose / pack ms | build+solve+plan ms | peak RSS MiB | \
				 network simplex ms | LP baseline ms | speed-up over the LP | same objective | \
				 depleted before → after | moved / requested | cycles | longest cycle | plans |"
			);
			println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|");
			for (name, graph) in workloads {
				let instance = workload::instance(&graph, skew, seed);
				let row = bench_one(
					&name,
					&instance,
					options,
					runs.max(1),
					(lp_up_to, simplex_up_to),
					lp_time_limit,
				)?;
				println!("{}", row.markdown());
				rows.push(row);
			}
			if let Some(path) = csv {
				let mut text = String::from(
					"workload,channels,arcs,solve_ms,end_to_end_ms,lp_ms,peak_rss_mib\n",
				);
				for row in &rows {
					text.push_str(&format!(
						"{},{},{},{:.3},{:.3},{},{:.0}\n",
						row.name,
						row.channels,
						row.arcs,
						row.solve_ms,
						row.end_to_end_ms,
						match row.baseline {
							Baseline::Solved { ms, .. } => format!("{ms:.3}"),
							_ => String::new(),
						},
						row.peak_rss_mib
					));
				}
				std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
			}
			Ok(())
		}
	}
}

fn load(source: &Source) -> Result<Instance, String> {
	if let Some(path) = &source.instance {
		let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
		return serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()));
	}
	let graph = match (&source.graph, source.ba) {
		(Some(path), _) => workload::load_edgelist(path)?,
		(None, Some(channels)) => {
			workload::barabasi_albert(channels, source.round.m, source.round.seed)
		}
		(None, None) => return Err("give --instance, --graph or --ba".into()),
	};
	Ok(workload::instance(&graph, source.round.skew, source.round.seed))
}

struct Row {
	name: String,
	nodes: u32,
	channels: usize,
	arcs: usize,
	solve_ms: f64,
	pivots: u64,
	end_to_end_ms: f64,
	timings: plan::Timings,
	peak_rss_mib: f64,
	/// The network simplex's time and whether its optimum was the same.
	reference: Option<(f64, bool)>,
	baseline: Baseline,
	stats: plan::Stats,
	plans: usize,
}

/// What the LP baseline did on a workload.
enum Baseline {
	/// Not run (the workload is above `--lp-up-to`).
	Skipped,
	/// Stopped at the time limit (seconds) without an optimum.
	Stopped { limit_seconds: f64 },
	/// Solved in `ms`; whether its optimum equals the exact solver's.
	Solved { ms: f64, same_objective: bool },
}

impl Row {
	fn markdown(&self) -> String {
		let s = &self.stats;
		let (lp, speedup, lp_same) = match self.baseline {
			Baseline::Skipped => ("–".into(), "–".into(), None),
			Baseline::Stopped { limit_seconds } => (
				format!("> {:.0} (stopped)", limit_seconds * 1e3),
				format!("> {:.0}×", limit_seconds * 1e3 / self.solve_ms),
				None,
			),
			Baseline::Solved { ms, same_objective } => {
				(format!("{ms:.1}"), format!("{:.0}×", ms / self.solve_ms), Some(same_objective))
			}
		};
		let simplex = self.reference.map_or("–".to_string(), |(ms, _)| format!("{ms:.1}"));
		// Every comparison made, LP and network simplex: "yes" only if each agreed.
		let compared: Vec<bool> = lp_same.into_iter().chain(self.reference.map(|r| r.1)).collect();
		let same = match (compared.is_empty(), compared.iter().all(|&same| same)) {
			(true, _) => "–",
			(false, true) => "yes",
			(false, false) => "NO",
		};
		let share = if s.requested_volume > 0 {
			100.0 * s.moved_toward_target as f64 / s.requested_volume as f64
		} else {
			0.0
		};
		let ms = |d: std::time::Duration| d.as_secs_f64() * 1e3;
		format!(
			"| {} | {} | {} | {} | {:.1} | {} | {:.1} / {:.1} / {:.1} | {:.1} | {:.0} | {} | {} | {} | {} | {:.1}% → {:.1}% | {:.1}% | {} | {} | {} |",
			self.name,
			self.nodes,
			self.channels,
			self.arcs,
			self.solve_ms,
			self.pivots,
			ms(self.timings.build),
			ms(self.timings.decompose),
			ms(self.timings.pack),
			self.end_to_end_ms,
			self.peak_rss_mib,
			simplex,
			lp,
			speedup,
			same,
			100.0 * s.depleted_before as f64 / self.channels.max(1) as f64,
			100.0 * s.depleted_after as f64 / self.channels.max(1) as f64,
			share,
			s.cycles,
			s.longest_cycle,
			self.plans
		)
	}
}

/// Peak resident memory of this process since the last [`reset_peak_rss`], in MiB (Linux's
/// `VmHWM`); 0 where it cannot be read.
fn peak_rss_mib() -> f64 {
	let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
	status
		.lines()
		.find_map(|line| line.strip_prefix("VmHWM:"))
		.and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
		.map_or(0.0, |kib| kib / 1024.0)
}

/// Lowers the peak resident memory to the current one, so that each workload reports its own
/// (Linux: writing 5 to `clear_refs`). Where that fails the peak is the process's so far.
fn reset_peak_rss() {
	let _ = std::fs::write("/proc/self/clear_refs", "5");
}

fn bench_one(
	name: &str,
	instance: &Instance,
	options: Options,
	runs: usize,
	(lp_up_to, simplex_up_to): (usize, usize),
	lp_time_limit: f64,
) -> Result<Row, String> {
	reset_peak_rss();
	let convex = instance.convex_network(options);
	let mut times = Vec::with_capacity(runs);
	let mut optimum = None;
	for _ in 0..runs {
		let start = Instant::now();
		let solved = primal_dual::solve_convex(&convex);
		times.push(start.elapsed().as_secs_f64() * 1e3);
		optimum = Some(solved);
	}
	let optimum = optimum.expect("at least one run");
	drop(convex);
	times.sort_by(f64::total_cmp);
	let solve_ms = times[times.len() / 2];

	let start = Instant::now();
	let solution = plan::solve(instance, options, MAX_PLAN_EDGES).map_err(|e| e.to_string())?;
	let end_to_end_ms = start.elapsed().as_secs_f64() * 1e3;
	let peak_rss_mib = peak_rss_mib();
	if solution.cost != optimum.cost {
		return Err(format!("{name}: the planner's optimum differs from the timed solve's"));
	}
	let checker = plan::PlanChecker::new(instance);
	for plan in &solution.outcome.plans {
		checker
			.check(plan, MAX_PLAN_EDGES)
			.map_err(|e| format!("{name}: a plan would be refused: {e:?}"))?;
	}
	// The certificate is checked over the arc network, which the solver never saw: one arc
	// per piece and direction, each with its own bounds.
	let network = instance.network(options);
	let circulation = solution.circulation(&network);
	circulation
		.verify(network.nodes, &network.arcs)
		.map_err(|e| format!("{name}: the certificate check failed: {e:?}"))?;
	if circulation.cost != optimum.cost {
		return Err(format!("{name}: the arc flows cost differently from the optimum"));
	}
	let reference = if instance.channels.len() > simplex_up_to {
		None
	} else {
		let start = Instant::now();
		let other = simplex::solve(network.nodes, &network.arcs);
		let ms = start.elapsed().as_secs_f64() * 1e3;
		other
			.verify(network.nodes, &network.arcs)
			.map_err(|e| format!("{name}: the network simplex's certificate failed: {e:?}"))?;
		Some((ms, other.cost == optimum.cost))
	};
	let outcome = solution.outcome;

	let baseline = if instance.channels.len() > lp_up_to {
		Baseline::Skipped
	} else {
		let start = Instant::now();
		let lp_optimum = lp::optimum(network.nodes, &network.arcs, Some(lp_time_limit));
		let elapsed = start.elapsed().as_secs_f64();
		if elapsed >= lp_time_limit {
			// A solve that hit the limit may return its best point so far: not an optimum.
			Baseline::Stopped { limit_seconds: lp_time_limit }
		} else {
			let lp_optimum =
				lp_optimum.map_err(|error| format!("{name}: the LP baseline failed: {error}"))?;
			Baseline::Solved { ms: elapsed * 1e3, same_objective: lp_optimum == optimum.cost }
		}
	};
	Ok(Row {
		name: name.to_string(),
		nodes: instance.nodes,
		channels: instance.channels.len(),
		arcs: network.arcs.len(),
		solve_ms,
		pivots: optimum.phases,
		end_to_end_ms,
		timings: solution.timings,
		peak_rss_mib,
		reference,
		baseline,
		plans: outcome.plans.len(),
		stats: outcome.stats,
	})
}
