//! `paychan`: the Paychan off-chain client.
//!
//! Every command that touches the chain waits for finality (instant on a `--sealing instant`
//! dev node) and prints one line, or one JSON object with `--json`; errors are one line on
//! stderr and exit code 1.

use anyhow::{bail, ensure, Context, Result};
use clap::{Args, Parser, Subcommand};
use paychan_client::{
	address,
	chain::{self, payloads, runtime, signed_balance_proof, sr25519, Chain, Progress, Receipt},
	data_dir,
	keys::Keys,
	planner,
	session::{self, Listener, Party},
	store::{Durability, Store},
	watchtower,
};
use serde_json::json;
use std::{path::PathBuf, sync::Arc};
use subxt::utils::{MultiAddress, H256};
use tokio::{net::TcpListener, sync::mpsc};

#[derive(Parser)]
#[command(name = "paychan", version, about = "Off-chain payments over Paychan channels")]
struct Cli {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
	url: String,
	/// The key file to sign with (see `paychan key`).
	#[arg(long, global = true, conflicts_with = "dev")]
	key: Option<PathBuf>,
	/// Sign with a well-known development key instead (dev chains only).
	#[arg(long, global = true, value_enum)]
	dev: Option<DevName>,
	/// Where the store lives (default: ~/.paychan/<account>/<genesis hash prefix>); a store
	/// records its chain and is refused on another.
	#[arg(long, global = true)]
	data: Option<PathBuf>,
	/// Print results as JSON.
	#[arg(long, global = true)]
	json: bool,
	#[command(subcommand)]
	command: Command,
}

/// The six well-known development accounts; any other name is refused rather than taken as
/// some unfunded account.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum DevName {
	Alice,
	Bob,
	Charlie,
	Dave,
	Eve,
	Ferdie,
}

#[derive(Subcommand)]
enum Command {
	/// Create or import a key file.
	#[command(subcommand)]
	Key(KeyCommand),
	/// Print the account of the key in use.
	Address,
	/// Open a channel with a counterparty, funded by the caller.
	Open {
		/// The counterparty's account (SS58).
		#[arg(long)]
		counterparty: String,
		/// What the caller locks in the channel: planck, or with a unit (`1.5UNIT`, `250mUNIT`).
		#[arg(long, value_parser = parse_amount)]
		deposit: u128,
		/// Blocks the counterparty has to dispute a unilateral close.
		#[arg(long, default_value_t = 20)]
		challenge_period: u32,
	},
	/// Add funds to the caller's side of an open channel (splice-in).
	Deposit {
		#[arg(long)]
		channel: u64,
		/// Planck, or with a unit (`1.5UNIT`, `250mUNIT`).
		#[arg(long, value_parser = parse_amount)]
		amount: u128,
	},
	/// Pay the counterparty off chain: one payment, or a stream of `--count`.
	Pay(PayArgs),
	/// Receive payments (and answer close and withdrawal requests) on a TCP address.
	Listen {
		#[arg(long, default_value = "127.0.0.1:9735")]
		listen: String,
		/// Hand every received proof to this watchtower.
		#[arg(long)]
		watchtower: Option<String>,
		/// On stopping, how long to wait for the watchtower to acknowledge the newest proofs.
		#[arg(long, default_value_t = 30, requires = "watchtower")]
		watchtower_timeout: u64,
		/// `none` only to measure what durability costs: acknowledged payments may be lost.
		#[arg(long, value_enum, default_value = "immediate")]
		durability: Durability,
	},
	/// Show free balance and each channel's balances.
	Balance {
		#[arg(long)]
		channel: Option<u64>,
	},
	/// Take funds out of an open channel with the counterparty's consent (splice-out).
	Withdraw(PeerAmount),
	/// Close a channel cooperatively with the counterparty listening at `--peer`, or start an
	/// irreversible unilateral close with `--force`.
	Close {
		#[arg(long)]
		channel: u64,
		/// Where the counterparty listens: asks it to co-sign the split (nothing else happens
		/// if it cannot be reached or refuses).
		#[arg(long, required_unless_present = "force", conflicts_with = "force")]
		peer: Option<String>,
		/// Close unilaterally with the newest proof received: the counterparty may dispute
		/// for the challenge period, then the channel settles.
		#[arg(long)]
		force: bool,
	},
	/// Dispute a unilateral close: submit the counterparty's newest proof this party holds, if
	/// the chain has an older one (a watchtower does this for a party that is offline).
	Dispute {
		#[arg(long)]
		channel: u64,
		/// Dispute even if what it recovers is less than its fee.
		#[arg(long)]
		force: bool,
	},
	/// Send funds from the key's account to another account (to fund a new key on a dev chain).
	Transfer {
		/// The receiving account (SS58).
		#[arg(long)]
		to: String,
		/// Planck, or with a unit (`10UNIT`).
		#[arg(long, value_parser = parse_amount)]
		amount: u128,
	},
	/// Wait for a closing channel's challenge period to end and pay it out.
	Settle {
		#[arg(long)]
		channel: u64,
	},
	/// Run a watchtower that disputes stale closes for the users who hand it proofs.
	Watch {
		#[arg(long, default_value = "127.0.0.1:9736")]
		listen: String,
	},
	/// Rebalancing: declare a request, or solve a round and submit the plans.
	#[command(subcommand)]
	Rebalance(RebalanceCommand),
}

