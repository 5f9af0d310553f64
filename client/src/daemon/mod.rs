//! `paychan daemon`: one long-running party per key and store. It accepts its counterparties'
//! links and pays on its own (one [`payer`] per channel, both directions on a channel at once),
//! watches its channels on chain (disputing a stale close itself and settling after the
//! deadline, [`watch`]), and serves a local JSON-RPC API ([`api`]) guarded by a cookie
//! ([`auth`]), with Prometheus metrics on a flag ([`metrics`]).
//!
//! Everything a payment or a consent depends on is in the party's store before it is
//! acknowledged, and the store's records only ever grow ([`crate::store::ChannelRecord::merge`]),
//! so the daemon may be killed at any moment: a restart reads the store, and the first link to
//! each counterparty settles what was in flight.

pub mod api;
pub mod auth;
pub mod dashboard;
pub mod lock_watch;
pub mod metrics;
pub mod payer;
pub mod rebalance;
pub mod routed;
pub mod watch;

use anyhow::{anyhow, Context, Result};
use paychan_primitives::ChannelId;
use std::{
	collections::{BTreeMap, HashMap},
	net::SocketAddr,
	path::PathBuf,
	sync::{Arc, Mutex},
	time::Instant,
};
use subxt::utils::AccountId32;
use tokio::{
	net::TcpListener,
	sync::{mpsc, oneshot},
};

use crate::{
	events::{Event, Events},
	session::{Listener, Party},
};
use payer::{Exclusive, Order, Paid};

/// How a daemon runs.
#[derive(Clone, Debug)]
pub struct Config {
	/// Where it accepts its counterparties' links.
	pub peer_listen: String,
	/// Where it serves the API (127.0.0.1 unless told otherwise).
	pub api_listen: String,
	/// Its data directory: the cookie and the peer book live there, beside the store.
	pub data: PathBuf,
	/// A watchtower to hand every received proof to, for when the daemon is offline.
	pub watchtower: Option<String>,
	/// Where to serve Prometheus metrics, if anywhere.
	pub metrics: Option<String>,
	/// Where to serve the web dashboard, if anywhere.
	pub dashboard: Option<String>,
	/// How many payment history entries to keep (older ones are pruned as new ones come).
	pub history_keep: u64,
	/// The most it locks in a channel a counterparty opens (dual funding); 0 refuses all.
	pub max_funding: u128,
	/// Automatic rebalancing (off unless a band or a solve period is set).
	pub rebalance: rebalance::Policy,
	/// Routed payments: fees, lock timing, route length.
	pub locks: routed::LockPolicy,
}

/// The file in the data directory that holds the API token.
pub const COOKIE_FILE: &str = "api.cookie";
/// The file in the data directory that says where the running daemon's API is.
pub const API_ADDRESS_FILE: &str = "api.address";
/// The file in the data directory that says where the running daemon's dashboard is.
pub const DASHBOARD_ADDRESS_FILE: &str = "dashboard.address";
/// The peer book: counterparties' accounts and where they listen.
pub const PEERS_FILE: &str = "peers.json";

/// What the daemon's parts share.
pub struct Inner {
	pub party: Party,
	pub config: Config,
	pub events: Option<Events>,
	pub metrics: metrics::Metrics,
	/// What was requested, solved and executed in rebalancing.
	pub rebalancing: Mutex<rebalance::Log>,
	/// The newest block, since the daemon started, in which rebalance plans moved funds (in
	/// any channel, not only this party's), and those moves: the network view draws them.
	pub last_round: Mutex<Option<(u32, Vec<crate::chain::PlanMove>)>>,
	peers: Mutex<BTreeMap<[u8; 32], String>>,
	payers: Mutex<HashMap<ChannelId, mpsc::Sender<Order>>>,
	/// Routed payments this party makes, by secret hash: where the secret (or why they failed)
	/// goes once it comes back.
	pub(crate) routed: Mutex<HashMap<[u8; 32], routed::Outcome>>,
	/// Moves whenever this party learns a secret or a payment fails downstream: the listener's
	/// sessions then tell their senders.
	pub(crate) htlc_changed: tokio::sync::watch::Sender<u64>,
}

/// A handle on the daemon's shared state.
#[derive(Clone)]
pub struct Shared(Arc<Inner>);

impl std::ops::Deref for Shared {
	type Target = Inner;
	fn deref(&self) -> &Inner {
		&self.0
	}
}

impl Shared {
	/// Where `account` listens, if the peer book knows.
	pub fn peer_address(&self, account: &[u8; 32]) -> Option<String> {
		self.peers.lock().expect("not poisoned").get(account).cloned()
	}

	/// Every peer the book knows: `(account, address)`.
	pub fn peers(&self) -> Vec<(String, String)> {
		let peers = self.peers.lock().expect("not poisoned");
		peers
			.iter()
			.map(|(account, address)| (AccountId32(*account).to_string(), address.clone()))
			.collect()
	}

