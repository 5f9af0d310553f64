//! The command line: every command, its arguments and their parsers.

use super::*;

#[derive(Parser)]
#[command(name = "paychan", version, about = "Off-chain payments over Paychan channels")]
pub(crate) struct Cli {
	/// The node's WebSocket RPC endpoint.
	#[arg(long, global = true, default_value = "ws://127.0.0.1:9944")]
	pub(crate) url: String,
	/// The key file to sign with (see `paychan key`).
	#[arg(long, global = true, conflicts_with = "dev")]
	pub(crate) key: Option<PathBuf>,
	/// Sign with a well-known development key instead (dev chains only).
	#[arg(long, global = true, value_enum)]
	pub(crate) dev: Option<DevName>,
	/// Where the store lives (default: ~/.paychan/<account>/<genesis hash prefix>); a store
	/// records its chain and is refused on another.
	#[arg(long, global = true)]
	pub(crate) data: Option<PathBuf>,
	/// Print results as JSON.
	#[arg(long, global = true)]
	pub(crate) json: bool,
	#[command(subcommand)]
	pub(crate) command: Command,
}

/// The six well-known development accounts; any other name is refused rather than taken as
/// some unfunded account.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub(crate) enum DevName {
	Alice,
	Bob,
	Charlie,
	Dave,
	Eve,
	Ferdie,
}

#[derive(Subcommand)]
pub(crate) enum Command {
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
		/// Dual funding: what the counterparty locks too, by a consent its daemon signs (it
		/// runs with `--fund-up-to`); needs `--peer`.
		#[arg(long, value_parser = parse_amount, requires = "peer")]
		counterparty_deposit: Option<u128>,
		/// Where the counterparty's daemon listens, to ask it for the funding consent.
		#[arg(long)]
		peer: Option<String>,
	},
	/// Add funds to the caller's side of an open channel (splice-in).
	Deposit {
		#[arg(long)]
		channel: ChannelId,
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
		channel: Option<ChannelId>,
	},
	/// Take funds out of an open channel with the counterparty's consent (splice-out).
	Withdraw(PeerAmount),
	/// Close a channel cooperatively with the counterparty listening at `--peer`, or start an
	/// irreversible unilateral close with `--force`.
	Close {
		#[arg(long)]
		channel: ChannelId,
		/// Where the counterparty listens: asks it to co-sign the split (nothing else happens
		/// if it cannot be reached or refuses). A running daemon knows its peers.
		#[arg(long, conflicts_with = "force")]
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
		channel: ChannelId,
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
		channel: ChannelId,
	},
	/// Run a watchtower that disputes stale closes for the users who hand it proofs.
	Watch {
		#[arg(long, default_value = "127.0.0.1:9736")]
		listen: String,
	},
	/// Rebalancing: declare a request, or solve a round and submit the plans.
	#[command(subcommand)]
	Rebalance(RebalanceCommand),
	/// Run the long-lived party: accepts links, pays and is paid on every channel, watches its
	/// channels on chain and serves the JSON-RPC API (docs/api.md). While it runs, `pay`,
	/// `withdraw`, `close` and `balance` of the same key and data directory go through it.
	Daemon(DaemonArgs),
	/// The daemon's peer book: where counterparties listen.
	#[command(subcommand)]
	Peer(PeerCommand),
	/// The daemon's payment history, newest first.
	Payments {
		/// Entries older than this sequence number (the `next_before` of the previous page).
		#[arg(long)]
		before: Option<u64>,
		#[arg(long, default_value_t = 20)]
		limit: usize,
	},
	/// Print the running daemon's dashboard link, which logs in with its token.
	Dashboard,
	/// Make an invoice (a secret kept by the daemon, and its hash) to be paid through other
	/// parties: give the payer the account, amount and secret hash it prints.
	Invoice {
		/// Planck, or with a unit (`10UNIT`).
		#[arg(long, value_parser = parse_amount)]
		amount: u128,
	},
	/// Pay an invoice through other parties: the daemon finds the route (splitting the payment
	/// if no route carries it) and answers once the payee's secret comes back.
	PayInvoice {
		/// The payee's account (SS58).
		#[arg(long)]
		to: String,
		/// Planck, or with a unit (`10UNIT`).
		#[arg(long, value_parser = parse_amount)]
		amount: u128,
		/// The invoice's secret hash (0x and 64 hex digits).
		#[arg(long)]
		secret_hash: String,
		/// The most hops a route may take.
		#[arg(long)]
		max_hops: Option<usize>,
		/// How long to wait for the secret, in seconds.
		#[arg(long, default_value_t = 60)]
		timeout: u64,
	},
	/// The routed payments the daemon knows: its role in each, and whether it was paid.
	Routed,
	/// Call any method of the running daemon's API: `paychan rpc paychan_info '{}'`.
	Rpc {
		method: String,
		/// The parameters, a JSON object (or array).
		#[arg(default_value = "{}")]
		params: String,
	},
}