#[derive(Subcommand)]
enum KeyCommand {
	/// Write a new random key to a key file (mode 0600).
	Generate {
		#[arg(long)]
		out: PathBuf,
	},
	/// Write a key file from a secret URI read from standard input (a phrase, `0x` seed or
	/// `//Dev` name), so it never appears in the shell history.
	Import {
		#[arg(long)]
		out: PathBuf,
		/// Allow a key derived from the public development phrase (`//Alice`): dev chains only.
		#[arg(long)]
		allow_dev_key: bool,
	},
}

#[derive(Subcommand)]
enum RebalanceCommand {
	/// Declare what the caller may move: `--entry CHANNEL:MAX_SEND:MAX_RECEIVE`, repeatable.
	Request {
		#[arg(long = "entry", required = true, value_parser = parse_entry)]
		entries: Vec<planner::Entry>,
		#[arg(long, default_value_t = 0)]
		max_fee: u128,
		/// Blocks until the request expires.
		#[arg(long, default_value_t = 100)]
		expires_in: u32,
	},
	/// Withdraw the caller's open request and get its deposit back.
	Cancel,
	/// Solve the open requests exactly and submit the plans.
	Solve {
		/// Print the plans' size without submitting them.
		#[arg(long)]
		dry_run: bool,
	},
}

/// A channel, where the counterparty listens, and an amount (planck).
#[derive(Args)]
struct PeerAmount {
	#[arg(long)]
	channel: u64,
	/// Where the counterparty listens.
	#[arg(long)]
	peer: String,
	/// The amount (planck, or with a unit: `1.5UNIT`, `250mUNIT`); for `pay`, each payment's.
	#[arg(long, value_parser = parse_amount)]
	amount: u128,
}

#[derive(Args)]
struct PayArgs {
	#[command(flatten)]
	target: PeerAmount,
	#[arg(long, default_value_t = 1)]
	count: u64,
	/// Most payments in flight before an acknowledgement.
	#[arg(long, default_value_t = 4096)]
	window: u64,
}

fn parse_amount(text: &str) -> Result<u128, String> {
	paychan_client::amount::parse(text)
}