	/// Records where `account` listens, durably (the book is rewritten whole, atomically).
	pub fn add_peer(&self, account: [u8; 32], address: String) -> Result<()> {
		let mut peers = self.peers.lock().expect("not poisoned");
		peers.insert(account, address);
		let book: BTreeMap<String, String> = peers
			.iter()
			.map(|(account, address)| (AccountId32(*account).to_string(), address.clone()))
			.collect();
		let path = self.config.data.join(PEERS_FILE);
		let temporary = path.with_extension("json.new");
		std::fs::write(&temporary, serde_json::to_vec_pretty(&book)?)?;
		std::fs::rename(&temporary, &path)?;
		Ok(())
	}

	pub(crate) fn payer(&self, channel_id: ChannelId) -> mpsc::Sender<Order> {
		let mut payers = self.payers.lock().expect("not poisoned");
		if let Some(payer) = payers.get(&channel_id).filter(|payer| !payer.is_closed()) {
			return payer.clone();
		}
		let (tx, rx) = mpsc::channel(1 << 16);
		payers.insert(channel_id, tx.clone());
		tokio::spawn(payer::run(self.clone(), channel_id, rx));
		tx
	}

	pub(crate) fn forget_payer(&self, channel_id: ChannelId) {
		self.payers.lock().expect("not poisoned").remove(&channel_id);
	}

	/// Pays `amount` to the counterparty of `channel_id`; returns once the receiver acknowledged
	/// it and this party's record of it is durable.
	pub async fn pay(&self, channel_id: ChannelId, amount: u128) -> Result<Paid> {
		let (reply, answer) = oneshot::channel();
		let order = Order::Pay { amount, submitted: Instant::now(), reply };
		self.payer(channel_id)
			.send(order)
			.await
			.map_err(|_| anyhow!("channel {channel_id}: the payer stopped"))?;
		answer
			.await
			.map_err(|_| anyhow!("channel {channel_id}: the payer stopped"))?
			.map_err(|reason| anyhow!(reason))
	}

	/// Runs `job` with the channel's link to itself, after the payments in flight.
	pub async fn exclusive(
		&self,
		channel_id: ChannelId,
		job: Exclusive,
	) -> Result<serde_json::Value> {
		let (reply, answer) = oneshot::channel();
		self.payer(channel_id)
			.send(Order::Exclusive { job, reply })
			.await
			.map_err(|_| anyhow!("channel {channel_id}: the payer stopped"))?;
		answer
			.await
			.map_err(|_| anyhow!("channel {channel_id}: the payer stopped"))?
			.map_err(|reason| anyhow!(reason))
	}

	/// Keeps `amount` of `channel_id` unspent by its payer until [`Shared::release_pledge`].
	pub async fn reserve_pledge(&self, channel_id: ChannelId, amount: u128) -> Result<()> {
		let (reply, answer) = oneshot::channel();
		let stopped = || anyhow!("channel {channel_id}: the payer stopped");
		self.payer(channel_id)
			.send(Order::Reserve { amount, reply })
			.await
			.map_err(|_| stopped())?;
		answer.await.map_err(|_| stopped())?.map_err(crate::calls::refuse)
	}

	/// Ends a reservation: the payer reads the chain's pledges again.
	pub async fn release_pledge(&self, channel_id: ChannelId) {
		let _ = self.payer(channel_id).send(Order::Release).await;
	}

	/// Reports `event` to subscribers (and the metrics, which subscribe too).
	pub fn report(&self, event: Event) {
		crate::events::report(&self.events, event);
	}
}

/// A running daemon.
pub struct Running {
	pub shared: Shared,
	/// Where it accepts links and serves the API.
	pub peer_address: SocketAddr,
	pub api_address: SocketAddr,
	/// Where it serves the dashboard, if it does.
	pub dashboard_address: Option<SocketAddr>,
	/// Ends when any part stops (the node went away, say).
	stopped: Option<tokio::task::JoinHandle<Result<()>>>,
	api: jsonrpsee::server::ServerHandle,
}

impl Running {
	/// Resolves when a part of the daemon stopped, with why.
	pub async fn stopped(&mut self) -> Result<()> {
		match self.stopped.as_mut() {
			Some(task) => {
				let result = task.await;
				self.stopped = None;
				result.map_err(|e| anyhow!("the daemon's task failed: {e}"))?
			}
			None => std::future::pending().await,
		}
	}

	/// Stops accepting requests and links.
	pub fn stop(self) {
		let _ = self.api.stop();
		if let Some(task) = self.stopped {
			task.abort();
		}
		let _ = std::fs::remove_file(self.shared.config.data.join(COOKIE_FILE));
		let _ = std::fs::remove_file(self.shared.config.data.join(API_ADDRESS_FILE));
		let _ = std::fs::remove_file(self.shared.config.data.join(DASHBOARD_ADDRESS_FILE));
	}
}

