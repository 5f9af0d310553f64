//! The node's command line.

use sc_cli::RunCmd;

/// How the node makes blocks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Sealing {
	/// Aura slots (6 s) with GRANDPA finality: a real network.
	#[default]
	Aura,
	/// A block as soon as a transaction arrives, finalized at once; `engine_createBlock` over
	/// RPC makes empty blocks too. For fast tests on one node.
	Instant,
	/// Blocks only when `engine_createBlock` is called over RPC, finalized at once.
	Manual,
}

/// The Paychan node.
#[derive(Debug, clap::Parser)]
pub struct Cli {
	/// Subcommands.
	#[command(subcommand)]
	pub subcommand: Option<Subcommand>,

	/// How blocks are made: `aura` (default), `instant` or `manual`.
	#[arg(long, value_enum, default_value_t = Sealing::Aura)]
	pub sealing: Sealing,

	/// Everything `substrate` nodes accept when they run.
	#[clap(flatten)]
	pub run: RunCmd,
}

/// The node's subcommands.
#[derive(Debug, clap::Subcommand)]
#[allow(clippy::large_enum_variant)]
pub enum Subcommand {
	/// Key management cli utilities
	#[command(subcommand)]
	Key(sc_cli::KeySubcommand),

	/// Build a chain specification.
	BuildSpec(sc_cli::BuildSpecCmd),

	/// Validate blocks.
	CheckBlock(sc_cli::CheckBlockCmd),

	/// Export blocks.
	ExportBlocks(sc_cli::ExportBlocksCmd),

	/// Export the state of a given block into a chain spec.
	ExportState(sc_cli::ExportStateCmd),

	/// Import blocks.
	ImportBlocks(sc_cli::ImportBlocksCmd),

	/// Remove the whole chain.
	PurgeChain(sc_cli::PurgeChainCmd),

	/// Revert the chain to a previous state.
	Revert(sc_cli::RevertCmd),

	/// Benchmark the runtime's pallets (`benchmark pallet`), the machine or the database.
	#[cfg(feature = "runtime-benchmarks")]
	#[command(subcommand)]
	Benchmark(frame_benchmarking_cli::BenchmarkCmd),

	/// Benchmarks need a node built with `--features runtime-benchmarks`
	/// (scripts/regenerate-weights.sh builds one).
	#[cfg(not(feature = "runtime-benchmarks"))]
	Benchmark(BenchmarkUnavailable),

	/// Db meta columns information.
	ChainInfo(sc_cli::ChainInfoCmd),
}

/// What `benchmark …` takes in a node built without benchmarking: anything, to answer with how
/// to get a node that has it rather than with clap's "unrecognized subcommand".
#[cfg(not(feature = "runtime-benchmarks"))]
#[derive(Debug, clap::Args)]
pub struct BenchmarkUnavailable {
	/// The benchmark's arguments.
	#[arg(trailing_var_arg = true, allow_hyphen_values = true)]
	pub args: Vec<String>,
}