#[derive(Args)]
pub(crate) struct DaemonArgs {
	/// Where counterparties' links are accepted.
	#[arg(long, default_value = "127.0.0.1:9735")]
	pub(crate) listen: String,
	/// Where the API is served (keep it on 127.0.0.1: the cookie is its only guard).
	#[arg(long, default_value = "127.0.0.1:9737")]
	pub(crate) api: String,
	/// Hand every received proof to this watchtower, for when the daemon is offline.
	#[arg(long)]
	pub(crate) watchtower: Option<String>,
	/// Serve Prometheus metrics on this address (`GET /metrics`).
	#[arg(long)]
	pub(crate) metrics: Option<String>,
	/// Serve the web dashboard (docs/dashboard.md), on 127.0.0.1:9738 or the address given;
	/// `paychan dashboard` prints a link that logs in.
	#[arg(long, num_args = 0..=1, default_missing_value = "127.0.0.1:9738")]
	pub(crate) dashboard: Option<String>,
	/// Payment history entries to keep; older ones are pruned as new ones come.
	#[arg(long, default_value_t = 1_000_000)]
	pub(crate) history_keep: u64,
	/// Dual funding: sign consents to lock up to this much in a channel a counterparty opens
	/// (each request at most this; none without the flag).
	#[arg(long, value_parser = parse_amount, default_value = "0")]
	pub(crate) fund_up_to: u128,
	/// A counterparty and where it listens: `ACCOUNT=HOST:PORT`, repeatable (kept in the
	/// peer book, `peers.json`, with those added through the API).
	#[arg(long = "peer", value_parser = parse_peer)]
	pub(crate) peers: Vec<(String, String)>,
	/// Automatic rebalancing: when this party's share of a channel leaves `LOW:HIGH` (percent,
	/// e.g. `20:80`), declare a request that moves each channel toward the middle, pledging
	/// what it may send.
	#[arg(long)]
	pub(crate) rebalance_band: Option<paychan_client::daemon::rebalance::Band>,
	/// The most an automatic request pays solvers.
	#[arg(long, value_parser = parse_amount, default_value = "0")]
	pub(crate) rebalance_max_fee: u128,
	/// How long an automatic request stays open, in blocks.
	#[arg(long, default_value_t = 100)]
	pub(crate) rebalance_expiry: u32,
	/// Act as a solver: solve the chain's open rebalance requests every this many blocks and
	/// submit the plans.
	#[arg(long)]
	pub(crate) solve_every: Option<u32>,
	/// Routed payments: the base fee this party charges to forward a payment (and assumes
	/// others charge when it routes).
	#[arg(long, value_parser = parse_amount, default_value = "0.000001UNIT")]
	pub(crate) forward_fee_base: u128,
	/// Routed payments: the fee in parts per million of what is forwarded.
	#[arg(long, default_value_t = 100)]
	pub(crate) forward_fee_ppm: u32,
	/// Routed payments: blocks the payee's lock runs.
	#[arg(long, default_value_t = 40)]
	pub(crate) lock_final_margin: u32,
	/// Routed payments: blocks each lock runs longer than the next along the route.
	#[arg(long, default_value_t = 20)]
	pub(crate) lock_hop_margin: u32,
	/// Routed payments: blocks this party needs to register a secret on chain; it takes no lock
	/// that expires sooner.
	#[arg(long, default_value_t = 10)]
	pub(crate) lock_reveal_margin: u32,
}

#[derive(Subcommand)]
pub(crate) enum PeerCommand {
	/// Record where a counterparty listens.
	Add {
		#[arg(long)]
		account: String,
		#[arg(long)]
		address: String,
	},
	/// List the peer book.
	List,
}

#[derive(Subcommand)]
pub(crate) enum KeyCommand {
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
pub(crate) enum RebalanceCommand {
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
	/// The running daemon's rebalancing: its policy, its open request, and what it requested,
	/// solved and saw executed.
	Status,
}

/// A channel, where the counterparty listens, and an amount (planck).
#[derive(Args)]
pub(crate) struct PeerAmount {
	#[arg(long)]
	pub(crate) channel: ChannelId,
	/// Where the counterparty listens (not needed while a daemon runs: it knows its peers).
	#[arg(long)]
	pub(crate) peer: Option<String>,
	/// The amount (planck, or with a unit: `1.5UNIT`, `250mUNIT`); for `pay`, each payment's.
	#[arg(long, value_parser = parse_amount)]
	pub(crate) amount: u128,
}

#[derive(Args)]
pub(crate) struct PayArgs {
	#[command(flatten)]
	pub(crate) target: PeerAmount,
	#[arg(long, default_value_t = 1)]
	pub(crate) count: u64,
	/// Most payments in flight before an acknowledgement.
	#[arg(long, default_value_t = 4096)]
	pub(crate) window: u64,
	/// Through a daemon: payments per API call (`paychan_payMany`; each is still answered on
	/// its own). 1 sends one `paychan_pay` call per payment.
	#[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u64).range(1..=10_000))]
	pub(crate) batch: u64,
}

pub(crate) fn parse_amount(text: &str) -> Result<u128, String> {
	paychan_client::amount::parse(text)
}

pub(crate) fn parse_entry(text: &str) -> Result<planner::Entry, String> {
	let parts: Vec<&str> = text.split(':').collect();
	let [channel, send, receive] = parts[..] else {
		return Err("expected CHANNEL:MAX_SEND:MAX_RECEIVE".into());
	};
	let number = |s: &str| paychan_client::amount::parse(s);
	Ok((channel.parse::<ChannelId>().map_err(|e| e.to_string())?, number(send)?, number(receive)?))
}

pub(crate) fn parse_peer(text: &str) -> Result<(String, String), String> {
	match text.split_once('=') {
		Some((account, address)) if !account.is_empty() && address.contains(':') => {
			Ok((account.to_owned(), address.to_owned()))
		}
		_ => Err(format!("`{text}` is not ACCOUNT=HOST:PORT")),
	}
}