fn parse_entry(text: &str) -> Result<planner::Entry, String> {
	let parts: Vec<&str> = text.split(':').collect();
	let [channel, send, receive] = parts[..] else {
		return Err("expected CHANNEL:MAX_SEND:MAX_RECEIVE".into());
	};
	let number = |s: &str| paychan_client::amount::parse(s);
	Ok((channel.parse::<u64>().map_err(|e| e.to_string())?, number(send)?, number(receive)?))
}

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
			let code = if error.chain().any(|cause| cause.is::<chain::ChainRefused>()) {
				"chain_refused"
			} else if error.chain().any(|cause| cause.is::<chain::NotSubmitted>()) {
				"refused_locally"
			} else {
				"failed"
			};
			eprintln!("{}", json!({ "error": { "code": code, "message": format!("{error:#}") } }));
		} else {
			eprintln!("error: {error:#}");
		}
		std::process::exit(1);
	}
}

/// A refusal before anything is submitted: no fee is paid.
fn refuse(message: String) -> anyhow::Error {
	anyhow::Error::new(chain::NotSubmitted(message))
}

/// Refuses unless `free` covers `needed` plus `fee`, leaving the existential deposit; the message
/// says what the account has and how to fund it.
fn ensure_funded(
	account: &str,
	free: u128,
	needed: u128,
	fee: u128,
	limits: &chain::Limits,
) -> Result<()> {
	let required = needed.saturating_add(fee).saturating_add(limits.existential_deposit);
	if free < required {
		return Err(refuse(format!(
			"account {account} has {} free ({free} planck) but needs {} ({needed} for the call, \
			 about {fee} in fees, {} to stay alive). Fund it first, e.g. on a dev chain: \
			 `paychan --dev alice transfer --to {account} --amount 100UNIT`",
			paychan_client::amount::display(free),
			paychan_client::amount::display(required),
			limits.existential_deposit
		)));
	}
	Ok(())
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
		| Command::Close { force: true, .. } => Store::open_read_only(&store_path)?,
		_ => Store::open(&store_path, durability)?,
	});
	let party = Party { keys: keys.clone(), chain: chain.clone(), store };

	match &cli.command {
		Command::Key(_) | Command::Address => unreachable!("handled above"),
		Command::Open { counterparty, deposit, challenge_period } => {
			let limits = chain.limits().await?;
			let counterparty = address::parse(counterparty, limits.ss58_prefix).map_err(refuse)?;
			if counterparty == keys.account() {
				return Err(refuse(
					"a channel needs two parties: the counterparty is this key's own account"
						.into(),
				));
			}
			if *deposit == 0 || *deposit < limits.min_deposit {
				return Err(refuse(format!(
					"the deposit {deposit} is below the chain's minimum of {} planck",
					limits.min_deposit
				)));
			}
			if !(limits.min_challenge_period..=limits.max_challenge_period)
				.contains(challenge_period)
			{
				return Err(refuse(format!(
					"the challenge period must be {} to {} blocks, not {challenge_period}",
					limits.min_challenge_period, limits.max_challenge_period
				)));
			}
			let call = runtime::tx().payment_channels().open_channel(
				MultiAddress::Id(counterparty),
				*deposit,
				*challenge_period,
				None,
			);
			let free = chain.free_balance(&keys.account()).await?;
			let fee = chain.estimate_fee(&call, &keys).await.unwrap_or(0);
			let needed = deposit.saturating_add(limits.channel_record_deposit);
			ensure_funded(&keys.account().to_string(), free, needed, fee, &limits)?;
			let receipt = chain.submit("open", &call, &keys).await?;
			let opened = receipt.event::<runtime::payment_channels::events::ChannelOpened>()?;
			output(
				&cli,
				json!({ "channel_id": opened.channel_id, "deposit": deposit.to_string(), "fee": receipt.fee.to_string() }),
				format!("opened channel {} (fee {})", opened.channel_id, receipt.fee),
			);
		}
		Command::Deposit { channel, amount } => {
			let limits = chain.limits().await?;
			let ledger = match chain.channel(*channel).await? {
				Some(_) => party.ledger(*channel).await?,
				None => {
					return Err(refuse(format!(
						"channel {channel} does not exist on chain (never opened, or settled)"
					)))
				}
			};
			if ledger.view.closing.is_some() {
				return Err(refuse(format!("channel {channel} is closing: no more deposits")));
			}
			if *amount == 0 || *amount < limits.min_deposit {
				return Err(refuse(format!(
					"the amount {amount} is below the chain's minimum deposit of {} planck",
					limits.min_deposit
				)));
			}
			let call = runtime::tx().payment_channels().deposit(*channel, *amount);
			let free = chain.free_balance(&keys.account()).await?;
			let fee = chain.estimate_fee(&call, &keys).await.unwrap_or(0);
			ensure_funded(&keys.account().to_string(), free, *amount, fee, &limits)?;
			let receipt = chain.submit("deposit", &call, &keys).await?;
			report_totals(&cli, &party, *channel, "deposited", &receipt).await?;
		}
		Command::Transfer { to, amount } => {
			let limits = chain.limits().await?;
			let to = address::parse(to, limits.ss58_prefix).map_err(refuse)?;
			if *amount == 0 {
				return Err(refuse("the amount must be positive".into()));
			}
			let call = runtime::tx().balances().transfer_keep_alive(MultiAddress::Id(to), *amount);
			let receipt = chain.submit("transfer", &call, &keys).await?;
			output(
				&cli,
				json!({ "to": to.to_string(), "amount": amount.to_string(), "fee": receipt.fee.to_string() }),
				format!(
					"sent {} to {to} (fee {})",
					paychan_client::amount::display(*amount),
					receipt.fee
				),
			);
		}
		Command::Pay(args) => {
			let report = session::pay(
				&party,
				args.target.channel,
				&args.target.peer,
				args.target.amount,
				args.count,
				args.window,
			)
			.await?;
			let failed = report.error.clone();
			output(
				&cli,
				serde_json::to_value(&report)?,
				format!(
					"{} payments acknowledged in {:.2} s ({:.0}/s, p50 {} µs, p99 {} µs); paid {} in this run, {} in total",
					report.acknowledged,
					report.seconds,
					report.payments_per_second,
					report.latency_p50_us,
					report.latency_p99_us,
					report.paid_this_run,
					report.paid_total
				),
			);
			if let Some(error) = failed {
				bail!("the payment stream stopped: {error}");
			}
		}
		Command::Listen { listen, watchtower: tower, watchtower_timeout, .. } => {
			let listener = TcpListener::bind(listen)
				.await
				.with_context(|| format!("cannot listen on {listen}"))?;
			let (queue, pusher) = match tower {
				Some(address) => {
					let (tx, rx) = mpsc::unbounded_channel();
					let pusher = tokio::spawn(watchtower::push(keys.clone(), address.clone(), rx));
					(Some(tx), Some(pusher))
				}
				None => (None, None),
			};
			let server = Listener::new(party.clone(), queue);
			eprintln!("listening on {listen} as {}", keys.account());
			let mut sessions = tokio::task::JoinSet::new();
			let stop = shutdown_signal();
			tokio::pin!(stop);
			loop {
				tokio::select! {
					accepted = listener.accept() => {
						let (stream, _) = accepted?;
						let server = server.clone();
						sessions.spawn(async move {
							if let Err(error) = server.serve(stream).await {
								eprintln!("session ended: {error:#}");
							}
						});
					}
					stopped = &mut stop => { stopped?; break }
				}
			}
			sessions.shutdown().await;
			if let (Some(pusher), Some(address)) = (pusher, tower) {
				// Hand the watchtower the newest proof of every channel as the store has it, not
				// only what the sessions queued: a session stopped mid-commit queued nothing.
				let queue = server.watch_queue.clone().expect("a watchtower is configured");
				let mut handed = 0;
				for (channel_id, record) in party.store.channels_after_pending_writes()? {
					let Some(proof) = record.received else { continue };
					// A settled channel no longer needs watching.
					let Ok(ledger) = party.ledger(channel_id).await else { continue };
					let _ = queue.send((channel_id, ledger.counterparty(), proof));
					handed += 1;
				}
				drop(queue);
				drop(server);
				eprintln!(
					"handing the newest proofs of {handed} channels to the watchtower at {address}"
				);
				let wait = std::time::Duration::from_secs(*watchtower_timeout);
				match tokio::time::timeout(wait, pusher).await {
					Ok(result) => result?.with_context(|| {
						format!("the watchtower at {address} did not take the newest proofs")
					})?,
					Err(_) => bail!(
						"the watchtower at {address} did not acknowledge the newest proofs within \
						 {} s; they are safe in this party's store, but nobody watches its channels \
						 while it is offline: start `paychan listen --watchtower {address}` again \
						 once the tower is reachable",
						wait.as_secs()
					),
				}
				eprintln!("the watchtower holds the newest proof of every channel");
			}
		}
		Command::Balance { channel } => {
			let free = chain.free_balance(&keys.account()).await?;
			let ids = match channel {
				Some(id) => vec![*id],
				None => chain.channels_of(&keys.account()).await?,
			};
			let mut channels = Vec::new();
			let mut lines = vec![format!("free {free}")];
			for id in ids {
				let ledger = party.ledger(id).await?;
				let balances = ledger.balances();
				let status = match ledger.view.closing {
					None => "open".to_string(),
					Some((_, deadline)) => format!("closing (deadline {deadline})"),
				};
				lines.push(format!(
					"channel {id}: mine {} theirs {} ({status}; paid {}, received {})",
					balances[ledger.me],
					balances[ledger.other()],
					ledger.paid(),
					ledger.earned()
				));
				channels.push(json!({
					"channel_id": id,
					"mine": balances[ledger.me].to_string(),
					"theirs": balances[ledger.other()].to_string(),
					"paid": ledger.paid().to_string(),
					"received": ledger.earned().to_string(),
					"received_nonce": ledger.record.received.as_ref().map_or(0, |p| p.nonce),
					"sent_nonce": ledger.record.sent.as_ref().map_or(0, |p| p.nonce),
					"closing": ledger.view.closing.is_some(),
					"deadline": ledger.view.closing.map(|(_, deadline)| deadline),
				}));
			}
			output(
				&cli,
				json!({ "free": free.to_string(), "channels": channels }),
				lines.join("\n"),
			);
		}
		Command::Withdraw(PeerAmount { channel, peer, amount }) => {
			let (total_withdrawn, expires_at, signature) =
				session::request_withdrawal(&party, *channel, peer, *amount).await?;
			let call = runtime::tx().payment_channels().withdraw(
				payloads::WithdrawProof {
					genesis_hash: H256(chain.genesis_hash),
					channel_id: *channel,
					participant: keys.account(),
					total_withdrawn,
					expires_at,
				},
				sr25519(signature),
			);
			let receipt = chain.submit("withdraw", &call, &keys).await?;
			report_totals(&cli, &party, *channel, "withdrawn", &receipt).await?;
		}
		Command::Close { channel, peer, .. } => {
			let cooperative = match peer {
				Some(peer) => Some(
					session::request_close(&party, *channel, peer).await.with_context(|| {
						format!(
						"cooperative close of channel {channel} failed; nothing was submitted. To \
						 close without the counterparty, run `paychan close --channel {channel} --force`"
					)
					})?,
				),
				None => None,
			};
			match cooperative {
				Some((terms, signatures)) => {
					let payouts = terms.payouts;
					let call = runtime::tx().payment_channels().cooperative_close(
						payloads::CooperativeClose {
							genesis_hash: H256(chain.genesis_hash),
							channel_id: *channel,
							version: terms.version,
							nonces: terms.nonces,
							payout_opener: payouts[0],
							payout_counterparty: payouts[1],
							expires_at: terms.expires_at,
						},
						sr25519(signatures[0]),
						sr25519(signatures[1]),
					);
					let receipt = chain.submit("cooperative close", &call, &keys).await?;
					output(
						&cli,
						json!({ "channel_id": channel, "closed": "cooperatively", "payouts": [payouts[0].to_string(), payouts[1].to_string()], "fee": receipt.fee.to_string() }),
						format!(
							"closed cooperatively: opener {} counterparty {} (fee {})",
							payouts[0], payouts[1], receipt.fee
						),
					);
				}
				None => {
					let ledger = party.ledger(*channel).await?;
					let proof = ledger.record.received.as_ref().map(|proof| {
						signed_balance_proof(
							chain.genesis_hash,
							*channel,
							ledger.counterparty(),
							proof,
						)
					});
					let call = runtime::tx().payment_channels().close(*channel, proof);
					let receipt = chain.submit("close", &call, &keys).await?;
					let started =
						receipt.event::<runtime::payment_channels::events::CloseStarted>()?;
					output(
						&cli,
						json!({ "channel_id": channel, "closed": "unilaterally", "deadline": started.deadline, "fee": receipt.fee.to_string() }),
						format!(
							"unilateral close of channel {channel} started: the counterparty may \
							 dispute until block {}; the channel settles after it (the chain does \
							 it, or `paychan settle --channel {channel}`) (fee {})",
							started.deadline, receipt.fee
						),
					);
				}
			}
		}
		Command::Dispute { channel, force } => {
			let ledger = party.ledger(*channel).await?;
			ensure!(ledger.view.closing.is_some(), "channel {channel} is not closing");
			let Some(proof) = ledger.record.received.clone() else {
				bail!("there is no proof from the counterparty to submit");
			};
			let recorded = ledger.view.sides[ledger.other()].nonce;
			if recorded >= proof.nonce {
				output(
					&cli,
					json!({ "channel_id": channel, "disputed": false, "fee": "0" }),
					format!("the chain already has the counterparty's proof {recorded}; nothing to dispute"),
				);
				return Ok(());
			}
			let call = runtime::tx().payment_channels().update_balance_proof(
				*channel,
				signed_balance_proof(chain.genesis_hash, *channel, ledger.counterparty(), &proof),
			);
			let gain =
				proof.transferred.saturating_sub(ledger.view.sides[ledger.other()].transferred);
			let fee = chain.estimate_fee(&call, &keys).await?;
			if gain < fee && !force {
				return Err(refuse(format!(
					"the dispute would recover {gain} planck and cost about {fee} in fees; run it \
					 again with --force to dispute anyway"
				)));
			}
			let receipt = chain.submit("dispute", &call, &keys).await?;
			output(
				&cli,
				json!({ "channel_id": channel, "disputed": true, "nonce": proof.nonce, "recovered": gain.to_string(), "fee": receipt.fee.to_string() }),
				format!("submitted the counterparty's proof {} (fee {})", proof.nonce, receipt.fee),
			);
		}
		Command::Settle { channel } => {
			if chain.channel(*channel).await?.is_none()
				&& *channel < chain.next_channel_id().await?
			{
				// Ids are never reused: this one was opened and has been paid out.
				output(
					&cli,
					json!({ "channel_id": channel, "settled": "already", "fee": "0" }),
					format!("channel {channel} is already settled"),
				);
				return Ok(());
			}
			let view = chain.existing_channel(*channel).await?;
			let Some((_, deadline)) = view.closing else {
				bail!("channel {channel} is not closing; close it first");
			};
			chain.wait_past(deadline, "challenge period").await?;
			let payouts = chain.settlement_preview(*channel).await?;
			// The runtime settles expired channels by itself at the start of a block.
			if chain.channel(*channel).await?.is_none() {
				// The preview read after the deadline is what the hook paid out.
				let payouts: Vec<String> =
					payouts.iter().flatten().map(ToString::to_string).collect();
				output(
					&cli,
					json!({ "channel_id": channel, "settled": "by the chain", "payouts": payouts, "fee": "0" }),
					format!(
						"channel {channel} was settled by the chain after block {deadline}{}",
						if payouts.is_empty() {
							String::new()
						} else {
							format!(": opener {} counterparty {}", payouts[0], payouts[1])
						}
					),
				);
			} else {
				let call = runtime::tx().payment_channels().settle(*channel);
				let receipt = chain.submit("settle", &call, &keys).await?;
				let payouts = receipt
					.event::<runtime::payment_channels::events::ChannelSettled>()
					.map(|settled| [settled.opener_payout, settled.counterparty_payout])
					.ok()
					.or(payouts)
					.unwrap_or_default();
				output(
					&cli,
					json!({ "channel_id": channel, "settled": "by this call", "payouts": [payouts[0].to_string(), payouts[1].to_string()], "fee": receipt.fee.to_string() }),
					format!(
						"channel {channel} settled: opener {} counterparty {} (fee {})",
						payouts[0], payouts[1], receipt.fee
					),
				);
			}
		}
		Command::Watch { listen } => {
			eprintln!("watchtower on {listen} as {}", keys.account());
			let json_output = cli.json;
			let tower = watchtower::run(party, listen, |dispute| {
				if json_output {
					println!("{}", serde_json::to_string(dispute).expect("serializable"));
				} else {
					println!(
						"disputed channel {}: {}'s proof {} (transferred {}), fee {}",
						dispute.channel_id,
						dispute.signer,
						dispute.nonce,
						dispute.transferred,
						dispute.fee
					);
				}
			});
			tokio::select! {
				result = tower => result?,
				stopped = shutdown_signal() => stopped?,
			}
		}
		Command::Rebalance(RebalanceCommand::Request { entries, max_fee, expires_in }) => {
			for &(channel_id, max_send, max_receive) in entries {
				let ledger = party.ledger(channel_id).await?;
				planner::check_entry(&ledger, max_send, max_receive)?;
			}
			let receipt = planner::request(&chain, &keys, entries, *max_fee, *expires_in).await?;
			report_fee(&cli, "rebalance request declared", &receipt);
		}
		Command::Rebalance(RebalanceCommand::Cancel) => {
			let call = runtime::tx().payment_channels().cancel_rebalance_request();
			let receipt = chain.submit("cancel_rebalance_request", &call, &keys).await?;
			report_fee(&cli, "rebalance request cancelled; its deposit is released", &receipt);
		}
		Command::Rebalance(RebalanceCommand::Solve { dry_run }) => {
			let report = planner::solve(&chain, &keys, *dry_run).await?;
			output(
				&cli,
				serde_json::to_value(&report)?,
				format!(
					"{} channels: {} plans, {} edges, volume {}{}",
					report.channels,
					report.plans,
					report.edges,
					report.volume,
					if *dry_run { " (not submitted)" } else { "" }
				),
			);
		}
	}
	Ok(())
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

/// Reports a call that changed a channel, with the channel's new totals and both balances.
async fn report_totals(
	cli: &Cli,
	party: &Party,
	channel: u64,
	what: &str,
	receipt: &Receipt,
) -> Result<()> {
	let ledger = party.ledger(channel).await?;
	let mine = &ledger.view.sides[ledger.me];
	let balances = ledger.balances();
	output(
		cli,
		json!({
			"channel_id": channel,
			"done": what,
			"deposited": mine.deposited.to_string(),
			"withdrawn": mine.withdrawn.to_string(),
			"mine": balances[ledger.me].to_string(),
			"theirs": balances[ledger.other()].to_string(),
			"fee": receipt.fee.to_string(),
		}),
		format!(
			"channel {channel}: {what}; this side has deposited {} and withdrawn {} in total; \
			 balances mine {} theirs {} (fee {})",
			mine.deposited,
			mine.withdrawn,
			balances[ledger.me],
			balances[ledger.other()],
			receipt.fee
		),
	);
	Ok(())
}

fn report_fee(cli: &Cli, what: &str, receipt: &Receipt) {
	output(
		cli,
		json!({ "done": what, "fee": receipt.fee.to_string() }),
		format!("{what} (fee {})", receipt.fee),
	);
}