/// Starts a daemon for `party` as `config` says.
pub async fn start(party: Party, config: Config) -> Result<Running> {
	std::fs::create_dir_all(&config.data)?;
	let peers = read_peer_book(&config.data)?;
	let (events, _) = tokio::sync::broadcast::channel(4096);
	let shared = Shared(Arc::new(Inner {
		party: party.clone(),
		config: config.clone(),
		events: Some(events.clone()),
		metrics: metrics::Metrics::default(),
		rebalancing: Mutex::new(rebalance::Log::default()),
		last_round: Mutex::new(None),
		peers: Mutex::new(peers),
		payers: Mutex::new(HashMap::new()),
		routed: Mutex::new(HashMap::new()),
		htlc_changed: tokio::sync::watch::channel(0).0,
	}));
	// Counts what the listener reports too.
	let counting = shared.clone();
	let mut counted = events.subscribe();
	tokio::spawn(async move {
		loop {
			match counted.recv().await {
				Ok(event) => counting.metrics.event(&event),
				Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => continue,
				Err(_) => return,
			}
		}
	});

	let peer_listener = TcpListener::bind(&config.peer_listen)
		.await
		.with_context(|| format!("cannot accept links on {}", config.peer_listen))?;
	let peer_address = peer_listener.local_addr()?;
	let (queue, pusher) = match &config.watchtower {
		Some(address) => {
			let (tx, rx) = mpsc::unbounded_channel();
			let pusher =
				tokio::spawn(crate::watchtower::push(party.keys.clone(), address.clone(), rx));
			(Some(tx), Some(pusher))
		}
		None => (None, None),
	};
	let mut listener = Listener::new(party.clone(), queue);
	listener.events = Some(events.clone());
	listener.history_keep = config.history_keep;
	listener.max_funding = config.max_funding;
	let (incoming_locks, incoming) = mpsc::unbounded_channel();
	let admitting = shared.clone();
	listener.locks = Some(crate::session::LockRules {
		admit: Arc::new(move |lock, onward| {
			let shared = admitting.clone();
			Box::pin(async move { shared.admit_lock(&lock, &onward).await })
		}),
		incoming: incoming_locks,
		reveal_margin: config.locks.reveal_margin,
		changed: shared.htlc_changed.subscribe(),
	});
	tokio::spawn(routed::run(shared.clone(), incoming));

	let token = auth::write_cookie(&config.data.join(COOKIE_FILE))?;
	let (api, api_address) = api::serve(shared.clone(), &config.api_listen, token).await?;
	std::fs::write(config.data.join(API_ADDRESS_FILE), api_address.to_string())?;

	if let Some(address) = &config.metrics {
		let metrics_listener = TcpListener::bind(address)
			.await
			.with_context(|| format!("cannot serve metrics on {address}"))?;
		let scraped = shared.clone();
		tokio::spawn(metrics::serve(metrics_listener, move || {
			let shared = scraped.clone();
			async move {
				let balances = match shared.party.balance(None).await {
					Ok(balance) => {
						balance.channels.iter().map(|c| (c.channel_id, c.mine, c.theirs)).collect()
					}
					Err(_) => Vec::new(),
				};
				shared.metrics.render(&balances)
			}
		}));
	}

	let dashboard_address = match &config.dashboard {
		Some(address) => {
			let listener = TcpListener::bind(address)
				.await
				.with_context(|| format!("cannot serve the dashboard on {address}"))?;
			let bound = listener.local_addr()?;
			tokio::spawn(dashboard::serve(listener, api_address.port()));
			std::fs::write(config.data.join(DASHBOARD_ADDRESS_FILE), bound.to_string())?;
			Some(bound)
		}
		None => None,
	};

	let watcher = shared.clone();
	let stopped = tokio::spawn(async move {
		let accept = async {
			loop {
				let (stream, _) = peer_listener.accept().await?;
				let listener = listener.clone();
				tokio::spawn(async move {
					if let Err(error) = listener.serve(stream).await {
						eprintln!("session ended: {error:#}");
					}
				});
			}
		};
		let policy = watcher.config.rebalance.clone();
		let rebalancer = watcher.clone();
		let rebalancing = async move {
			match policy.is_active() {
				true => rebalance::run(rebalancer, policy).await,
				false => std::future::pending().await,
			}
		};
		let result: Result<()> = tokio::select! {
			result = accept => result,
			result = watch::run(watcher) => result,
			result = rebalancing => result,
		};
		if let Some(pusher) = pusher {
			pusher.abort();
		}
		result
	});
	Ok(Running {
		shared,
		peer_address,
		api_address,
		dashboard_address,
		stopped: Some(stopped),
		api,
	})
}

fn read_peer_book(data: &std::path::Path) -> Result<BTreeMap<[u8; 32], String>> {
	let path = data.join(PEERS_FILE);
	let Ok(bytes) = std::fs::read(&path) else { return Ok(BTreeMap::new()) };
	let book: BTreeMap<String, String> = serde_json::from_slice(&bytes)
		.with_context(|| format!("the peer book {} is not valid JSON", path.display()))?;
	book.into_iter()
		.map(|(account, address)| {
			let account: AccountId32 = account
				.parse()
				.map_err(|_| anyhow!("the peer book has an invalid account {account}"))?;
			Ok((account.0, address))
		})
		.collect()
}
