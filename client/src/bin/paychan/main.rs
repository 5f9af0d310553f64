//! `paychan`: the Paychan off-chain client.
//!
//! Every command that touches the chain waits for finality (instant on a `--sealing instant`
//! dev node) and prints one line, or one JSON object with `--json`; errors are one line on
//! stderr and exit code 1.

mod args;
mod channels;
mod daemon;
mod payments;
mod rebalance;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use paychan_client::{
	chain::{runtime, Chain, Progress, Receipt},
	data_dir,
	keys::Keys,
	planner,
	session::{self, Listener, Party},
	store::{Durability, Store},
	watchtower,
};
use paychan_primitives::ChannelId;
use serde_json::json;
use std::{path::PathBuf, sync::Arc};
use tokio::{net::TcpListener, sync::mpsc};

use args::*;

#[tokio::main]
async fn main() {
	let cli = match Cli::try_parse() {
		Ok(cli) => cli,
		// Help and version are not errors; bad arguments under `--json` are JSON too.
		Err(error) if error.use_stderr() && std::env::args().any(|arg| arg == "--json") => {
			// clap's whole message (what is missing, the possible values) on one line.
			let rendered = error.render().to_string();
			let detail = rendered
				.lines()
				.map(str::trim)
				.filter(|line| !line.is_empty() && !line.starts_with("For more information"))
				.collect::<Vec<_>>()
				.join(" ");
			let detail = detail.trim_start_matches("error: ");
			eprintln!("{}", json!({ "error": { "code": "invalid_arguments", "message": detail } }));
			std::process::exit(2);
		}
		Err(error) => error.exit(),
	};
	let json = cli.json;
	if let Err(error) = run(cli).await {
		if json {
			let code = paychan_client::calls::error_code(&error);
			eprintln!("{}", json!({ "error": { "code": code, "message": format!("{error:#}") } }));
		} else {
			eprintln!("error: {error:#}");
		}
		std::process::exit(1);
	}
}

/// The counterparty's address, which a command run without a daemon needs.
fn required_peer(peer: &Option<String>) -> Result<&str> {
	peer.as_deref().ok_or_else(|| {
		paychan_client::calls::refuse(
			"give --peer HOST:PORT (where the counterparty listens), or start `paychan daemon`, \
			 which knows its peers"
				.into(),
		)
	})
}

fn load_keys(cli: &Cli) -> Result<Keys> {
	match (&cli.key, &cli.dev) {
		(Some(path), _) => Keys::load(path),
		(None, Some(name)) => Keys::from_uri(&format!("//{name:?}")),
		(None, None) => bail!("choose a key with --key FILE or --dev NAME"),
	}
}

fn output(cli: &Cli, value: serde_json::Value, line: String) {
	if cli.json {
		println!("{value}");
	} else {
		println!("{line}");
	}
}

async fn run(cli: Cli) -> Result<()> {
	if let Command::Key(command) = &cli.command {
		let keys = match command {
			KeyCommand::Generate { out } => Keys::generate(out)?,
			KeyCommand::Import { out, allow_dev_key } => {
				let mut uri = String::new();
				std::io::stdin().read_line(&mut uri)?;
				Keys::import(&uri, out, *allow_dev_key)?
			}
		};
		output(&cli, json!({ "account": keys.account().to_string() }), keys.account().to_string());
		return Ok(());
	}
	let keys = load_keys(&cli)?;
	if let Command::Address = &cli.command {
		output(&cli, json!({ "account": keys.account().to_string() }), keys.account().to_string());
		return Ok(());
	}

	let progress = if cli.json { Progress::Json } else { Progress::Human };
	let chain = Chain::connect(&cli.url, progress).await?;
	let data = match &cli.data {
		Some(data) => {
			data_dir::ensure_for_chain(data, &chain.genesis_hash, None)?;
			data.clone()
		}
		None => {
			let home = std::env::var_os("HOME")
				.map(PathBuf::from)
				.context("HOME is not set; give --data")?;
			let account = keys.account().to_string();
			let data = data_dir::default_dir(&home, &account, &chain.genesis_hash);
			let legacy = home.join(".paychan").join(&account);
			data_dir::ensure_for_chain(&data, &chain.genesis_hash, Some(&legacy))?;
			data
		}
	};
	if let Some(result) = daemon::serve_through(&cli, &data).await {
		return result;
	}
	let durability = match &cli.command {
		Command::Listen { durability, .. } => *durability,
		_ => Durability::Immediate,
	};
	let store_path = data.join("store.redb");
	let store = Arc::new(match &cli.command {
		// Commands that only read the store run beside a listener of the same party.
		Command::Balance { .. }
		| Command::Dispute { .. }
		| Command::Settle { .. }
		| Command::Open { .. }
		| Command::Deposit { .. }
		| Command::Rebalance(_)
		| Command::Peer(_)
		| Command::Payments { .. }
		| Command::Rpc { .. }
		| Command::Dashboard
		| Command::Invoice { .. }
		| Command::PayInvoice { .. }
		| Command::Routed
		| Command::Close { force: true, .. } => Store::open_read_only(&store_path)?,
		_ => Store::open(&store_path, durability)?,
	});
	let party = Party { keys: keys.clone(), chain: chain.clone(), store };

	match &cli.command {
		Command::Key(_) | Command::Address => unreachable!("handled above"),
		Command::Pay(_)
		| Command::Listen { .. }
		| Command::Balance { .. }
		| Command::Watch { .. } => payments::run(&cli, &keys, party).await,
		Command::Rebalance(RebalanceCommand::Status)
		| Command::Peer(_)
		| Command::Payments { .. }
		| Command::Dashboard
		| Command::Invoice { .. }
		| Command::PayInvoice { .. }
		| Command::Routed
		| Command::Rpc { .. } => {
			bail!(
				"no daemon runs for this key and data directory ({}): start `paychan daemon` \
				 first",
				data.display()
			)
		}
		Command::Rebalance(_) => rebalance::run(&cli, &keys, &chain, party).await,
		Command::Daemon(args) => daemon::run(&cli, args, party, &data).await,
		_ => channels::run(&cli, party).await,
	}
}

/// Resolves on Ctrl-C or SIGTERM.
async fn shutdown_signal() -> Result<()> {
	let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
	tokio::select! {
		result = tokio::signal::ctrl_c() => result?,
		_ = terminate.recv() => {}
	}
	Ok(())
}

fn report_fee(cli: &Cli, what: &str, receipt: &Receipt) {
	output(
		cli,
		json!({ "done": what, "fee": receipt.fee.to_string() }),
		format!("{what} (fee {})", receipt.fee),
	);
}
