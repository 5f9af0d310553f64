//! `paychan-load`: floods a Paychan dev node with a fixed number of channel operations (valid
//! and invalid) and as many plain transfers, and checks that every operation ends as it must.
//! See `paychan_client::load` and `scripts/bench-load.sh`.

use anyhow::{bail, Result};
use clap::Parser;
use paychan_client::{chain::Chain, load};
use std::time::Duration;

#[derive(Parser)]
#[command(name = "paychan-load", about = "A bounded load generator for a Paychan dev node")]
struct Args {
	#[arg(long, default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// Channel operations in the flood (and as many transfers after it).
	#[arg(long, default_value_t = 2000)]
	count: usize,
	/// Accounts that submit them.
	#[arg(long, default_value_t = 16)]
	senders: usize,
}

#[tokio::main]
async fn main() {
	if let Err(error) = run(Args::parse()).await {
		eprintln!("error: {error:#}");
		std::process::exit(1);
	}
}

async fn run(args: Args) -> Result<()> {
	let chain = Chain::connect(&args.url, paychan_client::chain::Progress::Silent).await?;
	let mut setup = load::setup(&chain, args.senders).await?;
	let timeout = Duration::from_secs(120);
	let before = chain.block_number().await?;

	let operations = load::channel_operations(&chain, &mut setup, args.count).await?;
	let channel_report = load::flood(&chain, operations, timeout).await?;
	let transfers = load::transfers(&chain, &mut setup, args.count).await?;
	let transfer_report = load::flood(&chain, transfers, timeout).await?;

	let after = chain.block_number().await?;
	let output = serde_json::json!({
		"channel_operations": channel_report,
		"transfers": transfer_report,
		"finalized_blocks_during_run": after - before,
	});
	println!("{}", serde_json::to_string_pretty(&output)?);
	let mismatches = channel_report.mismatches.len() + transfer_report.mismatches.len();
	if mismatches > 0 {
		bail!("{mismatches} operations did not end as they must");
	}
	Ok(())
}
